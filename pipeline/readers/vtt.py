"""WebVTT: header, NOTE/STYLE/REGION blocks skipped, optional cue ids, <v Speaker> voices, entities.

YouTube's automatic captions (inline word times) read through `youtube_vtt`."""

from __future__ import annotations

import re

from pipeline.errors import InputError
from pipeline.readers.common import strip_markup
from pipeline.readers.cues import blocks, is_timing, parse_timing
from pipeline.readers.youtube_vtt import is_youtube_vtt, read_youtube_vtt
from pipeline.records import Segment

_VOICE = re.compile(r"<v(?:\.[^\s>]*)?\s+([^>]+)>")
_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


def read_vtt(text: str, path: str) -> list[Segment]:
    if is_youtube_vtt(text):
        return read_youtube_vtt(text, path)
    all_blocks = list(blocks(text))
    if not all_blocks or not all_blocks[0].lines[0].lstrip("\ufeff").startswith("WEBVTT"):
        raise InputError(path, "a WebVTT file must start with the line 'WEBVTT'", line=1)
    segments = []
    for block in all_blocks[1:]:
        lines = block.lines
        if lines[0].split(" ", 1)[0] in _SKIPPED_BLOCKS and not is_timing(lines[0]):
            continue
        timing_at = 0 if is_timing(lines[0]) else 1
        if timing_at >= len(lines) or not is_timing(lines[timing_at]):
            raise InputError(
                path, "expected a timing line ('start --> end') in this cue", line=block.first_line
            )
        start, end = parse_timing(lines[timing_at], path, block.first_line + timing_at)
        raw = "\n".join(lines[timing_at + 1 :])
        voice = _VOICE.search(raw)
        segments.append(
            Segment(
                id=lines[0].strip() if timing_at else "",
                text=strip_markup(raw, unescape_entities=True),
                start=start,
                end=end,
                speaker=voice.group(1).strip() if voice else None,
                line=block.first_line,
            )
        )
    return segments
