"""The records that flow between stages. Every stage takes and returns these; nothing else is shared."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    """One cue, utterance or line of the input, with its text as written (markup removed)."""

    id: str
    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None
    line: int = 0  # where the segment starts in its file, for error messages
    # (character offset in `text`, seconds) where each word starts, when the input timed its words
    # (YouTube's automatic captions); ascending. Empty: times inside the segment are interpolated.
    word_times: tuple[tuple[int, float], ...] = ()

    def time_at(self, position: int) -> float:
        """Time at a character position: between the word times around it where the input timed its
        words, else shared by length over the segment."""
        assert self.start is not None and self.end is not None
        if not self.word_times:
            return self.start + (self.end - self.start) * position / max(1, len(self.text))
        knots = [(0, self.start), *self.word_times, (len(self.text), self.end)]
        for (left, left_time), (right, right_time) in itertools.pairwise(knots):
            if left <= position <= right:
                share = (position - left) / (right - left) if right > left else 0.0
                return left_time + (right_time - left_time) * share
        return self.end


@dataclass(frozen=True)
class Transcript:
    name: str  # the file stem; outputs go to <out>/<name>/
    source: str  # the path it was read from
    segments: tuple[Segment, ...]
    warnings: tuple[str, ...] = ()  # what was odd but readable, e.g. cues out of time order


@dataclass(frozen=True)
class ArabicWord:
    """A whitespace-delimited piece of one segment's original text, and its normalised model input.

    `start`/`end` index the segment's original text, so the reviewer always sees what was written;
    `token` counts the segment's whitespace-separated words (over-long words are cut into several
    ArabicWords that share one token). `norm` may be empty (a lone tatweel, a control character).
    """

    segment: int  # index into Transcript.segments
    start: int
    end: int
    token: int
    norm: str


@dataclass(frozen=True)
class Unit:
    """What the model translates in one go: whole sentences where possible, never over the token budget."""

    index: int
    words: tuple[ArabicWord, ...]

    @property
    def model_words(self) -> tuple[str, ...]:
        return tuple(word.norm for word in self.words)

    @property
    def text(self) -> str:
        return " ".join(word.norm for word in self.words if word.norm)


@dataclass(frozen=True, eq=False)
class Translation:
    """A backend's answer for one unit.

    `attention[t, j]` is the alignment head's attention from target token t to source word j, a
    float64 array (None when the backend has none); `logprobs[t]` is the log-probability of target
    token t (a backend that only knows the sequence's mean log-probability, such as ct2, gives that
    mean for every token).
    `tokens` are SentencePiece pieces; a piece starting with '▁' begins a new English word.
    """

    tokens: tuple[str, ...]
    logprobs: tuple[float, ...]
    attention: np.ndarray | None
    truncated: bool


@dataclass(frozen=True)
class AlignedSentence:
    index: int
    en: str
    ar: str
    segments: tuple[str, ...]
    start: float | None
    end: float | None
    speaker: str | None
    confidence: float
    flags: tuple[str, ...]
    links: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class AlignedTranscript:
    transcript: Transcript
    sentences: tuple[AlignedSentence, ...]
    model: str


@dataclass(frozen=True)
class ReviewedSentence:
    """An aligned sentence as the review database holds it: `sentence.en` is the current English (the
    reviewer's where they edited it), `machine` the model's. `id` stays the same across re-runs for
    the same Arabic span; `revision` counts saved changes, so a stale write is caught, not lost."""

    id: str
    sentence: AlignedSentence
    machine: str
    status: str  # untouched | edited | approved | needs-work
    comment: str
    revision: int
    previous: str | None  # the reviewed English of Arabic that has since changed (source-changed)
    expected: tuple[str, ...]  # glossary renderings the English lacks
    updated: str | None  # when a reviewer last changed it (UTC, ISO 8601)
    # A reviewer's English is aligned again for its own text: `sentence` carries its word links and the
    # flags of its English, `sentence.confidence` stays the translator's confidence in the machine's.
    machine_flags: tuple[str, ...] = ()  # what the checks said of the machine's English
    edit_confidence: float | None = None  # the aligner's confidence in the reviewer's English
    realign_note: str | None = None  # why the reviewer's English has no word links (None: it has them)
