from __future__ import annotations

import pytest

from pipeline.cli import main


def test_a_folder_without_transcripts_names_the_suffixes_looked_for(tmp_path, capsys):
    (tmp_path / "notes.md").write_text("x")
    assert main(["translate", str(tmp_path)]) == 2
    suffixes = ".srt, .vtt, .json, .tsv, .txt, .ass, .ssa, .ttml, .dfxp, .docx"
    assert f"no transcripts ({suffixes}) found in {tmp_path}" in capsys.readouterr().err


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


def one_error_line(capsys) -> str:
    error = capsys.readouterr().err
    assert "Traceback" not in error
    (line,) = [line for line in error.splitlines() if line.startswith("error:")]
    return line


def test_a_model_folder_that_does_not_exist_is_said_to_be_missing_not_looked_up_on_the_hub(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models").mkdir()
    (tmp_path / "a.txt").write_text("مرحبا\n", encoding="utf-8")
    assert main(["translate", "a.txt", "--model", "models/typo"]) == 2
    assert "No model folder models/typo: nothing is there" in one_error_line(capsys)


def test_an_output_folder_that_is_a_file_is_one_clear_error(tmp_path, capsys, tiny_model):
    (tmp_path / "a.txt").write_text("مرحبا\n", encoding="utf-8")
    (tmp_path / "out").write_text("not a folder")
    assert (
        main(
            ["translate", str(tmp_path / "a.txt"), "--out", str(tmp_path / "out"), "--model", str(tiny_model)]
        )
        == 2
    )
    assert "cannot write the output folder here" in one_error_line(capsys)
    assert (tmp_path / "out").read_text() == "not a folder"


def test_a_corrupt_review_database_is_named_and_left_as_it_is(tmp_path, capsys):
    (tmp_path / "review.sqlite3").write_bytes(b"this is not SQLite" * 100)
    assert main(["export", "--from", str(tmp_path), "--format", "srt"]) == 2
    line = one_error_line(capsys)
    assert "review.sqlite3: the review database cannot be opened" in line and "move it away" in line
    assert (tmp_path / "review.sqlite3").read_bytes() == b"this is not SQLite" * 100


def test_a_corrupt_translation_cache_is_named_with_what_to_do(tmp_path, capsys, tiny_model):
    (tmp_path / "a.txt").write_text("مرحبا\n", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / "translations.sqlite3").write_bytes(b"garbage" * 100)
    assert main(["translate", str(tmp_path / "a.txt"), "--out", str(out), "--model", str(tiny_model)]) == 2
    assert "translations.sqlite3: the translation cache cannot be opened" in one_error_line(capsys)


def test_the_review_port_in_use_is_one_line_suggesting_another(tmp_path, capsys):
    import socket

    from pipeline.output import OutputFolder
    from pipeline.review.store import ReviewStore

    ReviewStore(OutputFolder(tmp_path).review_database)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["review", "--from", str(tmp_path), "--port", str(port)]) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in one_error_line(capsys)
