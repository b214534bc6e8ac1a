"""Output writers, one module per format: name -> (file suffix, renderer).

A renderer returns None when its format does not apply (subtitles for a transcript without times), else
the file's text, whole or as an iterator of pieces (the HTML page of a long transcript is written as
it renders, never held whole). Subtitle renderers keep the subtitle rules they are given
(pipeline.subtitles); the others have no use for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol

from pipeline.records import AlignedTranscript
from pipeline.subtitles import DEFAULTS, SubtitleRules
from pipeline.writers.html import stream_html
from pipeline.writers.jsonl import render_jsonl
from pipeline.writers.srt import render_srt
from pipeline.writers.tsv import render_tsv
from pipeline.writers.vtt import render_vtt

Text = str | Iterator[str] | None


class Renderer(Protocol):
    def __call__(self, aligned: AlignedTranscript, rules: SubtitleRules = DEFAULTS, /) -> Text: ...


def _without_rules(render: Callable[[AlignedTranscript], Text]) -> Renderer:
    def renderer(aligned: AlignedTranscript, rules: SubtitleRules = DEFAULTS, /) -> Text:
        return render(aligned)

    return renderer


WRITERS: dict[str, tuple[str, Renderer]] = {
    "jsonl": (".aligned.jsonl", _without_rules(render_jsonl)),
    "html": (".html", _without_rules(stream_html)),
    "srt": (".en.srt", render_srt),
    "vtt": (".bilingual.vtt", render_vtt),
    "tsv": (".tsv", _without_rules(render_tsv)),
}
SUBTITLE_FORMATS = frozenset({"srt", "vtt"})  # the formats the subtitle rules apply to
