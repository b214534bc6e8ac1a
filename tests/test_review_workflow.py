"""Translate -> review -> re-run -> export -> import, end to end with the tiny random model."""

from __future__ import annotations

import csv
import io

import pytest
from lxml import etree

from pipeline.cli import main
from pipeline.output import OutputFolder
from pipeline.review.exports import EXPORTERS
from pipeline.review.store import ReviewStore
from tests.conftest import DATA

SCHEMAS = DATA / "schemas"
CUES = ["مرحبا بكم في البرنامج.", "تحدثنا مع صقر عن الصيد.", "شكرا لكم جميعا."]


def write_srt(path, cues):
    blocks = [
        f"{i}\n00:00:0{2 * i - 2},000 --> 00:00:0{2 * i - 1},500\n{text}\n" for i, text in enumerate(cues, 1)
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")


@pytest.fixture
def translated(tmp_path, tiny_model):
    """A translated output folder and a function that runs translate again."""
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_srt(source / "talk.srt", CUES)
    (tmp_path / "glossary.tsv").write_text("ar\ten\nصقر\tSaqr\n", encoding="utf-8")

    def translate() -> int:
        return main(
            [
                "translate",
                str(source),
                "--out",
                str(out),
                "--model",
                str(tiny_model),
                "--backend",
                "hf",
                "--formats",
                "jsonl",
                "--glossary",
                str(tmp_path / "glossary.tsv"),
            ]
        )

    assert translate() == 0
    return out, source, translate


def test_reviewed_work_survives_a_rerun_and_a_changed_cue_is_flagged_source_changed(translated, capsys):
    out, source, translate = translated
    store = ReviewStore(OutputFolder(out).review_database)
    first, second, third = store.sentences("talk")
    assert second.expected == ("Saqr",)  # the random model never writes Saqr
    store.update("talk", first.id, 0, en="Welcome to the programme.", status="approved")
    store.update("talk", second.id, 0, en="We talked with Saqr about fishing.")
    capsys.readouterr()

    assert translate() == 0
    assert "2 sentence(s) keep their reviewed English" in capsys.readouterr().out
    again = store.sentences("talk")
    assert [(s.id, s.sentence.en, s.status) for s in again[:2]] == [
        (first.id, "Welcome to the programme.", "approved"),
        (second.id, "We talked with Saqr about fishing.", "edited"),
    ]
    assert again[2].sentence.en == third.sentence.en and again[2].status == "untouched"

    write_srt(source / "talk.srt", [CUES[0], "تحدثنا طويلا مع صقر عن الصيد في البحر.", CUES[2]])
    assert translate() == 0
    kept, changed, _ = store.sentences("talk")
    assert kept.sentence.en == "Welcome to the programme."
    assert "source-changed" in changed.sentence.flags
    assert changed.previous == "We talked with Saqr about fishing."
    assert changed.sentence.en == changed.machine  # the new machine translation, to review again

    assert translate() == 0  # until a reviewer sees it, the flag and the old edit stay
    assert store.sentences("talk")[1].previous == "We talked with Saqr about fishing."


def test_xliff_validates_against_the_xliff_2_schema_and_round_trips_through_import_review(
    translated, tmp_path
):
    out, _, _ = translated
    store = ReviewStore(OutputFolder(out).review_database)
    first, second, third = store.sentences("talk")
    store.update("talk", first.id, 0, en="Welcome <b>all</b> & everyone.", status="approved", comment="ok")
    store.update("talk", second.id, 0, status="needs-work")
    assert main(["export", "--from", str(out), "--format", "xliff", "--out", str(tmp_path / "x")]) == 0
    path = tmp_path / "x" / "talk.xlf"
    document = etree.parse(str(path))
    etree.XMLSchema(etree.parse(str(SCHEMAS / "xliff_core_2.0.xsd"))).assertValid(document)
    states = [s.get("state") for s in document.iter("{urn:oasis:names:tc:xliff:document:2.0}segment")]
    assert states == ["final", "translated", "initial"]

    # Nothing changed: importing the file back is a no-op, and exporting again gives the same file.
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    assert [s.revision for s in store.sentences("talk")] == [1, 1, 0]
    assert main(["export", "--from", str(out), "--format", "xliff", "--out", str(tmp_path / "y")]) == 0
    assert (tmp_path / "y" / "talk.xlf").read_bytes() == path.read_bytes()

    # A CAT tool edits the third sentence; meanwhile a reviewer changes the second in the app.
    text = path.read_text(encoding="utf-8")
    third_target = f"<target>{third.sentence.en}</target>"
    assert third_target in text
    path.write_text(text.replace(third_target, "<target>Thank you all.</target>"), encoding="utf-8")
    store.update("talk", second.id, 1, en="Changed in the app.")
    text = path.read_text(encoding="utf-8")
    second_target = f"<target>{second.sentence.en}</target>"
    path.write_text(
        text.replace(second_target, "<target>Changed in the CAT tool.</target>"), encoding="utf-8"
    )

    assert main(["import-review", "--from", str(out), str(path)]) == 1  # a conflict is reported
    after = store.sentences("talk")
    assert (after[2].sentence.en, after[2].status) == ("Thank you all.", "edited")
    assert after[1].sentence.en == "Changed in the app."  # not overwritten by the file
    assert after[0].sentence.en == "Welcome <b>all</b> & everyone." and after[0].comment == "ok"


@pytest.mark.slow
def test_tmx_is_valid_against_the_tmx_14b_dtd_and_holds_both_languages(translated, tmp_path):
    out, _, _ = translated
    assert main(["export", "--from", str(out), "--format", "tmx", "--out", str(tmp_path / "x")]) == 0
    document = etree.parse(str(tmp_path / "x" / "talk.tmx"))
    assert etree.DTD(str(SCHEMAS / "tmx14.dtd")).validate(document)
    units = document.findall("body/tu")
    assert len(units) == 3
    languages = [v.get("{http://www.w3.org/XML/1998/namespace}lang") for v in units[0].findall("tuv")]
    assert languages == ["ar", "en"] and units[0].find("tuv/seg").text == CUES[0]


@pytest.mark.slow
def test_tsv_export_has_status_and_comment_and_round_trips(translated, tmp_path):
    out, _, _ = translated
    store = ReviewStore(OutputFolder(out).review_database)
    first = store.sentences("talk")[0]
    store.update("talk", first.id, 0, comment="name?", status="needs-work")
    assert main(["export", "--from", str(out), "--format", "tsv", "--out", str(tmp_path / "x")]) == 0
    path = tmp_path / "x" / "talk.reviewed.tsv"
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter="\t"))
    assert (rows[0]["status"], rows[0]["comment"], rows[0]["ar"]) == ("needs-work", "name?", CUES[0])
    rows[0]["en"], rows[0]["status"] = "Welcome, edited in a spreadsheet.", "approved"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), delimiter="\t", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    assert main(["import-review", "--from", str(out), str(path)]) == 0
    now = store.sentence("talk", first.id)
    assert (now.sentence.en, now.status, now.comment) == (
        "Welcome, edited in a spreadsheet.",
        "approved",
        "name?",
    )


@pytest.mark.slow
def test_docx_opens_with_python_docx_and_holds_the_bilingual_table(translated, tmp_path):
    from docx import Document

    out, _, _ = translated
    store = ReviewStore(OutputFolder(out).review_database)
    first = store.sentences("talk")[0]
    store.update("talk", first.id, 0, en="Welcome to the programme.")
    assert main(["export", "--from", str(out), "--format", "docx", "--out", str(tmp_path / "x")]) == 0
    table = Document(str(tmp_path / "x" / "talk.docx")).tables[0]
    cells = [[cell.text for cell in row.cells] for row in table.rows]
    assert cells[0] == ["Speaker", "Time", "Arabic", "English"]
    assert cells[1] == ["", "00:00:00.000", CUES[0], "Welcome to the programme."]
    assert len(cells) == 4


@pytest.mark.slow
def test_subtitle_exports_carry_the_reviewed_english(translated, tmp_path):
    out, _, _ = translated
    store = ReviewStore(OutputFolder(out).review_database)
    first = store.sentences("talk")[0]
    store.update("talk", first.id, 0, en="Welcome to the programme.")
    for name in ("srt", "vtt", "bilingual-vtt"):
        assert main(["export", "--from", str(out), "--format", name, "--out", str(tmp_path / name)]) == 0
        text = (tmp_path / name / f"talk{EXPORTERS[name][0]}").read_text(encoding="utf-8")
        assert "Welcome to the programme." in text
        assert (CUES[0] in text) == (name == "bilingual-vtt")


def test_export_and_import_explain_a_missing_database_or_transcript(tmp_path, capsys, translated):
    out, _, _ = translated
    assert main(["export", "--from", str(tmp_path / "nowhere"), "--format", "srt"]) == 2
    assert "no review database here" in capsys.readouterr().err
    assert main(["export", "--from", str(out), "--format", "srt", "nope"]) == 2
    assert "no transcript named nope" in capsys.readouterr().err
    bad = tmp_path / "bad.xlf"
    bad.write_text("<xliff><file", encoding="utf-8")
    assert main(["import-review", "--from", str(out), str(bad)]) == 2
    assert "bad.xlf:1: not well-formed XML" in capsys.readouterr().err


@pytest.mark.slow
def test_a_different_file_with_the_same_name_is_refused_and_never_replaces_reviewed_work(
    tmp_path, tiny_model, capsys
):
    """Two interviews both called interview.txt, translated into one --out by two runs: the second is
    refused (its reviews would have been merged into the first's); --replace replaces knowingly; the
    same file, edited, is an ordinary re-run."""
    first, second = tmp_path / "a" / "interview.txt", tmp_path / "b" / "interview.txt"
    for path, text in ((first, "مرحبا بكم\n"), (second, "كيف حالك\n")):
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    common = ["--out", str(out), "--model", str(tiny_model), "--beam", "1"]
    assert main(["translate", str(first), *common]) == 0
    store = ReviewStore(OutputFolder(out).review_database)
    sentence = store.sentences("interview")[0]
    store.update("interview", sentence.id, sentence.revision, en="Welcome.", status="approved")
    before = (out / "interview" / "interview.aligned.jsonl").read_bytes()
    capsys.readouterr()

    assert main(["translate", str(second), *common]) == 1
    printed = capsys.readouterr()
    assert "already holds a transcript named 'interview' from another file" in printed.out
    assert "--replace" in printed.out and "Traceback" not in printed.err
    assert (out / "interview" / "interview.aligned.jsonl").read_bytes() == before
    assert store.sentences("interview")[0].sentence.en == "Welcome."

    first.write_text("مرحبا بكم جميعا\n", encoding="utf-8")  # the same file, edited
    assert main(["translate", str(first), *common]) == 0
    assert main(["translate", str(second), *common, "--replace"]) == 0
    assert "كيف" in store.sentences("interview")[0].sentence.ar
