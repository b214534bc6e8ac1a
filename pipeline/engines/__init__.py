"""Engines: where a backend's batches run. `local` runs them in this process; `ray` runs them on a
pool of model actors on a Ray cluster. Both hand the translation cache the same thing, a backend's
`plan` and `run`, so reading, units, the cache, alignment and writing are one code path whatever
schedules the batches.

Engines are named in a registry and imported only when chosen: the core never imports Ray.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace

from pipeline.backends import load_translator
from pipeline.backends.common import BatchedTranslator, DecodingOptions


@dataclass(frozen=True)
class EngineOptions:
    # Batches translated at once: CTranslate2 workers in this process (None: one per core), or Ray
    # model actors (None: one per GPU of the cluster, else one per `worker_cpus` of its CPU cores).
    workers: int | None = None
    address: str | None = None  # ray: the cluster to join; None: $RAY_ADDRESS, else a Ray started here
    worker_cpus: int | None = None  # ray: CPU cores each model actor holds; None: the smallest node's


@contextmanager
def local(
    backend: str, model: str, options: DecodingOptions, engine: EngineOptions
) -> Iterator[BatchedTranslator]:
    yield load_translator(backend, model, replace(options, workers=engine.workers))


ENGINES: dict[str, str] = {
    "local": "pipeline.engines:local",
    "ray": "pipeline.engines.ray_pool:ray_pool",
}


def open_engine(
    name: str, backend: str, model: str, options: DecodingOptions, engine: EngineOptions
) -> AbstractContextManager[BatchedTranslator]:
    """The backend's batches run where the engine runs them, until the context ends."""
    module, _, attribute = ENGINES[name].partition(":")
    return getattr(importlib.import_module(module), attribute)(backend, model, options, engine)
