from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.readers import find_transcripts, read_transcript, unsearched_notes
from pipeline.readers.common import parse_time
from tests.conftest import DATA

ARABIC_SRT = (
    "1\n00:00:01,000 --> 00:00:02,500\n<i>مرحبا</i> {\\an8}بكم\n\n"
    "2\n00:00:03,000 --> 00:00:04,000\nسطر أول\nسطر ثان\n"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def test_real_arabic_srt_keeps_every_cue_time_and_line():
    transcript = read_transcript(DATA / "tor_animation" / "Tor_animation.ar.srt")
    assert len(transcript.segments) == 36
    first, last = transcript.segments[0], transcript.segments[-1]
    assert (first.id, first.start, first.end) == ("1", 0.66, 3.2)
    assert first.text == ".لقد إعتدنا للغاية علي استخدام الإنترنت"  # as written, RTL fault included
    assert transcript.segments[5].text == "،في هذه اللحظة\n،إذا حاول شخص ما البحث عنك"
    assert (last.text, last.start) == ("ترجمة شريف علاء", 132.4)


def test_srt_markup_is_removed_and_lines_kept(tmp_path):
    segments = read_transcript(write(tmp_path, "a.srt", ARABIC_SRT)).segments
    assert [s.text for s in segments] == ["مرحبا بكم", "سطر أول\nسطر ثان"]
    assert [(s.start, s.end) for s in segments] == [(1.0, 2.5), (3.0, 4.0)]


@pytest.mark.parametrize(
    "encoded",
    [
        ARABIC_SRT.encode("utf-8"),
        ARABIC_SRT.encode("utf-8-sig"),
        ARABIC_SRT.encode("utf-16"),  # with BOM, native order
        b"\xfe\xff" + ARABIC_SRT.encode("utf-16-be"),
        b"\xff\xfe" + ARABIC_SRT.encode("utf-16-le"),
        ARABIC_SRT.encode("cp1256"),
        ARABIC_SRT.replace("\n", "\r\n").encode("utf-8"),
        ARABIC_SRT.replace("\n", "\r\n").encode("cp1256"),
    ],
    ids=["utf8", "utf8-bom", "utf16", "utf16-be-bom", "utf16-le-bom", "cp1256", "crlf", "crlf-cp1256"],
)
def test_every_encoding_seen_in_the_wild_reads_the_same(tmp_path, encoded):
    segments = read_transcript(write(tmp_path, "a.srt", encoded)).segments
    assert [s.text for s in segments] == ["مرحبا بكم", "سطر أول\nسطر ثان"]


def test_undecodable_bytes_name_the_file_and_line(tmp_path):
    path = write(tmp_path, "bad.txt", "سطر\nok\n".encode() + b"\x81\x8d\xff\n")
    with pytest.raises(InputError) as error:
        read_transcript(path)
    assert error.value.line == 3
    assert str(error.value).startswith(f"{path}:3: ")
    assert "--encoding" in str(error.value)


def test_binary_file_is_refused_clearly(tmp_path):
    with pytest.raises(InputError, match="binary"):
        read_transcript(write(tmp_path, "x.srt", b"\x89PNG\r\n\x1a\n\x00\x00"))


def test_malformed_srt_timing_names_its_line(tmp_path):
    content = "1\n00:00:01,000 --> 00:00:02,000\nنص\n\n2\n00:00:03 -> 00:00:04\nنص\n"
    with pytest.raises(InputError) as error:
        read_transcript(write(tmp_path, "a.srt", content))
    assert error.value.line == 5
    assert "cue number followed by a timing line" in error.value.problem


def test_srt_timestamps_with_period_and_backwards_cue(tmp_path):
    ok = read_transcript(write(tmp_path, "a.srt", "1\n00:00:01.250 --> 00:00:02.000\nنص\n"))
    assert ok.segments[0].start == 1.25
    with pytest.raises(InputError, match="ends before it starts") as error:
        read_transcript(write(tmp_path, "b.srt", "\n\n7\n00:00:05,000 --> 00:00:02,000\nنص\n"))
    assert error.value.line == 4


VTT = """WEBVTT - interview

NOTE the host speaks first
and this note has two lines

intro
00:00:01.000 --> 00:00:02.500 align:start position:10%
<v.loud المذيع>أهلا &amp; مرحبا <b>بكم</b></v>

00:01.000 --> 00:03.000
<v Sara Ali>نعم
سطر ثان

STYLE
::cue { color: yellow }
"""


def test_vtt_voices_notes_ids_entities_and_short_times(tmp_path):
    segments = read_transcript(write(tmp_path, "a.vtt", VTT)).segments
    assert [(s.id, s.speaker, s.text, s.start, s.end) for s in segments] == [
        ("intro", "المذيع", "أهلا & مرحبا بكم", 1.0, 2.5),
        ("2", "Sara Ali", "نعم\nسطر ثان", 1.0, 3.0),
    ]


def test_vtt_without_header_is_an_error_at_line_1(tmp_path):
    with pytest.raises(InputError, match="WEBVTT") as error:
        read_transcript(write(tmp_path, "a.vtt", "00:00:01.000 --> 00:00:02.000\nنص\n"))
    assert error.value.line == 1


def test_whisper_json_segments_with_optional_speaker(tmp_path):
    document = {
        "text": "ignored",
        "segments": [
            {"id": 0, "start": 0.0, "end": 2.4, "text": " أهلا بكم", "speaker": "SPEAKER_00"},
            {"id": 1, "start": 2.4, "end": 5.0, "text": "<i>شكرا</i>"},
        ],
    }
    segments = read_transcript(write(tmp_path, "a.json", json.dumps(document, ensure_ascii=False))).segments
    assert [(s.id, s.text, s.start, s.end, s.speaker) for s in segments] == [
        ("0", "أهلا بكم", 0.0, 2.4, "SPEAKER_00"),
        ("1", "شكرا", 2.4, 5.0, None),
    ]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"segments": [{"start": 0, "end": 1}]}', 'segments[0]: missing or non-string "text"'),
        ('{"segments": [{"start": "x", "end": 1, "text": "a"}]}', 'segments[0]: "start" must be'),
        ('[{"text": "a"}]', 'expected a JSON object with a "segments" list'),
        ('{"segments": [\n{"text": "a",}\n]}', ":2: invalid JSON"),
    ],
)
def test_json_that_is_not_whisper_shaped_says_where(tmp_path, content, expected):
    with pytest.raises(InputError) as error:
        read_transcript(write(tmp_path, "a.json", content))
    assert expected in str(error.value)


def test_tsv_with_header_and_both_time_styles(tmp_path):
    content = "start\tend\tspeaker\ttext\n0\t2.5\tالمذيع\tأهلا بكم\n00:00:02.500\t00:00:04.000\t\tشكرا\n"
    segments = read_transcript(write(tmp_path, "a.tsv", content)).segments
    assert [(s.text, s.start, s.end, s.speaker) for s in segments] == [
        ("أهلا بكم", 0.0, 2.5, "المذيع"),
        ("شكرا", 2.5, 4.0, None),
    ]


def test_tsv_errors_name_the_line(tmp_path):
    with pytest.raises(InputError, match="must name the text column") as error:
        read_transcript(write(tmp_path, "a.tsv", "start\tend\twords\n0\t1\tنص\n"))
    assert error.value.line == 1
    with pytest.raises(InputError, match="expected 4 tab-separated columns, found 2") as error:
        read_transcript(write(tmp_path, "b.tsv", "start\tend\tspeaker\ttext\n0\t1\tأ\tنص\n0\tنص\n"))
    assert error.value.line == 3
    with pytest.raises(InputError, match="start time 'soon'") as error:
        read_transcript(write(tmp_path, "c.tsv", "start\tend\tspeaker\ttext\nsoon\t1\tأ\tنص\n"))
    assert error.value.line == 2


def test_real_mgb3_tsv_reads_every_utterance():
    # The shared data's own TSV: its 'arabic' column is not 'text', so read through a renamed header.
    lines = (DATA / "mgb3" / "segments.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t")[-1] == "arabic"


def test_plain_text_speaker_labels_are_names_the_file_uses_as_labels(tmp_path):
    content = (
        "المذيع: أهلا بكم في البرنامج\nDr. Hana: شكرا\n\n"
        "قال لي إن الوقت: متأخر جدا وعلينا الذهاب الآن\nسطر بلا متحدث\n"
        "المذيع: سؤالي الأول\nSaqr  Al Hamdan: نعم\nSaqr Al Hamdan: طبعا\n"
    )
    segments = read_transcript(write(tmp_path, "a.txt", content)).segments
    assert [(s.id, s.speaker, s.text) for s in segments] == [
        ("1", "المذيع", "أهلا بكم في البرنامج"),
        ("2", None, "Dr. Hana: شكرا"),  # '.' is not part of a name: no guessing
        ("4", None, "قال لي إن الوقت: متأخر جدا وعلينا الذهاب الآن"),  # four words before ':' is prose
        ("5", None, "سطر بلا متحدث"),
        ("6", "المذيع", "سؤالي الأول"),
        ("7", "Saqr Al Hamdan", "نعم"),
        ("8", "Saqr Al Hamdan", "طبعا"),
    ]
    assert all(s.start is None and s.end is None for s in segments)


@pytest.mark.parametrize(
    "line",
    [
        "احترس: الطريق مغلق بعد الجسر",
        "قال لي: لا تخف",
        "وقال لي: لا تخف",
        "ملاحظة: الصوت غير واضح هنا",
        "Note: the tape cuts out here",
    ],
)
def test_plain_text_ordinary_words_before_a_colon_are_text(tmp_path, line):
    """An ordinary word or phrase before a colon is what somebody said, even in a short file where
    labels would start most lines, and even when it recurs."""
    for content in (f"{line}\n", f"{line}\nسطر آخر\n{line}\n"):
        segments = read_transcript(write(tmp_path, "a.txt", content)).segments
        assert all(s.speaker is None for s in segments) and segments[0].text == line


def test_plain_text_a_one_off_name_before_a_colon_in_prose_is_text(tmp_path):
    """A name-shaped word before a colon once, among many unlabelled lines, is not a speaker."""
    content = "مرحبا بكم\nكان يوما طويلا\nالسوق: كان مزدحما جدا\nثم عدنا إلى البيت\n"
    segments = read_transcript(write(tmp_path, "a.txt", content)).segments
    assert [s.speaker for s in segments] == [None] * 4
    assert segments[2].text == "السوق: كان مزدحما جدا"


def test_plain_text_a_short_dialogue_where_each_speaker_talks_once_keeps_its_labels(tmp_path):
    content = "سعاد: هل رأيت البحر اليوم؟\nكريم: نعم، كان هادئا\n"
    segments = read_transcript(write(tmp_path, "a.txt", content)).segments
    assert [(s.speaker, s.text) for s in segments] == [
        ("سعاد", "هل رأيت البحر اليوم؟"),
        ("كريم", "نعم، كان هادئا"),
    ]


def test_duplicate_cue_numbers_are_renumbered_so_ids_stay_unique(tmp_path):
    content = "1\n00:00:01,000 --> 00:00:02,000\nأ\n\n1\n00:00:02,000 --> 00:00:03,000\nب\n"
    assert [s.id for s in read_transcript(write(tmp_path, "a.srt", content)).segments] == ["1", "2"]


def test_unknown_suffix_and_folders(tmp_path):
    with pytest.raises(InputError, match=r"unknown transcript format '\.doc'"):
        read_transcript(write(tmp_path, "a.doc", "x"))
    write(tmp_path, "b.srt", ARABIC_SRT)
    write(tmp_path, "notes.md", "x")
    assert [p.name for p in find_transcripts([tmp_path])] == ["b.srt"]
    with pytest.raises(InputError, match="no such file"):
        find_transcripts([tmp_path / "missing.srt"])


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12.5", 12.5), ("00:01:02,500", 62.5), ("01:02.5", 62.5), ("1:02:03.004", 3723.004), ("7", 7.0)],
)
def test_time_formats(text, seconds):
    assert parse_time(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "-1", "00:61:00", "nan", "1:2:3:4", "inf"])
def test_bad_times_are_rejected(text):
    with pytest.raises(ValueError):
        parse_time(text)


def test_real_tatoeba_lines_as_plain_text_are_one_segment_each():
    lines = (DATA / "tatoeba" / "ar.txt").read_text(encoding="utf-8").splitlines()
    transcript = read_transcript(DATA / "tatoeba" / "ar.txt")
    assert [s.text for s in transcript.segments] == [line.strip() for line in lines if line.strip()]


def test_the_example_interview_reads_with_both_speakers():
    transcript = read_transcript(Path(__file__).parent.parent / "transcripts" / "fisherman-interview.vtt")
    assert len(transcript.segments) == 18
    assert {s.speaker for s in transcript.segments} == {"المذيعة", "صقر الحمدان"}
    assert transcript.segments[-1].end == 79.0


def test_subfolders_with_transcripts_that_a_folder_search_leaves_out_are_named_once_each(tmp_path):
    for name in (
        "a.srt",
        "old/x.srt",
        "old/y.vtt",
        "old/talk.glossary.tsv",
        "old/2019/z.txt",
        "old/notes.md",
    ):
        write_at = tmp_path / name
        write_at.parent.mkdir(parents=True, exist_ok=True)
        write_at.write_text(ARABIC_SRT, encoding="utf-8")
    for name in (
        ".git/q.srt",
        "__pycache__/q.txt",
        "out/review.sqlite3",
        "out/talk/talk.en.srt",
        "res/r.meta.json",
        "res/r.tsv",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x", encoding="utf-8")
    not_searched = "transcript(s) that were not searched; name the folder to translate it"
    assert unsearched_notes([tmp_path]) == [
        f"{tmp_path / 'old'}/ has 2 {not_searched}",
        f"{tmp_path / 'old' / '2019'}/ has 1 {not_searched}",
    ]
    assert unsearched_notes([tmp_path, tmp_path / "old"]) == [
        f"{tmp_path / 'old' / '2019'}/ has 1 {not_searched}"
    ]
    assert unsearched_notes([tmp_path / "a.srt"]) == []


def test_many_unsearched_subfolders_are_summed_up_in_one_line(tmp_path):
    for number in range(8):
        (tmp_path / f"part{number}").mkdir()
        (tmp_path / f"part{number}" / "a.srt").write_text(ARABIC_SRT, encoding="utf-8")
    notes = unsearched_notes([tmp_path])
    assert len(notes) == 6 and notes[0].startswith(f"{tmp_path / 'part0'}/ has 1 transcript(s)")
    assert (
        notes[-1]
        == "3 more folder(s) hold 3 transcript(s) that were not searched; name a folder to translate it"
    )


@pytest.mark.parametrize(
    ("text", "warned"),
    [
        ("Hello, how are you today?\nI am fine.\n", True),
        ("Marhaban bikum fi al-barnamaj\n", True),  # Arabic in Latin letters: not translated either
        ("مرحبا بكم في البرنامج\nHello\n", False),
        ("مرحبا بكم في برنامج Talk Show الليلة\n", False),
        ("OK\n", False),  # too few letters to say
    ],
)
def test_a_file_of_mostly_latin_letters_gets_one_warning(tmp_path, text, warned):
    path = write(tmp_path, "a.txt", text)
    note = (
        f"{path}: mostly Latin letters and little or no Arabic (already English, or Arabic written in "
        "Latin letters?): lines without Arabic script are kept as written, flagged not-arabic"
    )
    assert read_transcript(path).warnings == ((note,) if warned else ())
