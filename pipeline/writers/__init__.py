"""Output writers, one module per format: name -> (file suffix, renderer).

A renderer returns None when its format does not apply (subtitles for a transcript without times).
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.records import AlignedTranscript
from pipeline.writers.html import render_html
from pipeline.writers.jsonl import render_jsonl
from pipeline.writers.srt import render_srt
from pipeline.writers.tsv import render_tsv
from pipeline.writers.vtt import render_vtt

Renderer = Callable[[AlignedTranscript], str | None]

WRITERS: dict[str, tuple[str, Renderer]] = {
    "jsonl": (".aligned.jsonl", render_jsonl),
    "html": (".html", render_html),
    "srt": (".en.srt", render_srt),
    "vtt": (".bilingual.vtt", render_vtt),
    "tsv": (".tsv", render_tsv),
}
