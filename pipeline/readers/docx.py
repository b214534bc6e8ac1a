"""Word documents (.docx): one turn per paragraph, as people receive interview transcripts.

Empty paragraphs are skipped; `Name: text` gives a speaker by the plain-text rule (`speaker_labels`).
A table row is one turn too: its last non-empty cell is the text, the cell before it (if any) a
speaker label by the same rule. A segment's line is its paragraph's number in the document (a table
row counts as one paragraph), which is what a reader finds by counting in Word.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator

import docx
from docx.document import Document as WordDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from lxml import etree

from pipeline.errors import InputError
from pipeline.readers.common import strip_markup
from pipeline.readers.speaker_labels import speakers
from pipeline.records import Segment

MAX_UNPACKED = 256 << 20  # bytes a document may unpack to: a book is a few megabytes; more is a zip bomb
_UNREADABLE = (
    PackageNotFoundError,
    zipfile.BadZipFile,
    KeyError,
    ValueError,
    etree.XMLSyntaxError,
    RuntimeError,  # an encrypted entry
    NotImplementedError,  # an unknown compression method
    zlib.error,
    EOFError,
)


def read_docx(data: bytes, path: str, encoding: str | None = None) -> list[Segment]:
    """`encoding` is unused: a .docx says its own."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sum(entry.file_size for entry in archive.infolist()) > MAX_UNPACKED:
                raise InputError(path, f"unpacks to over {MAX_UNPACKED >> 20} MiB: not a transcript")
        document = docx.Document(io.BytesIO(data))
        turns = [(number, turn.strip()) for number, turn in enumerate(_turns(document), start=1)]
    except _UNREADABLE as error:
        detail = " ".join(str(error).split())
        raise InputError(
            path,
            f"is not a readable Word document (.docx): {detail}; an old .doc must be re-saved as .docx",
        ) from None
    turns = [(number, turn) for number, turn in turns if turn]
    return [
        Segment(id=str(number), text=strip_markup(text), speaker=speaker, line=number)
        for (number, _), (speaker, text) in zip(turns, speakers([turn for _, turn in turns]), strict=True)
    ]


def _turns(document: WordDocument) -> Iterator[str]:
    """Each body paragraph's text, and each table row's, in document order."""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for row in block.rows:
                cells = [text for text in dict.fromkeys(cell.text.strip() for cell in row.cells) if text]
                yield ": ".join(cells[-2:])
        else:
            yield block.text
