from __future__ import annotations

import pytest

from pipeline.cli import main


def test_a_folder_without_transcripts_names_the_suffixes_looked_for(tmp_path, capsys):
    (tmp_path / "notes.md").write_text("x")
    assert main(["translate", str(tmp_path)]) == 2
    assert f"no transcripts (.srt, .vtt, .json, .tsv, .txt) found in {tmp_path}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--formats", "jsonl,pdf"], "unknown format(s) pdf"),
        (["--beam", "0"], "--beam, --batch-size, --workers and --worker-cpus must be at least 1"),
        (["--workers", "0"], "--beam, --batch-size, --workers and --worker-cpus must be at least 1"),
    ],
)
def test_bad_options_are_refused_before_any_work(tmp_path, capsys, option, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["translate", str(tmp_path), *option])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_missing_input_path_is_an_error(tmp_path, capsys):
    assert main(["translate", str(tmp_path / "nope.srt")]) == 2
    assert "nope.srt: no such file or folder" in capsys.readouterr().err


def test_a_bad_glossary_row_is_refused_by_file_and_line_before_the_model_loads(tmp_path, capsys):
    (tmp_path / "talk.txt").write_text("مرحبا\n", encoding="utf-8")
    glossary = tmp_path / "names.tsv"
    glossary.write_text("صقر\tSaqr\nفقط عربي\n", encoding="utf-8")
    assert (
        main(["translate", str(tmp_path / "talk.txt"), "--glossary", str(glossary), "--model", "nope"]) == 2
    )
    assert f"{glossary}:2: a glossary row needs an Arabic term, a tab and its English rendering" in (
        capsys.readouterr().err
    )


def test_ctrl_c_during_translate_says_how_to_resume_in_one_line(tmp_path, capsys, monkeypatch):
    def interrupted(job):
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.run.translate", interrupted)
    (tmp_path / "a.txt").write_text("مرحبا\n", encoding="utf-8")
    assert main(["translate", str(tmp_path / "a.txt")]) == 130
    error = capsys.readouterr().err
    assert (
        error.strip()
        == "interrupted: run the same command again to resume where it stopped (finished work is kept)"
    )
