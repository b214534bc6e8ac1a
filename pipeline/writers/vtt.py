"""WebVTT: the English line over the Arabic line (or English alone), with <v Speaker> where known."""

from __future__ import annotations

from pipeline.records import AlignedTranscript
from pipeline.writers.common import timecode, timed_sentences


def _escape(text: str) -> str:
    """WebVTT cue text escapes; this also keeps a literal '-->' from ending the cue."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(aligned: AlignedTranscript, bilingual: bool = True) -> str | None:
    timed = timed_sentences(aligned)
    if not timed:
        return None
    cues = ["WEBVTT\n"]
    for s, start, end in timed:
        voice = f"<v {_escape(s.speaker)}>" if s.speaker else ""
        timing = f"{timecode(start)} --> {timecode(end)}"
        arabic = f"{_escape(s.ar)}\n" if bilingual else ""
        cues.append(f"{s.index + 1}\n{timing}\n{voice}{_escape(s.en or '…')}\n{arabic}")
    return "\n".join(cues)
