"""The settings of a translation run, in two values with one owner each (what the model is lives in
`pipeline.models.ResolvedModel`):

- `DecodingOptions`: how to decode. Every field changes the output, so all of them go into the
  translation cache's key (`output_signature`).
- `Placement`: where and how fast to run (device, quantisation, workers, batch size). None of it changes
  the output, except the quantisation, which the backend names in its own identity.
- `LLMOptions`: `--backend openai`'s server, model, windows and prompt.

Each default is stated once, here, as the field's default.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import ModelNotAvailable

if TYPE_CHECKING:
    from pipeline.models import ResolvedModel


# The LLM backend's instructions: one versioned file in the package (--prompt overrides it).
PROMPT = Path(__file__).resolve().parent / "assets" / "prompts" / "interview-ar-en.v1.txt"


@dataclass(frozen=True)
class DecodingOptions:
    beam: int  # the run's beam: --beam, else the model's default (ResolvedModel.beam)
    # New tokens as transformers counts them, the end token included (Marian's config forces it last).
    max_new_tokens: int | None = None  # None: about twice the source length plus 16 (a unit's length cap)
    min_new_tokens: int | None = None  # benchmarks force equal output lengths with this


@dataclass(frozen=True)
class Placement:
    device: str = "auto"  # auto | cpu | cuda
    compute_type: str | None = None  # CTranslate2 quantisation; None: int8 on CPU, float16 on CUDA
    # Batches translated at once: local CTranslate2 workers (None: one per CPU core, each on one thread;
    # one on CUDA), or Ray model actors (None: one per GPU, else one per `worker_cpus` cores).
    workers: int | None = None
    batch_size: int | None = None  # sentences per batch; None: about 128 hypotheses, 128 // beam
    score_batch_size: int = 4  # the transformers scoring pass holds batch x length x vocabulary logits


@dataclass(frozen=True)
class LLMOptions:
    """The `--backend openai` settings; each default is stated once, here."""

    url: str = "http://127.0.0.1:8080/v1"  # the API's base, up to /v1
    model: str | None = None  # None: the server's only model
    window: int = 20  # units translated in one request
    context: int = 3  # units before and after each window, sent as read-only context
    prompt: Path = PROMPT  # its file name and hash are part of the translation cache's key
    timeout: float = 300.0  # seconds for one reply
    retries: int = 4  # a request that fails on the way (429, 5xx, a dropped connection) is sent again
    attempts: int = 2  # a window whose reply is unusable is asked again before it is split
    temperature: float = 0.0
    seed: int = 0
    workers: int = 4  # requests in flight at once (--workers)
    max_tokens: int | None = None  # None: enough for the window (see _max_tokens)


def output_signature(backend: str, model: ResolvedModel, decoding: DecodingOptions) -> str:
    """Everything that decides a unit's translation, as one string (the translation cache's key):
    the backend's identity (name, version, quantisation), the model's identity and every decoding option."""
    return json.dumps(
        {"backend": backend, "model": model.identity(), "decoding": asdict(decoding)}, sort_keys=True
    )


def cpu_cores() -> int:
    """Cores this process should use: OMP_NUM_THREADS when it is set (as torch reads it; Ray sets it to
    the CPUs an actor holds), else every core the process may run on."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return int(threads) if threads.isdigit() and int(threads) > 0 else len(os.sched_getaffinity(0))


def resolve_device(device: str, cuda_available: bool) -> str:
    if device == "auto":
        return "cuda" if cuda_available else "cpu"
    if device == "cuda" and not cuda_available:
        raise ModelNotAvailable("--device cuda was asked for, but no CUDA device is visible")
    return device
