"""Flags that tell a reviewer where to look first: one small check per flag, in a registry."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.arabic import has_arabic


@dataclass(frozen=True)
class Evidence:
    en: str
    ar: str  # normalised Arabic of the sentence's span
    logprobs: tuple[float, ...]
    truncated: bool  # the unit hit the length cap and this sentence is where it stopped


@dataclass(frozen=True)
class Thresholds:
    low_confidence: float = 0.35  # exp(mean token log-probability)
    min_length_ratio: float = 0.4  # English characters per Arabic character
    max_length_ratio: float = 3.0
    min_chars_for_ratio: int = 12  # shorter spans have too noisy a ratio to judge
    repeats: int = 3  # the same n-gram this many times in a row is a loop


def confidence(logprobs: tuple[float, ...]) -> float:
    return math.exp(sum(logprobs) / len(logprobs)) if logprobs else 0.0


def _repetition(evidence: Evidence, limits: Thresholds) -> bool:
    words = evidence.en.lower().split()
    for n in range(1, 5):
        for first in range(len(words) - n * limits.repeats + 1):
            gram = words[first : first + n]
            if all(words[first + k * n : first + (k + 1) * n] == gram for k in range(1, limits.repeats)):
                return True
    return False


def _length_ratio(evidence: Evidence, limits: Thresholds) -> bool:
    ar_chars = len(evidence.ar.replace(" ", ""))
    if ar_chars < limits.min_chars_for_ratio or not evidence.en:
        return False
    ratio = len(evidence.en.replace(" ", "")) / ar_chars
    return not limits.min_length_ratio <= ratio <= limits.max_length_ratio


FLAG_CHECKS: dict[str, Callable[[Evidence, Thresholds], bool]] = {
    "empty": lambda evidence, _: not evidence.en.strip(),
    "repetition": _repetition,
    "length-ratio": _length_ratio,
    "untranslated": lambda evidence, _: has_arabic(evidence.en),
    # Letters but no Arabic (English or French in the transcript): passed through, not translated.
    "not-arabic": lambda evidence, _: any(c.isalpha() for c in evidence.ar) and not has_arabic(evidence.ar),
    "truncated": lambda evidence, _: evidence.truncated,
    "low-confidence": lambda evidence, limits: confidence(evidence.logprobs) < limits.low_confidence,
}


# The review store's flag for a glossary term whose rendering the English lacks (judged on every read).
GLOSSARY = "glossary"
# Which flags judge the English. A reviewer's English gets these computed again for its own text (the
# machine's stay beside it); the rest judge the Arabic alone and hold for any English.
ARABIC_FLAGS = frozenset({"not-arabic"})
ENGLISH_FLAGS = frozenset(FLAG_CHECKS) - ARABIC_FLAGS | {GLOSSARY}
# Flags that need the model's log-probabilities of the English: without a model to score it, not judged.
SCORED_FLAGS = frozenset({"low-confidence"})


def flags_for(evidence: Evidence, limits: Thresholds = Thresholds()) -> tuple[str, ...]:
    return tuple(name for name, check in FLAG_CHECKS.items() if check(evidence, limits))
