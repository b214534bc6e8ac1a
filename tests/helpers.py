"""Loading a backend on a test model the way the pipeline does (resolve the model once, then load),
with any of the resolved model's facts, the decoding options or the placement changed."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pipeline.backends import Translator, load_backend, translate_units
from pipeline.models import resolve_model
from pipeline.records import Translation
from pipeline.settings import DecodingOptions, Placement


def load_translator(
    backend: str,
    folder: Path | str,
    *,
    model: dict[str, Any] | None = None,
    beam: int | None = None,
    max_new_tokens: int | None = None,
    min_new_tokens: int | None = None,
    **placement: Any,
) -> Translator:
    resolved = replace(resolve_model(str(folder)), **(model or {}))
    decoding = DecodingOptions(beam or resolved.beam, max_new_tokens, min_new_tokens)
    return load_backend(backend, resolved, decoding, Placement(**{"device": "cpu", **placement}))


def translate(translator: Translator, units: Any) -> list[Translation]:
    return translate_units(translator, units)
