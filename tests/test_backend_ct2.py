from __future__ import annotations

import sys

import numpy as np
import pytest

from pipeline.backends.ct2 import CT2Translator, convert, thread_layout
from pipeline.models import resolve_model
from pipeline.tools.random_model import write_random_model
from tests.conftest import DATA
from tests.helpers import load_translator, translate


@pytest.fixture(autouse=True)
def conversion_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARABIC_PIPELINE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def real_units(count: int) -> list[tuple[str, ...]]:
    lines = (DATA / "tatoeba" / "ar.txt").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split()) for line in lines[:count]]


@pytest.mark.slow
def test_float32_greedy_ct2_gives_the_same_tokens_as_transformers_on_the_full_size_model(tmp_path):
    """The equivalence the fast backend rests on, on the real architecture with random weights."""
    model = write_random_model(tmp_path / "full", "full")
    options = {"beam": 1, "max_new_tokens": 12, "compute_type": "float32"}
    units = real_units(12)
    reference = translate(load_translator("hf", model, **options), units)
    fast = translate(load_translator("ct2", model, **options), units)
    assert [t.tokens for t in fast] == [t.tokens for t in reference]
    for a, b in zip(reference, fast, strict=True):
        assert np.mean(b.logprobs) == pytest.approx(np.mean(a.logprobs), abs=1e-3)  # ct2 keeps the mean
        assert np.allclose(a.attention, b.attention, atol=1e-4)
        assert a.truncated == b.truncated


def test_ct2_beam_search_and_int8_run_with_attention_over_every_word(tiny_model):
    translator = load_translator("ct2", tiny_model)
    assert isinstance(translator, CT2Translator)
    assert (translator.compute_type, translator.decoding.beam) == (
        "int8",
        4,
    )  # CPU default; generation config
    units = [*real_units(3), ("مرحبا", "", "بكم")]
    for words, translation in zip(units, translate(translator, units), strict=True):
        attention = np.asarray(translation.attention)
        assert attention.shape == (len(translation.tokens), len(words))
        assert np.allclose(attention.sum(axis=1), 1.0)
        assert len(translation.logprobs) == len(translation.tokens) and max(translation.logprobs) <= 0.0


def test_conversion_happens_once_per_model_and_quantisation(tiny_model, conversion_cache):
    model = resolve_model(str(tiny_model))
    first = convert(model, "int8", conversion_cache)
    stamp = (first / "model.bin").stat().st_mtime_ns
    assert convert(model, "int8", conversion_cache) == first
    assert (first / "model.bin").stat().st_mtime_ns == stamp
    assert convert(model, "float32", conversion_cache) != first
    assert sorted(p.name for p in conversion_cache.iterdir()) == sorted(
        [first.name, f"{first.name[:-5]}-float32"]
    )


@pytest.mark.slow
def test_batches_run_by_several_workers_come_back_in_input_order_with_the_same_results(tiny_model):
    """Small batches and three workers: more batches are submitted than are waited for at once."""
    units = real_units(40)
    options = {"beam": 2, "batch_size": 3, "compute_type": "float32"}
    alone = load_translator("ct2", tiny_model, workers=1, **options)
    together = load_translator("ct2", tiny_model, workers=3, **options)
    assert isinstance(alone, CT2Translator) and isinstance(together, CT2Translator)
    assert (alone.workers, together.workers) == (1, 3)
    batches = together.planner.plan(units)
    heard = [len(batch.indices) for batch in batches]
    parallel = translate(together, units)
    serial = translate(alone, units)
    assert [t.tokens for t in parallel] == [t.tokens for t in serial]
    assert [sum(t.logprobs) for t in parallel] == pytest.approx([sum(t.logprobs) for t in serial])
    assert sum(heard) == len(units) and max(heard) <= 3 and len(heard) > 2 * together.workers


def test_on_a_cpu_every_core_gets_a_single_threaded_worker_unless_told_otherwise():
    assert thread_layout("cpu", None, 8) == (8, 1)
    assert thread_layout("cpu", 2, 8) == (2, 4)
    assert thread_layout("cpu", 16, 8) == (16, 1)
    assert thread_layout("cuda", None, 8) == (1, 8)


@pytest.mark.slow
def test_the_ct2_backend_runs_without_torch_once_the_model_is_converted(tiny_model, tmp_path):
    """Translating with CTranslate2 needs the tokenizer, never PyTorch: a fresh process that loads the
    backend on a converted model and translates must not have imported torch."""
    import subprocess

    load_translator("ct2", tiny_model)  # converts (the converter imports torch)
    script = (
        "import sys; from tests.helpers import load_translator, translate; "
        f"t = load_translator('ct2', {str(tiny_model)!r}); translate(t, [('مرحبا', 'بكم')]); "
        "print(sorted({'torch', 'transformers.modeling_utils'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"


class GPUWithoutItsLibraries:
    """ctranslate2 on a machine with a GPU whose CUDA libraries do not fit CTranslate2's wheel (seen on
    a CUDA 13 machine): a translator loads on the GPU, and its first translation fails."""

    def __init__(self, real):
        self.real = real

    def get_cuda_device_count(self) -> int:
        return 1

    def Translator(self, path, device="cpu", **options):
        if device != "cuda":
            return self.real.Translator(path, device=device, **options)

        class Unusable:
            def translate_batch(self, *args, **kwargs):
                raise RuntimeError("Library libcublas.so.12 is not found or cannot be loaded")

        return Unusable()

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.mark.slow
def test_a_gpu_ctranslate2_cannot_use_is_one_line_or_the_cpu_with_auto(
    tiny_model, tmp_path, monkeypatch, capsys
):
    import pipeline.backends.ct2 as ct2
    from pipeline.cli import main

    monkeypatch.setattr(ct2, "ctranslate2", GPUWithoutItsLibraries(ct2.ctranslate2))
    transcript = tmp_path / "talk.txt"
    transcript.write_text("مرحبا بكم في البرنامج.\n", encoding="utf-8")
    command = ["translate", str(transcript), "--model", str(tiny_model)]

    assert main([*command, "--out", str(tmp_path / "cuda"), "--device", "cuda"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error[-1].startswith("error: CTranslate2 ") and "libcublas.so.12" in error[-1]
    assert "--device cpu" in error[-1] and "Traceback" not in "\n".join(error)
    assert not (tmp_path / "cuda" / "talk").exists()

    assert main([*command, "--out", str(tmp_path / "auto"), "--device", "auto"]) == 0
    said = capsys.readouterr().err
    assert "warning: CTranslate2 " in said and "translating on the CPU" in said
    assert (tmp_path / "auto" / "talk" / "talk.aligned.jsonl").is_file()
