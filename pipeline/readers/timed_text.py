"""Plain text whose lines start with a time stamp, as transcription services and people write it.

`[00:01:23] Ahmed: text`, `00:01:23 Speaker 1: text`, `1:23:45.5 text`, `(01:23) text`, `[1:23] text`:
each stamp starts a segment, which ends where the next stamp starts; lines without a stamp continue
the segment above (lines before the first stamp are one segment without a time). The speaker label
after the stamp follows the plain-text rule (`speaker_labels`). The last segment, and one whose next
stamp goes back in time (kept in file order; the reader warns), ends after its text read at speaking
speed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.errors import InputError
from pipeline.readers.common import parse_time, strip_markup
from pipeline.readers.speaker_labels import speakers
from pipeline.records import Segment

_CLOCK = r"(?:\d{1,2}:)?\d{1,2}:\d{2}(?:[.,]\d{1,3})?"
_STAMP = re.compile(
    rf"^(?:\[(?P<square>{_CLOCK})\]|\((?P<round>{_CLOCK})\)|(?P<bare>{_CLOCK})(?=\s|$))"
    r"\s*(?:[-–—|]\s+)?(?P<rest>.*)$"
)
SPEECH_CHARS_PER_SECOND = 14.0  # Arabic interview speech, letters and spaces: about 12 to 16 a second
MIN_SECONDS = 1.0


def is_timed_text(text: str) -> bool:
    """Whether most (at least half) of the non-empty lines start with a time stamp, two lines at
    least unless the file has one line; the line below a stamp alone on its line counts as stamped."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    stamps = [_STAMP.match(line) for line in lines]
    stamped = sum(
        1
        for stamp, above in zip(stamps, [None, *stamps], strict=False)
        if stamp is not None or (above is not None and not above.group("rest"))
    )
    return sum(1 for stamp in stamps if stamp) >= min(2, len(lines)) and 2 * stamped >= len(lines) > 0


@dataclass
class _Turn:
    line: int
    start: float | None
    lines: list[str] = field(default_factory=list)


def read_timed_text(text: str, path: str) -> list[Segment]:
    turns: list[_Turn] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.strip()
        if not line:
            continue
        stamp = _STAMP.match(line)
        if stamp is None:
            if not turns:
                turns.append(_Turn(number, None))
            turns[-1].lines.append(line)
            continue
        clock = stamp.group("square") or stamp.group("round") or stamp.group("bare")
        try:
            start = parse_time(clock)
        except ValueError:
            raise InputError(path, f"malformed time stamp {clock!r}", line=number) from None
        turns.append(_Turn(number, start, [stamp.group("rest")] if stamp.group("rest") else []))
    labelled = speakers(["\n".join(turn.lines) for turn in turns])
    next_starts = [turn.start for turn in turns[1:]] + [None]
    segments = []
    for turn, next_start, (speaker, said) in zip(turns, next_starts, labelled, strict=True):
        body = strip_markup(said)
        segments.append(
            Segment(
                id=str(turn.line),
                text=body,
                start=turn.start,
                end=_end(turn.start, next_start, body),
                speaker=speaker,
                line=turn.line,
            )
        )
    return segments


def _end(start: float | None, next_start: float | None, text: str) -> float | None:
    if start is None:
        return None
    if next_start is not None and next_start >= start:
        return next_start
    return round(start + max(MIN_SECONDS, len(text) / SPEECH_CHARS_PER_SECOND), 3)
