"""The input formats of issue 14: ASS/SSA, TTML/DFXP, YouTube's automatic captions, time-stamped text
and Word documents, read as a user meets them (`read_transcript`, and `translate` end to end)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.errors import InputError
from pipeline.readers import find_transcripts, read_transcript
from pipeline.readers.timed_text import SPEECH_CHARS_PER_SECOND
from tests.conftest import DATA

FORMATS = DATA / "formats"
REPO = Path(__file__).resolve().parent.parent
ASS_HEAD = (
    "[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
    "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
)


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def ttml(paragraphs: str) -> str:
    return f'<tt xmlns="http://www.w3.org/ns/ttml"><body><div>\n{paragraphs}\n</div></body></tt>\n'


def described(segments) -> list[tuple]:
    return [(s.text, s.start, s.end, s.speaker, s.line) for s in segments]


# The interview the fixtures hold, in each format: what was said, when, and by whom.
HOST, GUEST = "المذيع", "أحمد"
INTERVIEW = [
    ("مساء الخير،\nوأهلا بكم في البرنامج.", 1.0, 3.5, HOST),
    ("شكرا لكم على الدعوة.", 3.5, 6.2, GUEST),
    ("منذ متى تعمل في البحر؟", 6.2, 9.0, HOST),
]


def test_ass_reads_dialogue_with_actors_and_skips_comments_drawings_and_styling():
    segments = read_transcript(FORMATS / "interview-ass.ar.ass").segments
    assert described(segments) == [
        (*INTERVIEW[0], 16),
        (*INTERVIEW[1], 17),  # {\i1}...{\i0} removed, \h a space
        (*INTERVIEW[2], 19),  # line 18, a drawing (\p1), is not text; {a comment} is not shown
        ("منذ ثلاثين سنة، والحمد لله.", 9.0, 12.4, GUEST, 20),
    ]
    assert not any("ملاحظة" in s.text for s in segments)  # the Comment: event


def test_ssa_v4_reads_too(tmp_path):
    content = (
        "[Script Info]\nScriptType: v4.00\n\n[V4 Styles]\nFormat: Name, Fontname\nStyle: Default,Arial\n\n"
        "[Events]\nFormat: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: Marked=0,0:00:01.50,0:00:02.00,Default,سارة,0000,0000,0000,,نص قديم\\Nسطر ثان\n"
    )
    segments = read_transcript(write(tmp_path, "old.ssa", content)).segments
    assert described(segments) == [("نص قديم\nسطر ثان", 1.5, 2.0, "سارة", 10)]


def test_ttml_reads_paragraphs_with_their_times_and_line_breaks():
    segments = read_transcript(FORMATS / "interview-ttml.ar.ttml").segments
    assert (
        described(segments)
        == [
            (*INTERVIEW[0][:3], None, 15),  # <br/> is a line break
            (*INTERVIEW[1][:3], None, 16),  # <span> styling removed
            (*INTERVIEW[2][:3], None, 17),  # offset times: 6.2s, 9s
            ("منذ ثلاثين سنة، والحمد لله & الشكر.", 9.0, 12.4, None, 18),  # dur, and &amp;
        ]
    )


def test_dfxp_draft_namespace_dur_and_a_utf16_declaration_read(tmp_path):
    dfxp = (
        '<?xml version="1.0" encoding="UTF-16"?>\n<tt xmlns="http://www.w3.org/2006/10/ttaf1">\n'
        '<body><div><p begin="00:00:02.000" dur="1.5s">نص قديم</p></div></body></tt>\n'
    )
    segments = read_transcript(write(tmp_path, "old.dfxp", dfxp.encode("utf-16"))).segments
    assert described(segments) == [("نص قديم", 2.0, 3.5, None, 3)]


@pytest.mark.parametrize(
    ("name", "content", "error"),
    [
        (
            "bad-time.ass",
            ASS_HEAD + "Dialogue: 0,0:00:01.00,0:0x:02.00,Default,,0,0,0,,نص\n",
            r":6: .*'0:0x:02.00'",
        ),
        (
            "short.ass",
            ASS_HEAD + "Dialogue: 0,0:00:01.00,0:00:02.00,نص\n",
            r":6: an event needs 10 .*found 4",
        ),
        (
            "backwards.ass",
            ASS_HEAD + "Dialogue: 0,0:00:03.00,0:00:02.00,D,,0,0,0,,نص\n",
            r":6: event ends before",
        ),
        (
            "negative.ass",
            ASS_HEAD + "Dialogue: 0,-0:00:03.00,0:00:02.00,D,,0,0,0,,نص\n",
            r":6: a time that is not",
        ),
        ("notes.ass", "مرحبا\nهذا ليس ملف ترجمة\n", r":1: not an ASS/SSA file"),
        (
            "broken.ttml",
            ttml('<p begin="1s" end="2s">نص</p>\n<p begin="2s" end="3s">نص</b>'),
            r":3: invalid XML",
        ),
        (
            "frames.ttml",
            ttml('<p begin="1s" end="2s">أ</p>\n<p begin="00:00:02:12" end="3s">ب</p>'),
            r":3: .*frames",
        ),
        (
            "untimed.ttml",
            ttml('<p begin="1s" end="2s">أ</p>\n<p begin="1s">ب</p>'),
            r":3: a <p> paragraph without",
        ),
        ("nested.ttml", ttml('<div><p begin="1s" end="2s">نص</p></div>'), r": has 1 <p> .*nested <div>s"),
        ("page.ttml", "<html><body><p>نص</p></body></html>", r":1: not TTML"),
        (
            "entities.ttml",
            '<!DOCTYPE tt [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
            '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
            '<!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
            '<!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>\n'
            '<tt xmlns="http://www.w3.org/ns/ttml"><body><div>\n'
            '<p begin="1s" end="2s">&h;</p></div></body></tt>',
            r":3: invalid XML: limit on input amplification",
        ),
        (
            "outside.ttml",
            '<!DOCTYPE tt [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
            '<tt xmlns="http://www.w3.org/ns/ttml"><body><div>\n'
            '<p begin="1s" end="2s">&secret;</p></div></body></tt>',
            r":3: invalid XML: undefined entity",
        ),
        ("not-a-zip.docx", "مرحبا", r": is not a readable Word document \(.docx\): File is not a zip file"),
        ("damaged.docx", b"PK\x03\x04" + bytes(40), r": is not a readable Word document"),
        ("stamps.txt", "[00:00:01] أ\n[00:61:00] ب\n", r":2: malformed time stamp '00:61:00'"),
        (
            "captions.vtt",
            "WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nأ<00:00:01.500><c> ب</c>\n",
            r":3: cue ends",
        ),
        ("cueless.vtt", "WEBVTT\n\nأ<00:00:01.500><c> ب</c>\n", r":3: expected a timing line"),
        (
            "headless.vtt",
            "00:00:01.000 --> 00:00:02.000\nأ<00:00:01.500><c> ب</c>\n",
            r":1: .*start with .*WEBVTT",
        ),
    ],
)
def test_malformed_input_is_one_line_naming_file_line_and_problem(tmp_path, name, content, error):
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as raised:
        read_transcript(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(str(path)) and re.search(error, message[len(str(path)) :]), message


# --- YouTube's automatic captions ---------------------------------------------------------------

# The words of tests/data/formats/interview-vtt.ar.vtt, each with the time its inline stamp (or its cue's
# start, for a line's first word) gives it; `[موسيقى]` is a line without word times.
SPOKEN = [
    [("مساء", 0.08), ("الخير", 0.48), ("وأهلا", 0.96), ("بكم", 1.52), ("في", 1.8), ("البرنامج", 2.16)],
    [("ضيفنا", 2.879), ("اليوم", 3.36), ("صياد", 3.84), ("من", 4.4), ("الإسكندرية", 4.64)],
    [("[موسيقى]", 5.759)],
    [("يعمل", 8.4), ("في", 8.88), ("البحر", 9.04), ("منذ", 9.6), ("ثلاثين", 10.0), ("سنة", 10.56)],
    [("نعم", 11.13), ("الخير", 11.61), ("في", 12.17), ("البحر", 12.41), ("كثير", 12.89)],
    [("والحمد", 14.0), ("لله", 14.48)],
]


def test_youtube_automatic_captions_read_each_word_once_in_order_with_its_own_time():
    segments = read_transcript(FORMATS / "interview-vtt.ar.vtt").segments
    assert [s.text.split() for s in segments] == [[word for word, _ in line] for line in SPOKEN]
    for segment, line in zip(segments, SPOKEN, strict=True):
        at_word_starts = [segment.time_at(match.start()) for match in re.finditer(r"\S+", segment.text)]
        assert at_word_starts == pytest.approx([time for _, time in line])
        assert segment.start == pytest.approx(line[0][1])
    # Each line lasts until its cue ends, where the 10 ms cue that repeats it starts.
    assert [time for s in segments[:2] for time in (s.start, s.end)] == pytest.approx(
        [0.08, 2.869, 2.879, 5.749]
    )


def test_youtube_words_between_stamps_get_times_in_between_and_end_at_the_cue_end():
    (segment, *_) = read_transcript(FORMATS / "interview-vtt.ar.vtt").segments
    middle_of_welcome = segment.text.index("وأهلا") + 2
    assert 0.96 < segment.time_at(middle_of_welcome) < 1.52
    assert segment.time_at(len(segment.text)) == pytest.approx(2.869)


def test_ordinary_webvtt_with_a_tag_is_not_mistaken_for_youtube(tmp_path):
    content = (
        "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n<v أحمد><i>مرحبا</i> بكم\n \n\n"
        "2\n00:00:03.000 --> 00:00:04.000\nنص\n"
    )
    segments = read_transcript(write(tmp_path, "a.vtt", content)).segments
    assert described(segments) == [("مرحبا بكم", 1.0, 2.0, "أحمد", 3), ("نص", 3.0, 4.0, None, 8)]
    assert all(not s.word_times for s in segments)


# --- time-stamped plain text --------------------------------------------------------------------


def test_time_stamped_text_reads_times_speakers_and_continued_lines():
    segments = read_transcript(FORMATS / "interview-txt.ar.txt").segments
    last = "وكيف تغير البحر؟"
    assert described(segments) == [
        ("مقابلة مع صياد من الإسكندرية، سجلت في الميناء", None, None, None, 1),  # before the first stamp
        ("مساء الخير، وأهلا بكم في البرنامج.", 1.0, 3.5, HOST, 2),
        ("شكرا لكم على الدعوة.", 3.5, 6.0, GUEST, 3),
        ("منذ متى تعمل في البحر؟", 6.0, 9.0, HOST, 4),
        ("منذ ثلاثين سنة، والحمد لله.\nكان أبي صيادا، وجدي أيضا.", 9.0, 15.0, GUEST, 5),
        (last, 15.0, pytest.approx(15.0 + max(1.0, len(last) / SPEECH_CHARS_PER_SECOND), abs=1e-3), HOST, 7),
    ]


@pytest.mark.parametrize(
    ("first", "second", "times"),
    [
        ("[00:01:23]", "[00:01:30]", (83.0, 90.0)),
        ("00:01:23", "00:01:30", (83.0, 90.0)),
        ("1:23:45.5", "1:23:50", (5025.5, 5030.0)),
        ("(01:23)", "(01:30)", (83.0, 90.0)),
        ("[1:23]", "[1:30]", (83.0, 90.0)),
        ("00:01:23 -", "00:01:30 -", (83.0, 90.0)),
    ],
)
@pytest.mark.parametrize(
    ("label", "speakers"), [("", (None, None)), ("Speaker 1: ", ("Speaker 1", "Speaker 2"))]
)
def test_every_kind_of_time_stamp_with_or_without_a_speaker(tmp_path, first, second, times, label, speakers):
    other = label.replace("1", "2")
    content = f"{first} {label}أهلا بكم\n{second} {other}شكرا لكم\n"
    segments = read_transcript(write(tmp_path, "a.txt", content)).segments
    assert [(s.text, s.start, s.speaker) for s in segments] == [
        ("أهلا بكم", times[0], speakers[0]),
        ("شكرا لكم", times[1], speakers[1]),
    ]
    assert segments[0].end == times[1]


def test_a_stamp_alone_on_its_line_takes_the_text_below(tmp_path):
    content = "[00:00:01]\nأحمد: أهلا بكم\n[00:00:04]\nسارة: شكرا لكم\nيا أحمد\n"
    segments = read_transcript(write(tmp_path, "a.txt", content)).segments
    assert described(segments) == [
        ("أهلا بكم", 1.0, 4.0, "أحمد", 1),
        ("شكرا لكم\nيا أحمد", 4.0, pytest.approx(5.0, abs=0.2), "سارة", 3),
    ]


def test_stamps_going_back_in_time_keep_file_order_and_are_warned_about(tmp_path):
    content = "[00:00:05] أحمد: أ\n[00:00:01] سارة: ب\n[00:00:03] أحمد: ج\n"
    transcript = read_transcript(write(tmp_path, "a.txt", content))
    assert [(s.text, s.start) for s in transcript.segments] == [("أ", 5.0), ("ب", 1.0), ("ج", 3.0)]
    assert all(s.end is not None and s.end >= s.start for s in transcript.segments if s.start is not None)
    assert transcript.warnings == (
        f"{tmp_path / 'a.txt'}:2: 1 cue(s) start before the cue above them (kept in file order)",
    )


def test_text_where_few_lines_start_with_a_time_reads_as_plain_text(tmp_path):
    content = "12:30 موعد الغداء\nثم ذهبنا إلى البحر\nوكان الجو جميلا\n"
    segments = read_transcript(write(tmp_path, "a.txt", content)).segments
    assert described(segments) == [
        ("12:30 موعد الغداء", None, None, None, 1),
        ("ثم ذهبنا إلى البحر", None, None, None, 2),
        ("وكان الجو جميلا", None, None, None, 3),
    ]


def test_numbered_speaker_labels_of_transcription_services(tmp_path):
    content = "SPEAKER_00: مرحبا\nSPEAKER_01: أهلا\nSPEAKER_00: كيف حالك\n"
    segments = read_transcript(write(tmp_path, "a.txt", content)).segments
    assert [(s.speaker, s.text) for s in segments] == [
        ("SPEAKER_00", "مرحبا"),
        ("SPEAKER_01", "أهلا"),
        ("SPEAKER_00", "كيف حالك"),
    ]


# --- Word documents -----------------------------------------------------------------------------


def word_document(path: Path) -> Path:
    """An interview as a transcriber sends it: a title, turns with speaker labels, an empty
    paragraph, and a table of turns (speaker | text)."""
    document = docx.Document()
    document.add_paragraph("مقابلة مع صياد")  # 1
    document.add_paragraph(f"{HOST}: مساء الخير، وأهلا بكم في البرنامج.")  # 2
    document.add_paragraph("")  # 3
    document.add_paragraph(f"{GUEST}: شكرا لكم على الدعوة.")  # 4
    table = document.add_table(rows=2, cols=2)
    turns = [(HOST, "منذ متى تعمل في البحر؟"), (GUEST, "منذ ثلاثين سنة.")]
    for row, (speaker, text) in zip(table.rows, turns, strict=True):
        row.cells[0].text, row.cells[1].text = speaker, text  # rows: 5, 6
    document.add_paragraph(f"{HOST}: شكرا لك.")  # 7
    document.save(str(path))
    return path


def test_word_document_reads_one_turn_per_paragraph_and_table_row_with_speakers(tmp_path):
    segments = read_transcript(word_document(tmp_path / "interview.docx")).segments
    assert described(segments) == [
        ("مقابلة مع صياد", None, None, None, 1),
        ("مساء الخير، وأهلا بكم في البرنامج.", None, None, HOST, 2),
        ("شكرا لكم على الدعوة.", None, None, GUEST, 4),
        ("منذ متى تعمل في البحر؟", None, None, HOST, 5),
        ("منذ ثلاثين سنة.", None, None, GUEST, 6),
        ("شكرا لك.", None, None, HOST, 7),
    ]


def test_a_folder_takes_word_documents_but_not_the_lock_file_word_leaves(tmp_path):
    word_document(tmp_path / "interview.docx")
    write(tmp_path, "~$interview.docx", b"\x0bAhmed\x00\x00")
    assert [p.name for p in find_transcripts([tmp_path])] == ["interview.docx"]


# --- end to end ---------------------------------------------------------------------------------


NEW_FORMATS = [
    "interview-ass.ass",
    "interview-ttml.ttml",
    "interview-youtube.vtt",
    "interview-stamps.txt",
    "word.docx",
]


@pytest.fixture(scope="module")
def translated_formats(tiny_model, tmp_path_factory) -> tuple[Path, Path]:
    """Every new format in one folder, translated by the CLI with the tiny random model."""
    inputs = tmp_path_factory.mktemp("formats")
    for name in NEW_FORMATS[:-1]:
        fixture = FORMATS / f"interview-{Path(name).suffix[1:]}.ar{Path(name).suffix}"
        (inputs / name).write_bytes(fixture.read_bytes())
    word_document(inputs / "word.docx")
    out = tmp_path_factory.mktemp("output")
    assert main(["translate", str(inputs), "--model", str(tiny_model), "--out", str(out)]) == 0
    return inputs, out


def records_of(out: Path, stem: str) -> list[dict]:
    lines = (out / stem / f"{stem}.aligned.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def squeezed(texts) -> str:
    return "".join("".join(text.split()) for text in texts)


@pytest.mark.parametrize("name", NEW_FORMATS)
def test_translate_aligns_every_new_format_with_its_times_and_speakers(translated_formats, name):
    inputs, out = translated_formats
    segments = read_transcript(inputs / name).segments
    records = records_of(out, Path(name).stem)
    assert records and squeezed(r["ar"] for r in records) == squeezed(s.text for s in segments)
    by_id = {s.id: s for s in segments}
    for record in records:
        covered = [by_id[sid] for sid in record["segments"]]
        assert {s.speaker for s in covered} == {record["speaker"]}
        if all(s.start is not None for s in covered):
            last = max(s.end for s in covered)
            assert covered[0].start <= record["start"] <= record["end"] <= round(last, 3)
        else:
            assert record["start"] is None and record["end"] is None
    timed = [time for r in records if r["start"] is not None for time in (r["start"], r["end"])]
    subtitles = out / Path(name).stem / f"{Path(name).stem}.en.srt"
    assert subtitles.exists() == bool(timed)  # an untimed transcript (Word) gets no subtitles
    if timed:  # the subtitles start within the times read (however sentences are cut into cues); the
        # last may stay on after the speech ends, to be read (at most the longest cue, 7 s)
        cues = read_transcript(subtitles).segments
        assert cues and all(min(timed) - 1e-3 <= s.start <= max(timed) + 1e-3 for s in cues)
        assert all(s.start < s.end <= s.start + 7 + 1e-3 for s in cues)


def test_translated_youtube_captions_start_every_sentence_at_a_spoken_word(translated_formats):
    _, out = translated_formats
    records = records_of(out, "interview-youtube")
    word_times = {round(time, 3) for line in SPOKEN for _, time in line}
    assert squeezed(r["ar"] for r in records) == squeezed(word for line in SPOKEN for word, _ in line)
    assert all(round(r["start"], 3) in word_times for r in records), [r["start"] for r in records]


# English for each line of interview-vtt.ar.vtt: most too long for one cue, so their sentences are cut.
YOUTUBE_ENGLISH = [
    "Good evening, and welcome to the programme, everyone who is watching us tonight",
    "Our guest today is a fisherman, a man of the sea, who comes to us from the old city of Alexandria",
    "[Music]",
    "He has been working on the sea for thirty long years, ever since he was a very young man at home",
    "Yes, there is a great deal of good in the sea, much more than most of the people on land think",
    "Thank God for that",
]


def test_subtitles_of_youtube_captions_start_each_cue_at_a_spoken_words_own_time(tmp_path, tiny_aligner):
    """A sentence cut into several cues starts each at the time YouTube gives the Arabic word the cut
    falls on, not at that word's share of the line (a reading speed that every cue keeps leaves the cues
    where the words put them)."""
    source, english = tmp_path / "talk.vtt", tmp_path / "talk.en.txt"
    source.write_bytes((FORMATS / "interview-vtt.ar.vtt").read_bytes())
    english.write_text("\n".join(YOUTUBE_ENGLISH) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    arguments = ["--aligner", str(tiny_aligner), "--backend", "hf", "--out", str(out), "--max-cps", "1000"]
    assert main(["align", str(source), str(english), *arguments]) == 0
    cues = read_transcript(out / "talk" / "talk.en.srt").segments
    sentences = records_of(out, "talk")
    assert len(cues) > len(sentences)  # some sentences are cut into several cues
    word_times = [time for line in SPOKEN for _, time in line]
    starts = [cue.start for cue in cues]
    assert all(any(abs(start - time) <= 1e-3 for time in word_times) for start in starts), starts


@pytest.mark.slow
def test_python_m_pipeline_translates_youtube_captions(tiny_model, tmp_path):
    source = tmp_path / "talk.vtt"
    source.write_bytes((FORMATS / "interview-vtt.ar.vtt").read_bytes())
    command = [
        sys.executable,
        "-m",
        "pipeline",
        "translate",
        str(source),
        "--model",
        str(tiny_model),
        "--out",
        str(tmp_path / "out"),
    ]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    records = records_of(tmp_path / "out", "talk")
    assert squeezed(r["ar"] for r in records) == squeezed(word for line in SPOKEN for word, _ in line)
    assert records[0]["start"] == pytest.approx(0.08) and records[-1]["end"] == pytest.approx(16.2)


def test_a_turn_of_several_lines_keeps_its_speaker_and_every_line(tmp_path):
    document = docx.Document()
    document.add_paragraph(f"{HOST}: سؤال أول")
    turn = document.add_paragraph(f"{GUEST}: جواب")
    turn.add_run().add_break()  # Shift+Enter: a line break inside the paragraph
    turn.add_run("وسطر ثان")
    document.save(str(tmp_path / "turns.docx"))
    segments = read_transcript(tmp_path / "turns.docx").segments
    assert [(s.speaker, s.text) for s in segments] == [(HOST, "سؤال أول"), (GUEST, "جواب\nوسطر ثان")]


def clock(seconds: float) -> str:
    millis = round(seconds * 1000)
    return (
        f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"
    )


def youtube_captions(lines: list[list[tuple[str, float]]], end: float) -> str:
    """Lines of (word, time) written as yt-dlp writes YouTube's automatic captions: each line in a
    cue under the line before it, with inline times, then alone in a 10 ms cue."""
    cues = ["WEBVTT\nKind: captions\nLanguage: ar\n"]
    above = " "
    for number, line in enumerate(lines):
        start = line[0][1]
        stop = lines[number + 1][0][1] - 0.01 if number + 1 < len(lines) else end
        first, *rest = line
        timed = first[0] + "".join(f"<{clock(time)}><c> {word}</c>" for word, time in rest)
        cues.append(f"{clock(start)} --> {clock(stop)} align:start position:0%\n{above}\n{timed}\n")
        shown = " ".join(word for word, _ in line)
        cues.append(f"{clock(stop)} --> {clock(stop + 0.01)} align:start position:0%\n{shown}\n \n")
        above = shown
    return "\n".join(cues)


WORDS = st.sampled_from(
    ["مساء", "الخير", "وأهلا", "بكم", "في", "البرنامج", "ضيفنا", "اليوم", "صياد", "من", "البحر", "نعم"]
)


@settings(max_examples=60, deadline=None)
@given(
    shape=st.lists(
        st.lists(st.tuples(WORDS, st.integers(1, 900)), min_size=2, max_size=8), min_size=1, max_size=6
    )
)
def test_any_youtube_captions_read_as_their_words_once_in_order_with_their_times(shape):
    lines, now = [], 0.5
    for line in shape:
        timed = []
        for word, gap in line:
            timed.append((word, round(now, 3)))
            now += gap / 1000 + 0.02
        lines.append(timed)
        now += 0.05
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "captions.vtt"
        path.write_text(youtube_captions(lines, now), encoding="utf-8")
        segments = read_transcript(path).segments
    assert [s.text.split() for s in segments] == [[word for word, _ in line] for line in lines]
    for segment, line in zip(segments, lines, strict=True):
        starts = [segment.time_at(match.start()) for match in re.finditer(r"\S+", segment.text)]
        assert starts == pytest.approx([time for _, time in line], abs=1e-6)


@pytest.mark.parametrize("kind", ["bomb", "encrypted"])
def test_a_word_file_that_is_a_zip_bomb_or_encrypted_is_one_line(tmp_path, kind):
    path = tmp_path / "talk.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        if kind == "bomb":
            with archive.open("word/document.xml", "w") as entry:
                for _ in range(260):
                    entry.write(bytes(1 << 20))
        else:
            archive.writestr("word/document.xml", "<w:document/>")
    if kind == "encrypted":  # the entry's general-purpose flag says encrypted
        data = bytearray(path.read_bytes())
        data[6] |= 1
        central = data.rfind(b"PK\x01\x02")
        data[central + 8] |= 1
        path.write_bytes(bytes(data))
    with pytest.raises(InputError) as error:
        read_transcript(path)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)
    if kind == "bomb":  # refused before anything is unpacked
        assert "unpacks to over 256 MiB" in str(error.value)
