"""`import-review`: English edited elsewhere (an XLIFF from a CAT tool, a TSV from a spreadsheet) back
into the review database, matched by sentence id.

Each file sentence carries the revision it was exported at. Where the database is still at that
revision the file's English, status and comment are saved; where a reviewer changed the sentence
since, and the file disagrees with what they saved, it is a conflict: reported, never overwritten.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from pipeline.errors import InputError
from pipeline.review.exports import OURS, TSV_HEADER, XLIFF
from pipeline.review.store import Conflict, ReviewStore, UnknownSentence


@dataclass(frozen=True)
class Incoming:
    id: str
    revision: int
    en: str
    status: str
    comment: str
    where: str  # file:line, for the report


@dataclass
class ImportReport:
    applied: list[str] = field(default_factory=list)
    unchanged: int = 0
    conflicts: list[str] = field(default_factory=list)  # one line each: where, id, both texts
    unknown: list[str] = field(default_factory=list)

    def format(self) -> str:
        lines = [
            f"Imported {len(self.applied)} change(s); {self.unchanged} sentence(s) unchanged; "
            f"{len(self.conflicts)} conflict(s); {len(self.unknown)} unknown id(s)."
        ]
        lines += [f"  conflict: {conflict}" for conflict in self.conflicts]
        lines += [f"  unknown: {unknown}" for unknown in self.unknown]
        return "\n".join(lines)


def read_xliff(path: Path) -> tuple[str, list[Incoming]]:
    try:
        root = etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True)).getroot()
    except etree.XMLSyntaxError as error:
        raise InputError(str(path), f"not well-formed XML: {error.msg}", error.lineno) from error
    file = root.find(f"{{{XLIFF}}}file")
    if root.tag != f"{{{XLIFF}}}xliff" or file is None:
        raise InputError(str(path), "not an XLIFF 2.0 document (no <xliff><file> in its namespace)")
    status_of = {"initial": "untouched", "translated": "edited", "reviewed": "approved", "final": "approved"}
    incoming = []
    for unit in file.iter(f"{{{XLIFF}}}unit"):
        segment = unit.find(f"{{{XLIFF}}}segment")
        target = None if segment is None else segment.find(f"{{{XLIFF}}}target")
        revision = unit.get(f"{{{OURS}}}revision")
        if segment is None or revision is None or not revision.isdigit():
            raise InputError(str(path), "a unit without a segment or a review:revision", unit.sourceline)
        state = segment.get("state", "initial")
        status = (
            "needs-work" if segment.get("subState") == "review:needs-work" else status_of.get(state, "edited")
        )
        note = unit.find(f"{{{XLIFF}}}notes/{{{XLIFF}}}note[@category='comment']")
        incoming.append(
            Incoming(
                unit.get("id", ""),
                int(revision),
                "" if target is None else "".join(target.itertext()),
                status,
                "" if note is None else "".join(note.itertext()),
                f"{path.name}:{unit.sourceline}",
            )
        )
    return file.get("original", path.stem), incoming


def read_tsv(path: Path) -> tuple[str, list[Incoming]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows or tuple(rows[0]) != TSV_HEADER:
        raise InputError(str(path), f"the header must be the exported one: {' '.join(TSV_HEADER)}", 1)
    column = {name: index for index, name in enumerate(TSV_HEADER)}
    incoming = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(TSV_HEADER) or not row[column["revision"]].isdigit():
            raise InputError(str(path), f"expected {len(TSV_HEADER)} tab-separated columns", line)
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
    return path.name.removesuffix(".reviewed.tsv").removesuffix(".tsv"), incoming


READERS = {".xlf": read_xliff, ".xliff": read_xliff, ".tsv": read_tsv}


def import_review(store: ReviewStore, path: Path) -> ImportReport:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(str(path), f"import-review reads {', '.join(READERS)} files")
    name, incoming = reader(path)
    if name not in store.transcripts():
        raise InputError(str(path), f"no transcript named {name!r} in {store.path}")
    report = ImportReport()
    for item in incoming:
        try:
            current = store.sentence(name, item.id)
        except UnknownSentence:
            report.unknown.append(f"{item.where}: {item.id}")
            continue
        wanted = (item.en, item.status, item.comment)
        if (current.sentence.en, current.status, current.comment) == wanted:
            report.unchanged += 1
            continue
        # English changed in a CAT tool that left the state at `initial` is still an edit.
        edited = item.status == "untouched" and item.en != current.sentence.en
        try:
            store.update(
                name,
                item.id,
                item.revision,
                en=item.en,
                status="edited" if edited else item.status,
                comment=item.comment,
            )
            report.applied.append(item.id)
        except Conflict as conflict:
            report.conflicts.append(
                f"{item.where}: {item.id} was changed in the review app since this file was exported "
                f"(revision {item.revision} -> {conflict.current.revision}); kept the app's "
                f"{conflict.current.sentence.en!r}, not the file's {item.en!r}"
            )
    return report
