"""Translator backends: anything that turns units (lists of normalised Arabic words) into Translations.

Backends are named in a registry and imported only when chosen, so a run that does not use
CTranslate2 never loads it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Protocol

from pipeline.backends.common import BatchedTranslator, DecodingOptions
from pipeline.records import Translation


class Translator(Protocol):
    name: str  # what produced the translations, recorded in the outputs

    def count_tokens(self, text: str) -> int:
        """Source tokens the model sees for `text` (one word), without special tokens."""
        ...

    def translate(
        self, units: Sequence[Sequence[str]], progress: Callable[[int], None] | None = None
    ) -> list[Translation]:
        """One Translation per unit, in order; `progress(n)` after every n units done."""
        ...


BACKENDS: dict[str, str] = {
    "hf": "pipeline.backends.hf:HFTranslator",
    "ct2": "pipeline.backends.ct2:CT2Translator",
}


def load_translator(backend: str, model: str, options: DecodingOptions) -> BatchedTranslator:
    module, _, name = BACKENDS[backend].partition(":")
    return getattr(importlib.import_module(module), name)(model, options)
