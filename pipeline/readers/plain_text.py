"""Plain text: one segment per line, with an optional 'Speaker: ' prefix (Arabic names too)."""

from __future__ import annotations

import re

from pipeline.readers.common import strip_markup
from pipeline.records import Segment

# A name of one to three words, no digits or sentence punctuation, then ':' and a space.
_SPEAKER = re.compile(r"^(?P<speaker>[^\W\d_][^\d:：.!?؟،,؛;\n]{0,40}?)\s*[:：]\s+(?P<text>\S.*)$")
_MAX_NAME_WORDS = 3


def read_plain_text(text: str, path: str) -> list[Segment]:
    segments = []
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.strip()
        if not line:
            continue
        speaker = None
        match = _SPEAKER.match(line)
        if match and len(match.group("speaker").split()) <= _MAX_NAME_WORDS:
            speaker, line = match.group("speaker").strip(), match.group("text")
        segments.append(Segment(id=str(number), text=strip_markup(line), speaker=speaker, line=number))
    return segments
