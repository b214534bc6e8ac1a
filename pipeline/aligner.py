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
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

import numpy as np

from pipeline.align import align_sentence
from pipeline.arabic import segment_words
from pipeline.backends import Translator, load_backend
from pipeline.backends.planning import Batch, Encoded, Forced, Planner
from pipeline.models import ResolvedModel
from pipeline.quality import SCORED_FLAGS
from pipeline.records import AlignedSentence, Segment, Translation, Unit
from pipeline.settings import DecodingOptions, Placement
from pipeline.units import UnitOptions

WORD_START = "▁"


@runtime_checkable
class Forcing(Protocol):
    """A backend that can teacher-force given English through its model."""

    signature: str
    planner: Planner
    tokenizer: Any

    def force(
        self, units: Sequence[Encoded], targets: Sequence[Sequence[str]], scores: bool = False
    ) -> list[Forced]: ...


def load_aligner(backend: str, model: ResolvedModel, placement: Placement = Placement()) -> EnglishAligner:
    """`model` loaded on `backend` to force English through it."""
    forcing = load_backend(backend, model, DecodingOptions(beam=1), placement)
    assert isinstance(forcing, Forcing), f"the {backend} backend cannot force English through a model"
    return EnglishAligner(forcing, model)


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
    return AlignedTranslator(translator, load_aligner(backend, aligner, placement), model)


class EnglishAligner:
    """An aligner model, loaded to force English through it: the translator's English (AlignedTranslator)
    or English from anywhere else (`align`, a reviewer's edit). The English is cut into the aligner's
    pieces word by word, so its words come back exactly as given."""

    def __init__(self, forcing: Forcing, model: ResolvedModel):
        self.forcing = forcing
        self.model = model
        self.signature = forcing.signature
        self._pieces: dict[str, list[str]] = {}

    def force(
        self, units: Sequence[Sequence[str]], targets: Sequence[Sequence[str]], scores: bool = False
    ) -> list[Forced]:
        """Each unit's words with its target pieces forced through the aligner. English longer than
        the aligner's positions (only degenerate output gets there) gets no attention (its spans come
        from lengths, it has no word links) and no log-probabilities."""
        encoded = [self.forcing.planner.encoder.encode(words) for words in units]
        fits = [len(target) <= self.room for target in targets]
        forced = self.forcing.force(
            encoded, [t if ok else [] for t, ok in zip(targets, fits, strict=True)], scores
        )
        return [result if ok else Forced(None, ()) for result, ok in zip(forced, fits, strict=True)]

    def translations(self, units: Sequence[Sequence[str]], english: Sequence[str]) -> list[Translation]:
        """Given English as the Translations of the units (Arabic words): the aligner's pieces of its
        words, the aligner's log-probability of each piece (so confidence says how well the English
        follows from the Arabic) and its attention."""
        targets = [self.pieces(text.split()) for text in english]
        forced = self.force(units, targets, scores=True)
        # English the aligner could not take (longer than its positions) has no probability: confidence 0.
        return [
            Translation(
                tuple(target),
                result.logprobs if result.logprobs or not target else (float("-inf"),) * len(target),
                result.attention,
                truncated=False,
            )
            for target, result in zip(targets, forced, strict=True)
        ]

    def pieces(self, words: Sequence[str]) -> list[str]:
        """The words in the aligner's target pieces, each word cut on its own; a word the pieces cannot
        spell back is one piece, and where the pieces would not fit the aligner, each word is one."""
        pieces = [piece for word in words for piece in self._word_pieces(word)]
        if len(pieces) > self.room:
            return [WORD_START + word for word in words]
        return pieces

    @property
    def room(self) -> int:
        """English pieces the aligner takes: its positions less the decoder's start and forced tokens."""
        planner = self.forcing.planner
        return planner.encoder.max_positions - 1 - len(planner.target_prefix)

    def _word_pieces(self, text: str) -> list[str]:
        known = self._pieces.get(text)
        if known is None:
            tokenizer = self.forcing.tokenizer
            ids = tokenizer(text_target=text, add_special_tokens=False)["input_ids"]
            known = [str(piece) for piece in tokenizer.convert_ids_to_tokens(ids)]
            spelled = "".join(known).removeprefix(WORD_START)
            if not known or spelled != text or any(p.startswith(WORD_START) for p in known[1:]):
                known = [WORD_START + text]
            elif not known[0].startswith(WORD_START):
                known = [WORD_START, *known]
            self._pieces[text] = known
        return known


def realign(aligner: EnglishAligner, ar: str, en: str) -> AlignedSentence:
    """English written for one sentence (a reviewer's edit, an imported review) aligned to that
    sentence's Arabic as written (`AlignedSentence.ar`): word links into it, the aligner's confidence
    in the English and the flags, for this English. The span stays the sentence's: all of `ar`."""
    [sentence] = realign_many(aligner, [(ar, en)])
    return sentence


def realign_many(
    aligner: EnglishAligner | None, pairs: Sequence[tuple[str, str]], batch_size: int = 32
) -> list[AlignedSentence]:
    """`realign` for many sentences' (Arabic as written, English) at once: forced through the aligner
    `batch_size` sentences at a time. English no aligner scored (there is none, the transcript was
    aligned by length; it is empty; it is longer than the aligner takes) gets no word links,
    confidence 0 and only the flags that need no model's scores (no SCORED_FLAGS)."""
    units = [_sentence_unit(ar) for ar, _ in pairs]
    english = [en for _, en in pairs]
    translations: list[Translation] = []
    for first in range(0, len(pairs), batch_size):
        chunk = slice(first, first + batch_size)
        if aligner is None:
            translations += [
                Translation(tuple(WORD_START + word for word in en.split()), (), None, truncated=False)
                for en in english[chunk]
            ]
        else:
            translations += aligner.translations(
                [unit.model_words for unit, _ in units[chunk]], english[chunk]
            )
    aligned = []
    for (unit, segment), translation in zip(units, translations, strict=True):
        scored = bool(translation.tokens) and len(translation.logprobs) == len(translation.tokens)
        if not scored:
            translation = Translation(
                translation.tokens, (0.0,) * len(translation.tokens), None, truncated=False
            )
        sentence = align_sentence(unit, translation, (segment,))
        if not scored:
            flags = tuple(flag for flag in sentence.flags if flag not in SCORED_FLAGS)
            sentence = replace(sentence, confidence=0.0, flags=flags)
        aligned.append(sentence)
    return aligned


def _sentence_unit(ar: str) -> tuple[Unit, Segment]:
    """One sentence's Arabic as written, as a unit of its words over a segment of its own."""
    segment = Segment(id="", text=ar)
    return Unit(0, tuple(segment_words(segment, 0, UnitOptions().max_word_chars))), segment


class AlignedTranslator:
    """A translator whose English is aligned by another model's attention."""

    def __init__(self, translator: Translator, aligner: EnglishAligner, model: ResolvedModel):
        self.translator = translator
        self.aligner = aligner
        self.same_vocabulary = aligner.model.fingerprint == model.fingerprint
        self.aligned_by: ResolvedModel | None = aligner.model
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
        """Each translation's English forced through the aligner, one batch per call; the English keeps
        the translator's log-probabilities (its confidence) and truncation."""
        targets = [self.aligner_tokens(translation.tokens) for translation in translations]
        forced = self.aligner.force([unit.words for unit in units], targets)
        return [
            Translation(
                tokens=tuple(target),
                logprobs=translation.logprobs
                if tuple(target) == translation.tokens
                else spread_logprobs(translation.tokens, translation.logprobs, target),
                attention=result.attention,
                truncated=translation.truncated,
            )
            for translation, target, result in zip(translations, targets, forced, strict=True)
        ]

    def aligner_tokens(self, tokens: Sequence[str]) -> list[str]:
        """The same English words in the aligner's target pieces (the translator's own pieces when they
        share the vocabulary), so the words, and the English the reviewer sees, stay exactly the
        translator's. A lone piece that is no word (a trailing '▁') stays as it is."""
        if self.same_vocabulary:
            return list(tokens)
        words = [(word, _text(word)) for word in _words(tokens)]
        texts = [text for _, text in words if text]
        pieces = self.aligner.pieces(texts)
        if len(texts) == len(words):
            return pieces
        cut = iter(_words(pieces))  # the aligner's pieces, word by word, with the empty words put back
        return [piece for word, text in words for piece in (next(cut) if text else word)]


class Unaligned:
    """A translator whose attention is dropped (--aligner none): sentence spans by length, no links."""

    def __init__(self, translator: Translator):
        self.translator = translator
        self.aligned_by: ResolvedModel | None = None
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
