"""English subtitles as Advanced SubStation Alpha (.ass), the cues of pipeline.subtitles, written by
pysubs2. ASS reads `{...}` as override tags and `\\N`, `\\n`, `\\h` as a line break or a hard space, so a
transcript's own braces and backslashes are escaped the way libass (the renderer of mpv, VLC and
ffmpeg) reads them: `\\{` and `\\}` for braces, a zero-width word joiner after a backslash that would
start an escape."""

from __future__ import annotations

import re

import pysubs2

from pipeline.records import AlignedTranscript
from pipeline.subtitles import DEFAULTS, SubtitleRules, subtitle_cues
from pipeline.writers.common import xml_safe

WORD_JOINER = "\u2060"
_SPECIAL = re.compile(r"\\(?=[Nnh{}])|[{}]")


def ass_text(text: str) -> str:
    """A line of plain text as ASS dialogue text that shows exactly that text."""

    def escaped(match: re.Match[str]) -> str:
        return "\\" + WORD_JOINER if match.group() == "\\" else "\\" + match.group()

    # Control characters are replaced as in XML: a NUL would end the text in a C renderer.
    return _SPECIAL.sub(escaped, xml_safe(text))


def render_ass(aligned: AlignedTranscript, rules: SubtitleRules = DEFAULTS) -> str | None:
    cues = subtitle_cues(aligned, rules)
    if not cues:
        return None
    subs = pysubs2.SSAFile()
    subs.info["Title"] = ass_text(aligned.transcript.name).replace("\n", " ")
    for cue in cues:
        subs.append(
            pysubs2.SSAEvent(
                start=round(cue.start * 1000),
                end=round(cue.end * 1000),
                text=r"\N".join(ass_text(line) for line in cue.lines),
                name=ass_text(cue.sentence.speaker or "").replace(",", "，"),
            )
        )
    return subs.to_string("ass")
