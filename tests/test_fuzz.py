"""Property-based fuzzing: every reader, and read -> units -> align, on whatever bytes a user has.

Nothing may escape but the project's own InputError, and whatever is read keeps the alignment
invariant: the aligned Arabic covers every segment's text exactly once, in order.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.align import align_transcript
from pipeline.errors import InputError
from pipeline.readers import READERS, read_transcript
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
