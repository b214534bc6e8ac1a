"""What users feed the tool: every case has one exact behaviour, an error naming file, line and problem,
or a result (with a warning where something was odd). A failing file never stops the others."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.errors import InputError
from pipeline.readers import read_transcript

ERRORS = {
    "empty.srt": (b"", "empty.srt: holds no text to translate"),
    "blank.txt": (b"  \n\n \t\n", "blank.txt: holds no text to translate"),
    "binary.srt": (bytes(range(256)) * 4, "binary.srt: is a binary file, not a text transcript"),
    "bad-utf16.txt": (
        b"\xff\xfe\x00\xd8\x41\x00",
        "bad-utf16.txt: has a utf-16 byte-order mark but invalid utf-16",
    ),
    "no-header.vtt": (
        "00:00:01.000 --> 00:00:02.000\nمرحبا\n".encode(),
        "no-header.vtt:1: a WebVTT file must",
    ),
    "not-whisper.json": (
        b'{"text": "x"}',
        'not-whisper.json:1: expected a JSON object with a "segments" list',
    ),
    "no-text-column.tsv": (
        b"start\tend\n1\t2\n",
        "no-text-column.tsv:1: the header must name the text column",
    ),
    "backwards.srt": (
        "1\n00:00:05,000 --> 00:00:02,000\nنص\n".encode(),
        "backwards.srt:2: cue ends before it starts",
    ),
    "bad-time.srt": (
        "1\n00:00:0x,000 --> 00:00:02,000\nنص\n".encode(),
        "bad-time.srt:2: malformed timestamp",
    ),
    "deep.json": (
        b'{"segments": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "deep.json: cannot be read: nested thousands of levels deep",
    ),
    "digits.json": (
        b'{"segments": [{"start": ' + b"9" * 5000 + b', "end": 1, "text": "x"}]}',
        "digits.json: cannot be read: Exceeds the limit (4300 digits) for integer string conversion",
    ),
    "forever.tsv": (
        "start\tend\ttext\n1e300\t1e301\tنص\n".encode(),
        "forever.tsv:2: a time that is not a real recording's",
    ),
}


def write(folder: Path, name: str, content: bytes | str) -> Path:
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_unreadable_input_is_an_error_naming_file_line_and_problem(tmp_path, name):
    content, message = ERRORS[name]
    with pytest.raises(InputError) as error:
        read_transcript(write(tmp_path, name, content))
    assert message in str(error.value)


def test_srt_without_indices_with_mixed_separators_or_without_blank_lines_reads_every_cue(tmp_path):
    text = (
        "00:00:01,000 --> 00:00:02.500\nمرحبا بكم\n"  # no index, comma then period
        "2\n00:00:03.000 --> 00:00:04,000\nكيف حالكم\n"  # no blank line before this cue
        "00:00:05,000 --> 00:00:06,000\nبخير\n\n"  # nor before this one, which has no index
        "4\n00:00:07,000 --> 00:00:08,000\n\n"  # a cue with no text
    )
    transcript = read_transcript(write(tmp_path, "loose.srt", text))
    assert [(s.text, s.start, s.end) for s in transcript.segments] == [
        ("مرحبا بكم", 1.0, 2.5),
        ("كيف حالكم", 3.0, 4.0),
        ("بخير", 5.0, 6.0),
        ("", 7.0, 8.0),
    ]
    assert len({s.id for s in transcript.segments}) == 4 and transcript.warnings == ()


def test_cues_out_of_time_order_or_overlapping_are_kept_in_file_order_with_a_warning(tmp_path):
    text = "1\n00:00:05,000 --> 00:00:06,000\nأ\n\n2\n00:00:01,000 --> 00:00:02,000\nب\n\n"
    text += "3\n00:00:01,500 --> 00:00:07,000\nج\n"
    path = write(tmp_path, "order.srt", text)
    transcript = read_transcript(path)
    assert [s.text for s in transcript.segments] == ["أ", "ب", "ج"]
    assert transcript.warnings == (
        f"{path}:5: 1 cue(s) start before the cue above them (kept in file order)",
        f"{path}:9: 1 cue(s) overlap the cue above them (kept in file order)",
    )


def records(out: Path, stem: str) -> list[dict]:
    lines = (out / stem / f"{stem}.aligned.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def squeezed(texts) -> str:
    return "".join("".join(text.split()) for text in texts)


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory, tiny_model):
    """One translate run over a folder holding every bad file and every odd-but-readable one:
    (exit status, what it printed, output folder, the readable files)."""
    folder = tmp_path_factory.mktemp("hostile")
    for name, (content, _) in ERRORS.items():
        write(folder, name, content)
    odd = {
        "english.txt": "Hello, how are you today?\nBonjour, comment allez-vous ?\n",
        "marks.txt": "مَرْحَبًا بِكُمْ يـــا أصدقاء في عام ١٤٤٥ و۲۰۲۴\n",
        "controls.txt": "مرحبا\u200b بكم \u202eفي\u202c البرنامج\u2066 اليوم\u2069\n",
        "emoji.txt": "مرحبا 😀 بكم 🇪🇬 في البرنامج\n",
    }
    for name, text in odd.items():
        write(folder, name, text)
    out = tmp_path_factory.mktemp("out")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        status = main(
            ["translate", str(folder), "--out", str(out), "--model", str(tiny_model), "--backend", "hf"]
        )
    return status, printed.getvalue(), out, {name: folder / name for name in odd}


def test_failing_files_are_listed_and_never_stop_the_others(hostile_run):
    status, printed, out, odd = hostile_run
    assert status == 1
    assert f"{len(ERRORS)} file(s) failed:" in printed
    for _, message in ERRORS.values():
        assert message in printed
    for path in odd.values():
        assert (out / path.stem / f"{path.stem}.aligned.jsonl").is_file()


def test_every_readable_file_keeps_its_text_exactly_once_in_the_aligned_arabic(hostile_run):
    _, _, out, odd = hostile_run
    for path in odd.values():
        written = records(out, path.stem)
        assert squeezed(r["ar"] for r in written) == squeezed(s.text for s in read_transcript(path).segments)


@pytest.mark.slow
def test_a_100000_character_segment_without_spaces_is_cut_and_translated(tmp_path, tiny_model):
    source = write(tmp_path, "long.txt", "ب" * 100_000)
    command = ["translate", str(source), "--out", str(tmp_path / "out"), "--model", str(tiny_model)]
    assert main([*command, "--beam", "1", "--formats", "jsonl"]) == 0
    written = records(tmp_path / "out", "long")
    assert len(written) >= 1 and "".join(r["ar"] for r in written).replace(" ", "") == "ب" * 100_000


def test_english_and_french_pass_through_untranslated_and_flagged_not_arabic(hostile_run):
    _, _, out, _ = hostile_run
    written = records(out, "english")
    assert [r["en"] for r in written] == ["Hello, how are you today?", "Bonjour, comment allez-vous ?"]
    assert all("not-arabic" in r["flags"] for r in written)


def test_diacritics_tatweel_and_eastern_digits_are_normalised_for_the_model_only(hostile_run, tiny_model):
    from pipeline.units import UnitOptions, build_units

    _, _, out, odd = hostile_run
    (record,) = records(out, "marks")
    assert record["ar"] == "مَرْحَبًا بِكُمْ يـــا أصدقاء في عام ١٤٤٥ و۲۰۲۴"  # what was written
    (unit,) = build_units(read_transcript(odd["marks.txt"]), len, UnitOptions())
    assert unit.text == "مرحبا بكم يا أصدقاء في عام 1445 و2024"  # what the model reads


def test_zero_width_and_bidi_controls_never_reach_the_model_and_are_shown_as_tags(hostile_run):
    from pipeline.units import UnitOptions, build_units

    _, _, out, odd = hostile_run
    (unit,) = build_units(read_transcript(odd["controls.txt"]), len, UnitOptions())
    assert unit.text == "مرحبا بكم في البرنامج اليوم"
    page = (out / "controls" / "controls.html").read_text(encoding="utf-8")
    assert "\u202e" not in page and "\u2066" not in page
    assert "⟨U+202E⟩في⟨U+202C⟩" in page and "⟨U+2066⟩" in page


def test_emoji_stay_in_the_arabic_and_do_not_break_translation(hostile_run):
    _, _, out, _ = hostile_run
    (record,) = records(out, "emoji")
    assert "😀" in record["ar"] and "🇪🇬" in record["ar"] and record["en"]


def test_a_file_name_too_long_for_the_file_system_still_gets_unique_outputs(tmp_path, tiny_model, capsys):
    """Names of 250 bytes are legal, but '<name>.aligned.jsonl' and its temporary file are not: the
    output names are cut and made unique by a hash, and the Arabic name keeps whole characters."""
    folder = tmp_path / "in"
    folder.mkdir()
    stems = ["مقابلة" * 20 + "أ", "مقابلة" * 20 + "ب"]  # 241 bytes each, differing only at the end
    for stem in stems:
        (folder / f"{stem}.txt").write_text("مرحبا بكم\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["translate", str(folder), "--out", str(out), "--model", str(tiny_model), "--beam", "1"]) == 0
    folders = sorted(out.glob("*/"))
    assert len([f for f in folders if f.name.startswith("مقابلة")]) == 2
    for written in out.glob("*/*"):
        assert len(written.name.encode("utf-8")) <= 255
        written.name.encode("utf-8").decode("utf-8")  # never a character cut in half
