"""Odd but readable input, as a user meets it through `python -m pipeline translate`: a colon in ordinary
speech is text, cues out of time order get English subtitle times a player can show, and what the run
did not do (a subfolder not searched, a file already in English) is said once in the summary."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
from pathlib import Path

import pytest

from pipeline.align import join_units
from pipeline.cli import main
from pipeline.readers import read_transcript
from pipeline.records import AlignedSentence, Segment, Transcript

PROSE = (
    "كان يوما طويلا في الميناء.\n"
    "احترس: الطريق مغلق بعد الجسر.\n"
    "قال لي: لا تخف من البحر.\n"
    "السوق: كان مزدحما جدا.\n"
    "ثم عدنا إلى البيت.\n"
    "قال لي: لا تخف من البحر.\n"
)
DIALOGUE = (
    "المذيعة: أهلا بكم في البرنامج.\n"
    "صقر الحمدان: شكرا على الدعوة.\n"
    "المذيعة: متى بدأت الصيد؟\n"
    "صقر الحمدان: منذ أن كنت صغيرا.\n"
)


def cue(number: int, start: float, end: float, text: str) -> str:
    def clock(seconds: float) -> str:
        ms = round(seconds * 1000)
        return f"00:{ms // 60000:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return f"{number}\n{clock(start)} --> {clock(end)}\n{text}\n"


# Cue 3 was misplaced (it belongs before cue 2, and cue 4 goes on where cue 2 ended); cues 5 and 6 are
# a second recording whose clock restarts at zero, joined onto the first.
SHUFFLED = "\n".join(
    [
        cue(1, 1.0, 3.0, "مرحبا بكم."),
        cue(2, 10.0, 12.0, "هذا هو البرنامج."),
        cue(3, 4.0, 6.0, "نسيت أن أقول."),
        cue(4, 12.0, 14.0, "شكرا لكم."),
        cue(5, 0.0, 2.0, "الجزء الثاني."),
        cue(6, 2.5, 4.0, "نبدأ الآن."),
    ]
)


@pytest.fixture(scope="module")
def odd_run(tmp_path_factory, tiny_model):
    """One translate run over a folder of odd files, with a subfolder of transcripts it does not
    search: (exit status, the summary printed, the output folder, the input folder)."""
    folder = tmp_path_factory.mktemp("odd")
    files = {
        "prose.txt": PROSE,
        "dialogue.txt": DIALOGUE,
        "shuffled.srt": SHUFFLED,
        "english.txt": "Hello, how are you today?\nI am fine, thank you.\n",
        "old/one.txt": "مرحبا\n",
        "old/two.srt": cue(1, 0.0, 1.0, "مرحبا"),
        "old/2019/three.txt": "مرحبا\n",
    }
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    out = tmp_path_factory.mktemp("out")
    printed = io.StringIO()
    command = ["translate", str(folder), "--out", str(out), "--model", str(tiny_model), "--beam", "1"]
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        status = main(command)
    return status, printed.getvalue(), out, folder


def records(out: Path, stem: str) -> list[dict]:
    lines = (out / stem / f"{stem}.aligned.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def test_ordinary_words_before_a_colon_are_translated_as_text_not_taken_for_speakers(odd_run):
    status, _, out, _ = odd_run
    assert status == 0
    written = records(out, "prose")
    assert {r["speaker"] for r in written} == {None}
    arabic = " ".join(r["ar"] for r in written)
    for said in ("احترس: الطريق مغلق", "قال لي: لا تخف", "السوق: كان مزدحما"):
        assert said in arabic


def test_names_a_transcript_uses_as_labels_are_its_speakers(odd_run):
    _, _, out, _ = odd_run
    written = records(out, "dialogue")
    assert {r["speaker"] for r in written} == {"المذيعة", "صقر الحمدان"}
    assert "المذيعة:" not in " ".join(r["ar"] for r in written)


@pytest.mark.parametrize("suffix", [".en.srt", ".bilingual.vtt"])
def test_cues_out_of_time_order_get_subtitle_times_a_player_can_show(odd_run, suffix):
    """Every cue has a length, and no cue starts before, or overlaps, the one above it."""
    _, _, out, _ = odd_run
    subtitles = read_transcript(out / "shuffled" / f"shuffled{suffix}")  # a backwards cue is an error
    times = [(cue.start, cue.end) for cue in subtitles.segments]
    assert len(times) >= 6
    assert all(start is not None and end is not None and end > start for start, end in times)
    for (start, end), (next_start, _) in itertools.pairwise(times):
        assert start is not None and end is not None and next_start is not None
        assert next_start >= end, times
    assert not [warning for warning in subtitles.warnings if "cue(s)" in warning]  # nor overlapping


def test_out_of_order_sentences_keep_the_arabic_order_and_are_warned_about_once(odd_run):
    _, printed, out, folder = odd_run
    written = records(out, "shuffled")
    assert [segment for r in written for segment in r["segments"]] == sorted(
        {segment for r in written for segment in r["segments"]}, key=int
    )
    warning = f"{folder / 'shuffled.srt'}:9: 2 cue(s) start before the cue above them (kept in file order)"
    assert printed.count(warning) == 1


def test_a_file_already_in_english_is_named_once_in_the_summary(odd_run):
    _, printed, _, folder = odd_run
    assert printed.count(f"note: {folder / 'english.txt'}: mostly Latin letters") == 1
    assert "prose.txt: mostly Latin" not in printed and "shuffled.srt: mostly Latin" not in printed


def test_subfolders_holding_transcripts_that_were_not_searched_are_said_once(odd_run):
    _, printed, out, folder = odd_run
    assert printed.count(f"note: {folder / 'old'}/ has 2 transcript(s) that were not searched") == 1
    assert printed.count(f"note: {folder / 'old' / '2019'}/ has 1 transcript(s) that were not searched") == 1
    assert not (out / "one").exists()


# --- join_units: the timing rule, sentence by sentence ------------------------------------------------


def joined(cues: list[tuple[float, float]]) -> list[tuple[float | None, float | None]]:
    """One sentence per cue, the cues in file order: the times join_units gives them."""
    segments = tuple(Segment(str(n), "نص", start, end) for n, (start, end) in enumerate(cues, start=1))
    sentences = [
        AlignedSentence(0, "Text.", "نص", (s.id,), s.start, s.end, None, 1.0, (), ()) for s in segments
    ]
    aligned = join_units(Transcript("t", "t.srt", segments), [sentences], "m")
    return [(s.start, s.end) for s in aligned.sentences]


def test_times_in_order_overlapping_or_not_are_kept_as_they_are():
    cues = [(0.0, 2.0), (2.0, 4.5), (4.0, 6.0), (4.0, 5.0), (9.0, 9.5)]
    assert joined(cues) == cues


def test_a_misplaced_cue_with_room_after_the_sentence_above_takes_its_own_duration_there():
    assert joined([(0.0, 2.0), (10.0, 12.0), (4.0, 6.0), (20.0, 22.0)]) == [
        (0.0, 2.0),
        (10.0, 12.0),
        (12.0, 14.0),
        (20.0, 22.0),
    ]


def test_a_misplaced_cue_between_back_to_back_cues_shares_the_time_of_the_one_above():
    assert joined([(0.0, 2.0), (10.0, 12.0), (4.0, 6.0), (12.0, 14.0)]) == [
        (0.0, 2.0),
        (10.0, 11.0),
        (11.0, 12.0),
        (12.0, 14.0),
    ]
    # some room, not enough: shared up to the next start, in proportion to the durations
    assert joined([(10.0, 12.0), (4.0, 6.0), (13.0, 15.0)]) == [(10.0, 11.5), (11.5, 13.0), (13.0, 15.0)]


def test_a_clock_that_restarts_is_moved_after_the_sentence_above_keeping_its_gaps():
    """Two recordings joined into one file, as MGB-3's segments.tsv joins its clips."""
    part_one, part_two = [(0.0, 2.0), (3.0, 5.0)], [(0.0, 1.0), (2.0, 4.0), (4.0, 6.5)]
    assert joined([*part_one, *part_two, *part_two]) == [
        *part_one,
        (5.0, 6.0),
        (7.0, 9.0),
        (9.0, 11.5),
        (11.5, 12.5),
        (13.5, 15.5),
        (15.5, 18.0),
    ]


def test_a_folder_whose_transcripts_are_all_in_subfolders_says_where_they_are(tmp_path, capsys):
    from pipeline.cli import main

    (tmp_path / "talks" / "2024").mkdir(parents=True)
    (tmp_path / "talks" / "2024" / "talk.txt").write_text("مرحبا\n", encoding="utf-8")
    assert main(["translate", str(tmp_path / "talks"), "--out", str(tmp_path / "out")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert (
        line.startswith("error: no transcripts")
        and f"{tmp_path / 'talks' / '2024'}/ has 1 transcript" in line
    )
