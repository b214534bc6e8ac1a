"""`import-review` finds a file's transcript by what the file records and by its sentence ids, never by
the file's name; a conflict lists every field that differs."""

from __future__ import annotations

import pytest

from pipeline.cli import main
from pipeline.output import OutputFolder
from pipeline.review.store import ReviewStore
from tests.review_helpers import aligned
from tests.test_exports_hostile import export, reviewed, state


@pytest.mark.parametrize("kind", ["tsv", "xliff"])
def test_a_renamed_export_still_imports_into_its_transcript(tmp_path, capsys, kind):
    out, store = reviewed(tmp_path, ["one", "two"])
    path = export(out, tmp_path, kind)
    renamed = path.with_name(f"from the translator, final v2{path.suffix}")
    path.rename(renamed)
    renamed.write_bytes(renamed.read_bytes().replace(b"two", b"Two, checked"))
    capsys.readouterr()
    assert main(["import-review", "--from", str(out), str(renamed)]) == 0
    assert "Imported 1 change(s)" in capsys.readouterr().out
    assert [s.sentence.en for s in store.sentences("talk")] == ["one", "Two, checked"]


def test_a_tsv_exported_before_the_transcript_column_is_found_by_its_sentence_ids(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["one", "two"])
    path = export(out, tmp_path, "tsv")
    lines = path.read_text(encoding="utf-8").splitlines()
    earlier = ["\t".join(line.split("\t")[:-1]) for line in lines]  # no transcript column
    renamed = tmp_path / "spreadsheet.tsv"
    renamed.write_text("\n".join(earlier).replace("\ttwo\t", "\tTwo!\t") + "\n", encoding="utf-8")
    assert main(["import-review", "--from", str(out), str(renamed)]) == 0
    assert [s.sentence.en for s in store.sentences("talk")] == ["one", "Two!"]


def test_a_file_naming_a_transcript_that_is_not_there_changes_nothing(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["one"])
    path = export(out, tmp_path, "tsv")
    path.write_text(path.read_text(encoding="utf-8").replace("\ttalk\n", "\tother\n"), encoding="utf-8")
    before = state(store)
    capsys.readouterr()
    assert main(["import-review", "--from", str(out), str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: ") and "no transcript named 'other'" in line
    assert state(store) == before


def test_a_conflict_lists_every_field_that_differs(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["one"])
    path = export(out, tmp_path, "tsv")
    sentence = store.sentences("talk")[0]
    store.update(
        "talk", sentence.id, sentence.revision, en="one, said the app", status="approved", comment="ok"
    )
    path.write_bytes(path.read_bytes().replace(b"\tone\t", b"\tone, said the file\t"))
    capsys.readouterr()
    assert main(["import-review", "--from", str(out), str(path)]) == 1
    printed = capsys.readouterr().out
    (conflict,) = [line for line in printed.splitlines() if line.startswith("  conflict: ")]
    assert "English: app 'one, said the app', file 'one, said the file'" in conflict
    assert "status: app 'approved', file 'edited'" in conflict
    assert "comment: app 'ok', file 'one, said the file'" in conflict  # reviewed() comments its English
    assert store.sentences("talk")[0].sentence.en == "one, said the app"


def test_a_missing_file_a_folder_and_an_xliff_of_two_transcripts_are_one_line_each(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["one"])
    xliff = export(out, tmp_path, "xliff")
    text = xliff.read_text(encoding="utf-8")
    start, end = text.index("<file "), text.index("</file>") + len("</file>")
    (tmp_path / "two.xlf").write_text(text[:end] + text[start:end] + text[end:], encoding="utf-8")
    (tmp_path / "folder.tsv").mkdir()
    before = state(store)
    for path, problem in (
        (tmp_path / "missing.tsv", "no such file"),
        (tmp_path / "folder.tsv", "is a folder"),
        (tmp_path / "two.xlf", "holds 2 <file> elements"),
    ):
        capsys.readouterr()
        assert main(["import-review", "--from", str(out), str(path)]) == 2
        (line,) = capsys.readouterr().err.strip().splitlines()
        assert line.startswith(f"error: {path}: ") and problem in line
    assert state(store) == before


def test_a_file_whose_ids_are_all_from_another_transcript_changes_nothing(tmp_path, capsys):
    out, store = reviewed(tmp_path, ["one"])
    ReviewStore(OutputFolder(out).review_database).sync(aligned("other", [("كلمة", "Word.")]))
    path = export(out, tmp_path, "tsv")
    path.write_text(path.read_text(encoding="utf-8").replace("\ttalk\n", "\tother\n"), encoding="utf-8")
    before = state(store)
    capsys.readouterr()
    assert main(["import-review", "--from", str(out), str(path)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "none of its sentence ids are in transcript 'other'" in line
    assert state(store) == before
