"""A spreadsheet-friendly table, one row per English sentence.

A cell a spreadsheet would evaluate as a formula (it starts with =, +, -, @, a tab or a CR) gets a
leading single quote, as OWASP advises against CSV injection; so does a cell that already starts with
a quote, which keeps the escape reversible (`unescape_cell`) for the reviewed TSV's round trip.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.records import AlignedSentence, AlignedTranscript

HEADER = ("index", "start", "end", "speaker", "ar", "en", "confidence", "flags")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_STARTS = (*FORMULA_STARTS, "'")


def escape_cell(value: str | int) -> str:
    text = str(value)
    return f"'{text}" if text.startswith(_ESCAPED_STARTS) else text


def unescape_cell(text: str) -> str:
    """Undo `escape_cell`; a quote the escape cannot have added (before any other character) stays."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_ESCAPED_STARTS) else text


def tsv_line(cells: Iterable[str | int]) -> str:
    """One tab-separated line, cells escaped; a cell with a tab, quote or line break (CR too, which the
    csv module leaves bare) is quoted, as csv.reader reads it back."""
    quoted = []
    for cell in map(escape_cell, cells):
        if any(c in cell for c in '\t\n\r"'):
            cell = '"' + cell.replace('"', '""') + '"'
        quoted.append(cell)
    return "\t".join(quoted) + "\n"


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
    return tsv_line(HEADER) + "".join(tsv_line(tsv_row(s)) for s in aligned.sentences)
