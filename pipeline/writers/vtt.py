"""WebVTT: the English line over the Arabic line (or English alone), with <v Speaker> where known."""

from __future__ import annotations

from pipeline.records import AlignedTranscript
from pipeline.writers.common import subtitle_text, timecode, timed_sentences


def _escape(text: str) -> str:
    """WebVTT cue text escapes; this also keeps a literal '-->' from ending the cue, and blank lines
    (which would end it) out."""
    return subtitle_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_vtt(aligned: AlignedTranscript, bilingual: bool = True) -> str | None:
    timed = timed_sentences(aligned)
    if not timed:
        return None
    cues = ["WEBVTT\n"]
    for s, start, end in timed:
        speaker = _escape(s.speaker or "").replace("\n", " ")
        voice = f"<v {speaker}>" if speaker else ""
        timing = f"{timecode(start)} --> {timecode(end)}"
        arabic = f"{_escape(s.ar)}\n" if bilingual and _escape(s.ar) else ""
        cues.append(f"{s.index + 1}\n{timing}\n{voice}{_escape(s.en) or '…'}\n{arabic}")
    return "\n".join(cues)
