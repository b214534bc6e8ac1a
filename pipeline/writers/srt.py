"""English subtitles: SubRip cues that keep the subtitle conventions (pipeline.subtitles)."""

from __future__ import annotations

import re

from pipeline.records import AlignedTranscript
from pipeline.subtitles import DEFAULTS, SubtitleRules, subtitle_cues
from pipeline.writers.common import subtitle_text, timecode

_ARROW = re.compile(r"--+>")


def cue_text(text: str) -> str:
    """SubRip has no escapes: no blank line (it would end the cue) and no '-->' (a timing line)."""
    return _ARROW.sub("->", subtitle_text(text)) or "…"


def render_srt(aligned: AlignedTranscript, rules: SubtitleRules = DEFAULTS) -> str | None:
    cues = subtitle_cues(aligned, rules)
    if not cues:
        return None
    return "\n".join(
        f"{number}\n{timecode(cue.start, ',')} --> {timecode(cue.end, ',')}\n{cue_text(cue.text)}\n"
        for number, cue in enumerate(cues, start=1)
    )
