from __future__ import annotations

from pipeline.readers import read_transcript
from pipeline.records import Segment, Transcript
from pipeline.units import UnitOptions, build_units, transcript_words
from tests.conftest import DATA


def char_count(text: str) -> int:
    return len(text)


def transcript(*segments: Segment) -> Transcript:
    return Transcript(name="t", source="t.srt", segments=segments)


def covered(units) -> list[tuple[int, int, int]]:
    return [(w.segment, w.start, w.end) for unit in units for w in unit.words]


def test_long_unpunctuated_asr_text_is_cut_within_budget_and_loses_nothing(tiny_translator):
    mgb3 = read_transcript(DATA / "mgb3" / "segments.tsv")
    joined = transcript(Segment(id="all", text=" ".join(s.text for s in mgb3.segments)))
    options = UnitOptions(token_budget=128)
    units = build_units(joined, tiny_translator.planner.count_tokens, options)
    sizes = [sum(tiny_translator.planner.count_tokens(w) for w in unit.model_words) for unit in units]
    assert len(units) > 100
    assert max(sizes) <= 128
    assert min(sizes) > 128 // 4  # every cut leaves at least a quarter on each side: no fragments
    assert covered(units) == covered([_all(joined, options)])


def _all(t: Transcript, options: UnitOptions):
    from pipeline.records import Unit

    return Unit(0, tuple(transcript_words(t, options)))


def test_unpunctuated_segments_are_units_of_their_own():
    t = transcript(Segment(id="1", text="لما تتهد المساجد"), Segment(id="2", text="لما يبقى في سخرية"))
    units = build_units(t, char_count, UnitOptions())
    assert [unit.text for unit in units] == ["لما تتهد المساجد", "لما يبقى في سخرية"]


def test_a_sentence_spanning_cues_is_one_unit_with_a_piece_in_each():
    t = transcript(
        Segment(id="1", text="تعلمت البحر وأنا طفل"),
        Segment(id="2", text="وكنت أخرج معهما. ثم كبرت."),
        Segment(id="3", text="والآن أنا صياد."),
    )
    units = build_units(t, char_count, UnitOptions())
    assert [unit.text for unit in units] == [
        "تعلمت البحر وأنا طفل وكنت أخرج معهما.",
        "ثم كبرت.",
        "والآن أنا صياد.",
    ]
    assert sorted({w.segment for w in units[0].words}) == [0, 1]


def test_a_speaker_change_always_ends_a_unit():
    t = transcript(
        Segment(id="1", text="هل كانت مهنة", speaker="المذيعة"),
        Segment(id="2", text="نعم.", speaker="صقر"),
        Segment(id="3", text="كان أبي صيادا.", speaker="صقر"),
    )
    assert [unit.text for unit in build_units(t, char_count, UnitOptions())] == [
        "هل كانت مهنة",
        "نعم.",
        "كان أبي صيادا.",
    ]


def test_overlong_unit_is_split_at_a_comma_before_plain_spaces():
    text = "كلمة " * 10 + "فاصلة، " + "كلمة " * 10
    units = build_units(
        transcript(Segment(id="1", text=text.strip())), char_count, UnitOptions(token_budget=80)
    )
    assert units[0].text.split()[-1] == "فاصلة،"
    assert all(len(unit.text.replace(" ", "")) <= 80 for unit in units)


def test_a_single_huge_word_is_cut_to_the_budget():
    units = build_units(
        transcript(Segment(id="1", text="ب" * 1000)), char_count, UnitOptions(token_budget=64)
    )
    assert all(len(unit.text) <= 64 for unit in units)
    assert "".join(unit.text for unit in units) == "ب" * 1000


def test_segments_without_words_make_no_units():
    t = transcript(Segment(id="1", text=""), Segment(id="2", text="ـ"), Segment(id="3", text="نص"))
    units = build_units(t, char_count, UnitOptions())
    assert covered(units) == [(1, 0, 1), (2, 0, 2)]  # the lone tatweel is kept, with empty model input
