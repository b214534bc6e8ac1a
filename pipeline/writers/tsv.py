"""A spreadsheet-friendly table, one row per English sentence."""

from __future__ import annotations

import csv
import io

from pipeline.records import AlignedSentence, AlignedTranscript

HEADER = ("index", "start", "end", "speaker", "ar", "en", "confidence", "flags")


def tsv_row(s: AlignedSentence) -> tuple[str | int, ...]:
    return (
        s.index,
        "" if s.start is None else f"{s.start:.3f}",
        "" if s.end is None else f"{s.end:.3f}",
        s.speaker or "",
        s.ar,
        s.en,
        f"{s.confidence:.4f}",
        ",".join(s.flags),
    )


def render_tsv(aligned: AlignedTranscript) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(tsv_row(s) for s in aligned.sentences)
    return buffer.getvalue()
