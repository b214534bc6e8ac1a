"""English subtitles: one SubRip cue per English sentence, with the sentence's start and end."""

from __future__ import annotations

import re

from pipeline.records import AlignedTranscript
from pipeline.writers.common import subtitle_text, timecode, timed_sentences

_ARROW = re.compile(r"--+>")


def cue_text(text: str) -> str:
    """SubRip has no escapes: no blank line (it would end the cue) and no '-->' (a timing line)."""
    return _ARROW.sub("->", subtitle_text(text)) or "…"


def render_srt(aligned: AlignedTranscript) -> str | None:
    timed = timed_sentences(aligned)
    if not timed:
        return None
    cues = [
        f"{number}\n{timecode(start, ',')} --> {timecode(end, ',')}\n{cue_text(s.en)}\n"
        for number, (s, start, end) in enumerate(timed, start=1)
    ]
    return "\n".join(cues)
