"""Two subtitle files of one recording, timed differently, matched cue group to cue group.

Translated subtitles are rarely timed like their source: the Arabic of the Tor animation is timed to
an Arabic voice-over, drifts up to four seconds from the English and has a cue the English lacks.
So cues are matched in order by a small dynamic programme over groups of consecutive cues: one to
one, many Arabic cues to one English cue, or one to many. A group costs less the more its two sides
overlap in time, the closer their lengths are to the files' own ratio, and when both or neither end
a sentence; every cue beyond one to one costs extra, so another shape is chosen only where the cues
call for it. The groups are monotonic and cover both files: every cue of each in exactly one group,
in order (an Arabic cue without English, or an English cue that overlaps no Arabic, joins a neighbour).

Pure arithmetic over cue times, lengths and sentence ends: `pipeline.given` reads the files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np

# Characters added to both sides of a length comparison, so short cues do not swing it.
LENGTH_SMOOTHING = 8.0
# The length term's cap: a group whose lengths are far off costs this much, however far.
LENGTH_CAP = 2.0


@dataclass(frozen=True)
class Weights:
    """What a group costs. Tuned on the Tor pair and six variants of it (English cues merged in pairs,
    split in two, shifted 1 s either way): 234 of 237 groups right, each variant's best or within one
    group of it; the real pair exactly (34 one to one, the Arabic's extra cue with the last)."""

    time: float = 0.5  # times (1 - the overlap's share of the two sides' durations together)
    length: float = 0.5  # times |log| of English to Arabic characters against the files' ratio
    sentence_end: float = 0.5  # one side ends a sentence and the other does not
    extra_cue: float = 1.0  # each cue beyond one to one
    # Each second a cue's middle lies outside the other side's span, beyond a drift of `tolerance`: a
    # cue far from everything (a credit, a title) joins its nearest neighbour, not one its length suits.
    far: float = 0.5
    tolerance: float = 5.0


@dataclass(frozen=True)
class Cues:
    """One file's cues as the matching sees them."""

    start: np.ndarray  # seconds
    end: np.ndarray
    chars: np.ndarray  # letters and other non-space characters
    ends_sentence: np.ndarray  # bool: the cue's text ends with a sentence end

    @classmethod
    def of(cls, times: list[tuple[float, float]], chars: list[int], ends: list[bool]) -> Cues:
        starts = np.array([start for start, _ in times], dtype=float)
        ends_at = np.maximum(np.array([end for _, end in times], dtype=float), starts)
        return cls(starts, ends_at, np.array(chars, dtype=float), np.array(ends, dtype=bool))

    def __len__(self) -> int:
        return len(self.start)

    @cached_property
    def middle(self) -> np.ndarray:
        return (self.start + self.end) / 2

    @cached_property
    def seconds_before(self) -> np.ndarray:
        """[k]: the durations of cues 0..k-1 summed."""
        return np.concatenate([[0.0], np.cumsum(self.end - self.start)])

    @cached_property
    def chars_before(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(self.chars)])


Group = tuple[range, range]  # (Arabic cues, English cues)


def any_overlap(arabic: Cues, english: Cues) -> bool:
    """Whether any English cue meets any Arabic cue in time at all (a zero-length cue meets the cues
    whose interval holds its instant)."""
    order = np.argsort(arabic.start, kind="stable")
    starts = arabic.start[order]
    furthest = np.maximum.accumulate(arabic.end[order])
    instant = english.end <= english.start  # zero-length: held by a cue it touches; others must share time
    before = np.searchsorted(starts, english.end, side="left")  # Arabic cues starting before each one ends
    by_end = np.searchsorted(starts, english.end, side="right")  # ... or at its end
    reach_before = np.where(before > 0, furthest[np.maximum(before - 1, 0)], -np.inf)
    reach_by_end = np.where(by_end > 0, furthest[np.maximum(by_end - 1, 0)], -np.inf)
    shares = (before > 0) & (reach_before > english.start)
    holds = instant & (by_end > 0) & (reach_by_end >= english.start)
    return bool(np.any(shares | holds))


def match(arabic: Cues, english: Cues, weights: Weights = Weights()) -> list[Group]:
    """The cheapest monotonic grouping of the two files' cues (see the module's docstring). The search
    keeps to a band of English cues around those the times put beside each Arabic cue, and to groups
    of a few cues, more where the times put a run of one side's cues between two of the other's;
    should that find no way through, it widens until it does."""
    m, n = len(arabic), len(english)
    if m == 0 or n == 0:
        raise ValueError("both files need at least one cue")
    most_arabic = max(4, math.ceil(2 * m / n), _longest_run(english, arabic))
    most_english = max(4, math.ceil(2 * n / m), _longest_run(arabic, english))
    band = max(50, 2 * most_english)
    attempts = [(most_arabic, most_english, band), (4 * most_arabic, 4 * most_english, 4 * band), (m, n, n)]
    for most_a, most_e, width in attempts:
        groups = _match(arabic, english, weights, min(most_a, m), min(most_e, n), width)
        if groups is not None:
            return groups
    raise AssertionError("with every shape and the whole band, a way through always exists")


def total_cost(arabic: Cues, english: Cues, groups: list[Group], weights: Weights = Weights()) -> float:
    """What a grouping costs, group by group as `match` counts it (for tests and diagnostics)."""
    scale = _ratio(arabic, english)
    total = 0.0
    for a, e in groups:
        ar, en = np.arange(a.start, a.stop), np.arange(e.start, e.stop)
        overlap = sum(_overlap(arabic, i, english, en).sum() for i in a)
        far = _beyond(arabic.middle[ar], english.start[en].min(), english.end[en].max(), weights).sum()
        far += _beyond(english.middle[en], arabic.start[ar].min(), arabic.end[ar].max(), weights).sum()
        arabic_side = _side(arabic, a.start, a.stop)
        english_side = _side(english, np.array([e.start]), np.array([e.stop]))
        extra = len(a) + len(e) - 2
        cost = _cost(arabic_side, english_side, np.array([overlap]), np.array([far]), scale, extra, weights)
        total += float(cost[0])
    return total


def _match(
    arabic: Cues, english: Cues, weights: Weights, most_a: int, most_e: int, band: int
) -> list[Group] | None:
    """The DP over boundaries (i, j): Arabic cues 0..i-1 and English cues 0..j-1 grouped. Row i keeps
    the columns of its band; each row's groups (cues i-p..i-1 with j-1, or i-1 with j-q..j-1) are
    costed for all its columns at once."""
    m, n = len(arabic), len(english)
    shapes = [(p, 1) for p in range(1, most_a + 1)] + [(1, q) for q in range(2, most_e + 1)]
    scale = _ratio(arabic, english)
    low, high = _band(arabic, english, band)
    best: list[np.ndarray] = [np.where(np.arange(low[0], high[0] + 1) == 0, 0.0, np.inf)]
    back: list[np.ndarray] = [np.full(high[0] - low[0] + 1, -1, dtype=np.int32)]
    for i in range(1, m + 1):
        columns = np.arange(low[i], high[i] + 1)  # English boundaries j: cues 0..j-1 are used
        row = np.full(len(columns), np.inf)
        choice = np.full(len(columns), -1, dtype=np.int32)
        best.append(row)
        back.append(choice)
        first = max(0, low[i] - most_e)  # the English cues a group ending in this row can hold
        cues = np.arange(first, high[i])
        if not len(cues):
            continue
        at = columns - first  # each column as a boundary among `cues`
        last = np.clip(at - 1, 0, len(cues) - 1)  # the English cue j-1

        # Many Arabic cues (i-p..i-1) to the one English cue j-1.
        overlap = np.zeros(len(cues))
        far = np.zeros(len(cues))
        lowest, highest = np.inf, -np.inf
        for p in range(1, min(most_a, i) + 1):
            a = i - p
            overlap += _overlap(arabic, a, english, cues)
            far += _beyond(arabic.middle[a], english.start[cues], english.end[cues], weights)
            lowest, highest = min(lowest, arabic.start[a]), max(highest, arabic.end[a])
            previous = _lookup(best[a], low[a], columns - 1)
            if np.isfinite(previous).any():
                beyond = far[last] + _beyond(english.middle[cues][last], lowest, highest, weights)
                english_side = _side(english, np.maximum(columns - 1, 0), columns)
                cost = _cost(_side(arabic, a, i), english_side, overlap[last], beyond, scale, p - 1, weights)
                _offer(row, choice, shapes.index((p, 1)), previous + cost)

        # The one Arabic cue i-1 to many English cues (j-q..j-1).
        a = i - 1
        running = _before(_overlap(arabic, a, english, cues))
        far_before = _before(_beyond(english.middle[cues], arabic.start[a], arabic.end[a], weights))
        span_start = np.concatenate([[np.inf], english.start[cues]])  # by boundary: its last q cues' span
        span_end = np.concatenate([[-np.inf], english.end[cues]])
        for q in range(2, min(most_e, len(cues)) + 1):
            span_start[q:] = np.minimum(span_start[q:], english.start[cues][: len(cues) - q + 1])
            span_end[q:] = np.maximum(span_end[q:], english.end[cues][: len(cues) - q + 1])
            previous = _lookup(best[a], low[a], columns - q)
            if np.isfinite(previous).any():
                b = np.clip(at, q, len(cues))
                beyond = far_before[b] - far_before[b - q]
                beyond += _beyond(arabic.middle[a], span_start[b], span_end[b], weights)
                english_side = _side(english, np.maximum(columns - q, 0), columns)
                overlap_q = running[b] - running[b - q]
                cost = _cost(_side(arabic, a, i), english_side, overlap_q, beyond, scale, q - 1, weights)
                _offer(row, choice, shapes.index((1, q)), previous + cost)
    if not np.isfinite(_lookup(best[m], low[m], np.array([n]))[0]):
        return None
    groups: list[Group] = []
    i, j = m, n
    while i > 0:
        p, q = shapes[int(back[i][j - low[i]])]
        groups.append((range(i - p, i), range(j - q, j)))
        i, j = i - p, j - q
    return groups[::-1]


def _offer(row: np.ndarray, choice: np.ndarray, shape: int, total: np.ndarray) -> None:
    """Where this shape reaches a column more cheaply, it becomes the column's way there."""
    better = total < row
    row[better] = total[better]
    choice[better] = shape


def _before(values: np.ndarray) -> np.ndarray:
    """[k]: values 0..k-1 summed."""
    return np.concatenate([[0.0], np.cumsum(values)])


@dataclass(frozen=True)
class _Side:
    """One side of a set of groups: their cues' durations and characters summed, and whether the last
    cue ends a sentence."""

    seconds: np.ndarray | float
    chars: np.ndarray | float
    ends_sentence: np.ndarray | bool


def _side(cues: Cues, start: np.ndarray | int, stop: np.ndarray | int) -> _Side:
    """Cues start..stop-1 (arrays of them, or one range)."""
    seconds, chars = cues.seconds_before, cues.chars_before
    return _Side(seconds[stop] - seconds[start], chars[stop] - chars[start], cues.ends_sentence[stop - 1])


def _cost(
    arabic: _Side,
    english: _Side,
    overlap: np.ndarray,
    far: np.ndarray,
    scale: float,
    extra: int,
    weights: Weights,
) -> np.ndarray:
    together = np.asarray(arabic.seconds + english.seconds - overlap, dtype=float)
    shared = np.divide(overlap, together, out=np.zeros_like(together), where=together > 0)
    lengths = np.abs(np.log((english.chars + LENGTH_SMOOTHING) / (scale * arabic.chars + LENGTH_SMOOTHING)))
    return (
        weights.time * (1.0 - shared)
        + weights.length * np.minimum(lengths, LENGTH_CAP)
        + weights.sentence_end * (np.asarray(arabic.ends_sentence) != np.asarray(english.ends_sentence))
        + weights.far * far
        + weights.extra_cue * extra
    )


def _beyond(
    middle: np.ndarray | float, start: np.ndarray | float, end: np.ndarray | float, weights: Weights
) -> np.ndarray:
    """Seconds a cue's middle lies outside the other side's span, less the tolerance (at least 0)."""
    outside = np.maximum(np.subtract(start, middle), np.subtract(middle, end))
    return np.maximum(outside - weights.tolerance, 0.0)


def _overlap(arabic: Cues, i: int, english: Cues, cues: np.ndarray) -> np.ndarray:
    """Seconds Arabic cue i shares with each of these English cues."""
    shared = np.minimum(arabic.end[i], english.end[cues]) - np.maximum(arabic.start[i], english.start[cues])
    return np.maximum(shared, 0.0)


def _ratio(arabic: Cues, english: Cues) -> float:
    """English characters per Arabic character in these two files."""
    return float(max(english.chars.sum(), 1.0) / max(arabic.chars.sum(), 1.0))


def _centres(one: Cues, other: Cues) -> np.ndarray:
    """For each boundary of `one` (its cues 0..i-1 before it), how many of `other`'s cues come before it
    by time: those whose middles come before `one`'s cue i starts."""
    middles = np.sort(other.middle)
    centre = np.concatenate([[0], np.searchsorted(middles, one.start[1:]), [len(other)]])
    return np.maximum.accumulate(centre)


def _longest_run(one: Cues, other: Cues) -> int:
    """The most of `other`'s cues that the times put between two boundaries of `one`."""
    return int(np.diff(_centres(one, other)).max()) + 1


def _band(arabic: Cues, english: Cues, width: int) -> tuple[list[int], list[int]]:
    """For each Arabic boundary, the English boundaries searched: within `width` of its centre."""
    m, n = len(arabic), len(english)
    centre = _centres(arabic, english)
    low = [max(0, int(c) - width) for c in centre]
    high = [min(n, int(c) + width) for c in centre]
    low[0], high[m] = 0, n
    return low, high


def _lookup(row: np.ndarray, low: int, columns: np.ndarray) -> np.ndarray:
    """row's values at these English boundaries (row starts at boundary `low`); inf outside it."""
    at = columns - low
    inside = (columns >= 0) & (at >= 0) & (at < len(row))
    return np.where(inside, row[np.clip(at, 0, len(row) - 1)], np.inf)
