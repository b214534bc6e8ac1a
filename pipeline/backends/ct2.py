"""The same model through CTranslate2: converted once with CTranslate2's own converter into a cache
folder keyed by the model files' fingerprint and the quantisation (int8 on CPU, float16 on CUDA).

CTranslate2 keeps the alignment head that Marian trains (the last decoder layer's first head), so
`translate_batch(return_attention=True)` gives the aligner the same signal as the transformers
backend. For confidence it uses the hypothesis score, which is the mean log-probability of the
generated tokens: a second scoring pass for per-token values repeats the 62,834-word output projection
and cost 17.7 of 44.8 s on the benchmark interview. So every token of a unit carries the unit's mean,
and when one unit yields several English sentences they share its confidence.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from pipeline.backends.common import (
    BatchedTranslator,
    DecodingOptions,
    Encoded,
    WordEncoder,
    resolve_device,
    word_attention,
)
from pipeline.backends.hf import load_model, load_tokenizer
from pipeline.presets import WEIGHT_FILES, cached_folder
from pipeline.records import Translation

_MODEL_FILES = ("config.json", "generation_config.json", *WEIGHT_FILES)


def cache_root() -> Path:
    """Where converted models live: $ARABIC_PIPELINE_CACHE, else ~/.cache/arabic-pipeline."""
    return Path(os.environ.get("ARABIC_PIPELINE_CACHE") or Path.home() / ".cache" / "arabic-pipeline")


class CT2Translator(BatchedTranslator):
    def __init__(self, model_name: str, options: DecodingOptions = DecodingOptions()):
        import ctranslate2

        tokenizer = load_tokenizer(model_name)
        folder = model_folder(model_name)
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        self.device = resolve_device(options.device, ctranslate2.get_cuda_device_count() > 0)
        self.compute_type = options.compute_type or ("float16" if self.device == "cuda" else "int8")
        self.name = f"{model_name} (ctranslate2 {self.compute_type})"
        self.options = options
        self.beam = options.beam or _generation_beams(folder)
        self.encoder = WordEncoder(tokenizer, config.get("max_position_embeddings", 512))
        converted = convert(folder, self.compute_type, cache_root())
        self.translator = ctranslate2.Translator(
            str(converted), device=self.device, compute_type=self.compute_type
        )

    def _translate_batch(self, batch: list[Encoded], cap: int) -> list[Translation]:
        sources = [unit.pieces for unit in batch]
        # `cap` counts the end token, as transformers' max_new_tokens does; CTranslate2's length does not.
        results = self.translator.translate_batch(
            sources,
            beam_size=self.beam,
            max_decoding_length=cap - 1,
            min_decoding_length=max(0, (self.options.min_new_tokens or 0) - 1),
            return_attention=True,
            return_scores=True,
        )
        translations = []
        for unit, result in zip(batch, results, strict=True):
            tokens = result.hypotheses[0]
            translations.append(
                Translation(
                    tokens=tuple(tokens),
                    logprobs=(result.scores[0],) * len(tokens),  # the mean log-probability, per token
                    attention=word_attention(result.attention[0], unit.word_of, unit.n_words)
                    if tokens
                    else None,
                    truncated=len(tokens) >= cap - 1,
                )
            )
        return translations


def model_folder(model_name: str) -> Path:
    """A local folder as given, or the hub cache's snapshot of a hub id (fetched first if need be)."""
    local = Path(model_name).expanduser()
    if local.is_dir():
        return local
    cached = cached_folder(model_name)
    if cached is None:
        load_model(model_name)  # downloads when the hub answers, else explains what to do
        cached = cached_folder(model_name)
    assert cached is not None
    return cached


def _generation_beams(folder: Path) -> int:
    path = folder / "generation_config.json"
    if path.exists():
        return int(json.loads(path.read_text(encoding="utf-8")).get("num_beams") or 1)
    return 1


def fingerprint(folder: Path) -> str:
    """A hash of the model's configuration and weights, and of the converter's version."""
    import ctranslate2

    digest = hashlib.sha256(ctranslate2.__version__.encode())
    for name in _MODEL_FILES:
        path = folder / name
        if path.exists():
            digest.update(name.encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def convert(folder: Path, quantization: str, root: Path) -> Path:
    """Convert once; later runs find the cached folder. A half-finished conversion never counts."""
    from ctranslate2.converters import TransformersConverter

    target = root / f"{fingerprint(folder)[:20]}-{quantization}"
    if (target / "model.bin").exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".{target.name}.{os.getpid()}.tmp"
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        TransformersConverter(str(folder)).convert(str(temporary), quantization=quantization, force=True)
        os.replace(temporary, target)
    except OSError:
        if not (target / "model.bin").exists():  # another run finished the same conversion first
            raise
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
    return target
