"""Exports and `import-review` against hostile English: formulas for spreadsheets, characters XML
cannot hold, line breaks and arrows in subtitles, odd XLIFF and spreadsheet encodings."""

from __future__ import annotations

import csv
import io

import pytest
from lxml import etree

from pipeline.cli import main
from pipeline.output import OutputFolder
from pipeline.readers import read_transcript
from pipeline.records import AlignedTranscript, Transcript
from pipeline.review.exports import EXPORTERS
from pipeline.review.store import ReviewStore
from pipeline.writers import WRITERS
from tests.conftest import DATA
from tests.review_helpers import aligned

XLIFF_NS = "{urn:oasis:names:tc:xliff:document:2.0}"
SCHEMA = DATA / "schemas" / "xliff_core_2.0.xsd"


def reviewed(tmp_path, english: list[str]):
    """An output folder whose review database holds transcript 'talk' with `english` saved as edits."""
    out = tmp_path / "out"
    out.mkdir()
    store = ReviewStore(OutputFolder(out).review_database)
    store.sync(aligned("talk", [(f"جملة رقم {i}", f"Sentence {i}.") for i in range(len(english))]))
    for sentence, en in zip(store.sentences("talk"), english, strict=True):
        store.update("talk", sentence.id, sentence.revision, en=en, comment=en)
    return out, store


def export(out, tmp_path, name: str):
    folder = tmp_path / name
    assert main(["export", "--from", str(out), "--format", name, "--out", str(folder)]) == 0
    return folder / f"talk{EXPORTERS[name][0]}"


def state(store):
    return [(s.id, s.revision, s.sentence.en, s.status, s.comment) for s in store.sentences("talk")]


# --- 1. spreadsheets ---------------------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "'=x", "''", "'quoted'", "\tx", "\ry", "a\rb"]


def test_reviewed_tsv_neutralises_formulas_and_imports_back_unchanged(tmp_path, capsys):
    out, store = reviewed(tmp_path, FORMULAS)
    before = state(store)
    path = export(out, tmp_path, "tsv")
    rows = list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8"), newline=""), delimiter="\t"))
    assert [row["en"] for row in rows] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "''=x",
        "'''",
        "''quoted'",
        "'\tx",
        "'\ry",
        "a\rb",
    ]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row.values())
    capsys.readouterr()
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert "Imported 0 change(s); 10 sentence(s) unchanged; 0 conflict(s)" in capsys.readouterr().out
    assert state(store) == before


def test_a_quote_typed_in_a_spreadsheet_is_kept(tmp_path):
    out, store = reviewed(tmp_path, ["one"])
    path = export(out, tmp_path, "tsv")
    path.write_bytes(path.read_bytes().replace(b"\tone\t", b"\t'tis so\t"))
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert store.sentences("talk")[0].sentence.en == "'tis so"


def test_machine_tsv_neutralises_formulas():
    sentences = aligned("t", [("=1+1", '=HYPERLINK("http://x")'), ("- مرحبا", "@SUM(A1)")]).sentences
    tsv = WRITERS["tsv"][1](AlignedTranscript(Transcript("t", "t.srt", ()), sentences, "m"))
    assert isinstance(tsv, str)
    rows = list(csv.DictReader(io.StringIO(tsv), delimiter="\t"))
    assert [(row["ar"], row["en"]) for row in rows] == [
        ("'=1+1", '\'=HYPERLINK("http://x")'),
        ("'- مرحبا", "'@SUM(A1)"),
    ]


# --- 2. XML: XLIFF, TMX, DOCX ------------------------------------------------------------------------

CONTROLS = [
    "bell\x01 tab\x0b unit\x1f",
    "\x00nul first",
    "not\ufffe chars\uffff",
    "cr\r inside",
    "\U0001f600 ok",
]


def test_xliff_holds_control_characters_as_cp_validates_and_imports_back_unchanged(tmp_path, capsys):
    out, store = reviewed(tmp_path, CONTROLS)
    before = state(store)
    path = export(out, tmp_path, "xliff")
    document = etree.parse(str(path))
    etree.XMLSchema(etree.parse(str(SCHEMA))).assertValid(document)
    first = document.find(f".//{XLIFF_NS}target")
    assert [cp.get("hex") for cp in first.iter(f"{XLIFF_NS}cp")] == ["0001", "000B", "001F"]
    capsys.readouterr()
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert "Imported 0 change(s); 5 sentence(s) unchanged; 0 conflict(s)" in capsys.readouterr().out
    assert state(store) == before
    # A CAT tool's edit next to a <cp> comes back with the character.
    text = path.read_text(encoding="utf-8").replace('bell<cp hex="0001" />', 'ring<cp hex="0007"/>', 1)
    path.write_text(text, encoding="utf-8")
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert store.sentences("talk")[0].sentence.en == "ring\x07 tab\x0b unit\x1f"


def test_tmx_and_docx_replace_what_xml_cannot_hold_with_u_fffd(tmp_path):
    from docx import Document

    out, _ = reviewed(tmp_path, CONTROLS)
    tmx = etree.parse(str(export(out, tmp_path, "tmx")))
    english = [unit.findall("tuv/seg")[1].text for unit in tmx.findall("body/tu")]
    assert english == [
        "bell\ufffd tab\ufffd unit\ufffd",
        "\ufffdnul first",
        "not\ufffd chars\ufffd",
        "cr\r inside",
        "\U0001f600 ok",
    ]
    table = Document(str(export(out, tmp_path, "docx"))).tables[0]
    assert table.rows[1].cells[3].text == "bell\ufffd tab\ufffd unit\ufffd"
    assert len(table.rows) == 1 + len(CONTROLS)


# --- 3. subtitles ------------------------------------------------------------------------------------

BREAKS = [
    "one\n\ntwo",
    "a\r\n\r\nb",
    "x --> y",
    "WEBVTT",
    "NOTE x",
    "1\n00:00:01,000 --> 00:00:02,000",
    "STYLE",
    " \n \t\n ",
    "x --->y\u2028\u2029z",
]


@pytest.mark.parametrize("name", ["srt", "vtt", "bilingual-vtt"])
def test_reviewed_subtitles_have_one_cue_per_sentence_whatever_the_english(tmp_path, name):
    out, _ = reviewed(tmp_path, BREAKS)
    path = export(out, tmp_path, name)
    text = path.read_text(encoding="utf-8")
    assert "\n\n\n" not in text and "\r" not in text
    assert text.count("-->") == len(BREAKS)  # the timing lines' arrows only
    transcript = read_transcript(path)
    assert len(transcript.segments) == len(BREAKS)
    first = transcript.segments[0].text
    assert first.startswith("one two")  # the subtitle layout breaks lines, not the reviewer's line breaks


@pytest.mark.parametrize("writer", ["srt", "vtt"])
def test_machine_subtitles_have_one_cue_per_sentence_whatever_the_text(tmp_path, writer):
    pairs = [(ar, en) for ar, en in zip(reversed(BREAKS), BREAKS, strict=True)]
    machine = aligned("t", pairs)
    suffix, render = WRITERS[writer]
    text = render(AlignedTranscript(Transcript("t", "t.srt", ()), machine.sentences, "m"))
    assert isinstance(text, str)
    path = tmp_path / f"t{suffix}"
    path.write_text(text, encoding="utf-8")
    assert len(read_transcript(path).segments) == len(BREAKS)


# --- 4. XLIFF 2.0 as CAT tools write it ---------------------------------------------------------------


def xliff_units(out, tmp_path):
    path = export(out, tmp_path, "xliff")
    document = etree.parse(str(path))
    return path, document, document.findall(f".//{XLIFF_NS}unit")


def segment(text: str, state: str = "translated"):
    element = etree.Element(f"{XLIFF_NS}segment", state=state)
    etree.SubElement(element, f"{XLIFF_NS}source").text = "مصدر"
    etree.SubElement(element, f"{XLIFF_NS}target").text = text
    return element


def test_a_unit_without_target_changes_nothing_and_several_segments_are_joined(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["first", "second", "third"])
    before = state(store)
    path, document, units = xliff_units(out, tmp_path)
    target = units[0].find(f"{XLIFF_NS}segment/{XLIFF_NS}target")
    target.getparent().remove(target)
    units[1].remove(units[1].find(f"{XLIFF_NS}segment"))
    units[1].append(segment("Two "))
    ignorable = etree.SubElement(units[1], f"{XLIFF_NS}ignorable")
    etree.SubElement(ignorable, f"{XLIFF_NS}source").text = "| "
    units[1].append(segment("halves."))
    document.write(str(path), encoding="utf-8")
    capsys.readouterr()
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert "Imported 1 change(s); 1 sentence(s) unchanged; 0 conflict(s)" in capsys.readouterr().out
    after = state(store)
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1][2:4] == ("Two | halves.", "edited")
    # The same file again: already applied, not a conflict.
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert "Imported 0 change(s); 2 sentence(s) unchanged; 0 conflict(s)" in capsys.readouterr().out
    assert state(store) == after


def test_an_edit_in_a_cat_tool_that_leaves_state_initial_reimports_without_conflict(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["first"])
    store.sync(aligned("talk", [("جملة رقم 0", "Sentence 0."), ("أخرى", "Other.")]))
    path, document, units = xliff_units(out, tmp_path)
    units[1].find(f"{XLIFF_NS}segment/{XLIFF_NS}target").text = "Another."
    document.write(str(path), encoding="utf-8")
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert store.sentences("talk")[1].status == "edited"
    capsys.readouterr()
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert "0 change(s); 2 sentence(s) unchanged; 0 conflict(s)" in capsys.readouterr().out


def test_a_segment_without_target_beside_one_with_is_refused(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["first"])
    before = state(store)
    path, document, units = xliff_units(out, tmp_path)
    units[0].find(f"{XLIFF_NS}segment/{XLIFF_NS}target").text = "Changed."
    extra = segment("more")
    extra.remove(extra.find(f"{XLIFF_NS}target"))
    units[0].append(extra)
    document.write(str(path), encoding="utf-8")
    assert main(["import-review", "--from", str(out), str(path)]) == 2
    assert "has a segment without a <target>" in capsys.readouterr().err
    assert state(store) == before


def test_an_unknown_state_refuses_the_whole_file_naming_its_line(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["first", "second"])
    before = state(store)
    path, document, units = xliff_units(out, tmp_path)
    units[0].find(f"{XLIFF_NS}segment/{XLIFF_NS}target").text = "Changed."
    units[1].find(f"{XLIFF_NS}segment").set("state", "done")
    document.write(str(path), encoding="utf-8")
    line = etree.parse(str(path)).findall(f".//{XLIFF_NS}segment")[1].sourceline
    assert main(["import-review", "--from", str(out), str(path)]) == 2
    assert f"talk.xlf:{line}: unit" in capsys.readouterr().err
    assert state(store) == before


def test_a_tsv_that_cannot_be_applied_is_refused_before_anything_is_saved(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["first", "second"])
    before = state(store)
    path = export(out, tmp_path, "tsv")
    data = (
        path.read_bytes()
        .replace(b"\tfirst\t", b"\tChanged.\t")
        .replace(b"\tedited\tsecond", b"\tdone\tsecond")
    )
    path.write_bytes(data)
    assert main(["import-review", "--from", str(out), str(path)]) == 2
    assert "talk.reviewed.tsv:3: unknown status 'done'" in capsys.readouterr().err
    assert state(store) == before


def test_a_sentence_twice_in_a_file_is_refused(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["first"])
    path = export(out, tmp_path, "tsv")
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join([lines[0], lines[1].replace(b"\tfirst\t", b"\tone\t"), *lines[1:]]))
    before = state(store)
    assert main(["import-review", "--from", str(out), str(path)]) == 2
    assert "is in the file twice" in capsys.readouterr().err
    assert state(store) == before


# --- 5. what spreadsheets save ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoding, newline",
    [("utf-8", "\n"), ("utf-8-sig", "\r\n"), ("utf-16", "\r\n"), ("utf-16-be", "\r\n"), ("cp1256", "\r\n")],
)
def test_tsv_import_reads_what_spreadsheets_save(tmp_path, encoding, newline):
    out, store = reviewed(tmp_path, ["first", "=1+1"])
    path = export(out, tmp_path, "tsv")
    text = path.read_bytes().decode("utf-8").replace("\tfirst\t", "\tEdited, «quoted».\t")
    data = text.replace("\n", newline).encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    path.write_bytes(data)
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert [s.sentence.en for s in store.sentences("talk")] == ["Edited, «quoted».", "=1+1"]
    assert [s.sentence.ar for s in store.sentences("talk")] == ["جملة رقم 0", "جملة رقم 1"]


@pytest.mark.parametrize("hex_value", ["D800", "110000", "zz"])
def test_a_cp_that_is_no_character_refuses_the_file(tmp_path, capsys, hex_value):
    out, store = reviewed(tmp_path, ["first", "second"])
    before = state(store)
    path, document, units = xliff_units(out, tmp_path)
    units[0].find(f"{XLIFF_NS}segment/{XLIFF_NS}target").text = "Changed."
    etree.SubElement(units[1].find(f"{XLIFF_NS}segment/{XLIFF_NS}target"), f"{XLIFF_NS}cp", hex=hex_value)
    document.write(str(path), encoding="utf-8")
    assert main(["import-review", "--from", str(out), str(path)]) == 2
    assert "is not a character" in capsys.readouterr().err
    assert state(store) == before
