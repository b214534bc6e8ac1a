"""English sentences -> the exact Arabic span, timing and speaker each came from.

Invariant: within a transcript, the spans of the aligned sentences, in order, cover every Arabic
word exactly once, with no gap, overlap or reordering. Within a unit that produced k English
sentences the unit's words are partitioned into k contiguous spans by a small dynamic programme
that maximises the alignment head's attention mass (or, without attention, matches lengths).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise

import numpy as np

from pipeline.arabic import Boundary, boundary_after
from pipeline.quality import Evidence, Thresholds, confidence, flags_for
from pipeline.records import (
    AlignedSentence,
    AlignedTranscript,
    ArabicWord,
    Segment,
    Transcript,
    Translation,
    Unit,
)

WORD_START = "▁"
_CLOSERS = "\"'»”’)]"
_ABBREVIATIONS = frozenset(
    {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "mt.", "no.", "vs.", "e.g.", "i.e.", "jr.", "sr."}
)
# Length fallback: how much a cut at Arabic sentence or clause punctuation may cost in length fit. The
# squared share error is paid on both sides of a cut; on Tatoeba pairs joined k at a time, 0.01 found
# 72/67/67% of the sentence spans exactly (k = 2/3/4) and 0.05 finds 91/91/88%.
PUNCTUATION_BONUS = 0.05


@dataclass(frozen=True)
class EnglishWord:
    text: str
    tokens: tuple[int, ...]  # indices into Translation.tokens


def english_words(tokens: Sequence[str]) -> list[EnglishWord]:
    """SentencePiece pieces -> words: a piece starting with '▁' starts a word."""
    words: list[tuple[str, list[int]]] = []
    for index, piece in enumerate(tokens):
        if piece.startswith(WORD_START) or not words:
            words.append((piece.lstrip(WORD_START), [index]))
        else:
            text, indices = words[-1]
            words[-1] = (text + piece, [*indices, index])
    merged: list[EnglishWord] = []
    for text, indices in words:
        if text:
            merged.append(EnglishWord(text, tuple(indices)))
        elif merged:  # a lone '▁' at the end: keep its token with the word before
            merged[-1] = EnglishWord(merged[-1].text, (*merged[-1].tokens, *indices))
    return merged


def split_sentences(words: Sequence[EnglishWord]) -> list[list[EnglishWord]]:
    """English sentence ends: '.', '!' or '?' (before closing quotes) followed by a non-lowercase word."""
    sentences: list[list[EnglishWord]] = [[]]
    for position, word in enumerate(words):
        sentences[-1].append(word)
        following = words[position + 1].text if position + 1 < len(words) else None
        if following is not None and _ends_sentence(word.text, following):
            sentences.append([])
    return [sentence for sentence in sentences if sentence]


def _ends_sentence(word: str, following: str) -> bool:
    bare = word.rstrip(_CLOSERS)
    if not bare or bare[-1] not in ".!?" or bare.lower() in _ABBREVIATIONS:
        return False
    if re.fullmatch(r"[A-Z]\.", bare):  # an initial
        return False
    return not following[:1].islower()


def partition(scores: Sequence[np.ndarray], n: int) -> list[tuple[int, int]]:
    """Cut n words into len(scores) non-empty contiguous spans maximising the summed span scores.

    scores[s][a, b] is the score of giving words a..b-1 to sentence s (0 <= a < b <= n).
    """
    k = len(scores)
    if not 1 <= k <= n:
        raise ValueError(f"cannot cut {n} words into {k} non-empty spans")
    below = np.tril(np.ones((n + 1, n + 1), dtype=bool))  # a >= b: not a span
    best = np.where(below[0], -np.inf, scores[0][0])  # best[b]: sentence 0 takes words 0..b-1
    choices = []
    for s in range(1, k):
        total = best[:, None] + np.where(below, -np.inf, scores[s])
        choices.append(total.argmax(axis=0))
        best = total.max(axis=0)
    cuts = [n]
    for choice in reversed(choices):
        cuts.append(int(choice[cuts[-1]]))
    cuts.append(0)
    cuts.reverse()
    return list(pairwise(cuts))


def attention_scores(mass: np.ndarray) -> list[np.ndarray]:
    """mass[s, j]: attention of sentence s on word j -> span scores P[b] - P[a] per sentence."""
    prefix = np.concatenate([np.zeros((mass.shape[0], 1)), np.cumsum(mass, axis=1)], axis=1)
    return [row[None, :] - row[:, None] for row in prefix]


def length_scores(ar_words: Sequence[str], en_lengths: Sequence[int]) -> list[np.ndarray]:
    """Gale-Church style: each span's share of Arabic characters should match its sentence's share of
    English characters; a span ending at Arabic sentence punctuation gets a small bonus."""
    chars = np.array([len(word) + 1 for word in ar_words], dtype=float)
    cumulative = np.concatenate([[0.0], np.cumsum(chars)])
    share = (cumulative[None, :] - cumulative[:, None]) / cumulative[-1]
    ends_sentence = np.array(
        [0.0] + [float(boundary_after(word, None) >= Boundary.CLAUSE) for word in ar_words]
    )
    en_total = max(1, sum(en_lengths))
    return [
        -((share - length / en_total) ** 2) + PUNCTUATION_BONUS * ends_sentence[None, :]
        for length in en_lengths
    ]


def align_unit(
    unit: Unit, translation: Translation, segments: Sequence[Segment], limits: Thresholds = Thresholds()
) -> list[AlignedSentence]:
    """The aligned sentences of one unit, indexed from 0 (the caller renumbers them)."""
    sentences = split_sentences(english_words(translation.tokens)) or [[]]
    n = len(unit.words)
    if len(sentences) > n:  # more English sentences than Arabic words: the extra ones join the last
        sentences = [*sentences[: n - 1], [word for sentence in sentences[n - 1 :] for word in sentence]]
    attention = None if translation.attention is None else np.asarray(translation.attention)
    spans = _spans(len(unit.words), unit.model_words, attention, sentences)
    last = len(sentences) - 1
    return [
        _sentence(position, sentence, span, unit, translation, segments, limits, position == last)
        for position, (sentence, span) in enumerate(zip(sentences, spans, strict=True))
    ]


def align_sentence(
    unit: Unit, translation: Translation, segments: Sequence[Segment], limits: Thresholds = Thresholds()
) -> AlignedSentence:
    """All of a translation's English as one sentence over all of the unit's Arabic: English a reviewer
    wrote for one sentence's span, which keeps its span whatever its punctuation."""
    words = english_words(translation.tokens)
    return _sentence(0, words, (0, len(unit.words)), unit, translation, segments, limits, True)


def _sentence(
    position: int,
    sentence: list[EnglishWord],
    span: tuple[int, int],
    unit: Unit,
    translation: Translation,
    segments: Sequence[Segment],
    limits: Thresholds,
    last: bool,
) -> AlignedSentence:
    """One English sentence given the unit's words a..b-1: its Arabic as written, timing, speaker,
    confidence, flags and word links."""
    a, b = span
    attention = None if translation.attention is None else np.asarray(translation.attention)
    words = unit.words[a:b]
    ar, ar_token = _original_text(words, segments)
    tokens = tuple(t for word in sentence for t in word.tokens)
    en = " ".join(word.text for word in sentence)
    evidence = Evidence(
        en=en,
        ar=" ".join(word.norm for word in words if word.norm),
        logprobs=tuple(translation.logprobs[t] for t in tokens),
        truncated=translation.truncated and last,
    )
    start, end = _timing(words, segments)
    return AlignedSentence(
        index=position,
        en=en,
        ar=ar,
        segments=tuple(dict.fromkeys(segments[word.segment].id for word in words)),
        start=start,
        end=end,
        speaker=segments[words[0].segment].speaker,
        confidence=round(confidence(evidence.logprobs), 4),
        flags=flags_for(evidence, limits),
        links=_links(sentence, attention, a, ar_token),
    )


def _spans(
    n: int, ar_words: Sequence[str], attention: np.ndarray | None, sentences: list[list[EnglishWord]]
) -> list[tuple[int, int]]:
    k = len(sentences)
    if k == 1:
        return [(0, n)]
    if attention is not None:
        mass = np.stack(
            [attention[[t for word in sentence for t in word.tokens]].mean(axis=0) for sentence in sentences]
        )
        return partition(attention_scores(mass), n)
    en_lengths = [sum(len(word.text) + 1 for word in sentence) for sentence in sentences]
    return partition(length_scores(ar_words, en_lengths), n)


def _original_text(words: Sequence[ArabicWord], segments: Sequence[Segment]) -> tuple[str, list[int]]:
    """The span's text as written (one run per segment, runs joined by a space), and for each word
    the index of the whitespace-separated word of that text it falls in."""
    runs: list[str] = []
    ar_token: list[int] = []
    count = -1
    previous: ArabicWord | None = None
    run_start = 0
    for word in words:
        same_run = previous is not None and previous.segment == word.segment
        if not same_run:
            if previous is not None:
                runs.append(segments[previous.segment].text[run_start : previous.end])
            run_start = word.start
        if not (same_run and previous is not None and previous.token == word.token):
            count += 1
        ar_token.append(count)
        previous = word
    if previous is not None:
        runs.append(segments[previous.segment].text[run_start : previous.end])
    return " ".join(runs), ar_token


def _timing(words: Sequence[ArabicWord], segments: Sequence[Segment]) -> tuple[float | None, float | None]:
    first, last = segments[words[0].segment], segments[words[-1].segment]
    if first.start is None or first.end is None or last.start is None or last.end is None:
        return None, None
    start = first.start if not first.text[: words[0].start].strip() else first.time_at(words[0].start)
    end = last.end if not last.text[words[-1].end :].strip() else last.time_at(words[-1].end)
    if end <= start and words[0].segment != words[-1].segment:
        # Time runs backwards inside the sentence (its cues are out of time order or overlap): it ends
        # where the latest of its cues before the last one ends, never at its own start.
        earlier = list(dict.fromkeys(word.segment for word in words))[:-1]
        end = max(end, *(segments[s].end or start for s in earlier))
    return round(start, 3), round(max(start, end), 3)


def _links(
    sentence: list[EnglishWord], attention: np.ndarray | None, span_start: int, ar_token: list[int]
) -> tuple[tuple[int, int], ...]:
    """Each English word with a letter or digit -> the Arabic word of its span it attends to most."""
    if attention is None or not ar_token:
        return ()
    linked = [
        (position, word) for position, word in enumerate(sentence) if any(c.isalnum() for c in word.text)
    ]
    if not linked:
        return ()
    span = attention[:, span_start : span_start + len(ar_token)]
    # Each word's mean attention row at once (its tokens are consecutive): sums over each word's rows,
    # divided by its token count, as a mean over them would.
    rows = span[[t for _, word in linked for t in word.tokens]]
    counts = np.array([len(word.tokens) for _, word in linked])
    means = np.add.reduceat(rows, np.concatenate([[0], np.cumsum(counts)[:-1]]), axis=0) / counts[:, None]
    return tuple(
        (position, ar_token[int(best)])
        for (position, _), best in zip(linked, means.argmax(axis=1), strict=True)
    )


def align_transcript(
    transcript: Transcript, units: Sequence[Unit], translations: Sequence[Translation], model: str
) -> AlignedTranscript:
    """Every unit aligned (see align_unit), then joined (see join_units)."""
    per_unit = [
        align_unit(unit, translation, transcript.segments)
        for unit, translation in zip(units, translations, strict=True)
    ]
    return join_units(transcript, per_unit, model)


def join_units(
    transcript: Transcript, per_unit: Sequence[Sequence[AlignedSentence]], model: str
) -> AlignedTranscript:
    """The units' sentences, in unit order (the Arabic's), numbered, with times a subtitle can show.

    A sentence keeps its times while it starts at or after the latest start above it; one that starts
    before that start but ends after it (overlapping cues) starts at that start. That is all that
    happens to input whose cues are in time order. Cues out of time order stay where the Arabic has
    them, and their sentences get times after the sentence above (P); never zero-length or backwards:

    - A jump back in time (a sentence whose first cue starts before the last cue of the sentence
      above, or that ends before the latest start above) begins a piece, which goes on, sentence by
      sentence, on its own clock until the next jump back, or until a sentence is back on the clock
      above the piece (it starts at or after the latest start above, nearer P's end than the end of
      the sentence before it).
    - A piece that the clock above goes on after (a misplaced cue or block) is slotted in between P
      and the sentence that goes on: back to back from P's end, each sentence with its own duration
      (1 s if it has none), when that ends in time; otherwise P and the piece share the time from P's
      start to that sentence's start in proportion to their durations. Nothing overlaps the next.
    - A piece that goes on to the end, or to the next jump (a clock that restarts, as when clips or
      recordings are joined into one file), is moved to start where P ends, keeping its own timing
      (gaps included), and what follows is timed on its moved clock.
    """
    sentences = [
        replace(sentence, index=index)
        for index, sentence in enumerate(sentence for unit in per_unit for sentence in unit)
    ]
    timed = [i for i, s in enumerate(sentences) if s.start is not None and s.end is not None]
    if timed:
        placed = _placed_times([sentences[i] for i in timed], transcript.segments)
        for i, (start, end) in zip(timed, placed, strict=True):
            if (start, end) != (sentences[i].start, sentences[i].end):
                sentences[i] = replace(sentences[i], start=start, end=end)
    return AlignedTranscript(transcript=transcript, sentences=tuple(sentences), model=model)


UNTIMED_SECONDS = 1.0  # the duration a slotted-in sentence without one of its own is given


def _placed_times(timed: Sequence[AlignedSentence], segments: Sequence[Segment]) -> list[tuple[float, float]]:
    """join_units' times for sentences that all have times, in order."""
    spans: list[tuple[float, float]] = []
    for sentence in timed:
        assert sentence.start is not None and sentence.end is not None
        spans.append((sentence.start, sentence.end))
    cue_start = {segment.id: segment.start for segment in segments}
    first_cue = [cue_start.get(s.segments[0]) if s.segments else None for s in timed]
    last_cue = [cue_start.get(s.segments[-1]) if s.segments else None for s in timed]

    def cue_jump(p: int) -> bool:  # the sentence's first cue starts before the last cue above it
        first, above = first_cue[p], last_cue[p - 1]
        return first is not None and above is not None and first < above

    placed = list(spans)
    offset = latest = 0.0  # the clock's shift; the latest start placed

    def place(p: int) -> None:
        nonlocal latest
        start, end = spans[p][0] + offset, spans[p][1] + offset
        start = max(start, latest)
        placed[p] = (round(start, 3), round(max(end, start), 3)) if offset else (start, max(end, start))
        latest = placed[p][0]

    position, n = 0, len(spans)
    while position < n:
        start, end = spans[position][0] + offset, spans[position][1] + offset
        if position == 0 or not (cue_jump(position) or (start < latest and end <= latest)):
            place(position)
            position += 1
            continue
        above = position - 1
        above_end = placed[above][1]

        def back(p: int, clock: float = offset, since: float = latest, end: float = above_end) -> bool:
            """On the clock above the piece again: nearer the end of the sentence above the piece
            than the end of the sentence before it."""
            start = spans[p][0] + clock
            return start >= since and abs(start - end) < abs(spans[p][0] - spans[p - 1][1])

        piece_end, piece_latest = position + 1, spans[position][0]
        while piece_end < n and not back(piece_end) and not cue_jump(piece_end):
            start, end = spans[piece_end]
            if start < piece_latest and end <= piece_latest:
                break
            piece_latest = max(piece_latest, start)
            piece_end += 1
        limit = spans[piece_end][0] + offset if piece_end < n else float("inf")
        if piece_end < n and back(piece_end) and limit > placed[above][0]:
            _slot_in(placed, above, range(position, piece_end), limit)
            latest = placed[piece_end - 1][0]
        else:
            offset = above_end - spans[position][0]
            for p in range(position, piece_end):
                place(p)
        position = piece_end
    return placed


def _slot_in(times: list[tuple[float, float]], above: int, piece: Sequence[int], limit: float) -> None:
    """Times for a piece of out-of-order sentences slotted in below sentence `above`, before `limit`
    (the start of the sentence below them), as join_units says; `times` is changed in place."""
    above_start, above_end = times[above]
    durations = [end - start or UNTIMED_SECONDS for start, end in (times[p] for p in piece)]
    if above_end + sum(durations) <= limit:  # room after P: P keeps its time
        cuts = list(itertools.accumulate(durations, initial=above_end))
        members = list(piece)
    else:
        weights = [above_end - above_start, *durations]
        shares = itertools.accumulate(weights, initial=0.0)
        cuts = [above_start + (limit - above_start) * share / sum(weights) for share in shares]
        members = [above, *piece]
    placed = round(cuts[0], 3)
    for position, cut in zip(members, cuts[1:], strict=True):
        shortest = 0.0 if position == above and above_end == above_start else 0.001  # none only if none
        end = max(round(cut, 3), round(placed + shortest, 3))
        times[position] = (placed, end)
        placed = end
