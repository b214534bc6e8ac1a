"""The Ray engine: a pool of model actors, each holding one backend (one per GPU, else one per
`worker_cpus` CPU cores, by default one per node), on a local Ray or an existing cluster.

Only the batches travel. This process reads, cuts units, plans the batches (per transcript, exactly as
the local engine does, with the planner the actors describe), keeps the translation cache, aligns and
writes; the actors run their backend's `run` on the batches they are sent. The model is resolved
once, by the driver: actors get its folder as an absolute path and never look at the name. A batch's
numbers do not depend on which worker runs it (every CPU worker is single-threaded, as locally), so
the outputs are byte-identical to the local engine's.

An actor that dies (a killed process, a lost node) is restarted by Ray, which then re-runs the calls it
had not answered; batches are pure functions of their units, so a re-run changes nothing. Finished
transcripts are already written, and finished batches are in the cache, so even a lost driver resumes.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from pipeline.errors import EngineUnavailable

try:
    import ray
    from ray.exceptions import RayError
except ModuleNotFoundError as missing:
    raise EngineUnavailable(
        "the ray engine needs Ray: pip install '.[ray]' (or run `make translate ENGINE=ray`)"
    ) from missing

from pipeline.aligner import load_translator
from pipeline.backends import Translator
from pipeline.backends.planning import Batch, Planner
from pipeline.engines import ClusterOptions
from pipeline.models import ResolvedModel
from pipeline.records import Translation
from pipeline.settings import DecodingOptions, Placement

RESTARTS = 3  # times Ray restarts a dead actor (each restart reloads the model)
RETRIES = 3  # times Ray re-sends a call that a dead actor had not answered
AHEAD = 2  # calls sent to an actor at once


@dataclass(frozen=True)
class Description:
    """What the driver needs from a loaded backend to plan batches exactly as the backend would."""

    name: str
    signature: str
    planner: Planner
    aligned_by: ResolvedModel | None
    parallel: int  # batches the backend runs at once (its CTranslate2 workers; 1 for transformers)
    node: str  # the actor's node address, for messages
    pid: int  # its process


@ray.remote(max_restarts=RESTARTS, max_task_retries=RETRIES)
class ModelActor:
    def __init__(
        self,
        backend: str,
        model: ResolvedModel,
        decoding: DecodingOptions,
        placement: Placement,
        aligner: ResolvedModel | str,
    ):
        self.translator = load_translator(backend, model, decoding, placement, aligner)

    def describe(self) -> Description:
        t = self.translator
        node = ray.util.get_node_ip_address()
        return Description(
            t.name, t.signature, t.planner, t.aligned_by, getattr(t, "workers", 1), node, os.getpid()
        )

    def run(self, batches: list[Batch]) -> list[list[Translation]]:
        return list(self.translator.run(batches))


class RayTranslator:
    """Plans here, with the actors' own planner; runs on the actors."""

    def __init__(self, actors: Sequence[Any], description: Description):
        self.actors = list(actors)
        self.name = description.name
        self.signature = description.signature
        self.planner = description.planner
        self.aligned_by = description.aligned_by
        self.parallel = description.parallel

    def run(self, batches: Sequence[Batch]) -> Iterator[list[Translation]]:
        """Groups of `parallel` batches go to the actors in turn, at most AHEAD calls waiting on each,
        and come back in order."""
        pending: deque[Any] = deque()
        for number, first in enumerate(range(0, len(batches), self.parallel)):
            actor = self.actors[number % len(self.actors)]
            pending.append(actor.run.remote(list(batches[first : first + self.parallel])))
            if len(pending) >= AHEAD * len(self.actors):
                yield from _result(pending.popleft())
        while pending:
            yield from _result(pending.popleft())


def _result(call: Any) -> list[list[Translation]]:
    try:
        return ray.get(call)
    except RayError as error:
        raise EngineUnavailable(
            f"a model actor failed for good ({RESTARTS} restarts, {RETRIES} retries per call): {error}\n"
            "The transcripts already written are complete and the finished batches are in the "
            "translation cache: run the same command again to go on from there."
        ) from error


@contextmanager
def ray_pool(
    backend: str,
    model: ResolvedModel,
    decoding: DecodingOptions,
    placement: Placement,
    cluster: ClusterOptions,
    aligner: ResolvedModel | str,
) -> Iterator[Translator]:
    """Joins the cluster at `cluster.address` (else $RAY_ADDRESS, else starts Ray here; a Ray this
    process already started is used as it is), starts the actors, and stops what it started."""
    started = not ray.is_initialized()
    if started:
        # "local" starts a Ray here even when an earlier `ray start` on this machine left its address behind.
        address = cluster.address or os.environ.get("RAY_ADDRESS") or "local"
        _check_reachable(address)
        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise EngineUnavailable(f"Ray could not start or join {address}: {error}") from error
    actors: list[Any] = []
    try:
        actors = _start_actors(backend, model, decoding, placement, cluster, aligner)
        description = _describe(actors)
        nodes = len({node["NodeID"] for node in ray.nodes() if node["Alive"]})
        address = ray.get_runtime_context().gcs_address
        print(f"ray: {len(actors)} model actor(s), cluster of {nodes} node(s) at {address}", file=sys.stderr)
        yield RayTranslator(actors, description)
    finally:
        for actor in actors:
            ray.kill(actor)
        if started:
            ray.shutdown()


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """A cluster address (host:port) must answer within seconds: Ray itself retries a dead one for
    minutes without a word."""
    host, colon, port = address.rpartition(":")
    if not colon or not port.isdigit() or "://" in address:
        return  # "local", "auto", or a ray:// client address, which Ray checks itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise EngineUnavailable(
            f"no Ray cluster answers at {address} ({error.strerror or error}); start one with "
            "`ray start --head` or check the address"
        ) from error


def _start_actors(
    backend: str,
    model: ResolvedModel,
    decoding: DecodingOptions,
    placement: Placement,
    cluster: ClusterOptions,
    aligner: ResolvedModel | str,
) -> list[Any]:
    """`placement.workers` actors (None: one per GPU, else one per `worker_cpus` cores); each runs its
    backend with the rest of the placement, with workers of its own (one per core it holds)."""
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if placement.device != "cpu" else 0
    cpus = int(resources.get("CPU", 0))
    worker_cpus = cluster.worker_cpus or _smallest_node_cpus()
    per_actor = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_gpus": 0, "num_cpus": worker_cpus}
    count = placement.workers or (gpus or max(1, cpus // worker_cpus))
    needed_cpus, needed_gpus = count * per_actor["num_cpus"], count * per_actor["num_gpus"]
    if needed_cpus > cpus or needed_gpus > gpus:
        raise EngineUnavailable(
            f"{count} model actors need {needed_cpus} CPU cores and {needed_gpus} GPUs, and the cluster "
            f"has {cpus} and {gpus}: use fewer --workers or --worker-cpus, or add nodes"
        )
    # An actor runs its batches as a local backend does on as many cores as it holds (Ray sets
    # OMP_NUM_THREADS to them); its environment is its node's, as for any Ray job.
    # The AHEAD calls waiting on an actor run at once in its threads, so its backend gets the next
    # batches while the last ones are turned into Translations and sent back, as in one local process.
    inside_actor = replace(placement, workers=None)
    return [
        # mypy keeps a decorated class's own type, not the ActorClass that ray.remote returns.
        ModelActor.options(  # type: ignore[attr-defined]
            **per_actor, max_concurrency=AHEAD
        ).remote(backend, model, decoding, inside_actor, aligner)
        for _ in range(count)
    ]


def _smallest_node_cpus() -> int:
    """CPU cores of the smallest node: by default one actor per node, its CPUs shared by one model.
    Measured on 2 cores (BENCHMARKS.md, beam 4): one actor with both cores took 6% longer than the
    local engine; two actors with one core each, two copies of the weights, 26% longer."""
    sizes = [int(node["Resources"].get("CPU", 0)) for node in ray.nodes() if node["Alive"]]
    return min((size for size in sizes if size > 0), default=1)


def _describe(actors: Sequence[Any]) -> Description:
    """Every actor's backend, loaded; they must all translate alike, or the cache and the promise of
    identical outputs would break."""
    try:
        descriptions = ray.get([actor.describe.remote() for actor in actors])
    except RayError as error:
        raise EngineUnavailable(f"the model actors could not load the model: {error}") from error
    first = descriptions[0]
    for other in descriptions[1:]:
        if other.signature != first.signature:
            raise EngineUnavailable(
                f"the model actors differ: {first.node} has {first.signature}, {other.node} has "
                f"{other.signature}; give every node the same model files and versions"
            )
    return first
