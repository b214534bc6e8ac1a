"""A self-contained review page: English beside Arabic, times, speakers, flags, word-link hovering.

Every transcript string reaches the page through Jinja2's autoescaping, with bidirectional controls
shown as visible tags (they would reorder the text around them); the page's script reads only
data attributes, never transcript text, so nothing in a transcript can run.
"""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.arabic import visible_controls
from pipeline.records import AlignedTranscript
from pipeline.writers.common import timecode


def _rows(aligned: AlignedTranscript) -> Iterator[dict[str, object]]:
    """One row at a time, as the template renders it: a long transcript's page never holds them all."""
    for s in aligned.sentences:
        linked: dict[int, list[int]] = {}
        for en_index, ar_index in s.links:
            linked.setdefault(en_index, []).append(ar_index)
        yield {
            "sentence": s,
            "time": "" if s.start is None else f"{timecode(s.start)} – {timecode(s.end or s.start)}",
            "en_words": [
                (visible_controls(word), " ".join(map(str, linked.get(i, []))))
                for i, word in enumerate(s.en.split())
            ],
            "ar_words": [visible_controls(word) for word in s.ar.split()],
        }


def render_html(aligned: AlignedTranscript) -> str:
    return "".join(stream_html(aligned))


def stream_html(aligned: AlignedTranscript) -> Iterator[str]:
    """The page, piece by piece as Jinja2 renders it."""
    rows = _rows(aligned)
    flagged = sum(1 for s in aligned.sentences if s.flags)
    environment = Environment(
        loader=PackageLoader("pipeline", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    environment.filters["visible"] = visible_controls
    return environment.get_template("review.html.j2").generate(aligned=aligned, rows=rows, flagged=flagged)
