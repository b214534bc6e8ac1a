"""`import-review`: English edited elsewhere (an XLIFF from a CAT tool, a TSV from a spreadsheet) back
into the review database, matched by sentence id.

Each file sentence carries the revision it was exported at. Where the database is still at that
revision the file's English, status and comment are saved; where a reviewer changed the sentence
since, and the file disagrees with what they saved, it is a conflict: reported, never overwritten.
English that changed is aligned again to its sentence's Arabic (pipeline.review.realign), all of the
file's at once, before anything is saved.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from pipeline.errors import InputError
from pipeline.readers.common import BOMS, LEGACY_ARABIC_ENCODING
from pipeline.review.exports import OURS, TSV_HEADER, XLIFF
from pipeline.review.realign import Realigner
from pipeline.review.store import STATUSES, Conflict, EditAlignment, ReviewStore, UnknownSentence
from pipeline.writers.common import xml_safe
from pipeline.writers.tsv import unescape_cell


@dataclass(frozen=True)
class Incoming:
    id: str
    revision: int
    en: str
    status: str
    comment: str
    where: str  # file:line, for the report
    comment_xml_safe: bool = False  # the comment went through xml_safe on export (an XLIFF note)


@dataclass
class ImportReport:
    applied: list[str] = field(default_factory=list)
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)  # one line each: where, id, both texts
    unknown: list[str] = field(default_factory=list)
    unlinked: dict[str, int] = field(
        default_factory=dict
    )  # why changed English has no word links -> how many

    def format(self) -> str:
        lines = [
            f"Imported {len(self.applied)} change(s); {self.unchanged} sentence(s) unchanged; "
            f"{len(self.conflicts)} conflict(s); {len(self.unknown)} unknown id(s)."
        ]
        lines += [f"  {count} without word links: {why}" for why, count in self.unlinked.items()]
        lines += [f"  conflict: {conflict}" for conflict in self.conflicts]
        lines += [f"  unknown: {unknown}" for unknown in self.unknown]
        return "\n".join(lines)


_XLIFF_STATUS = {"initial": "untouched", "translated": "edited", "reviewed": "approved", "final": "approved"}
_SEGMENT, _IGNORABLE, _TARGET, _SOURCE, _CP = (
    f"{{{XLIFF}}}{tag}" for tag in ("segment", "ignorable", "target", "source", "cp")
)


def _content(element: etree._Element) -> str:
    """An element's text, XLIFF's <cp hex="..."/> turned back into its character, other inline
    elements by their text."""
    pieces = [element.text or ""]
    for child in element:
        if child.tag == _CP:
            try:
                code = int(child.get("hex", ""), 16)
            except ValueError:
                code = -1
            if not (0 <= code <= 0x10FFFF) or 0xD800 <= code <= 0xDFFF:  # no surrogate: SQLite takes UTF-8
                raise InputError("", f"<cp hex={child.get('hex')!r}> is not a character", child.sourceline)
            pieces.append(chr(code))
        elif isinstance(child.tag, str):
            pieces.append(_content(child))
        pieces.append(child.tail or "")
    return "".join(pieces)


def _part_english(part: etree._Element) -> str:
    """A segment's target; an ignorable's (whitespace between segments) target, else its source."""
    for tag in (_TARGET, _SOURCE):
        element = part.find(tag)
        if element is not None:
            return _content(element)
    return ""


def read_xliff(path: Path) -> tuple[str, list[Incoming]]:
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except etree.XMLSyntaxError as error:
        message = " ".join(str(error.msg).split())  # lxml's message can end in a line break: one line
        raise InputError(str(path), f"not well-formed XML: {message}", error.lineno) from error
    files = root.findall(f"{{{XLIFF}}}file")
    if root.tag != f"{{{XLIFF}}}xliff" or not files:
        raise InputError(str(path), "not an XLIFF 2.0 document (no <xliff><file> in its namespace)")
    if len(files) > 1:
        raise InputError(str(path), f"holds {len(files)} <file> elements: import one transcript at a time")
    file = files[0]
    incoming = []
    for unit in file.iter(f"{{{XLIFF}}}unit"):
        parts = [child for child in unit if child.tag in (_SEGMENT, _IGNORABLE)]
        segments = [part for part in parts if part.tag == _SEGMENT]
        revision = unit.get(f"{{{OURS}}}revision")
        if not segments or revision is None or not is_revision(revision):
            raise InputError(str(path), "a unit without a segment or a review:revision", unit.sourceline)
        for segment in segments:
            if segment.get("state", "initial") not in _XLIFF_STATUS:
                raise InputError(
                    str(path),
                    f"unit {unit.get('id', '')!r}: unknown segment state {segment.get('state')!r} "
                    f"(XLIFF 2.0 has {', '.join(_XLIFF_STATUS)})",
                    segment.sourceline,
                )
        targets = [segment.find(_TARGET) for segment in segments]
        if all(target is None for target in targets):
            continue  # nothing translated here: the unit changes nothing
        if any(target is None for target in targets):
            raise InputError(
                str(path),
                f"unit {unit.get('id', '')!r} has a segment without a <target>: cannot tell its English",
                unit.sourceline,
            )
        try:
            english = "".join(_part_english(part) for part in parts)
        except InputError as error:
            raise InputError(str(path), error.problem, error.line) from None
        first = segments[0]
        state = first.get("state", "initial")
        status = "needs-work" if first.get("subState") == "review:needs-work" else _XLIFF_STATUS[state]
        note = unit.find(f"{{{XLIFF}}}notes/{{{XLIFF}}}note[@category='comment']")
        incoming.append(
            Incoming(
                unit.get("id", ""),
                int(revision),
                english,
                status,
                "" if note is None else "".join(note.itertext()),
                f"{path.name}:{unit.sourceline}",
                comment_xml_safe=True,
            )
        )
    return file.get("original", ""), incoming


def is_revision(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes '²' and '①', which int() refuses."""
    return text.isascii() and text.isdecimal()


def _decode_table(data: bytes, path: Path) -> str:
    """What spreadsheets save: UTF-8 with or without a BOM, UTF-16/32 with one (Excel's "Unicode
    text"), else Windows-1256. Line ends are left to the csv module: a CR inside a quoted cell is text."""
    for bom, codec in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError as error:
                raise InputError(
                    str(path), f"has a {codec} byte-order mark but invalid {codec}: {error}"
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        # Windows-1256 gives every byte a character: take it only where no UTF-8 text came before.
        if data[: error.start].isascii() and b"\x00" not in data:
            return data.decode(LEGACY_ARABIC_ENCODING, errors="replace")
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError(str(path), "is neither UTF-8, UTF-16 nor Windows-1256", line) from None


# Exports made before the transcript column: the transcript is found by the sentences' ids instead.
EARLIER_TSV_HEADER = TSV_HEADER[:-1]


def read_tsv(path: Path) -> tuple[str, list[Incoming]]:
    text = _decode_table(path.read_bytes(), path)
    # The csv module refuses cells over 128 KiB by default; a whole file's worth is always enough.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t"))
    header = tuple(rows[0]) if rows else ()
    if header not in (TSV_HEADER, EARLIER_TSV_HEADER):
        raise InputError(str(path), f"the header must be the exported one: {' '.join(TSV_HEADER)}", 1)
    column = {name: index for index, name in enumerate(header)}
    names: set[str] = set()
    incoming = []
    for line, raw in enumerate(rows[1:], start=2):
        if not raw:
            continue  # a blank line, as some spreadsheets leave at the end
        row = [unescape_cell(cell) for cell in raw]
        if len(row) != len(header) or not is_revision(row[column["revision"]]):
            raise InputError(
                str(path), f"expected {len(header)} tab-separated columns and a revision number", line
            )
        if "transcript" in column:
            names.add(row[column["transcript"]])
        if row[column["status"]] not in STATUSES:
            raise InputError(
                str(path),
                f"unknown status {row[column['status']]!r}; choose from {', '.join(STATUSES)}",
                line,
            )
        incoming.append(
            Incoming(
                row[column["id"]],
                int(row[column["revision"]]),
                row[column["en"]],
                row[column["status"]],
                row[column["comment"]],
                f"{path.name}:{line}",
            )
        )
    if len(names) > 1:
        raise InputError(
            str(path), f"rows from several transcripts ({', '.join(sorted(names))}): import one at a time"
        )
    return names.pop() if names else "", incoming


READERS = {".xlf": read_xliff, ".xliff": read_xliff, ".tsv": read_tsv}


def import_review(store: ReviewStore, path: Path, realigner: Realigner | None = None) -> ImportReport:
    """Read the whole file and check it before saving anything: a file that cannot be applied is
    refused whole (InputError), the database untouched. Changed English is aligned by `realigner`
    (default: one over the store's output folder)."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(str(path), f"import-review reads {', '.join(READERS)} files")
    if not path.is_file():
        raise InputError(str(path), "is a folder" if path.is_dir() else "no such file")
    recorded, incoming = reader(path)
    name = transcript_of(store, path, recorded, [item.id for item in incoming])
    seen: dict[str, str] = {}
    for item in incoming:
        if item.id in seen:
            raise InputError(
                str(path), f"sentence {item.id!r} is in the file twice (first at {seen[item.id]})"
            )
        seen[item.id] = item.where
    report = ImportReport()
    planned = []
    for item in incoming:
        try:
            current = store.sentence(name, item.id)
        except UnknownSentence:
            report.unknown.append(f"{item.where}: {item.id}")
            continue
        comment = item.comment
        if item.comment_xml_safe and comment == xml_safe(current.comment):
            comment = current.comment  # the XLIFF note could not hold its control characters
        # English changed in a CAT tool that left the state at `initial` is still an edit.
        en_changed = item.en != current.sentence.en
        status = "edited" if item.status == "untouched" and en_changed else item.status
        same_status = status == current.status or (
            # `initial` from a file exported before the last save claims no status of its own.
            item.status == "untouched" and item.revision != current.revision
        )
        if not en_changed and comment == current.comment and same_status:
            report.unchanged += 1
            continue
        planned.append((item, status, comment, current))
    # Only English that the save will change and that is not the machine's needs the aligner.
    realigned = [
        (item, current)
        for item, _, _, current in planned
        if item.revision == current.revision and item.en not in (current.sentence.en, current.machine)
    ]
    alignments: dict[str, EditAlignment] = {}
    if realigned:
        aligned = (realigner or Realigner(store.path.parent)).align(
            name, [(current.sentence.ar, item.en) for item, current in realigned]
        )
        alignments = {item.id: alignment for (item, _), alignment in zip(realigned, aligned, strict=True)}
    for item, status, comment, _ in planned:
        try:
            store.update(
                name,
                item.id,
                item.revision,
                en=item.en,
                status=status,
                comment=comment,
                alignment=alignments.get(item.id),
            )
            report.applied.append(item.id)
            note = alignments[item.id].note if item.id in alignments else None
            if note is not None:
                report.unlinked[note] = report.unlinked.get(note, 0) + 1
        except Conflict as conflict:
            now = conflict.current
            differ = [
                f"{field} app {ours!r}, file {theirs!r}"
                for field, ours, theirs in (
                    ("English:", now.sentence.en, item.en),
                    ("status:", now.status, status),
                    ("comment:", now.comment, comment),
                )
                if ours != theirs
            ]
            report.conflicts.append(
                f"{item.where}: {item.id} was changed in the review app since this file was exported "
                f"(revision {item.revision} -> {now.revision}); kept the app's: {'; '.join(differ)}"
            )
    return report


def transcript_of(store: ReviewStore, path: Path, recorded: str, ids: list[str]) -> str:
    """The transcript a file's sentences belong to: the one the file records (XLIFF's `original`, the
    TSV's transcript column), else the one holding all its sentence ids, so a renamed export still
    imports; never the file's name alone."""
    known = store.transcripts()
    if recorded:
        if recorded not in known:
            raise InputError(str(path), f"no transcript named {recorded!r} in {store.path}")
        if ids and not set(ids) & {s.id for s in store.sentences(recorded)}:
            raise InputError(str(path), f"none of its sentence ids are in transcript {recorded!r}")
        return recorded
    holding = [name for name in known if ids and set(ids) <= {s.id for s in store.sentences(name)}]
    if len(holding) != 1:
        found = "several transcripts" if holding else "no one transcript"
        raise InputError(
            str(path), f"the file names no transcript, and {found} in {store.path} holds its ids"
        )
    return holding[0]
