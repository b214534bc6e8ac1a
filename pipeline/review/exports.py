"""Exports of the reviewed state, one module-level renderer per format: name -> (suffix, renderer).

A renderer takes the transcript's reviewed sentences and returns the file's bytes, or None when the
format does not apply (subtitles for a transcript without times). Sentence ids and revisions go into
the TSV and XLIFF files so that `import-review` can match edits made elsewhere and notice conflicts.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.output import file_stem
from pipeline.records import AlignedTranscript, ReviewedSentence, Transcript
from pipeline.review.store import ReviewStore
from pipeline.subtitles import DEFAULTS, SubtitleRules, subtitle_cues, unmet_note
from pipeline.writers.ass import render_ass
from pipeline.writers.common import XML_INVALID, atomic_write_bytes, timecode, xml_safe
from pipeline.writers.srt import render_srt
from pipeline.writers.tsv import HEADER, tsv_line, tsv_row
from pipeline.writers.ttml import render_ttml
from pipeline.writers.vtt import render_english_vtt, render_vtt

XLIFF = "urn:oasis:names:tc:xliff:document:2.0"
OURS = "urn:arabic-interview-pipeline:review"  # our attributes in XLIFF, allowed as ##other by the schema
# The transcript column names the transcript each row is from, so a renamed file still imports.
TSV_HEADER = (*HEADER, "status", "comment", "id", "revision", "transcript")
# XLIFF 2.0 segment states; needs-work has no state of its own, so it is `translated` with a subState.
XLIFF_STATE = {
    "untouched": "initial",
    "edited": "translated",
    "needs-work": "translated",
    "approved": "final",
}


Renderer = Callable[[str, Sequence[ReviewedSentence], SubtitleRules], bytes | None]


def as_aligned(name: str, reviewed: Sequence[ReviewedSentence]) -> AlignedTranscript:
    """The reviewed sentences as the pipeline's writers take them."""
    sentences = tuple(replace(r.sentence, index=index) for index, r in enumerate(reviewed))
    return AlignedTranscript(Transcript(name, "", ()), sentences, "")


def _subtitles(render: Callable[[AlignedTranscript, SubtitleRules], str | None]) -> Renderer:
    """A subtitle writer of pipeline.writers as an exporter."""

    def renderer(name: str, reviewed: Sequence[ReviewedSentence], rules: SubtitleRules) -> bytes | None:
        text = render(as_aligned(name, reviewed), rules)
        return None if text is None else text.encode("utf-8")

    return renderer


def _document(render: Callable[[str, Sequence[ReviewedSentence]], bytes]) -> Renderer:
    """An exporter that the subtitle rules do not concern."""

    def renderer(name: str, reviewed: Sequence[ReviewedSentence], rules: SubtitleRules) -> bytes:
        return render(name, reviewed)

    return renderer


def render_tsv(name: str, reviewed: Sequence[ReviewedSentence]) -> bytes:
    """Cells escaped against formula injection (pipeline.writers.tsv); `import-review` unescapes them."""
    rows = (
        tsv_line((*tsv_row(replace(r.sentence, index=index)), r.status, r.comment, r.id, r.revision, name))
        for index, r in enumerate(reviewed)
    )
    return (tsv_line(TSV_HEADER) + "".join(rows)).encode("utf-8")


def render_docx(name: str, reviewed: Sequence[ReviewedSentence]) -> bytes:
    """A bilingual table for people who work in Word: speaker, time, Arabic (right to left), English."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.oxml.shared import OxmlElement

    document = Document()
    document.add_heading(xml_safe(name), level=1)
    table = document.add_table(rows=1, cols=4)
    table.style = "Table Grid"
    for cell, title in zip(table.rows[0].cells, ("Speaker", "Time", "Arabic", "English"), strict=True):
        cell.text = title
        cell.paragraphs[0].runs[0].bold = True
    for r in reviewed:
        s = r.sentence
        time = "" if s.start is None else timecode(s.start)
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[3].text = xml_safe(s.speaker or ""), time, xml_safe(s.en)
        arabic = cells[2].paragraphs[0]
        arabic.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        arabic.paragraph_format.element.get_or_add_pPr().append(OxmlElement("w:bidi"))
        run = arabic.add_run(xml_safe(s.ar))
        run.font.rtl = True
        language = OxmlElement("w:lang")
        language.set(qn("w:bidi"), "ar")
        run.element.get_or_add_rPr().append(language)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_xliff(name: str, reviewed: Sequence[ReviewedSentence]) -> bytes:
    """XLIFF 2.0: one unit per sentence (id stable across runs), Arabic source, reviewed English target,
    state from the review status, the comment as a note."""
    ET.register_namespace("", XLIFF)
    ET.register_namespace("review", OURS)
    root = ET.Element(f"{{{XLIFF}}}xliff", {"version": "2.0", "srcLang": "ar", "trgLang": "en"})
    file = ET.SubElement(root, f"{{{XLIFF}}}file", {"id": "f1", "original": xml_safe(name)})
    content: list[tuple[ET.Element, str]] = []  # filled after indenting: it would pad <cp>s
    for r in reviewed:
        unit = ET.SubElement(file, f"{{{XLIFF}}}unit", {"id": r.id, f"{{{OURS}}}revision": str(r.revision)})
        if r.comment:
            notes = ET.SubElement(unit, f"{{{XLIFF}}}notes")
            # A note holds text only: what XML cannot hold becomes U+FFFD (import-review knows).
            ET.SubElement(notes, f"{{{XLIFF}}}note", {"category": "comment"}).text = xml_safe(r.comment)
        attributes = {"state": XLIFF_STATE[r.status]}
        if r.status == "needs-work":
            attributes["subState"] = "review:needs-work"
        segment = ET.SubElement(unit, f"{{{XLIFF}}}segment", attributes)
        content.append((ET.SubElement(segment, f"{{{XLIFF}}}source"), r.sentence.ar))
        content.append((ET.SubElement(segment, f"{{{XLIFF}}}target"), r.sentence.en))
    ET.indent(root)
    for element, text in content:
        _with_code_points(element, text)
    return _xml(root, indent=False)


def _with_code_points(element: ET.Element, text: str) -> None:
    """`text` as the element's content, each character XML cannot hold as XLIFF's <cp hex="..."/>."""
    pieces = XML_INVALID.split(text)
    element.text = pieces[0]
    for character, tail in zip(XML_INVALID.findall(text), pieces[1:], strict=True):
        digits = f"{ord(character):04X}"
        cp = ET.SubElement(element, f"{{{XLIFF}}}cp", {"hex": digits.zfill(len(digits) + len(digits) % 2)})
        cp.tail = tail


def render_tmx(name: str, reviewed: Sequence[ReviewedSentence]) -> bytes:
    """TMX 1.4b translation units, Arabic and English, for a CAT tool's translation memory."""
    root = ET.Element("tmx", {"version": "1.4"})
    ET.SubElement(
        root,
        "header",
        {
            "creationtool": "arabic-interview-pipeline",
            "creationtoolversion": "0.1.0",
            "segtype": "sentence",
            "o-tmf": "review.sqlite3",
            "adminlang": "en",
            "srclang": "ar",
            "datatype": "plaintext",
        },
    )
    body = ET.SubElement(root, "body")
    for r in reviewed:
        unit = ET.SubElement(body, "tu", {"tuid": xml_safe(r.id)})
        ET.SubElement(unit, "prop", {"type": "x-status"}).text = r.status
        for language, text in (("ar", r.sentence.ar), ("en", r.sentence.en)):
            variant = ET.SubElement(unit, "tuv", {"{http://www.w3.org/XML/1998/namespace}lang": language})
            ET.SubElement(variant, "seg").text = xml_safe(text)  # TMX has no <cp>: U+FFFD
    return _xml(root, doctype='<!DOCTYPE tmx SYSTEM "tmx14.dtd">\n')


def _xml(root: ET.Element, doctype: str = "", indent: bool = True) -> bytes:
    if indent:
        ET.indent(root)
    # A bare CR in text would be read back as LF: write it as a reference (attributes get one already).
    body = ET.tostring(root, encoding="unicode").replace("\r", "&#13;")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}{body}\n'.encode()


EXPORTERS: dict[str, tuple[str, Renderer]] = {
    "srt": (".en.srt", _subtitles(render_srt)),
    "vtt": (".en.vtt", _subtitles(render_english_vtt)),
    "bilingual-vtt": (".bilingual.vtt", _subtitles(render_vtt)),
    "ass": (".en.ass", _subtitles(render_ass)),
    "ttml": (".en.ttml", _subtitles(render_ttml)),
    "tsv": (".reviewed.tsv", _document(render_tsv)),
    "docx": (".docx", _document(render_docx)),
    "xliff": (".xlf", _document(render_xliff)),
    "tmx": (".tmx", _document(render_tmx)),
}
SUBTITLE_EXPORTS = frozenset({"srt", "vtt", "bilingual-vtt", "ass", "ttml"})  # they keep the rules


@dataclass(frozen=True)
class Exported:
    path: Path | None  # None: the format does not apply (subtitles without times)
    note: str | None = None  # the cues that cannot meet the subtitle limits (pipeline.subtitles)


def export(
    store: ReviewStore,
    names: Sequence[str],
    format_name: str,
    folder: Path,
    rules: SubtitleRules = DEFAULTS,
) -> dict[str, Exported]:
    """One file per transcript, named after it, written atomically; subtitles keep `rules`, and say
    which cues cannot."""
    suffix, render = EXPORTERS[format_name]
    written: dict[str, Exported] = {}
    for name in names:
        reviewed = store.sentences(name)
        data = render(name, reviewed, rules)
        path = folder / f"{file_stem(name)}{suffix}"
        if data is None:
            written[name] = Exported(None)
            continue
        atomic_write_bytes(path, data)
        note = None
        if format_name in SUBTITLE_EXPORTS:
            note = unmet_note(name, subtitle_cues(as_aligned(name, reviewed), rules))
        written[name] = Exported(path, note)
    return written
