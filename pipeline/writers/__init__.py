"""Output writers, one module per format: name -> (file suffix, renderer).

A renderer returns None when its format does not apply (subtitles for a transcript without times), else
the file's text, whole or as an iterator of pieces (the HTML page of a long transcript is written as
it renders, never held whole).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pipeline.records import AlignedTranscript
from pipeline.writers.html import stream_html
from pipeline.writers.jsonl import render_jsonl
from pipeline.writers.srt import render_srt
from pipeline.writers.tsv import render_tsv
from pipeline.writers.vtt import render_vtt

Renderer = Callable[[AlignedTranscript], str | Iterator[str] | None]

WRITERS: dict[str, tuple[str, Renderer]] = {
    "jsonl": (".aligned.jsonl", render_jsonl),
    "html": (".html", stream_html),
    "srt": (".en.srt", render_srt),
    "vtt": (".bilingual.vtt", render_vtt),
    "tsv": (".tsv", render_tsv),
}
