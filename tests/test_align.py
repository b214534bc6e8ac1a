from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.align import (
    align_transcript,
    align_unit,
    attention_scores,
    english_words,
    partition,
    split_sentences,
)
from pipeline.records import Segment, Transcript, Translation, Unit
from pipeline.units import UnitOptions, build_units, transcript_words


def pieces(text: str) -> tuple[str, ...]:
    """English text -> SentencePiece-like pieces, one per word."""
    return tuple("▁" + word for word in text.split())


def one_unit(*segments: Segment):
    """All the segments' words as one unit, as when Arabic without a sentence end gives k English ones."""
    t = Transcript(name="t", source="t", segments=segments)
    return t, Unit(0, tuple(transcript_words(t, UnitOptions())))


def attention_for(groups: list[tuple[int, list[int]]], n_words: int) -> tuple[tuple[float, ...], ...]:
    """Rows for `count` target tokens each attending to the given source words."""
    rows = []
    for count, sources in groups:
        row = np.full(n_words, 0.01)
        row[sources] = 1.0
        rows.extend([tuple(row / row.sum())] * count)
    return tuple(rows)


def test_attention_partition_follows_the_alignment_head_where_length_would_not():
    # A one-word English sentence that attends to four Arabic words, then a long one attending to two:
    # by length the first span would get one word, the alignment head gives it four.
    t, unit = one_unit(Segment(id="1", text="نعم أنا موافق تماما ثم عدت"))
    en = pieces("Yes. Then I came back home to my family.")
    attention = attention_for([(1, [0, 1, 2, 3]), (8, [4, 5])], 6)
    translation = Translation(en, tuple([-0.1] * len(en)), attention, truncated=False)
    sentences = align_unit(unit, translation, t.segments)
    assert [s.ar for s in sentences] == ["نعم أنا موافق تماما", "ثم عدت"]
    assert [s.en for s in sentences] == ["Yes.", "Then I came back home to my family."]
    without_attention = align_unit(unit, Translation(en, translation.logprobs, None, False), t.segments)
    assert without_attention[0].ar != sentences[0].ar


def test_partition_dynamic_programme_on_a_constructed_matrix():
    mass = np.array([[0.5, 0.4, 0.05, 0.05, 0.0], [0.0, 0.1, 0.1, 0.1, 0.7], [0.0, 0.0, 0.0, 0.9, 0.1]])
    # Sentence 1 (middle) wants word 4 most, but spans are monotonic: it gets words 2 and nothing past
    # sentence 2's word 3; with only two sentences, sentence 1 takes everything after word 1.
    assert partition(attention_scores(mass), 5) == [(0, 2), (2, 3), (3, 5)]
    assert partition(attention_scores(mass[:2]), 5) == [(0, 2), (2, 5)]


def test_length_fallback_snaps_to_arabic_punctuation():
    # Two English sentences of equal length; the Arabic full stop sits a little off the middle.
    t, unit = one_unit(Segment(id="1", text="كان الجو جميلا جدا اليوم. خرجنا إلى البحر"))
    en = pieces("The weather was nice. We went out.")
    sentences = align_unit(unit, Translation(en, (-0.2,) * len(en), None, False), t.segments)
    assert [s.ar for s in sentences] == ["كان الجو جميلا جدا اليوم.", "خرجنا إلى البحر"]
    assert all(s.links == () for s in sentences)  # no attention, no word links


def test_timing_is_interpolated_inside_a_partly_covered_cue():
    t, unit = one_unit(
        Segment(id="1", text="أهلا بكم. كيف", start=10.0, end=14.0),
        Segment(id="2", text="حالكم اليوم؟", start=14.0, end=16.0),
    )
    en = pieces("Welcome. How are you today?")
    attention = attention_for([(1, [0, 1]), (4, [2, 3, 4])], 5)
    sentences = align_unit(unit, Translation(en, (-0.1,) * 5, attention, False), t.segments)
    assert [s.ar for s in sentences] == ["أهلا بكم.", "كيف حالكم اليوم؟"]
    assert [s.segments for s in sentences] == [("1",), ("1", "2")]
    cut = 10.0 + 4.0 * len("أهلا بكم.") / len("أهلا بكم. كيف")
    assert sentences[0].start == 10.0 and sentences[0].end == pytest.approx(cut, abs=1e-3)
    assert sentences[1].start == pytest.approx(
        10.0 + 4.0 * len("أهلا بكم. ") / len("أهلا بكم. كيف"), abs=1e-3
    )
    assert sentences[1].end == 16.0


def test_word_links_point_at_the_attended_arabic_word_by_its_index_in_ar():
    t, unit = one_unit(
        Segment(id="1", text="القطة  ـ  سوداء")
    )  # a lone tatweel is a word with no model input
    en = ("▁The", "▁cat", "▁is", "▁bl", "ack", "▁.")
    attention = (
        (1.0, 0.0, 0.0),
        (1.0, 0.0, 0.0),
        (0.0, 0.0, 1.0),
        (0.0, 0.0, 1.0),
        (0.0, 0.0, 1.0),
        (0.5, 0.0, 0.5),
    )
    [sentence] = align_unit(unit, Translation(en, (-0.1,) * 6, attention, False), t.segments)
    assert sentence.en == "The cat is black ."
    assert sentence.ar == "القطة  ـ  سوداء"
    assert sentence.links == ((0, 0), (1, 0), (2, 2), (3, 2))  # '.' has no letters: no link


def test_english_words_and_sentences_from_pieces():
    words = english_words(
        ("▁Dr", ".", "▁Smith", "▁said", "▁:", '▁"', "Go", '!"', "▁Then", "▁he", "▁left", ".")
    )
    assert [w.text for w in words] == ["Dr.", "Smith", "said", ":", '"Go!"', "Then", "he", "left."]
    assert words[4].tokens == (5, 6, 7)
    assert [[w.text for w in s] for s in split_sentences(words)] == [
        ["Dr.", "Smith", "said", ":", '"Go!"'],
        ["Then", "he", "left."],
    ]
    assert (
        len(split_sentences(english_words(pieces("It costs 3.5 dollars. e.g. this one. J. K. wrote it."))))
        == 2
    )


def test_more_english_sentences_than_arabic_words_still_cover_each_word_once():
    t, unit = one_unit(Segment(id="1", text="نعم"))
    en = pieces("Yes. Yes. Of course.")
    [sentence] = align_unit(unit, Translation(en, (-0.1,) * len(en), None, False), t.segments)
    assert (sentence.en, sentence.ar) == ("Yes. Yes. Of course.", "نعم")


arabic_word = st.text(alphabet="ابتثجحخدذرزسشصضطظعغفقكلمنهوي.،؟ـ", min_size=1, max_size=8)
segment_texts = st.lists(st.lists(arabic_word, min_size=0, max_size=8).map(" ".join), min_size=1, max_size=6)
english_sentence = st.lists(
    st.sampled_from(["the", "man", "went", "home", "Yes", "no"]), min_size=1, max_size=5
)


@settings(max_examples=150, deadline=None)
@given(texts=segment_texts, english=st.lists(english_sentence, min_size=0, max_size=6), data=st.data())
def test_coverage_invariant_for_any_segmentation_and_any_number_of_sentences(texts, english, data):
    segments = tuple(
        Segment(id=str(i), text=text, start=float(i), end=float(i) + 0.5) for i, text in enumerate(texts)
    )
    transcript = Transcript(name="t", source="t", segments=segments)
    budget = data.draw(st.integers(min_value=8, max_value=60))
    units = build_units(transcript, len, UnitOptions(token_budget=budget, max_word_chars=4))
    translations = []
    for unit in units:
        en = pieces(" ".join(" ".join(sentence) + "." for sentence in english))
        use_attention = data.draw(st.booleans())
        attention = None
        if use_attention and en:
            raw = data.draw(
                st.lists(
                    st.lists(st.floats(0.0, 1.0), min_size=len(unit.words), max_size=len(unit.words)),
                    min_size=len(en),
                    max_size=len(en),
                )
            )
            attention = tuple(tuple(row) for row in raw)
        translations.append(Translation(en, (-0.5,) * len(en), attention, False))

    aligned = align_transcript(transcript, units, translations, "test")

    assert "".join(s.ar for s in aligned.sentences).replace(" ", "") == "".join(texts).replace(" ", "")
    assert [s.index for s in aligned.sentences] == list(range(len(aligned.sentences)))
    starts = [s.start for s in aligned.sentences]
    assert starts == sorted(starts)
    assert all(s.start <= s.end for s in aligned.sentences)
    non_empty = {seg.id for seg in segments if seg.text.strip()}
    assert non_empty == {sid for s in aligned.sentences for sid in s.segments}
    for sentence in aligned.sentences:
        for en_index, ar_index in sentence.links:
            assert 0 <= en_index < len(sentence.en.split())
            assert 0 <= ar_index < len(sentence.ar.split())


def test_overlapping_or_backwards_cues_give_times_a_subtitle_can_show():
    """The cue out of order shares the time of the one above it up to the next one's start: no
    zero-length sentence, none running backwards or overlapping the next (see join_units)."""
    segments = (
        Segment(id="1", text="أهلا بكم.", start=10.0, end=12.0),
        Segment(id="2", text="شكرا لكم.", start=8.0, end=9.0),  # earlier than the cue before it
        Segment(id="3", text="إلى اللقاء.", start=11.0, end=13.0),
    )
    transcript = Transcript(name="t", source="t", segments=segments)
    units = build_units(transcript, len, UnitOptions())
    translations = [Translation(pieces("Hello."), (-0.1,), None, False)] * len(units)
    aligned = align_transcript(transcript, units, translations, "m")
    assert [(s.start, s.end) for s in aligned.sentences] == [(10.0, 10.667), (10.667, 11.0), (11.0, 13.0)]
