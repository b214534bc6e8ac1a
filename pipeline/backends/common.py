"""What every backend shares: decoding options, per-word source encoding, length caps, batching in
length order, and source-token attention summed into source-word attention."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.families import language_tokens
from pipeline.records import Translation


@dataclass(frozen=True)
class DecodingOptions:
    beam: int | None = None  # None: the model's generation config (4 for opus-mt)
    batch_size: int | None = None  # None: about 128 hypotheses per batch, i.e. 128 // beam sentences
    device: str = "auto"  # auto | cpu | cuda
    # New tokens as transformers counts them, the end token included (Marian's config forces it last).
    max_new_tokens: int | None = None  # None: about twice the source length plus 16 (see length_cap)
    min_new_tokens: int | None = None  # benchmarks force equal output lengths with this
    # The decoder layer whose cross-attention says where each output token came from, averaged over
    # its first `alignment_heads` heads (how CTranslate2 keeps it). Marian trains head 0 of the last
    # layer with guided alignment.
    alignment_layer: int = -1
    alignment_heads: int = 1
    workers: int | None = None  # CTranslate2 batches run at once; None: one per CPU core, 1 on CUDA
    score_batch_size: int = 4  # the HF scoring pass holds batch x length x vocabulary logits
    compute_type: str | None = None  # CTranslate2: None = int8 on CPU, float16 on CUDA
    max_positions: int | None = None  # source tokens the model takes; None: its configuration's
    family: str | None = None  # marian | nllb | m2m100; None: recognised from the tokenizer
    source_lang: str | None = None  # language codes of multilingual families; None: the family's
    target_lang: str | None = None


@dataclass(frozen=True)
class Encoded:
    """A unit's source pieces and ids (language token, words' pieces, EOS); for each word piece, from
    `word_start` on, its word."""

    pieces: list[str]
    ids: list[int]
    word_of: list[int]
    word_start: int  # pieces before the first word piece (a source-language token)
    n_words: int  # words with no tokens (empty model input) still get an attention column


class WordEncoder:
    """Tokenises each word on its own (SentencePiece splits on spaces, so this equals tokenising the
    joined text) and remembers which word every source token came from."""

    def __init__(self, tokenizer, max_positions: int, prefix: tuple[str, ...] = ()):
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
        return Encoded(pieces, ids, word_of[:budget], len(self.prefix), len(words))

    def length_cap(self, source_length: int, options: DecodingOptions) -> int:
        """New tokens allowed (the end token included) for a source of this many tokens: a function of
        the unit alone, rounded up to a multiple of 8 so batches can share it, never of its batch-mates."""
        if options.max_new_tokens is not None:
            return options.max_new_tokens
        return min(self.max_positions - 1, 2 * (-(-source_length // 8) * 8) + 16)


def source_and_target_tokens(
    tokenizer, config_positions: int, options: DecodingOptions
) -> tuple[WordEncoder, tuple[str, ...]]:
    """The encoder (with the family's source-language token) and the tokens forced first in the output."""
    languages = language_tokens(tokenizer, options.family, options.source_lang, options.target_lang)
    positions = min(config_positions, options.max_positions or config_positions)
    return WordEncoder(tokenizer, positions, languages.source_prefix), languages.target_prefix


# Measured on 2 cores (CTranslate2 int8, two workers, the 1,000-segment benchmark interview): greedy
# 5.4 s at 128 or 64 hypotheses per batch and 6.2 s at 32; beam 4 14.9 s at 32 sentences, 16.5 s at 16.
HYPOTHESES_PER_BATCH = 128


def batch_size(options: DecodingOptions, beam: int) -> int:
    return options.batch_size or max(1, HYPOTHESES_PER_BATCH // beam)


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


def word_attention(token_attention: np.ndarray, unit: Encoded) -> tuple[tuple[float, ...], ...] | None:
    """[target, source token] -> [target, source word], each row renormalised without the language
    token, EOS and padding."""
    word_of, n_words = unit.word_of, unit.n_words
    if not word_of:
        return None
    token_attention = np.asarray(token_attention, dtype=float)[
        :, unit.word_start : unit.word_start + len(word_of)
    ]
    by_word = np.zeros((len(word_of), n_words))
    by_word[np.arange(len(word_of)), word_of] = 1.0
    mass = token_attention @ by_word
    totals = mass.sum(axis=1, keepdims=True)
    mass = np.where(totals > 0, mass / np.where(totals > 0, totals, 1), 1.0 / n_words)
    return tuple(tuple(row) for row in mass.tolist())


def cpu_cores() -> int:
    """Cores this process should use: OMP_NUM_THREADS when it is set (as torch reads it; Ray sets it to
    the CPUs an actor holds), else every core the process may run on."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return int(threads) if threads.isdigit() and int(threads) > 0 else len(os.sched_getaffinity(0))


def resolve_device(device: str, cuda_available: bool) -> str:
    if device == "auto":
        return "cuda" if cuda_available else "cpu"
    if device == "cuda" and not cuda_available:
        raise ValueError("--device cuda was asked for, but no CUDA device is visible")
    return device


@dataclass(frozen=True)
class Batch:
    """Units translated together: their positions in the input, their encodings, their shared cap."""

    indices: tuple[int, ...]
    units: tuple[Encoded, ...]
    cap: int


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


# Options that change what a backend outputs; batch size, workers and device only change how fast.
OUTPUT_OPTIONS = (
    "max_new_tokens",
    "min_new_tokens",
    "alignment_layer",
    "alignment_heads",
    "compute_type",
    "max_positions",
    "family",
    "source_lang",
    "target_lang",
)


def output_signature(backend: str, model_fingerprint: str, options: DecodingOptions, beam: int) -> str:
    """Everything that decides a unit's translation, as one string (the translation cache's key)."""
    chosen = {name: getattr(options, name) for name in OUTPUT_OPTIONS}
    return json.dumps(
        {"backend": backend, "model": model_fingerprint, "beam": beam, **chosen}, sort_keys=True
    )


class BatchedTranslator:
    """What both backends do around their own batch step: encode words, cap lengths, batch in length
    order. A subclass sets `name`, `signature` (see output_signature), `options`, `beam`, `encoder`
    and `target_prefix` (tokens forced first in the output and removed from it), and implements
    `_translate_batch` (or `run`)."""

    name: str
    signature: str
    options: DecodingOptions
    beam: int
    encoder: WordEncoder
    target_prefix: tuple[str, ...]

    def count_tokens(self, text: str) -> int:
        return len(self.encoder.pieces(text))

    def plan(self, units: Sequence[Sequence[str]]) -> list[Batch]:
        """The batches these units are translated in: a function of all the units, so a resumed run
        that plans the same units gets the same batches, and the same numbers, as an uninterrupted one."""
        encoded = [self.encoder.encode(words) for words in units]
        caps = [self.encoder.length_cap(len(unit.pieces), self.options) for unit in encoded]
        return [
            Batch(tuple(indices), tuple(encoded[i] for i in indices), caps[indices[0]])
            for indices in length_ordered_batches(encoded, caps, batch_size(self.options, self.beam))
        ]

    def translate(
        self, units: Sequence[Sequence[str]], progress: Callable[[int], None] | None = None
    ) -> list[Translation]:
        batches = self.plan(units)
        return gather(len(units), zip(batches, self.run(batches), strict=True), progress)

    def run(self, batches: Sequence[Batch]) -> Iterator[list[Translation]]:
        """Each batch's translations, in order; a backend that runs batches in parallel overrides this."""
        for batch in batches:
            yield self._translate_batch(list(batch.units), batch.cap)

    def _translate_batch(self, batch: list[Encoded], cap: int) -> list[Translation]:
        raise NotImplementedError
