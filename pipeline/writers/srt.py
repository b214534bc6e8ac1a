"""English subtitles: one SubRip cue per English sentence, with the sentence's start and end."""

from __future__ import annotations

from pipeline.records import AlignedTranscript
from pipeline.writers.common import timecode, timed_sentences


def render_srt(aligned: AlignedTranscript) -> str | None:
    timed = timed_sentences(aligned)
    if not timed:
        return None
    cues = [
        f"{number}\n{timecode(start, ',')} --> {timecode(end, ',')}\n{s.en or '…'}\n"
        for number, (s, start, end) in enumerate(timed, start=1)
    ]
    return "\n".join(cues)
