from __future__ import annotations

import math
from dataclasses import replace

import pytest

from pipeline.align import align_unit
from pipeline.quality import Evidence, confidence, flags_for
from pipeline.records import Segment, Transcript, Translation, Unit
from pipeline.units import UnitOptions, transcript_words
from tests.conftest import DATA

GOOD = Evidence(
    en="The weather is very nice today.", ar="الجو جميل جدا اليوم", logprobs=(-0.1, -0.2), truncated=False
)


@pytest.mark.parametrize(
    ("changes", "flag"),
    [
        ({"en": ""}, "empty"),
        ({"en": "I am I am I am going home."}, "repetition"),
        ({"en": "no no no"}, "repetition"),
        ({"en": "Yes."}, "length-ratio"),
        ({"en": "The weather الجو is nice."}, "untranslated"),
        ({"truncated": True}, "truncated"),
        ({"logprobs": (-3.0, -2.0)}, "low-confidence"),
    ],
)
def test_each_flag_fires_on_its_own_symptom(changes, flag):
    assert flags_for(GOOD) == ()
    assert flag in flags_for(replace(GOOD, **changes))


def test_confidence_is_exp_of_the_mean_log_probability():
    assert confidence((-0.5, -1.5)) == pytest.approx(math.exp(-1.0))
    assert confidence(()) == 0.0


def test_length_fallback_splits_joined_tatoeba_sentences_back():
    """Tatoeba pairs joined k at a time into one segment: without attention, the length-based
    partition (snapped to Arabic punctuation) must find the original Arabic sentences."""
    ar = (DATA / "tatoeba" / "ar.txt").read_text(encoding="utf-8").splitlines()
    en = (DATA / "tatoeba" / "en.txt").read_text(encoding="utf-8").splitlines()
    for k, expected in ((2, 0.85), (3, 0.85)):
        exact = trials = 0
        for first in range(0, len(ar) - k + 1, k):
            transcript = Transcript("t", "t", (Segment("1", " ".join(ar[first : first + k])),))
            unit = Unit(0, tuple(transcript_words(transcript, UnitOptions())))
            pieces = tuple("▁" + word for word in " ".join(en[first : first + k]).split())
            sentences = align_unit(
                unit, Translation(pieces, (-0.1,) * len(pieces), None, False), transcript.segments
            )
            trials += 1
            exact += [s.ar for s in sentences] == [a.strip() for a in ar[first : first + k]]
        assert exact / trials >= expected, (k, exact / trials)


def test_flags_reach_the_aligned_sentence():
    transcript = Transcript("t", "t", (Segment("1", "الجو جميل جدا اليوم في المدينة الكبيرة"),))
    unit = Unit(0, tuple(transcript_words(transcript, UnitOptions())))
    pieces = ("▁the", "▁the", "▁the", "▁the")
    [sentence] = align_unit(unit, Translation(pieces, (-4.0,) * 4, None, True), transcript.segments)
    assert set(sentence.flags) == {"repetition", "length-ratio", "truncated", "low-confidence"}
