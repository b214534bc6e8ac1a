"""Subtitle conventions, in one place: aligned sentences -> cues a viewer can read.

A long English sentence becomes several cues, split at natural break points (punctuation, then
before clause words such as "and" or "because", never after an article or preposition), each cue at
most `max_lines` balanced lines of at most `max_line` characters. Each cue is timed by the part of the
Arabic its words link to (AlignedSentence.links), or, without links, by its share of the sentence's
length; the Arabic is partitioned between the cues in order, so a bilingual cue shows the Arabic that
matches it. Then the cues of the whole transcript are fitted together: never overlapping, a gap of a
few frames between them, each shown long enough to read where the time allows. A cue that still breaks
a limit (a 60-word sentence spoken in 3 s) is kept and carries its problems, for the run's summary.

Times are whole milliseconds inside this module, so a gap is exactly its frames.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from pipeline.records import AlignedSentence, AlignedTranscript, Segment


@dataclass(frozen=True)
class SubtitleRules:
    """The limits every subtitle writer keeps; the defaults are the CLI's (broadcast practice)."""

    max_line: int = 42  # characters per line
    max_lines: int = 2  # lines per cue
    max_cps: float = 17.0  # reading speed a cue is given time for, where the time allows
    hard_cps: float = 20.0  # a cue read faster than this is reported
    min_seconds: float = 0.83  # shortest cue
    max_seconds: float = 7.0  # longest cue
    gap_frames: int = 2  # between consecutive cues...
    fps: int = 25  # ...at this frame rate

    @property
    def gap_ms(self) -> int:
        return round(1000 * self.gap_frames / self.fps)

    @property
    def min_ms(self) -> int:
        return round(1000 * self.min_seconds)

    @property
    def max_ms(self) -> int:
        return round(1000 * self.max_seconds)


DEFAULTS = SubtitleRules()


@dataclass(frozen=True)
class Cue:
    """One subtitle cue of a sentence: its lines of English, the Arabic words it stands for (in order;
    every Arabic word of the sentence is in exactly one of its cues) and what limits it breaks."""

    sentence: AlignedSentence
    start: float  # seconds, whole milliseconds
    end: float
    lines: tuple[str, ...]
    ar: str
    problems: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Where a break reads naturally: after these marks (closing quotes and brackets after them included)...
_PUNCTUATION = re.compile(r"[.,;:!?…—–-][\"'»”’)\]]*$")
# ...or before these words, which open a clause.
CLAUSE_WORDS = _words(
    "and but or nor so because which that who whom whose when where while although though if unless "
    "until since as after before whether"
)
# A line or cue never ends on these: an article or preposition belongs with the words after it.
NO_BREAK_AFTER = _words(
    "a an the of to in on at for with from by into onto over under about between through during "
    "without within against among across behind beyond upon near than via per my your his her its our "
    "their this these those"
)
_EDGE = re.compile(r"^\W+|\W+$")
BAD_BREAK = 20.0  # what a break after an article or preposition costs: taken only when nothing else fits


def break_cost(before: str, after: str) -> float:
    """What breaking between two words costs: 0 after punctuation, 1 before a clause word, 3 elsewhere,
    BAD_BREAK after an article or preposition."""
    if _PUNCTUATION.search(before):
        return 0.0
    if _EDGE.sub("", before).lower() in NO_BREAK_AFTER:
        return BAD_BREAK
    if _EDGE.sub("", after).lower() in CLAUSE_WORDS:
        return 1.0
    return 3.0


def _length(words: Sequence[str]) -> int:
    return sum(map(len, words)) + max(0, len(words) - 1)


def layout(words: Sequence[str], rules: SubtitleRules) -> tuple[str, ...]:
    """The cue's lines: as few as hold it, balanced in length, broken where it reads naturally. Words
    that cannot fit (a word longer than a line, more text than the lines hold) are laid out greedily,
    and the cue is reported."""
    if _length(words) <= rules.max_line:
        return (" ".join(words),)
    starts = _starts(words)
    reach = []  # for each word, the end of the longest line that starts there
    for i in range(len(words)):
        j = i
        while j < len(words) and starts[j + 1] - starts[i] - 1 <= rules.max_line:
            j += 1
        reach.append(j)
    for count in range(2, rules.max_lines + 1):
        spans = _split(words, count, reach, rules.max_line)
        if spans is not None:
            return tuple(" ".join(words[i:j]) for i, j in spans)
    lines: list[list[str]] = [[]]
    for word in words:
        if lines[-1] and _length([*lines[-1], word]) > rules.max_line:
            lines.append([])
        lines[-1].append(word)
    return tuple(" ".join(line) for line in lines)


def chunks(words: Sequence[str], minimum: int, rules: SubtitleRules) -> list[tuple[int, int]]:
    """The sentence's words as consecutive cues [i, j): the fewest that fit the lines (at least
    `minimum`, for a sentence too long in time for one cue), broken where it reads naturally, balanced
    in length. A word that fits no cue alone is a cue alone."""
    n = len(words)
    reach: list[int] = []  # for each word, the end of the most words from it that fill the lines greedily
    for i in range(n):
        if i == 1 and reach[0] == n and minimum <= 1:
            return [(0, n)]  # it fits one cue (most sentences): no more to work out
        lines, width, j = 1, -1, i
        while j < n and len(words[j]) <= rules.max_line:
            if width + 1 + len(words[j]) <= rules.max_line:
                width += 1 + len(words[j])
            elif lines < rules.max_lines:
                lines, width = lines + 1, len(words[j])
            else:
                break
            j += 1
        reach.append(max(j, i + 1))
    needed, i = 0, 0
    while i < n:  # the greedy fill needs the fewest cues
        needed, i = needed + 1, reach[i]
    count = min(n, max(needed, minimum))
    if count <= 1:
        return [(0, n)]
    starts = _starts(words)
    cut = _cuts(words)

    def line_break(i: int, j: int) -> float:
        """What the best first line break of a cue of words i..j-1 costs (0: it fits one line)."""
        if starts[j] - starts[i] - 1 <= rules.max_line:
            return 0.0
        rest = (rules.max_lines - 1) * rules.max_line
        costs = [
            cut[b]
            for b in range(i + 1, j)
            if starts[b] - starts[i] - 1 <= rules.max_line and starts[j] - starts[b] - 1 <= rest
        ]
        return min(costs, default=0.0) / 2  # a line break matters less than where the cue ends

    return _split(words, count, reach, rules.max_line * rules.max_lines, line_break) or [(0, n)]


def _starts(words: Sequence[str]) -> list[int]:
    """Where each word starts in the words joined by spaces, and where a word after the last would."""
    starts = [0]
    for word in words:
        starts.append(starts[-1] + len(word) + 1)
    return starts


def _cuts(words: Sequence[str]) -> list[float]:
    """break_cost before each word (0 before the first and after the last)."""
    return [0.0] + [break_cost(words[j - 1], words[j]) for j in range(1, len(words))] + [0.0]


def _split(
    words: Sequence[str],
    count: int,
    reach: Sequence[int],
    width: int,
    inside: Callable[[int, int], float] = lambda i, j: 0.0,
) -> list[tuple[int, int]] | None:
    """The words as `count` consecutive parts [i, j) with j <= reach[i], the best by break costs (those
    between the parts, and what `inside` says a part's own breaks cost) and balance of lengths; None
    if there are none."""
    n = len(words)
    starts = _starts(words)
    target = (starts[n] - 1) / count
    cut = _cuts(words)
    # best[k][j]: the cost of the first j words in k parts, and where part k starts.
    best: list[dict[int, tuple[float, int]]] = [{0: (0.0, 0)}]
    for k in range(1, count + 1):
        row: dict[int, tuple[float, int]] = {}
        for i, (cost, _) in best[k - 1].items():
            for j in range(i + 1, min(reach[i], n - (count - k)) + 1):
                if k == count and j != n:
                    continue
                balance = ((starts[j] - starts[i] - 1 - target) / width) ** 2 * 8
                total = cost + cut[j] + balance + inside(i, j)
                if j not in row or total < row[j][0]:
                    row[j] = (total, i)
        best.append(row)
    if n not in best[count]:
        return None
    spans, j = [], n
    for k in range(count, 0, -1):
        i = best[k][j][1]
        spans.append((i, j))
        j = i
    return list(reversed(spans))


# Timing.


def _interpolated(words: Sequence[str], start: int, end: int) -> list[tuple[int, int]]:
    """Each word's time, by its characters' position in the words joined by spaces over [start, end]."""
    total = max(1, _length(words))
    times, position = [], 0
    for word in words:
        times.append(
            (
                start + (end - start) * position // total,
                start + (end - start) * (position + len(word)) // total,
            )
        )
        position += len(word) + 1
    return times


def arabic_times(
    sentence: AlignedSentence, start: int, end: int, segments: Mapping[str, Segment]
) -> list[tuple[int, int]]:
    """The time of each of the sentence's Arabic words (ar.split()): by character position in the
    sentence, or, where each segment's part of the sentence can be told for sure (it spans several timed
    segments, or lies in one whose words the input timed), by that segment's own word times (YouTube's
    automatic captions) or else by position in its part, within that segment's time."""
    words = sentence.ar.split()
    runs = _segment_runs(sentence, words, start, end, segments)
    if runs is None:
        return _interpolated(words, start, end)
    times: list[tuple[int, int]] = []
    for first, stop, run_start, run_end, segment, at in runs:
        if segment.word_times:
            spans = _word_spans(segment)[at : at + stop - first]
            times.extend(
                (_clock_at(segment, a, start, end), _clock_at(segment, b, start, end)) for a, b in spans
            )
        else:
            times.extend(_interpolated(words[first:stop], run_start, run_end))
    return times


def _word_spans(segment: Segment) -> list[tuple[int, int]]:
    """Where each of the segment's words (text.split()) starts and ends in its text."""
    return [match.span() for match in re.finditer(r"\S+", segment.text)]


def _clock_at(segment: Segment, position: int, start: int, end: int) -> int:
    """The segment's time at a character position (Segment.time_at), in milliseconds within [start, end]."""
    return min(end, max(start, round(segment.time_at(position) * 1000)))


def _segment_runs(
    sentence: AlignedSentence, words: Sequence[str], start: int, end: int, segments: Mapping[str, Segment]
) -> list[tuple[int, int, int, int, Segment, int]] | None:
    """(first word, word after the last, start, end, segment, the segment's word the part starts at) of
    each segment's part of the sentence, or None where that cannot be told for sure (untimed segments,
    times the sentence was moved off by the transcript's odd timing, one segment without word times or
    whose words hold the sentence's at several places its start does not choose between)."""
    found = [segments.get(id) for id in sentence.segments]
    timed: list[tuple[Segment, int, int]] = []
    for segment in found:
        if segment is None or segment.start is None or segment.end is None:
            return None
        timed.append((segment, round(segment.start * 1000), round(segment.end * 1000)))
    if len(timed) == 1 and timed[0][0].word_times:
        segment = timed[0][0]
        own, spans = segment.text.split(), _word_spans(segment)
        places = [p for p in range(len(own) - len(words) + 1) if own[p : p + len(words)] == list(words)]
        if len(places) > 1:
            places = [p for p in places if abs(round(segment.time_at(spans[p][0]) * 1000) - start) <= 1]
        return [(0, len(words), start, end, segment, places[0])] if len(places) == 1 and words else None
    if len(timed) < 2:
        return None
    middle = sum(len(segment.text.split()) for segment, _, _ in timed[1:-1])
    ends = len(words) - middle
    head, tail = timed[0][0].text.split(), timed[-1][0].text.split()
    first = next(
        (f for f in range(1, ends) if words[:f] == head[-f:] and words[f + middle :] == tail[: ends - f]),
        None,
    )
    if first is None:
        return None
    bounds = [(0, first, start, timed[0][2], timed[0][0], len(head) - first)]
    position = first
    for segment, seg_start, seg_end in timed[1:-1]:
        count = len(segment.text.split())
        bounds.append((position, position + count, seg_start, seg_end, segment, 0))
        position += count
    bounds.append((position, len(words), timed[-1][1], end, timed[-1][0], 0))
    clock = [t for _, _, a, b, _, _ in bounds for t in (a, b)]
    if clock != sorted(clock) or clock[0] < start or clock[-1] > end:
        return None
    return bounds


@dataclass(frozen=True)
class _Draft:
    """A cue before the transcript's cues are fitted together: its wished-for time."""

    sentence: AlignedSentence
    start: int
    end: int
    words: tuple[str, ...]
    ar: str


def english_words(en: str) -> list[tuple[int, str]]:
    """(link position, word) for each word of the English: links count `en.split(" ")`, and a piece
    of it holding other whitespace (a reviewer's line break) becomes several words at one position."""
    return [(position, word) for position, token in enumerate(en.split(" ")) for word in token.split()]


def sentence_drafts(
    sentence: AlignedSentence, start: int, end: int, rules: SubtitleRules, segments: Mapping[str, Segment]
) -> list[_Draft]:
    """The sentence's cues with the times its Arabic gives them (see the module's docstring)."""
    words = english_words(sentence.en)
    text = [word for _, word in words]
    ar_words = sentence.ar.split()
    minimum = math.ceil((end - start) / rules.max_ms) if rules.max_ms > 0 else 1
    spans = chunks(text, minimum, rules) if text else [(0, 0)]
    if len(spans) == 1:
        return [_Draft(sentence, start, end, tuple(text), " ".join(ar_words))]
    cue_of = [0] * len(text)
    for number, (i, j) in enumerate(spans):
        cue_of[i:j] = [number] * (j - i)
    cue_of_position = {position: cue_of[k] for k, (position, _) in enumerate(words)}
    links = [
        (cue_of_position[e], a) for e, a in sentence.links if e in cue_of_position and 0 <= a < len(ar_words)
    ]
    shares = [_length(text[i:j]) + 1 for i, j in spans]
    cuts = _arabic_cuts(len(spans), ar_words, links, [share / sum(shares) for share in shares])
    ar_parts = [" ".join(ar_words[a:b]) for a, b in pairwise([0, *cuts, len(ar_words)])]
    by_length, done = [start], 0
    for share in shares:
        done += share
        by_length.append(start + (end - start) * done // sum(shares))
    clock = by_length
    if links:
        times = arabic_times(sentence, start, end, segments)
        by_links = [start] + [times[a][0] if a < len(times) else end for a in cuts] + [end]
        for k in range(1, len(by_links)):
            by_links[k] = min(max(by_links[k], by_links[k - 1]), end)
        # The links' times, unless they leave a cue too little time to read while the length's share
        # would not: then halfway, or the length's share.
        halfway = [(a + b) // 2 for a, b in zip(by_links, by_length, strict=True)]
        candidates = [by_links, halfway, by_length]
        needs = [max(rules.min_ms, 1000 * (_length(text[i:j])) / rules.max_cps) for i, j in spans]
        strain = [
            max(need / max(1, b - a) for need, (a, b) in zip(needs, pairwise(c), strict=True))
            for c in candidates
        ]
        clock = next(
            (c for c, s in zip(candidates, strain, strict=True) if s <= 1),
            candidates[strain.index(min(strain))],
        )
    return [
        _Draft(sentence, clock[k], clock[k + 1], tuple(text[i:j]), ar_parts[k])
        for k, (i, j) in enumerate(spans)
    ]


def _arabic_cuts(
    count: int, ar_words: Sequence[str], links: Sequence[tuple[int, int]], shares: Sequence[float]
) -> list[int]:
    """Where the sentence's Arabic words are cut between `count` cues, in order: the cuts that leave
    fewest links outside their cue's Arabic, lengths close to the English's shares breaking ties (and
    deciding alone without links)."""
    n = len(ar_words)
    lengths = [0]
    for word in ar_words:
        lengths.append(lengths[-1] + len(word) + 1)
    total = max(1, lengths[-1])
    # inside[k][p]: the links of cue k to the Arabic words before p.
    inside = [[0] * (n + 1) for _ in range(count)]
    for cue, a in links:
        inside[cue][a + 1] += 1
    for row_of_cue in inside:
        for p in range(1, n + 1):
            row_of_cue[p] += row_of_cue[p - 1]
    linked = [row[n] for row in inside]
    best: list[dict[int, tuple[float, int]]] = [{0: (0.0, 0)}]
    for k in range(count):
        row: dict[int, tuple[float, int]] = {}
        for p, (cost, _) in best[k].items():
            for q in range(p, n + 1):
                if k == count - 1 and q != n:
                    continue
                missed = linked[k] - (inside[k][q] - inside[k][p])
                fit = ((lengths[q] - lengths[p]) / total - shares[k]) ** 2
                empty = 1.0 if q == p and n >= count else 0.0
                value = cost + missed + fit + empty
                if q not in row or value < row[q][0]:
                    row[q] = (value, p)
        best.append(row)
    cuts, q = [], n
    for k in range(count, 0, -1):
        p = best[k][q][1]
        cuts.append(p)
        q = p
    return list(reversed(cuts))[1:]


def fit_times(drafts: Sequence[_Draft], rules: SubtitleRules) -> list[tuple[int, int]]:
    """The drafts' times made a subtitle track: never backwards or overlapping, `gap_ms` between cues
    (taken from the end of the earlier one), each cue given the time to read it at max_cps (at least
    min_seconds, at most max_seconds) as far as the next cue's wished-for start allows. A cue that is
    still too short stays so (it is reported) rather than push the cues after it off their speech;
    only a cue with no time left at all gets a frame, and pushes the next."""
    frame = round(1000 / rules.fps)
    placed: list[tuple[int, int]] = []
    for number, draft in enumerate(drafts):
        start = draft.start if not placed else max(draft.start, placed[-1][1] + rules.gap_ms)
        characters = _length(draft.words)
        wanted = max(rules.min_ms, math.ceil(1000 * characters / rules.max_cps), draft.end - start)
        end = start + min(wanted, rules.max_ms)
        if number + 1 < len(drafts):
            end = min(end, drafts[number + 1].start - rules.gap_ms)
        placed.append((start, max(end, start + frame)))
    return placed


def problems(cue: Cue, rules: SubtitleRules) -> tuple[str, ...]:
    """The limits the cue breaks, in words."""
    found = []
    if len(cue.lines) > rules.max_lines:
        found.append(f"{len(cue.lines)} lines")
    longest = max(map(len, cue.lines))
    if longest > rules.max_line:
        found.append(f"a line of {longest} characters")
    seconds = cue.end - cue.start
    characters = _length(cue.text.split())
    if seconds < rules.min_seconds - 5e-4:
        found.append(f"{seconds:.2f} s on screen")
    if seconds > rules.max_seconds + 5e-4:
        found.append(f"{seconds:.2f} s on screen")
    if characters > rules.hard_cps * seconds + 5e-4:
        found.append(f"{characters / seconds:.1f} characters per second")
    return tuple(found)


def subtitle_cues(aligned: AlignedTranscript, rules: SubtitleRules) -> list[Cue]:
    """The transcript's subtitle cues, in order: those of its sentences that have times."""
    segments = {segment.id: segment for segment in aligned.transcript.segments}
    drafts: list[_Draft] = []
    for sentence in aligned.sentences:
        if sentence.start is None or sentence.end is None:
            continue
        start, end = round(sentence.start * 1000), round(sentence.end * 1000)
        drafts.extend(sentence_drafts(sentence, start, max(start, end), rules, segments))
    cues = []
    for draft, (start, end) in zip(drafts, fit_times(drafts, rules), strict=True):
        lines = layout(draft.words, rules) if draft.words else ("",)
        cue = Cue(draft.sentence, start / 1000, end / 1000, lines, draft.ar)
        cues.append(Cue(cue.sentence, cue.start, cue.end, cue.lines, cue.ar, problems(cue, rules)))
    return cues


def unmet(cues: Sequence[Cue]) -> list[Cue]:
    """The cues that break a limit."""
    return [cue for cue in cues if cue.problems]


def unmet_note(name: str, cues: Sequence[Cue]) -> str | None:
    """The summary's line on a transcript's cues that break a limit (None: every cue keeps them)."""
    broken = unmet(cues)
    if not broken:
        return None
    first = broken[0]
    return (
        f"{name}: {len(broken)} of {len(cues)} subtitle cue(s) cannot meet the subtitle limits "
        f"(the first at {_clock(first.start)}: {', '.join(first.problems)})"
    )


def _clock(seconds: float) -> str:
    minutes, rest = divmod(round(seconds * 1000), 60_000)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{rest / 1000:06.3f}"


# The command line's options, for every command that writes subtitles (translate, align, export).


def add_options(parser: argparse.ArgumentParser) -> None:
    """--max-line, --max-lines and --max-cps, with SubtitleRules' defaults."""
    group = parser.add_argument_group("subtitles")
    group.add_argument(
        "--max-line",
        type=int,
        default=SubtitleRules.max_line,
        help=f"characters per subtitle line (default: {SubtitleRules.max_line})",
    )
    group.add_argument(
        "--max-lines",
        type=int,
        default=SubtitleRules.max_lines,
        help=f"lines per subtitle cue (default: {SubtitleRules.max_lines})",
    )
    group.add_argument(
        "--max-cps",
        type=float,
        default=SubtitleRules.max_cps,
        help="reading speed in characters per second that each cue is given time for, where the "
        f"speech leaves the time (default: {SubtitleRules.max_cps:g}; over {SubtitleRules.hard_cps:g}, "
        "or the --max-cps given if higher, a cue is reported)",
    )


def rules_from(args: argparse.Namespace, parser: argparse.ArgumentParser) -> SubtitleRules:
    if args.max_line < 1 or args.max_lines < 1 or not args.max_cps > 0:
        parser.error("--max-line and --max-lines must be at least 1, --max-cps more than 0")
    return SubtitleRules(
        max_line=args.max_line,
        max_lines=args.max_lines,
        max_cps=args.max_cps,
        hard_cps=max(SubtitleRules.hard_cps, args.max_cps),
    )
