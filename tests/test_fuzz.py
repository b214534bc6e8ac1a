"""Property-based fuzzing: every reader, and read -> units -> align, on whatever bytes a user has.

Nothing may escape but the project's own InputError, and whatever is read keeps the alignment
invariant: the aligned Arabic covers every segment's text exactly once, in order; the English
sentences' times never run backwards, whatever the order of the cues.
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.align import align_transcript, join_units
from pipeline.errors import InputError
from pipeline.readers import READERS, read_transcript
from pipeline.records import AlignedSentence, Segment, Transcript
from pipeline.run import EMPTY, passthrough
from pipeline.units import UnitOptions, build_units

# Characters that matter to the formats, Arabic, and the troublemakers users paste.
ALPHABET = st.sampled_from(
    list("0123456789:,.->\n\t \r{}[]\"'<>/&;#WEBVTNOLSRabcd")
    + list("مرحبا بكم في البرنامج؟،ـَ")
    + ["-->", "WEBVTT\n\n", '{"segments": [', '"text": ', "\u202e", "\u200b", "\ufeff", "😀", "\x00", "١٢"]
)
TEXTS = st.lists(ALPHABET, max_size=120).map("".join)
SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def read(suffix: str, data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            return read_transcript(path)
        except InputError as error:
            assert error.path == str(path) and error.problem
            return None


def squeezed(texts) -> str:
    return "".join("".join(text.split()) for text in texts)


def check_chain(transcript) -> None:
    """Units and alignment (words passed through as their own translation) keep the invariant."""
    units = build_units(transcript, len, UnitOptions(token_budget=16, max_word_chars=6))
    translations = [passthrough(unit) if unit.text else EMPTY for unit in units]
    aligned = align_transcript(transcript, units, translations, "fuzz")
    assert squeezed(s.ar for s in aligned.sentences) == squeezed(s.text for s in transcript.segments)
    assert [s.index for s in aligned.sentences] == list(range(len(aligned.sentences)))
    times = [(s.start, s.end) for s in aligned.sentences if s.start is not None and s.end is not None]
    assert all(start <= end for start, end in times)
    assert all(above[0] <= below[0] for above, below in itertools.pairwise(times))


@SETTINGS
@given(suffix=st.sampled_from(sorted(READERS)), text=TEXTS)
def test_every_reader_reads_or_raises_input_error_and_keeps_the_invariant(suffix, text):
    transcript = read(suffix, text.encode("utf-8"))
    if transcript is not None:
        check_chain(transcript)


@SETTINGS
@given(suffix=st.sampled_from(sorted(READERS)), data=st.binary(max_size=200))
def test_arbitrary_bytes_read_or_raise_input_error(suffix, data):
    transcript = read(suffix, data)
    if transcript is not None:
        check_chain(transcript)


@SETTINGS
@given(
    cues=st.lists(
        st.tuples(st.integers(0, 5000), st.integers(0, 3000), st.lists(ALPHABET, max_size=30).map("".join)),
        min_size=1,
        max_size=8,
    ),
    separator=st.sampled_from(["\n\n", "\n", "\r\n\r\n"]),
)
def test_srt_shaped_input_reads_or_raises_input_error_and_keeps_the_invariant(cues, separator):
    def clock(ms: int) -> str:
        return f"00:{ms // 60000:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    blocks = [
        f"{i}\n{clock(start)} --> {clock(start + length)}\n{text}"
        for i, (start, length, text) in enumerate(cues, 1)
    ]
    transcript = read(".srt", separator.join(blocks).encode("utf-8"))
    if transcript is not None:
        check_chain(transcript)


@settings(max_examples=150, deadline=None)
@given(cues=st.lists(st.tuples(st.integers(0, 100_000), st.integers(10, 20_000)), min_size=1, max_size=12))
def test_sentences_of_cues_in_any_time_order_get_times_a_subtitle_can_show(cues):
    """One sentence per cue (start and length in ms), the cues in any order: every sentence has a
    length, none starts before the one above, none overlaps the next unless the cues themselves
    overlap, and cues already in time order keep their times exactly."""
    segments = tuple(
        Segment(str(n), "نص", start / 1000, (start + length) / 1000)
        for n, (start, length) in enumerate(cues, 1)
    )
    sentences = [
        AlignedSentence(0, "Text.", "نص", (s.id,), s.start, s.end, None, 1.0, (), ()) for s in segments
    ]
    aligned = join_units(Transcript("t", "t.srt", segments), [sentences], "fuzz")
    times = [(s.start, s.end) for s in aligned.sentences]
    assert all(start is not None and end is not None and end > start for start, end in times)
    assert all(above[0] <= below[0] for above, below in itertools.pairwise(times))
    if all(above[0] <= below[0] for above, below in itertools.pairwise(cues)):
        assert times == [(s.start, s.end) for s in segments]
    spans = sorted((start, start + length) for start, length in cues)
    if all(above[1] <= below[0] for above, below in itertools.pairwise(spans)):
        assert all(above[1] <= below[0] for above, below in itertools.pairwise(times))
