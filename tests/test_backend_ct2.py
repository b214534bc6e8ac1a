from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from pipeline.backends import load_translator
from pipeline.backends.common import DecodingOptions
from pipeline.backends.ct2 import CT2Translator, convert, thread_layout
from pipeline.random_model import write_random_model
from tests.conftest import DATA


@pytest.fixture(autouse=True)
def conversion_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ARABIC_PIPELINE_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def real_units(count: int) -> list[tuple[str, ...]]:
    lines = (DATA / "tatoeba" / "ar.txt").read_text(encoding="utf-8").splitlines()
    return [tuple(line.split()) for line in lines[:count]]


def test_float32_greedy_ct2_gives_the_same_tokens_as_transformers_on_the_full_size_model(tmp_path):
    """The equivalence the fast backend rests on, on the real architecture with random weights."""
    model = write_random_model(tmp_path / "full", "full")
    options = DecodingOptions(device="cpu", beam=1, max_new_tokens=12, compute_type="float32")
    units = real_units(12)
    reference = load_translator("hf", str(model), options).translate(units)
    fast = load_translator("ct2", str(model), options).translate(units)
    assert [t.tokens for t in fast] == [t.tokens for t in reference]
    for a, b in zip(reference, fast, strict=True):
        assert np.mean(b.logprobs) == pytest.approx(np.mean(a.logprobs), abs=1e-3)  # ct2 keeps the mean
        assert np.allclose(a.attention, b.attention, atol=1e-4)
        assert a.truncated == b.truncated


def test_ct2_beam_search_and_int8_run_with_attention_over_every_word(tiny_model):
    translator = CT2Translator(str(tiny_model), DecodingOptions(device="cpu"))
    assert (translator.compute_type, translator.beam) == ("int8", 4)  # CPU default; generation config
    units = [*real_units(3), ("مرحبا", "", "بكم")]
    for words, translation in zip(units, translator.translate(units), strict=True):
        attention = np.asarray(translation.attention)
        assert attention.shape == (len(translation.tokens), len(words))
        assert np.allclose(attention.sum(axis=1), 1.0)
        assert len(translation.logprobs) == len(translation.tokens) and max(translation.logprobs) <= 0.0


def test_conversion_happens_once_per_model_and_quantisation(tiny_model, conversion_cache):
    first = convert(tiny_model, "int8", conversion_cache)
    stamp = (first / "model.bin").stat().st_mtime_ns
    assert convert(tiny_model, "int8", conversion_cache) == first
    assert (first / "model.bin").stat().st_mtime_ns == stamp
    assert convert(tiny_model, "float32", conversion_cache) != first
    assert sorted(p.name for p in conversion_cache.iterdir()) == sorted(
        [first.name, f"{first.name[:-5]}-float32"]
    )


def test_batches_run_by_several_workers_come_back_in_input_order_with_the_same_results(tiny_model):
    """Small batches and three workers: more batches are submitted than are waited for at once."""
    units = real_units(40)
    options = DecodingOptions(device="cpu", beam=2, batch_size=3, compute_type="float32")
    alone = CT2Translator(str(tiny_model), replace(options, workers=1))
    together = CT2Translator(str(tiny_model), replace(options, workers=3))
    assert (alone.workers, together.workers) == (1, 3)
    heard: list[int] = []
    parallel = together.translate(units, heard.append)
    serial = alone.translate(units)
    assert [t.tokens for t in parallel] == [t.tokens for t in serial]
    assert [sum(t.logprobs) for t in parallel] == pytest.approx([sum(t.logprobs) for t in serial])
    assert sum(heard) == len(units) and max(heard) <= 3 and len(heard) > 2 * together.workers


def test_on_a_cpu_every_core_gets_a_single_threaded_worker_unless_told_otherwise():
    assert thread_layout("cpu", None, 8) == (8, 1)
    assert thread_layout("cpu", 2, 8) == (2, 4)
    assert thread_layout("cpu", 16, 8) == (16, 1)
    assert thread_layout("cuda", None, 8) == (1, 8)
