"""A spreadsheet-friendly table, one row per English sentence."""

from __future__ import annotations

import csv
import io

from pipeline.records import AlignedTranscript

HEADER = ("index", "start", "end", "speaker", "ar", "en", "confidence", "flags")


def render_tsv(aligned: AlignedTranscript) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(HEADER)
    for s in aligned.sentences:
        writer.writerow(
            (
                s.index,
                "" if s.start is None else f"{s.start:.3f}",
                "" if s.end is None else f"{s.end:.3f}",
                s.speaker or "",
                s.ar,
                s.en,
                f"{s.confidence:.4f}",
                ",".join(s.flags),
            )
        )
    return buffer.getvalue()
