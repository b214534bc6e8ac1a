from __future__ import annotations

import os

import pytest

from pipeline.records import AlignedSentence, AlignedTranscript, Segment, Transcript
from pipeline.writers import WRITERS
from pipeline.writers.common import atomic_write, timecode


def test_atomic_write_replaces_whole_files_and_leaves_no_temporary_on_failure(tmp_path):
    target = tmp_path / "out" / "a.jsonl"
    atomic_write(target, "first\n")
    atomic_write(target, "second\n")
    assert target.read_text() == "second\n"
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "half \udc80 written")  # a lone surrogate cannot be encoded
    assert target.read_text() == "second\n"
    assert os.listdir(target.parent) == ["a.jsonl"]
    assert oct(target.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


@pytest.mark.parametrize(
    ("seconds", "vtt", "srt"),
    [(0, "00:00:00.000", "00:00:00,000"), (3723.0045, "01:02:03.004", "01:02:03,004")],
)
def test_timecodes(seconds, vtt, srt):
    assert timecode(seconds) == vtt and timecode(seconds, ",") == srt


def test_untimed_transcripts_get_no_subtitle_files_but_every_other_format():
    transcript = Transcript("t", "t.txt", (Segment("1", "نص"),))
    sentence = AlignedSentence(0, "Text", "نص", ("1",), None, None, None, 0.5, (), ())
    aligned = AlignedTranscript(transcript, (sentence,), "m")
    rendered = {name: render(aligned) for name, (_, render) in WRITERS.items()}
    assert rendered["srt"] is None and rendered["vtt"] is None
    assert all(rendered[name] for name in ("jsonl", "html", "tsv"))


def test_vtt_escapes_cue_text_so_an_arrow_cannot_end_a_cue():
    transcript = Transcript("t", "t.vtt", (Segment("1", "أ --> ب", 0.0, 1.0),))
    sentence = AlignedSentence(0, "a --> b <i>", "أ --> ب", ("1",), 0.0, 1.0, "A&B", 0.5, (), ())
    vtt = WRITERS["vtt"][1](AlignedTranscript(transcript, (sentence,), "m"))
    assert "<v A&amp;B>a --&gt; b &lt;i&gt;\nأ --&gt; ب\n" in vtt
