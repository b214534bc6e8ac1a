"""Translation and alignment as two roles.

Only a model trained with guided alignment (OPUS-MT's transformer-align models: opus-mt-ar-en) has a
head whose cross-attention is an alignment; transformer-big (opus-mt-tc-big-ar-en), NLLB and M2M100
have none. So the translator's English is teacher-forced through an aligner model (one forward pass,
no search), and the aligner's alignment head gives the attention that sentence spans and word links
come from. The English keeps the translator's tokens' log-probabilities (its confidence) and its
truncation; only the tokens (the aligner's pieces of the same words) and the attention change.

With the translator itself as aligner, its own tokens are forced and the attention is the one its
generation produced (tested to 1e-4), so `self` needs no second pass at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pipeline.backends import Translator, load_backend
from pipeline.backends.planning import Batch, Encoded, Planner
from pipeline.models import ResolvedModel
from pipeline.records import Translation
from pipeline.settings import DecodingOptions, Placement

WORD_START = "▁"


@runtime_checkable
class Forcing(Protocol):
    """A backend that can teacher-force given English through its model."""

    signature: str
    planner: Planner
    tokenizer: Any

    def force(
        self, units: Sequence[Encoded], targets: Sequence[Sequence[str]]
    ) -> list[np.ndarray | None]: ...


def load_translator(
    backend: str,
    model: ResolvedModel,
    decoding: DecodingOptions,
    placement: Placement,
    aligner: ResolvedModel | str = "self",
) -> Translator:
    """The backend that translates, with its English aligned as `aligner` says (see
    models.resolve_aligner): by its own attention ("self"), by none ("none"), or by another model
    loaded on the same backend."""
    translator = load_backend(backend, model, decoding, placement)
    if aligner == "self":
        return translator
    if aligner == "none":
        return Unaligned(translator)
    assert isinstance(aligner, ResolvedModel)
    forcing = load_backend(backend, aligner, DecodingOptions(beam=1), placement)
    assert isinstance(forcing, Forcing), f"the {backend} backend cannot force English through a model"
    return AlignedTranslator(translator, forcing, same_vocabulary=aligner.fingerprint == model.fingerprint)


class AlignedTranslator:
    """A translator whose English is aligned by another model's attention."""

    def __init__(self, translator: Translator, aligner: Forcing, same_vocabulary: bool):
        self.translator = translator
        self.aligner = aligner
        self.same_vocabulary = same_vocabulary
        self._pieces: dict[str, list[str]] = {}
        self.name = translator.name
        self.planner = translator.planner
        self.signature = json.dumps(
            {"translator": json.loads(translator.signature), "aligner": json.loads(aligner.signature)}
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self.translator, name)  # e.g. the CTranslate2 workers, for the Ray engine

    def run(self, batches: Sequence[Batch]) -> Iterator[list[Translation]]:
        for batch, translations in zip(batches, self.translator.run(batches), strict=True):
            yield self.align(batch.units, translations)

    def align(self, units: Sequence[Encoded], translations: Sequence[Translation]) -> list[Translation]:
        """Each translation's English forced through the aligner, one batch per call. English longer than
        the aligner's positions (only degenerate output gets there) keeps no attention: its spans come
        from lengths and it has no word links."""
        targets = [self.aligner_tokens(translation.tokens) for translation in translations]
        encoded = [self.aligner.planner.encoder.encode(unit.words) for unit in units]
        fits = [len(target) <= self.room for target in targets]
        forced = self.aligner.force(encoded, [t if ok else [] for t, ok in zip(targets, fits, strict=True)])
        attention = [rows if ok else None for rows, ok in zip(forced, fits, strict=True)]
        return [
            Translation(
                tokens=tuple(target),
                logprobs=translation.logprobs
                if tuple(target) == translation.tokens
                else spread_logprobs(translation.tokens, translation.logprobs, target),
                attention=rows,
                truncated=translation.truncated,
            )
            for translation, target, rows in zip(translations, targets, attention, strict=True)
        ]

    def aligner_tokens(self, tokens: Sequence[str]) -> list[str]:
        """The same English words in the aligner's target pieces (the translator's own pieces when they
        share the vocabulary). Each word is cut on its own, so the words, and the English the reviewer
        sees, stay exactly the translator's; a word the aligner's pieces cannot spell back is one piece."""
        if self.same_vocabulary:
            return list(tokens)
        words = [(word, _text(word)) for word in _words(tokens)]
        pieces = [piece for word, text in words for piece in (self._word_pieces(text) if text else word)]
        if len(pieces) > self.room:  # each word whole rather than more pieces than the model has room for
            return [piece for word, text in words for piece in ([WORD_START + text] if text else word)]
        return pieces

    @property
    def room(self) -> int:
        """English pieces the aligner takes: its positions less the decoder's start and forced tokens."""
        planner = self.aligner.planner
        return planner.encoder.max_positions - 1 - len(planner.target_prefix)

    def _word_pieces(self, text: str) -> list[str]:
        known = self._pieces.get(text)
        if known is None:
            ids = self.aligner.tokenizer(text_target=text, add_special_tokens=False)["input_ids"]
            known = [str(piece) for piece in self.aligner.tokenizer.convert_ids_to_tokens(ids)]
            spelled = "".join(known).removeprefix(WORD_START)
            if not known or spelled != text or any(p.startswith(WORD_START) for p in known[1:]):
                known = [WORD_START + text]
            elif not known[0].startswith(WORD_START):
                known = [WORD_START, *known]
            self._pieces[text] = known
        return known


class Unaligned:
    """A translator whose attention is dropped (--aligner none): sentence spans by length, no links."""

    def __init__(self, translator: Translator):
        self.translator = translator
        self.name = translator.name
        self.planner = translator.planner
        self.signature = json.dumps({"translator": json.loads(translator.signature), "aligner": "none"})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.translator, name)

    def run(self, batches: Sequence[Batch]) -> Iterator[list[Translation]]:
        for translations in self.translator.run(batches):
            yield [Translation(t.tokens, t.logprobs, None, t.truncated) for t in translations]


def spread_logprobs(
    tokens: Sequence[str], logprobs: Sequence[float], target: Sequence[str]
) -> tuple[float, ...]:
    """The translator's log-probabilities carried over to the aligner's pieces of the same words: each
    piece gets its word's mean (or, where the words do not match up, the sentence's mean)."""
    source_words = _word_of(tokens)
    target_words = _word_of(target)
    if not target:
        return ()
    count = max(source_words, default=-1) + 1
    if count != max(target_words, default=-1) + 1:
        mean = float(np.mean(logprobs)) if logprobs else 0.0
        return (mean,) * len(target)
    sums = np.zeros(count)
    pieces = np.zeros(count)
    np.add.at(sums, source_words, logprobs)
    np.add.at(pieces, source_words, 1)
    means = sums / np.maximum(pieces, 1)
    return tuple(float(means[word]) for word in target_words)


def _words(tokens: Sequence[str]) -> list[list[str]]:
    """Pieces grouped into words: a piece starting with '▁' starts a word (as align.english_words)."""
    words: list[list[str]] = []
    for piece in tokens:
        if piece.startswith(WORD_START) or not words:
            words.append([piece])
        else:
            words[-1].append(piece)
    return words


def _text(word: Sequence[str]) -> str:
    """A word's text, as align.english_words joins its pieces."""
    return word[0].removeprefix(WORD_START) + "".join(word[1:])


def _word_of(tokens: Sequence[str]) -> list[int]:
    """Each piece's word number."""
    return [number for number, word in enumerate(_words(tokens)) for _ in word]
