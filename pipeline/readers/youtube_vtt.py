"""YouTube's automatic captions as downloaded (yt-dlp): WebVTT that shows each line of words twice.

Each caption line first appears as the second line of a cue, its words after the first timed inline
(`مساء<00:00:00.480><c> الخير</c>`); the next cue (about 10 ms) repeats it alone, and the one after
shows it again above the next line. Lines holding nothing but a space sit inside cues, so blank lines
alone end a cue here (as the WebVTT standard says; the ordinary reader also ends cues at
whitespace-only lines, which this format's first cue would break at).

Read: each line of words once, in order, as one segment from its cue's start to its end, with each
word's own time kept (`Segment.word_times`), so that sentences and subtitle cues cut inside it get
the words' times. A line without inline times (a one-word line, `[موسيقى]`) is read when it is not
the line read just before.
"""

from __future__ import annotations

import re

from pipeline.errors import InputError
from pipeline.readers.common import strip_markup
from pipeline.readers.cues import is_timing, parse_timing
from pipeline.records import Segment

_INLINE_TIME = re.compile(r"<(\d{2}:\d{2}:\d{2}\.\d{3})>")
_WORD_TIMED = re.compile(r"<\d{2}:\d{2}:\d{2}\.\d{3}><c[.\w]*>")
_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


def is_youtube_vtt(text: str) -> bool:
    """Inline word times followed by a `<c>` span: what YouTube's automatic captions write."""
    return _WORD_TIMED.search(text) is not None


def read_youtube_vtt(text: str, path: str) -> list[Segment]:
    blocks = _cue_blocks(text)
    if not blocks or not blocks[0][1][0].lstrip("\ufeff").startswith("WEBVTT"):
        raise InputError(path, "a WebVTT file must start with the line 'WEBVTT'", line=1)
    segments: list[Segment] = []
    for first_line, lines in blocks[1:]:
        if lines[0].lstrip("\ufeff").startswith(_SKIPPED_BLOCKS) and not is_timing(lines[0]):
            continue
        timing_at = 0 if is_timing(lines[0]) else 1
        if timing_at >= len(lines) or not is_timing(lines[timing_at]):
            raise InputError(path, "expected a timing line ('start --> end') in this cue", line=first_line)
        start, end = parse_timing(lines[timing_at], path, first_line + timing_at)
        for offset, raw in enumerate(lines[timing_at + 1 :], start=first_line + timing_at + 1):
            if _INLINE_TIME.search(raw):
                segments.append(_timed_line(raw, start, end, offset))
            elif (plain := _plain(raw)) and (not segments or plain != segments[-1].text):
                segments.append(Segment(id="", text=plain, start=start, end=end, line=offset))
    return segments


def _cue_blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each run of lines between empty lines."""
    found: list[tuple[int, list[str]]] = []
    current: list[str] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line == "":
            current = []
            continue
        if not current:
            found.append((number, current))
        current.append(line)
    return found


def _plain(raw: str) -> str:
    return " ".join(strip_markup(raw, unescape_entities=True).split())


def _timed_line(raw: str, start: float, end: float, line: int) -> Segment:
    """`w0<t1><c> w1</c><t2><c> w2</c>`: w0 at the cue's start, each other word at its own time (kept
    within the cue and never before the word above it)."""
    pieces = _INLINE_TIME.split(raw)
    times = [start, *(_seconds(clock) for clock in pieces[1::2])]
    words: list[str] = []
    word_times: list[tuple[int, float]] = []
    offset = 0
    latest = start
    for piece, time in zip(pieces[::2], times, strict=True):
        word = _plain(piece)
        if not word:
            continue
        latest = min(end, max(latest, time))
        word_times.append((offset, latest))
        words.append(word)
        offset += len(word) + 1
    return Segment(id="", text=" ".join(words), start=start, end=end, line=line, word_times=tuple(word_times))


def _seconds(clock: str) -> float:
    hours, minutes, seconds = clock.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
