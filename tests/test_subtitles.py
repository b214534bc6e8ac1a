"""Subtitle conventions (pipeline.subtitles) as a viewer meets them: cues of at most two balanced lines
of 42 characters, split where the sentence reads naturally, timed by the Arabic their words link to,
never overlapping, given time to read; whatever cannot keep the limits is reported. The files the
writers make read back with the project's own readers, and ASS and TTML open in other programs."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pysubs2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.output import OutputFolder
from pipeline.readers import read_transcript
from pipeline.records import AlignedSentence, AlignedTranscript, Segment, Transcript
from pipeline.review.store import ReviewStore
from pipeline.subtitles import DEFAULTS, NO_BREAK_AFTER, SubtitleRules, arabic_times, subtitle_cues
from pipeline.writers.srt import render_srt
from pipeline.writers.vtt import render_vtt
from tests.conftest import DATA
from tests.review_helpers import aligned

TOR = DATA / "tor_animation"

LONG = (
    "We are constantly sharing information about ourselves and our private lives: the food we eat, "
    "the people we meet, the places we go, and the stuff we read, because the internet has become a "
    "part of who we are."
)
AR_LONG = (
    "نحن نشارك باستمرار معلومات عن أنفسنا وحياتنا الخاصة الطعام الذي نأكله والناس الذين نلتقيهم "
    "والأماكن التي نذهب إليها وما نقرأه لأن الإنترنت أصبح جزءا مما نحن عليه"
)


def sentence(
    en: str,
    ar: str,
    start: float,
    end: float,
    links: tuple[tuple[int, int], ...] = (),
    index: int = 0,
    segments: tuple[str, ...] = ("1",),
) -> AlignedSentence:
    return AlignedSentence(index, en, ar, segments, start, end, "A", 0.5, (), links)


def transcript(*sentences: AlignedSentence, segments: tuple[Segment, ...] = ()) -> AlignedTranscript:
    return AlignedTranscript(Transcript("talk", "talk.srt", segments), sentences, "m")


def limits_kept(cue, rules: SubtitleRules) -> bool:
    seconds = cue.end - cue.start
    characters = len(" ".join(cue.text.split()))
    return (
        len(cue.lines) <= rules.max_lines
        and all(len(line) <= rules.max_line for line in cue.lines)
        and rules.min_seconds - 5e-4 <= seconds <= rules.max_seconds + 5e-4
        and characters <= rules.hard_cps * seconds + 5e-4
    )


def check_track(cues, rules: SubtitleRules) -> None:
    """What every track keeps: limits or a report, time forwards only, the frames' gap between cues."""
    for cue in cues:
        assert limits_kept(cue, rules) != bool(cue.problems), cue
        assert cue.end > cue.start
    for cue, following in itertools.pairwise(cues):
        assert following.start >= cue.end + rules.gap_ms / 1000 - 5e-4


# --- splitting and lines -----------------------------------------------------------------------------


def test_a_long_sentence_becomes_cues_of_two_balanced_lines_split_at_punctuation_and_clause_words():
    cues = subtitle_cues(transcript(sentence(LONG, AR_LONG, 3.0, 17.0)), DEFAULTS)
    assert len(cues) == 3
    assert [cue.lines for cue in cues] == [
        ("We are constantly sharing information", "about ourselves and our private lives:"),
        ("the food we eat, the people we meet,", "the places we go, and the stuff we read,"),
        ("because the internet has", "become a part of who we are."),
    ]
    assert " ".join(cue.text.replace("\n", " ") for cue in cues) == LONG
    assert " ".join(cue.ar for cue in cues) == AR_LONG  # every Arabic word once, in order
    check_track(cues, DEFAULTS)
    assert not [cue for cue in cues if cue.problems]


def test_no_line_or_cue_ends_on_an_article_or_preposition():
    text = (
        "the analysis of the documents from the archive of the ministry of the interior in the capital "
        "of the country"
    )
    cues = subtitle_cues(transcript(sentence(text, "نص", 0.0, 10.0)), DEFAULTS)
    lines = [line for cue in cues for line in cue.lines]
    assert len(lines) >= 3
    assert not [line for line in lines[:-1] if line.split()[-1] in NO_BREAK_AFTER]


def test_a_sentence_that_fits_one_cue_is_one_line_with_its_own_times():
    cues = subtitle_cues(
        transcript(sentence("Let me explain it better.", "دعني أشرح", 13.28, 15.0)), DEFAULTS
    )
    assert [(cue.start, cue.end, cue.lines) for cue in cues] == [
        (13.28, 15.0, ("Let me explain it better.",))
    ]


def test_the_options_change_the_layout():
    rules = SubtitleRules(max_line=20, max_lines=1)
    cues = subtitle_cues(transcript(sentence(LONG, AR_LONG, 0.0, 40.0)), rules)
    assert all(len(cue.lines) == 1 and len(cue.lines[0]) <= 20 for cue in cues)
    check_track(cues, rules)


# --- timing ------------------------------------------------------------------------------------------


def test_each_cue_is_timed_by_the_arabic_its_words_link_to():
    """The first clause links to the first Arabic word, spoken in the sentence's first 0.6 s; the
    second to the other nine: the cue break comes well before the English length's share (about 4.5 s),
    as early as still leaves the first cue time to be read."""
    en = "Yes, that is exactly what we saw there, and then the whole village came back to see us"
    ar = "نعم " + " ".join(["كلمة"] * 9)
    words = en.split(" ")
    links = tuple((k, 0) for k in range(8)) + tuple((k, 1 + k % 9) for k in range(8, len(words)))
    cues = subtitle_cues(transcript(sentence(en, ar, 0.0, 10.0, links)), DEFAULTS)
    assert [cue.text.replace("\n", " ") for cue in cues] == [
        "Yes, that is exactly what we saw there,",
        "and then the whole village came back to see us",
    ]
    assert [cue.ar for cue in cues] == ["نعم", " ".join(["كلمة"] * 9)]
    assert 39 / 17 <= cues[0].end < 3.5
    check_track(cues, DEFAULTS)


def test_without_links_the_sentence_time_is_shared_by_length():
    en = "First a short one, and then a much longer clause that goes on and on for quite a while longer."
    cues = subtitle_cues(transcript(sentence(en, "نص طويل جدا هنا", 0.0, 6.0)), DEFAULTS)
    assert len(cues) == 2
    share = len(cues[0].text) / (len(cues[0].text) + len(cues[1].text))
    assert cues[1].start == pytest.approx(6.0 * share, abs=0.2)


def test_a_sentence_over_two_segments_times_its_arabic_by_each_segment():
    """The first segment's two words take 1 s, the second's three words 9 s: the word that opens the
    second segment starts at 1 s (by its characters in the sentence it would start at 4.1 s)."""
    segments = (Segment("1", "واحد اثنان", 0.0, 1.0), Segment("2", "ثلاثة أربعة خمسة", 1.0, 10.0))
    s = sentence("One and two", "واحد اثنان ثلاثة أربعة خمسة", 0.0, 10.0, segments=("1", "2"))
    by_segment = arabic_times(s, 0, 10_000, {segment.id: segment for segment in segments})
    assert [start for start, _ in by_segment] == [0, 500, 1000, 4375, 7750]
    assert arabic_times(s, 0, 10_000, {})[2][0] == 4074


def test_a_sixty_word_sentence_spoken_in_three_seconds_is_reported():
    en = " ".join(["word"] * 60)
    cues = subtitle_cues(transcript(sentence(en, "كلام سريع", 0.0, 3.0)), DEFAULTS)
    assert any("characters per second" in problem for cue in cues for problem in cue.problems)
    check_track(cues, DEFAULTS)


def test_back_to_back_sentences_are_two_frames_apart_and_short_ones_get_time_to_read():
    cues = subtitle_cues(
        transcript(
            sentence("Hello there, my friend.", "مرحبا", 0.0, 0.5),
            sentence("How are you?", "كيف حالك", 0.5, 1.0, index=1),
            sentence("Fine.", "بخير", 9.0, 9.3, index=2),
        ),
        DEFAULTS,
    )
    assert [(cue.start, cue.end) for cue in cues] == [(0.0, 0.42), (0.5, 1.33), (9.0, 9.83)]
    assert cues[0].problems  # it cannot grow into the next sentence: reported
    check_track(cues, DEFAULTS)


# --- properties ----------------------------------------------------------------------------------------

WORD = st.text(
    st.characters(whitelist_categories=("Lu", "Ll", "Nd", "Po", "Pd"), max_codepoint=0x24F),
    min_size=1,
    max_size=15,
)
RULES = st.builds(
    SubtitleRules,
    max_line=st.integers(8, 60),
    max_lines=st.integers(1, 3),
    max_cps=st.floats(5, 30),
)


@st.composite
def transcripts(draw) -> AlignedTranscript:
    count = draw(st.integers(1, 6))
    clock = draw(st.floats(0, 100))
    sentences = []
    for index in range(count):
        en_words = draw(st.lists(WORD, min_size=1, max_size=60))
        ar_words = draw(st.lists(st.sampled_from(["كلمة", "نص", "جدا", "مرحبا"]), min_size=1, max_size=40))
        links = draw(
            st.lists(
                st.tuples(st.integers(0, len(en_words) - 1), st.integers(0, len(ar_words) - 1)), max_size=30
            )
        )
        # Times as join_units gives them: starts in order, zero-length and overlapping ones included.
        start = round(clock + draw(st.floats(0, 5)), 3)
        end = round(start + draw(st.floats(0, 20)), 3)
        clock = start
        sentences.append(sentence(" ".join(en_words), " ".join(ar_words), start, end, tuple(links), index))
    return transcript(*sentences)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts(), RULES)
def test_every_cue_keeps_the_limits_or_is_reported_and_time_only_goes_forwards(aligned_transcript, rules):
    cues = subtitle_cues(aligned_transcript, rules)
    check_track(cues, rules)
    for s in aligned_transcript.sentences:
        own = [cue for cue in cues if cue.sentence is s]
        assert " ".join(" ".join(cue.text.split()) for cue in own) == " ".join(s.en.split())
        assert " ".join(cue.ar for cue in own if cue.ar) == " ".join(s.ar.split())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transcripts(), RULES)
def test_the_srt_and_vtt_files_read_back_with_the_projects_readers(
    tmp_path_factory, aligned_transcript, rules
):
    folder = tmp_path_factory.mktemp("subtitles")
    cues = subtitle_cues(aligned_transcript, rules)
    srt, vtt = folder / "t.srt", folder / "t.vtt"
    srt.write_text(render_srt(aligned_transcript, rules) or "", encoding="utf-8")
    vtt.write_text(render_vtt(aligned_transcript, rules) or "", encoding="utf-8")
    for path in (srt, vtt):
        segments = read_transcript(path).segments
        assert [(round(s.start, 3), round(s.end, 3)) for s in segments] == [(c.start, c.end) for c in cues]
    english = read_transcript(srt).segments
    assert [s.text for s in english] == [cue.text.replace("-->", "->") for cue in cues]
    bilingual = read_transcript(vtt).segments
    assert [s.text for s in bilingual] == [f"{cue.text}\n{cue.ar}" if cue.ar else cue.text for cue in cues]


# --- exports through the command line -----------------------------------------------------------------


def review_folder(tmp_path, pairs, seconds: float = 2.0):
    out = tmp_path / "out"
    out.mkdir()
    machine = aligned("talk", pairs)
    timed = tuple(
        AlignedSentence(
            s.index, s.en, s.ar, s.segments, seconds * s.index, seconds * (s.index + 1), "A", 0.5, (), ()
        )
        for s in machine.sentences
    )
    ReviewStore(OutputFolder(out).review_database).sync(AlignedTranscript(machine.transcript, timed, "tiny"))
    return out


def test_export_splits_long_sentences_with_the_options_given_and_reports_what_cannot_keep_them(
    tmp_path, capsys
):
    out = review_folder(tmp_path, [(AR_LONG, LONG), ("كلام سريع", " ".join(["word"] * 60))], seconds=3.0)
    folder = tmp_path / "srt"
    command = ["export", "--from", str(out), "--format", "srt", "--out", str(folder), "--max-line", "30"]
    assert main(command) == 0
    printed = capsys.readouterr().out.splitlines()
    cues = read_transcript(folder / "talk.en.srt").segments
    assert len(cues) > 4 and all(len(line) <= 30 for cue in cues for line in cue.text.split("\n"))
    assert printed[0] == f"talk -> {folder / 'talk.en.srt'}"
    assert (
        printed[1].startswith("  note: talk: ")
        and "subtitle cue(s) cannot meet the subtitle limits" in printed[1]
    )
    assert "characters per second" in printed[1]
    with pytest.raises(SystemExit):
        main(["export", "--from", str(out), "--format", "srt", "--max-lines", "0"])
    assert "--max-line and --max-lines must be at least 1" in capsys.readouterr().err


HOSTILE = [
    r"{\b1}bold{\b0} and {\pos(0,0)}moved",
    r"a\Nb c\nd e\hf \{ \}",
    "x\x00y\x1bz \ufffe",
    "plain text",
]


def test_ass_export_opens_in_pysubs2_with_every_override_tag_and_escape_shown_as_text(tmp_path):
    out = review_folder(tmp_path, [(f"جملة {i}", en) for i, en in enumerate(HOSTILE)])
    assert main(["export", "--from", str(out), "--format", "ass", "--out", str(tmp_path / "ass")]) == 0
    subs = pysubs2.load(str(tmp_path / "ass" / "talk.en.ass"))
    # Two-second sentences back to back: each cue ends two frames before the next starts.
    assert [(event.start, event.end) for event in subs] == [
        (0, 1920),
        (2000, 3920),
        (4000, 5920),
        (6000, 8000),
    ]
    for event in subs:
        # No override block and no line break but a line's own: libass shows the text as written.
        assert "{" not in event.text.replace("\\{", "") and "}" not in event.text.replace("\\}", "")
        assert "\\N" not in event.text and "\\n" not in event.text and "\\h" not in event.text
        assert "\x00" not in event.text
    assert subs[3].text == "plain text" and subs[0].name == "A"


def test_ttml_export_is_well_formed_xml_with_each_cue_and_its_lines(tmp_path):
    out = review_folder(tmp_path, [(f"جملة {i}", en) for i, en in enumerate([*HOSTILE, LONG])], seconds=6.0)
    assert main(["export", "--from", str(out), "--format", "ttml", "--out", str(tmp_path / "ttml")]) == 0
    path = tmp_path / "ttml" / "talk.en.ttml"
    root = ET.parse(path).getroot()  # a control character would make this fail
    ttml = "{http://www.w3.org/ns/ttml}"
    paragraphs = root.iter(f"{ttml}p")
    texts = [[p.text, *(br.tail for br in p.iter(f"{ttml}br"))] for p in paragraphs]
    assert texts[0] == [r"{\b1}bold{\b0} and {\pos(0,0)}moved"]
    assert texts[2] == ["x\ufffdy\ufffdz \ufffd"]
    assert len(texts) >= 6 and all(len(lines) <= 2 for lines in texts)
    assert " ".join(line for lines in texts[4:] for line in lines) == LONG
    assert len(pysubs2.load(str(path))) == len(texts)  # and another program's reader opens it


# --- translate and align: the options and the summary ------------------------------------------------


def subtitle_stats(path):
    """(share of cues between 0.83 s and 7 s, share read at 20 characters per second or slower)."""
    cues = read_transcript(path).segments
    seconds = [cue.end - cue.start for cue in cues]
    timed = sum(1 for s in seconds if 0.83 - 5e-4 <= s <= 7 + 5e-4) / len(cues)
    readable = sum(1 for c, s in zip(cues, seconds, strict=True) if len(" ".join(c.text.split())) <= 20 * s)
    return timed, readable / len(cues)


@pytest.mark.slow
def test_human_subtitles_aligned_to_their_arabic_keep_the_conventions_no_worse_than_the_human_file(
    tmp_path, tiny_aligner, capsys
):
    """The Tor animation's English subtitles, aligned to its Arabic with `align`: at least 95% of the
    cues last 0.83 to 7 s, and no smaller share is readable at 20 characters per second than in the
    human file (the Arabic voice-over is faster in places: splitting cannot slow it, must not worsen it)."""
    arabic, english = TOR / "Tor_animation.ar.srt", TOR / "Tor_animation.en.srt"
    out = tmp_path / "out"
    command = ["align", str(arabic), str(english), "--aligner", str(tiny_aligner), "--out", str(out)]
    assert main([*command, "--backend", "ct2"]) == 0
    printed = capsys.readouterr().out
    exported = out / "Tor_animation.ar" / "Tor_animation.ar.en.srt"
    timed, readable = subtitle_stats(exported)
    human_timed, human_readable = subtitle_stats(english)
    assert timed >= 0.95 and readable >= human_readable, (timed, readable, human_timed, human_readable)
    cues = read_transcript(exported).segments
    assert all(len(line) <= 42 for cue in cues for line in cue.text.split("\n"))
    assert len([cue for cue in cues if cue.text.count("\n") > 1]) == 0
    slow = sum(1 for cue in cues if len(" ".join(cue.text.split())) > 20 * (cue.end - cue.start))
    # The summary names the transcript and counts what cannot keep the limits (the fast cues among them).
    note = next(line for line in printed.splitlines() if "subtitle limits" in line)
    assert note.startswith("  note: Tor_animation.ar: ") and int(note.split()[2]) >= slow > 0


def test_align_takes_the_subtitle_options(tmp_path, tiny_aligner, capsys):
    arabic, english = tmp_path / "talk.srt", tmp_path / "talk.txt"
    arabic.write_text(
        "1\n00:00:01,000 --> 00:00:09,000\nنحن نشارك باستمرار معلومات عن أنفسنا وحياتنا الخاصة\n\n"
        "2\n00:00:10,000 --> 00:00:10,500\nنعم\n",
        encoding="utf-8",
    )
    english.write_text(f"{LONG}\nYes, that is right, absolutely right.\n", encoding="utf-8")
    out = tmp_path / "out"
    options = ["--max-line", "24", "--max-lines", "1", "--max-cps", "12", "--formats", "srt,jsonl"]
    command = ["align", str(arabic), str(english), "--aligner", str(tiny_aligner), "--out", str(out)]
    assert main([*command, "--backend", "hf", *options]) == 0
    printed = capsys.readouterr().out
    cues = read_transcript(out / "talk" / "talk.en.srt").segments
    assert all("\n" not in cue.text and len(cue.text) <= 24 for cue in cues) and len(cues) > 8
    assert " ".join(cue.text for cue in cues) == f"{LONG} Yes, that is right, absolutely right."
    notes = [line for line in printed.splitlines() if "subtitle limits" in line]
    assert len(notes) == 1 and notes[0].startswith("  note: talk: ")
    with pytest.raises(SystemExit):
        main([*command, "--max-cps", "0"])
    assert "--max-cps more than 0" in capsys.readouterr().err


def test_translate_takes_the_subtitle_options_and_counts_what_cannot_keep_them(tmp_path, tiny_model, capsys):
    source = tmp_path / "in" / "talk.srt"
    source.parent.mkdir()
    source.write_bytes((TOR / "Tor_animation.ar.srt").read_bytes())
    out = tmp_path / "out"
    options = ["--max-line", "20", "--max-lines", "1", "--formats", "srt"]
    assert main(["translate", str(source), "--model", str(tiny_model), "--out", str(out), *options]) == 0
    printed = capsys.readouterr().out.splitlines()
    cues = read_transcript(out / "talk" / "talk.en.srt").segments
    assert all("\n" not in cue.text for cue in cues)
    assert all(len(cue.text) <= 20 or " " not in cue.text for cue in cues)  # a longer word stands alone
    broken = [
        cue
        for cue in cues
        if len(cue.text) > 20
        or not 0.83 - 5e-4 <= cue.end - cue.start <= 7 + 5e-4
        or len(cue.text) > 20 * (cue.end - cue.start) + 5e-4
    ]
    notes = [line for line in printed if "subtitle limits" in line]
    assert broken  # the tiny model's English has words longer than 20 characters, or reads too fast
    assert len(notes) == 1
    assert notes[0].startswith(f"  note: talk: {len(broken)} of {len(cues)} subtitle cue(s) cannot meet")
