"""Plain text: one segment per line, with a speaker label when the file has them (Arabic names too;
the rule is in `speaker_labels`). A file whose lines mostly start with a time stamp is time-stamped
text (`timed_text`)."""

from __future__ import annotations

from pipeline.readers.common import strip_markup
from pipeline.readers.speaker_labels import speakers
from pipeline.readers.timed_text import is_timed_text, read_timed_text
from pipeline.records import Segment


def read_plain_text(text: str, path: str) -> list[Segment]:
    """One segment per line; a file whose lines mostly start with a time stamp reads with its times."""
    if is_timed_text(text):
        return read_timed_text(text, path)
    lines = [(number, line.strip()) for number, line in enumerate(text.split("\n"), start=1)]
    lines = [(number, line) for number, line in lines if line]
    return [
        Segment(id=str(number), text=strip_markup(line), speaker=speaker, line=number)
        for (number, _), (speaker, line) in zip(lines, speakers([line for _, line in lines]), strict=True)
    ]
