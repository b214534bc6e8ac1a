from __future__ import annotations

import pytest

from pipeline.arabic import Boundary, boundary_after, normalize_word, segment_words
from pipeline.records import Segment


@pytest.mark.parametrize(
    ("written", "model_input"),
    [
        ("كتـــاب", "كتاب"),  # tatweel
        ("ﻣﺮﺣﺒﺎ", "مرحبا"),  # presentation forms
        ("ﻻ", "لا"),  # lam-alef ligature
        ("مُحَمَّدٌ", "محمد"),  # diacritics
        ("٢٠٢٤", "2024"),  # Arabic-Indic digits
        ("۱۲", "12"),  # Extended Arabic-Indic digits
        ("\u200fمرحبا\u200b\u202e", "مرحبا"),  # RLM, zero-width space, bidi override
        ("ـ", ""),  # a lone tatweel normalises to nothing
    ],
)
def test_normalisation_cleans_only_the_model_input(written, model_input):
    assert normalize_word(written) == model_input


def test_words_keep_offsets_into_the_original_text():
    segment = Segment(id="1", text="  مُحَمَّدٌ  ذهب\u00a0إلى\nالسوق ")
    words = segment_words(segment, 0, max_word_chars=48)
    assert [segment.text[w.start : w.end] for w in words] == ["مُحَمَّدٌ", "ذهب", "إلى", "السوق"]
    assert [w.norm for w in words] == ["محمد", "ذهب", "إلى", "السوق"]
    assert [w.token for w in words] == [0, 1, 2, 3]


def test_punctuation_misplaced_by_rtl_authoring_moves_to_the_line_end():
    segment = Segment(id="6", text="،في هذه اللحظة\n،إذا حاول شخص ما البحث عنك")
    words = segment_words(segment, 0, 48)
    assert " ".join(w.norm for w in words) == "في هذه اللحظة، إذا حاول شخص ما البحث عنك،"
    # the original text is untouched: the reviewer sees what was written
    assert segment.text[words[0].start : words[0].end] == "،في"


@pytest.mark.parametrize(
    ("line", "fixed"),
    [
        (".لقد إعتدنا للغاية علي استخدام الإنترنت", "لقد إعتدنا للغاية علي استخدام الإنترنت."),
        ("!حمل تور واستخدمه! أو شغل خادم", "حمل تور واستخدمه! أو شغل خادم!"),
        ("؟هل أنت هنا", "هل أنت هنا؟"),
        ("هذا سطر سليم.", "هذا سطر سليم."),  # already right
        ("...ثم ذهبنا.", "...ثم ذهبنا."),  # ends with punctuation: leave it
    ],
)
def test_misplaced_punctuation_on_real_tor_lines(line, fixed):
    words = segment_words(Segment(id="1", text=line), 0, 48)
    assert " ".join(w.norm for w in words) == fixed


def test_overlong_words_are_cut_but_share_one_token():
    text = "ا" * 100 + " ب"
    words = segment_words(Segment(id="1", text=text), 0, max_word_chars=48)
    assert [(w.start, w.end, w.token) for w in words] == [
        (0, 48, 0),
        (48, 96, 0),
        (96, 100, 0),
        (101, 102, 1),
    ]


@pytest.mark.parametrize(
    ("word", "following", "strength"),
    [
        ("البيت.", "ثم", Boundary.SENTENCE),
        ("هنا؟", None, Boundary.SENTENCE),
        ('"انتهى."', None, Boundary.SENTENCE),
        ("أولا؛", "ثانيا", Boundary.CLAUSE),
        ("نعم،", "طبعا", Boundary.COMMA),
        ("البيت", "ولكن", Boundary.CONJUNCTION),
        ("البيت", "وقال", Boundary.CONJUNCTION),
        ("البيت", "كبير", Boundary.SPACE),
    ],
)
def test_boundary_strengths(word, following, strength):
    assert boundary_after(word, following) == strength
