"""WebVTT: each cue's English lines over the Arabic they stand for (or English alone), with
<v Speaker> where known; the cues keep the subtitle conventions (pipeline.subtitles)."""

from __future__ import annotations

from pipeline.records import AlignedTranscript
from pipeline.subtitles import DEFAULTS, SubtitleRules, subtitle_cues
from pipeline.writers.common import subtitle_text, timecode


def _escape(text: str) -> str:
    """WebVTT cue text escapes; this also keeps a literal '-->' from ending the cue, and blank lines
    (which would end it) out."""
    return subtitle_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(
    aligned: AlignedTranscript, rules: SubtitleRules = DEFAULTS, bilingual: bool = True
) -> str | None:
    cues = subtitle_cues(aligned, rules)
    if not cues:
        return None
    blocks = ["WEBVTT\n"]
    for number, cue in enumerate(cues, start=1):
        speaker = _escape(cue.sentence.speaker or "").replace("\n", " ")
        voice = f"<v {speaker}>" if speaker else ""
        timing = f"{timecode(cue.start)} --> {timecode(cue.end)}"
        arabic = f"{_escape(cue.ar)}\n" if bilingual and _escape(cue.ar) else ""
        blocks.append(f"{number}\n{timing}\n{voice}{_escape(cue.text) or '…'}\n{arabic}")
    return "\n".join(blocks)


def render_english_vtt(aligned: AlignedTranscript, rules: SubtitleRules = DEFAULTS) -> str | None:
    """The English cues alone."""
    return render_vtt(aligned, rules, bilingual=False)
