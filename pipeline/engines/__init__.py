"""Engines: where a translator's batches run. `local` runs them in this process; `ray` runs them on a
pool of model actors on a Ray cluster. Both hand the translation cache a `Translator` (a planner and
`run`), so reading, units, the cache, alignment and writing are one code path whatever schedules the
batches.

Engines are named in a registry and imported only when chosen: the core never imports Ray.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from pipeline.aligner import load_translator
from pipeline.backends import Translator
from pipeline.models import ResolvedModel
from pipeline.settings import DecodingOptions, Placement


@dataclass(frozen=True)
class ClusterOptions:
    """Where the ray engine finds its cluster and how much of it each model actor takes (the number of
    actors is `Placement.workers`)."""

    address: str | None = None  # the cluster to join; None: $RAY_ADDRESS, else a Ray started here
    worker_cpus: int | None = None  # CPU cores each model actor holds; None: the smallest node's


@contextmanager
def local(
    backend: str,
    model: ResolvedModel,
    decoding: DecodingOptions,
    placement: Placement,
    cluster: ClusterOptions,
    aligner: ResolvedModel | str,
) -> Iterator[Translator]:
    yield load_translator(backend, model, decoding, placement, aligner)


ENGINES: dict[str, str] = {
    "local": "pipeline.engines:local",
    "ray": "pipeline.engines.ray_pool:ray_pool",
}


def open_engine(
    name: str,
    backend: str,
    model: ResolvedModel,
    decoding: DecodingOptions,
    placement: Placement,
    cluster: ClusterOptions,
    aligner: ResolvedModel | str = "self",
) -> AbstractContextManager[Translator]:
    """The backend's batches run where the engine runs them, until the context ends; `aligner` as
    aligner.load_translator takes it."""
    module, _, attribute = ENGINES[name].partition(":")
    opened: AbstractContextManager[Translator] = getattr(importlib.import_module(module), attribute)(
        backend, model, decoding, placement, cluster, aligner
    )
    return opened
