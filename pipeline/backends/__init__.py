"""Translator backends: a `Planner` (shared by all, see planning.py) and a runner that turns planned
batches into Translations. The local backends (hf: transformers; ct2: CTranslate2) and the Ray pool
all implement `Translator`.

Backends are named in a registry and imported only when chosen, so a run that does not use
transformers' PyTorch models never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from typing import Protocol, runtime_checkable

from pipeline.backends.planning import Batch, Planner, gather
from pipeline.models import ResolvedModel
from pipeline.records import Translation
from pipeline.settings import DecodingOptions, Placement


class Translator(Protocol):
    name: str  # what produced the translations, as the outputs show it
    signature: str  # everything that decides a unit's translation (see settings.output_signature)
    planner: Planner  # how units become batches for `run`
    aligned_by: ResolvedModel | None  # the model whose attention aligns the English; None: no attention

    def run(self, batches: Sequence[Batch]) -> Iterator[list[Translation]]:
        """Each batch's translations, in the order of `batches`."""
        ...


@runtime_checkable
class Service(Protocol):
    """A translator that is a server's (an LLM's): what the manifest records of the server, and what
    the run's summary says of its replies."""

    def record(self) -> dict[str, object]: ...

    def notes(self) -> list[str]: ...

    def learn_speakers(self, speakers: Mapping[tuple[str, ...], str]) -> None:
        """Who speaks each unit (by its model words), for the requests' context."""
        ...


BACKENDS: dict[str, str] = {
    "hf": "pipeline.backends.hf:HFTranslator",
    "ct2": "pipeline.backends.ct2:CT2Translator",
}
# Not a model here but a server's: an OpenAI-compatible chat-completions API translates, and a model
# of the ct2 backend aligns its English (pipeline.backends.llm, opened by pipeline.run.open_llm).
LLM_BACKEND = "openai"


def load_backend(
    backend: str, model: ResolvedModel, decoding: DecodingOptions, placement: Placement
) -> Translator:
    module, _, name = BACKENDS[backend].partition(":")
    translator: Translator = getattr(importlib.import_module(module), name)(model, decoding, placement)
    return translator


def translate_units(translator: Translator, units: Sequence[Sequence[str]]) -> list[Translation]:
    """One Translation per unit, in order: a translator used on its own, without the cache."""
    batches = translator.planner.plan(units)
    return gather(len(units), zip(batches, translator.run(batches), strict=True))
