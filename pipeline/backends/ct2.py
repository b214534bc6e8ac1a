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
import json
import os
import shutil
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path

import ctranslate2
import numpy as np
from ctranslate2.converters import TransformersConverter

from pipeline.backends.common import (
    Batch,
    BatchedTranslator,
    DecodingOptions,
    Encoded,
    cpu_cores,
    output_signature,
    resolve_device,
    source_and_target_tokens,
    word_attention,
)
from pipeline.backends.hf import load_tokenizer, model_folder
from pipeline.presets import model_fingerprint
from pipeline.records import Translation


def cache_root() -> Path:
    """Where converted models live: $ARABIC_PIPELINE_CACHE, else ~/.cache/arabic-pipeline."""
    return Path(os.environ.get("ARABIC_PIPELINE_CACHE") or Path.home() / ".cache" / "arabic-pipeline")


class CT2Translator(BatchedTranslator):
    def __init__(self, model_name: str, options: DecodingOptions = DecodingOptions()):
        tokenizer = load_tokenizer(model_name)
        folder = model_folder(model_name)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.device = resolve_device(options.device, ctranslate2.get_cuda_device_count() > 0)
        self.compute_type = options.compute_type or ("float16" if self.device == "cuda" else "int8")
        self.name = f"{model_name} (ctranslate2 {self.compute_type})"
        self.options = options
        self.beam = options.beam or _generation_beams(folder)
        positions = config.get("max_position_embeddings", 512)
        self.encoder, self.target_prefix = source_and_target_tokens(tokenizer, positions, options)
        alignment = (options.alignment_layer, options.alignment_heads)
        model_hash = model_fingerprint(folder)
        self.signature = output_signature(
            f"ct2 {ctranslate2.__version__} {self.compute_type}", model_hash, options, self.beam
        )
        converted = convert(folder, self.compute_type, cache_root(), alignment, model_hash)
        self.workers, threads = thread_layout(self.device, options.workers, cpu_cores())
        self.translator = ctranslate2.Translator(
            str(converted),
            device=self.device,
            compute_type=self.compute_type,
            inter_threads=self.workers,
            intra_threads=threads,
        )

    def run(self, batches: Sequence[Batch]) -> Iterator[list[Translation]]:
        """Batches are submitted ahead to CTranslate2's workers, which run them at once on the shared
        weights, and collected in order; at most two per worker wait, so results never pile up."""
        pending: deque[tuple[list[Encoded], int, list]] = deque()
        for batch in batches:
            units = list(batch.units)
            pending.append((units, batch.cap, self._submit(units, batch.cap)))
            if len(pending) > 2 * self.workers:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    def _submit(self, batch: list[Encoded], cap: int) -> list:
        # `cap` counts the end token, as transformers' max_new_tokens does; CTranslate2's lengths do not,
        # and they count the forced target-language token, which hypotheses and attention begin with.
        forced = len(self.target_prefix)
        return self.translator.translate_batch(
            [unit.pieces for unit in batch],
            target_prefix=[list(self.target_prefix)] * len(batch) if forced else None,
            beam_size=self.beam,
            max_decoding_length=cap - 1 + forced,
            min_decoding_length=max(0, (self.options.min_new_tokens or 0) - 1) + forced,
            return_attention=True,
            return_scores=True,
            asynchronous=True,
        )

    def _collect(self, batch: list[Encoded], cap: int, pending: list) -> list[Translation]:
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


def thread_layout(device: str, workers: int | None, cores: int) -> tuple[int, int]:
    """(workers, threads per worker). On a CPU, one single-threaded worker per core: measured on 2
    cores, CTranslate2 translated the benchmark interview in 14.9 s instead of 20.3 s at beam 4 and in
    5.4 s instead of 6.6 s greedy, against one worker with 2 threads, since one batch's small matrix
    products leave a second thread idle much of the time.
    On CUDA one worker: the GPU is the limit."""
    if workers is None:
        workers = cores if device == "cpu" else 1
    return workers, max(1, cores // workers)


def _generation_beams(folder: Path) -> int:
    path = folder / "generation_config.json"
    if path.exists():
        return int(json.loads(path.read_text(encoding="utf-8")).get("num_beams") or 1)
    return 1


def convert(
    folder: Path,
    quantization: str,
    root: Path,
    alignment: tuple[int, int] = (-1, 1),
    model_hash: str | None = None,
) -> Path:
    """Convert once; later runs find the cached folder, keyed by the model files' hash (`model_hash`
    when the caller has it), the converter's version and the quantisation. A half-finished conversion
    never counts.

    `alignment` is the decoder layer and the number of its first heads whose averaged cross-attention
    the converted model returns; CTranslate2 fixes both at conversion.
    """
    layer, heads = alignment
    suffix = "" if alignment == (-1, 1) else f"-a{layer}x{heads}"
    key = hashlib.sha256(f"{ctranslate2.__version__}\0{model_hash or model_fingerprint(folder)}".encode())
    target = root / f"{key.hexdigest()[:20]}-{quantization}{suffix}"
    if (target / "model.bin").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        ModelConverter(str(folder), layer, heads).convert(
            str(temporary), quantization=quantization, force=True
        )
        os.replace(temporary, target)
    except OSError:
        if not (target / "model.bin").exists():  # another run finished the same conversion first
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target


class ModelConverter(TransformersConverter):
    """CTranslate2's converter with two changes. The alignment layer and heads are set on the decoder
    spec (its loaders always keep the last layer's first head, which only Marian trains for alignment).
    And M2M100's language tokens are put back into the tokenizer's vocabulary: transformers 5 leaves
    them out of `M2M100Tokenizer.get_vocab()`, so the converted vocabulary would be 100 tokens short."""

    def __init__(self, model: str, layer: int, heads: int):
        super().__init__(model)
        self.alignment = (layer, heads)

    def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
        tokenizer = super().load_tokenizer(tokenizer_class, model_name_or_path, **kwargs)
        vocabulary = tokenizer.get_vocab()
        languages = getattr(tokenizer, "lang_token_to_id", {})
        if languages.keys() - vocabulary.keys():
            complete = {**vocabulary, **languages}
            tokenizer.get_vocab = lambda: complete  # this instance only, read by the converter's loader
        return tokenizer

    def _load(self):
        spec = super()._load()
        spec.decoder.alignment_layer = np.int16(self.alignment[0])
        spec.decoder.alignment_heads = np.int16(self.alignment[1])
        return spec
