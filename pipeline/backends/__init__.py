"""Translator backends: anything that turns units (lists of normalised Arabic words) into Translations."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

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
