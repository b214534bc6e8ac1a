"""SubRip: numbered cues, 'HH:MM:SS,mmm --> HH:MM:SS,mmm', text lines with optional <i>/{\\an8} markup."""

from __future__ import annotations

from pipeline.errors import InputError
from pipeline.readers.common import strip_markup
from pipeline.readers.cues import blocks, is_timing, parse_timing
from pipeline.records import Segment


def read_srt(text: str, path: str) -> list[Segment]:
    segments = []
    for block in blocks(text):
        lines = block.lines
        cue_id = ""
        timing_at = 0
        if not is_timing(lines[0]):
            if len(lines) < 2 or not is_timing(lines[1]):
                raise InputError(
                    path, "expected a cue number followed by a timing line", line=block.first_line
                )
            cue_id = lines[0].strip()
            timing_at = 1
        start, end = parse_timing(lines[timing_at], path, block.first_line + timing_at)
        body = strip_markup("\n".join(lines[timing_at + 1 :]))
        segments.append(Segment(id=cue_id, text=body, start=start, end=end, line=block.first_line))
    return segments
