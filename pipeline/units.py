"""Segments -> translation units that respect sentence ends and never exceed the token budget.

Marian models were trained on sentences: a paragraph in one input loses sentences or loops, so a
unit is one sentence where the text is punctuated, one segment where it is not (ASR output), and
anything over the budget is split at the strongest boundary it has, nearest its middle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.arabic import Boundary, boundary_after, ends_with_punctuation, segment_words
from pipeline.records import ArabicWord, Transcript, Unit

TokenCounter = Callable[[str], int]


@dataclass(frozen=True)
class UnitOptions:
    token_budget: int = 128  # SentencePiece tokens per unit; Marian's hard limit is 512
    max_word_chars: int = 48  # longer runs without spaces are cut (each char is at most ~1 token)
    punctuated_share: float = 0.5  # share of segments ending in punctuation for "the author punctuates"


def transcript_words(transcript: Transcript, options: UnitOptions) -> list[ArabicWord]:
    words: list[ArabicWord] = []
    for index, segment in enumerate(transcript.segments):
        words.extend(segment_words(segment, index, options.max_word_chars))
    return words


def is_punctuated(words: Sequence[ArabicWord], share: float) -> bool:
    """Whether segment ends can be ignored in favour of sentence ends (subtitles) or not (ASR).

    Judged on normalised words, so punctuation that RTL authoring moved to a line's start counts.
    """
    last_norm: dict[int, str] = {}
    for word in words:
        if word.norm:
            last_norm[word.segment] = word.norm
    if not last_norm:
        return False
    punctuated = sum(ends_with_punctuation(norm) for norm in last_norm.values())
    return punctuated / len(last_norm) >= share


def build_units(transcript: Transcript, count_tokens: TokenCounter, options: UnitOptions) -> tuple[Unit, ...]:
    words = transcript_words(transcript, options)
    if not words:
        return ()
    counts = _token_counts(words, count_tokens)
    cut_at_segments = not is_punctuated(words, options.punctuated_share)
    speakers = [segment.speaker for segment in transcript.segments]

    groups: list[list[int]] = [[0]]
    for i in range(1, len(words)):
        before, after = words[i - 1], words[i]
        new_segment = before.segment != after.segment
        hard = boundary_after(before.norm, after.norm) == Boundary.SENTENCE or (
            new_segment and (cut_at_segments or speakers[before.segment] != speakers[after.segment])
        )
        if hard:
            groups.append([i])
        else:
            groups[-1].append(i)

    pieces: list[list[int]] = []
    for group in groups:
        pieces.extend(_fit(group, words, counts, options.token_budget))
    return tuple(Unit(index, tuple(words[i] for i in piece)) for index, piece in enumerate(pieces))


def _token_counts(words: Sequence[ArabicWord], count_tokens: TokenCounter) -> list[int]:
    known: dict[str, int] = {}
    for word in words:
        if word.norm not in known:
            known[word.norm] = count_tokens(word.norm) if word.norm else 0
    return [known[word.norm] for word in words]


def _fit(
    group: list[int], words: Sequence[ArabicWord], counts: Sequence[int], budget: int
) -> list[list[int]]:
    """Split an over-budget group at its strongest inner boundary, recursively.

    Only cuts that leave at least a quarter of the tokens on each side compete (when there are
    any), so a strong boundary near an edge never leaves a fragment; ties go to the middle.
    """
    total = sum(counts[i] for i in group)
    if total <= budget or len(group) == 1:
        return [group]
    best_cut, best_key = 1, (False, Boundary.NONE, float("-inf"))
    running = 0
    for cut in range(1, len(group)):
        running += counts[group[cut - 1]]
        balanced = 4 * min(running, total - running) >= total
        strength = _cut_strength(words[group[cut - 1]], words[group[cut]])
        key = (balanced, strength, -abs(2 * running - total))
        if key > best_key:
            best_cut, best_key = cut, key
    return _fit(group[:best_cut], words, counts, budget) + _fit(group[best_cut:], words, counts, budget)


def _cut_strength(before: ArabicWord, after: ArabicWord) -> Boundary:
    if before.segment != after.segment:
        return max(Boundary.CLAUSE, boundary_after(before.norm, after.norm))
    if before.token == after.token:
        return Boundary.NONE  # inside one over-long word
    return boundary_after(before.norm, after.norm)
