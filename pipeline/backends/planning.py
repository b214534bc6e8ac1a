"""What every backend does before its own batch step, in a picklable `Planner`: encode each unit's
words (with the family's language token), cap its output length, and batch units in length order.

The planner is a function of the model's tokenizer and the run's settings alone, so the Ray driver
plans exactly as an actor's backend would, and a resumed run gets the same batches as an
uninterrupted one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.families import language_tokens
from pipeline.models import ResolvedModel
from pipeline.records import Translation
from pipeline.settings import DecodingOptions, Placement

# Measured on 2 cores (CTranslate2 int8, two workers, the 1,000-segment benchmark interview): greedy
# 5.4 s at 128 or 64 hypotheses per batch and 6.2 s at 32; beam 4 14.9 s at 32 sentences, 16.5 s at 16.
HYPOTHESES_PER_BATCH = 128


@dataclass(frozen=True)
class Encoded:
    """A unit's source pieces and ids (language token, words' pieces, EOS); for each word piece, from
    `word_start` on, its word."""

    pieces: list[str]
    ids: list[int]
    word_of: list[int]
    word_start: int  # pieces before the first word piece (a source-language token)
    n_words: int  # words with no tokens (empty model input) still get an attention column
    words: tuple[str, ...]  # the unit's words, for an aligner that encodes them with its own tokenizer


@dataclass(frozen=True, eq=False)
class Forced:
    """Given English teacher-forced through a model: its alignment attention over the unit's words
    (None where nothing was forced) and, when asked for, each token's log-probability."""

    attention: np.ndarray | None
    logprobs: tuple[float, ...]


class WordEncoder:
    """Tokenises each word on its own (SentencePiece splits on spaces, so this equals tokenising the
    joined text) and remembers which word every source token came from."""

    def __init__(self, tokenizer: Any, max_positions: int, prefix: tuple[str, ...] = ()):
        self.tokenizer = tokenizer
        self.max_positions = max_positions
        self.prefix = list(prefix)
        self._pieces: dict[str, list[str]] = {}

    def pieces(self, word: str) -> list[str]:
        known = self._pieces.get(word)
        if known is None:
            known = self.tokenizer.tokenize(word) if word else []
            self._pieces[word] = known
        return known

    def encode(self, words: Sequence[str]) -> Encoded:
        pieces: list[str] = []
        word_of: list[int] = []
        for index, word in enumerate(words):
            word_pieces = self.pieces(word)
            pieces.extend(word_pieces)
            word_of.extend([index] * len(word_pieces))
        budget = self.max_positions - len(self.prefix) - 1
        pieces = [*self.prefix, *pieces[:budget], self.tokenizer.eos_token]
        ids = self.tokenizer.convert_tokens_to_ids(pieces)
        return Encoded(pieces, ids, word_of[:budget], len(self.prefix), len(words), tuple(words))


@dataclass(frozen=True)
class Batch:
    """Units translated together: their positions in the input, their encodings, their shared cap."""

    indices: tuple[int, ...]
    units: tuple[Encoded, ...]
    cap: int


@dataclass(frozen=True)
class Planner:
    """Units -> batches, as every backend and engine plans them. `target_prefix` holds the tokens
    forced first in the output and removed from it (a multilingual model's target language)."""

    encoder: WordEncoder
    target_prefix: tuple[str, ...]
    decoding: DecodingOptions
    batch_size: int

    def count_tokens(self, text: str) -> int:
        """Source tokens the model sees for `text` (one word), without special tokens."""
        return len(self.encoder.pieces(text))

    def length_cap(self, source_length: int) -> int:
        """New tokens allowed (the end token included) for a source of this many tokens: a function of
        the unit alone, rounded up to a multiple of 8 so batches can share it, never of its batch-mates."""
        if self.decoding.max_new_tokens is not None:
            return self.decoding.max_new_tokens
        return min(self.encoder.max_positions - 1, 2 * (-(-source_length // 8) * 8) + 16)

    def plan(self, units: Sequence[Sequence[str]]) -> list[Batch]:
        """The batches these units are translated in: a function of all the units, so a resumed run
        that plans the same units gets the same batches, and the same numbers, as an uninterrupted one."""
        encoded = [self.encoder.encode(words) for words in units]
        caps = [self.length_cap(len(unit.pieces)) for unit in encoded]
        return [
            Batch(tuple(indices), tuple(encoded[i] for i in indices), caps[indices[0]])
            for indices in length_ordered_batches(encoded, caps, self.batch_size)
        ]


def make_planner(
    model: ResolvedModel, tokenizer: Any, decoding: DecodingOptions, placement: Placement
) -> Planner:
    """The planner for this model's tokenizer: its family's language tokens around every unit."""
    languages = language_tokens(tokenizer, model.family, model.source_lang, model.target_lang)
    return Planner(
        WordEncoder(tokenizer, model.max_positions, languages.source_prefix),
        languages.target_prefix,
        decoding,
        placement.batch_size or max(1, HYPOTHESES_PER_BATCH // decoding.beam),
    )


def length_ordered_batches(
    encoded: Sequence[Encoded], caps: Sequence[int], batch_size: int
) -> list[list[int]]:
    """Unit indices, longest first, in batches of at most `batch_size` that share one length cap."""
    longest_first = sorted(range(len(encoded)), key=lambda i: -len(encoded[i].pieces))
    batches: list[list[int]] = []
    for index in longest_first:
        if batches and len(batches[-1]) < batch_size and caps[batches[-1][0]] == caps[index]:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def gather(
    count: int,
    finished: Iterable[tuple[Batch, list[Translation]]],
    progress: Callable[[int], None] | None = None,
) -> list[Translation]:
    """Batch results back into input order; `progress` hears how many units each batch held."""
    results: dict[int, Translation] = {}
    for batch, translations in finished:
        results.update(zip(batch.indices, translations, strict=True))
        if progress is not None:
            progress(len(batch.indices))
    return [results[i] for i in range(count)]
