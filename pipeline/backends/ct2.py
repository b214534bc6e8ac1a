"""The same model through CTranslate2: converted once with CTranslate2's own converter into a cache
folder keyed by the model files' fingerprint and the quantisation (int8 on CPU, float16 on CUDA).

The conversion keeps the preset's alignment layer and heads (for Marian, the last decoder layer's first
head, which it trains for alignment), so `translate_batch(return_attention=True)` gives the aligner the
same signal as the transformers backend. Batches go to several CTranslate2 workers at once.

For confidence it uses the hypothesis score, which is the mean log-probability of the
generated tokens: a second scoring pass for per-token values repeats the 62,834-word output projection
and cost 17.7 of 44.8 s on the benchmark interview. So every token of a unit carries the unit's mean,
and when one unit yields several English sentences they share its confidence.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import ctranslate2
import numpy as np

from pipeline.backends.attention import word_attention
from pipeline.backends.planning import HYPOTHESES_PER_BATCH, Batch, Encoded, Forced, make_planner
from pipeline.errors import ModelNotAvailable
from pipeline.models import ResolvedModel
from pipeline.records import Translation
from pipeline.settings import DecodingOptions, Placement, cpu_cores, output_signature, resolve_device


def cache_root() -> Path:
    """Where converted models live: $ARABIC_PIPELINE_CACHE, else ~/.cache/arabic-pipeline."""
    return Path(os.environ.get("ARABIC_PIPELINE_CACHE") or Path.home() / ".cache" / "arabic-pipeline")


class CT2Translator:
    def __init__(self, model: ResolvedModel, decoding: DecodingOptions, placement: Placement = Placement()):
        tokenizer = model.load_tokenizer()
        self.tokenizer = tokenizer
        self.aligned_by: ResolvedModel | None = model
        self.device, self.compute_type, self.workers, self.translator = open_translator(model, placement)
        self.name = f"{model.label} (ctranslate2 {self.compute_type})"
        self.decoding = decoding
        self.signature = output_signature(
            f"ct2 {ctranslate2.__version__} {self.compute_type}", model, decoding
        )
        self.planner = make_planner(model, tokenizer, decoding, placement)
        self.target_prefix = self.planner.target_prefix

    def run(self, batches: Sequence[Batch]) -> Iterator[list[Translation]]:
        """Batches are submitted ahead to CTranslate2's workers, which run them at once on the shared
        weights, and collected in order; at most two per worker wait, so results never pile up."""
        pending: deque[tuple[list[Encoded], int, list[Any]]] = deque()
        for batch in batches:
            units = list(batch.units)
            pending.append((units, batch.cap, self._submit(units, batch.cap)))
            if len(pending) > 2 * self.workers:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    def force(
        self, units: Sequence[Encoded], targets: Sequence[Sequence[str]], scores: bool = False
    ) -> list[Forced]:
        """The alignment attention of given English tokens: each forced as the target prefix of a greedy
        search that stops at the longest (its attention over the prefix is what the model's own
        translation of those tokens had). With `scores`, each token's log-probability too, from
        CTranslate2's scoring pass (a second, attention-free pass: only given English needs it)."""
        forced = len(self.target_prefix)
        results: list[Forced] = [Forced(None, ())] * len(units)
        # A greedy search goes on after its prefix until its end token or the batch's length cap, the
        # longest prefix in the batch: so the forced pass runs in batches of targets of about one length
        # (sorted, a batch's longest at most a tenth plus one over its shortest), where little decodes past
        # its prefix; one batch of all lengths made a random model do three times the work.
        batches: list[list[int]] = []
        for i in sorted((i for i, target in enumerate(targets) if target), key=lambda i: len(targets[i])):
            batch = batches[-1] if batches else None
            if (
                batch
                and len(batch) < HYPOTHESES_PER_BATCH
                and len(targets[i]) <= 1.1 * len(targets[batch[0]]) + 1
            ):
                batch.append(i)
            else:
                batches.append([i])
        pending = [
            self.translator.translate_batch(
                [units[i].pieces for i in batch],
                target_prefix=[[*self.target_prefix, *targets[i]] for i in batch],
                beam_size=1,
                max_decoding_length=forced + len(targets[batch[-1]]),
                return_attention=True,
                asynchronous=True,
            )
            for batch in batches
        ]
        for batch, waiting in zip(batches, pending, strict=True):
            sources = [units[i].pieces for i in batch]
            prefixed = [[*self.target_prefix, *targets[i]] for i in batch]
            # score_batch's log-probabilities run over the target and its end token.
            scored = self.translator.score_batch(sources, prefixed) if scores else [None] * len(batch)
            for i, result, score in zip(batch, waiting, scored, strict=True):
                length = len(targets[i])
                rows = result.result().attention[0][forced : forced + length]
                logprobs = () if score is None else tuple(score.log_probs[forced : forced + length])
                results[i] = Forced(word_attention(np.asarray(rows), units[i]), logprobs)
        return results

    def _submit(self, batch: list[Encoded], cap: int) -> list[Any]:
        # `cap` counts the end token, as transformers' max_new_tokens does; CTranslate2's lengths do not,
        # and they count the forced target-language token, which hypotheses and attention begin with.
        forced = len(self.target_prefix)
        return self.translator.translate_batch(
            [unit.pieces for unit in batch],
            target_prefix=[list(self.target_prefix)] * len(batch) if forced else None,
            beam_size=self.decoding.beam,
            max_decoding_length=cap - 1 + forced,
            min_decoding_length=max(0, (self.decoding.min_new_tokens or 0) - 1) + forced,
            return_attention=True,
            return_scores=True,
            asynchronous=True,
        )

    def _collect(self, batch: list[Encoded], cap: int, pending: list[Any]) -> list[Translation]:
        forced = len(self.target_prefix)
        translations = []
        for unit, waiting in zip(batch, pending, strict=True):
            result = waiting.result()
            tokens = result.hypotheses[0][forced:]
            # The score is the log-probability sum over the hypothesis length, which counts the forced
            # token (it adds nothing to the sum); the mean over the translation's own tokens is:
            mean = result.scores[0] * (len(tokens) + forced) / max(1, len(tokens))
            translations.append(
                Translation(
                    tokens=tuple(tokens),
                    logprobs=(mean,) * len(tokens),  # the mean log-probability, per token
                    attention=word_attention(result.attention[0][forced:], unit) if tokens else None,
                    truncated=len(tokens) >= cap - 1,
                )
            )
        return translations


def open_translator(model: ResolvedModel, placement: Placement) -> tuple[str, str, int, Any]:
    """(device, compute type, workers, CTranslate2 translator) for `placement`. CTranslate2's wheels are
    built for one CUDA major version and load its libraries only when they first translate, so a GPU
    is tried with one token first: on a machine whose CUDA libraries do not fit (e.g. only CUDA 13's
    cuBLAS), `--device auto` goes on on the CPU with a warning, and `--device cuda` stops with one line."""
    device = resolve_device(placement.device, ctranslate2.get_cuda_device_count() > 0)
    compute_type = placement.compute_type or ("float16" if device == "cuda" else "int8")
    workers, threads = thread_layout(device, placement.workers, cpu_cores())
    try:
        translator = ctranslate2.Translator(
            str(convert(model, compute_type, cache_root())),
            device=device,
            compute_type=compute_type,
            inter_threads=workers,
            intra_threads=threads,
        )
        if device == "cuda":  # a lone end token runs without cuBLAS: two tokens and a beam use it
            translator.translate_batch(
                [["▁a", "</s>"]], beam_size=2, max_decoding_length=3, return_attention=True
            )
    except ValueError as error:  # e.g. a --compute-type this device does not support
        raise ModelNotAvailable(f"CTranslate2 cannot run the model as asked: {error}") from None
    except RuntimeError as error:  # the GPU's libraries (e.g. "libcublas.so.12 is not found")
        problem = (
            f"CTranslate2 {ctranslate2.__version__} cannot use the GPU here ({error}); it needs the CUDA "
            "libraries it was built for (pip install nvidia-cublas-cu12 for CUDA 12)"
        )
        if placement.device != "auto":
            raise ModelNotAvailable(
                f"{problem}. Use --device cpu, or --backend hf for PyTorch's CUDA"
            ) from None
        print(f"warning: {problem}; translating on the CPU", file=sys.stderr)
        return open_translator(model, replace(placement, device="cpu"))
    return device, compute_type, workers, translator


def thread_layout(device: str, workers: int | None, cores: int) -> tuple[int, int]:
    """(workers, threads per worker). On a CPU, one single-threaded worker per core: measured on 2
    cores, CTranslate2 translated the benchmark interview in 14.9 s instead of 20.3 s at beam 4 and in
    5.4 s instead of 6.6 s greedy, against one worker with 2 threads, since one batch's small matrix
    products leave a second thread idle much of the time.
    On CUDA one worker: the GPU is the limit."""
    if workers is None:
        workers = cores if device == "cpu" else 1
    return workers, max(1, cores // workers)


def convert(model: ResolvedModel, quantization: str, root: Path) -> Path:
    """Convert once; later runs find the cached folder, keyed by the model files' fingerprint, the
    converter's version and the quantisation. A half-finished conversion never counts.

    The converted model returns the cross-attention of the model's alignment layer averaged over its
    first heads; CTranslate2 fixes both at conversion, so they are part of the folder's name. The
    converter imports torch and transformers' model code, so only a first run for a model pays for them.
    """
    layer, heads = model.alignment_layer, model.alignment_heads
    suffix = "" if (layer, heads) == (-1, 1) else f"-a{layer}x{heads}"
    key = hashlib.sha256(f"{ctranslate2.__version__}\0{model.fingerprint}".encode())
    target = root / f"{key.hexdigest()[:20]}-{quantization}{suffix}"
    if (target / "model.bin").exists():
        return target
    from pipeline.backends.ct2_converter import ModelConverter  # torch and transformers' models

    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        ModelConverter(str(model.folder), layer, heads).convert(
            str(temporary), quantization=quantization, force=True
        )
        os.replace(temporary, target)
    except OSError:
        if not (target / "model.bin").exists():  # another run finished the same conversion first
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target
