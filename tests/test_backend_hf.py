from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from itertools import pairwise

import numpy as np
import pytest

from pipeline.errors import ModelNotAvailable
from pipeline.models import resolve_model
from pipeline.tools.random_model import write_random_model
from tests.helpers import load_translator, translate

UNITS = [
    ("لقد", "إعتدنا", "للغاية", "علي", "استخدام", "الإنترنت."),
    ("مرحبا", "", "بكم"),  # an empty word (a lone tatweel in the original) has no tokens
    ("نعم.", ""),  # ... also at the end, where it must still get its column
]


def test_translation_carries_tokens_logprobs_and_word_attention(tiny_translator):
    translations = translate(tiny_translator, UNITS)
    assert len(translations) == len(UNITS)
    for words, translation in zip(UNITS, translations, strict=True):
        assert translation.tokens and len(translation.logprobs) == len(translation.tokens)
        assert all(lp <= 0.0 for lp in translation.logprobs)
        attention = np.asarray(translation.attention)
        assert attention.shape == (len(translation.tokens), len(words))
        assert np.allclose(attention.sum(axis=1), 1.0)
    assert np.all(np.asarray(translations[1].attention)[:, 1] == 0.0)  # the empty word gets no attention
    assert np.all(np.asarray(translations[2].attention)[:, 1] == 0.0)


@pytest.mark.slow
def test_length_sorted_batches_come_back_in_input_order(tiny_translator):
    together = translate(tiny_translator, UNITS)
    alone = [translate(tiny_translator, [words])[0] for words in UNITS]
    assert [t.tokens for t in together] == [t.tokens for t in alone]


def test_hitting_the_length_cap_is_reported_as_truncated(tiny_model):
    translator = load_translator("hf", tiny_model, max_new_tokens=4, beam=1)
    [translation] = translate(translator, [UNITS[0]])
    assert translation.truncated
    assert len(translation.tokens) == 3  # the fourth position is the end-of-sentence token


def test_beam_defaults_to_the_models_generation_config(tiny_translator, tiny_model):
    assert resolve_model(str(tiny_model)).beam == 4  # opus-mt-ar-en's generation_config.json
    assert tiny_translator.decoding.beam == 4
    assert load_translator("hf", tiny_model, beam=2).decoding.beam == 2


def test_token_counts_are_the_real_tokenizers(tiny_translator):
    count_tokens = tiny_translator.planner.count_tokens
    assert count_tokens("الإنترنت") == len(tiny_translator.tokenizer.tokenize("الإنترنت"))
    assert count_tokens("") == 0


@pytest.mark.slow
def test_random_model_full_size_has_the_real_architecture(tmp_path):
    folder = write_random_model(tmp_path / "full", "full")
    config = json.loads((folder / "config.json").read_text())
    real = json.loads((folder / "generation_config.json").read_text())
    assert (config["d_model"], config["encoder_layers"], config["decoder_layers"], config["vocab_size"]) == (
        512,
        6,
        6,
        62834,
    )
    assert real["num_beams"] == 4
    assert (folder / "model.safetensors").stat().st_size > 250_000_000
    assert not (folder / "pytorch_model.bin").exists()


def run_cli(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=120,
    )


@pytest.mark.parametrize(
    "network",
    [
        {"HF_HUB_OFFLINE": "1"},
        # a closed local port stands in for the hub; no proxy may route around it
        {
            "HF_HUB_OFFLINE": "0",
            "HF_ENDPOINT": "http://127.0.0.1:9",
            "HTTPS_PROXY": "",
            "https_proxy": "",
            "ALL_PROXY": "",
            "all_proxy": "",
        },
    ],
    ids=["offline-mode", "hub-unreachable"],
)
@pytest.mark.slow
def test_missing_weights_explain_where_we_looked_and_how_to_fix_it(tmp_path, network):
    (tmp_path / "a.txt").write_text("مرحبا\n", encoding="utf-8")
    env = {"HF_HOME": str(tmp_path / "hf"), **network}
    started = time.monotonic()
    result = run_cli("translate", "a.txt", "--model", "Helsinki-NLP/opus-mt-ar-en", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert time.monotonic() - started < 60  # no minute of retries against an unreachable hub
    assert "Traceback" not in result.stderr
    assert "'Helsinki-NLP/opus-mt-ar-en' is not on this machine" in result.stderr
    assert str(tmp_path / "hf" / "hub") in result.stderr
    assert "random-model" in result.stderr and "MODEL=models/opus-mt-ar-en" in result.stderr
    assert not (tmp_path / "output").exists()


def test_a_local_folder_without_weights_says_so(tmp_path):
    folder = tmp_path / "empty-model"
    folder.mkdir()
    with pytest.raises(ModelNotAvailable, match=f"No usable model in the folder {folder}"):
        resolve_model(str(folder))


def test_attention_is_the_last_layers_first_head_summed_over_each_words_tokens(tiny_translator):
    """Recompute with a plain forward pass what the backend reports for one unit."""
    import torch

    words = UNITS[0]
    [translation] = translate(tiny_translator, [words])
    tokenizer, model = tiny_translator.tokenizer, tiny_translator.network
    per_word = [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(word)) for word in words]
    source = [i for ids in per_word for i in ids] + [tokenizer.eos_token_id]
    target = tokenizer.convert_tokens_to_ids(list(translation.tokens))
    decoder_input = [model.config.decoder_start_token_id, *target]
    with torch.inference_mode():
        output = model(
            input_ids=torch.tensor([source]),
            decoder_input_ids=torch.tensor([decoder_input[:-1]]),  # position t predicts target[t]
            output_attentions=True,
        )
    head = output.cross_attentions[-1][0, 0, : len(target), :-1].numpy()  # drop the EOS column
    bounds = np.cumsum([0] + [len(ids) for ids in per_word])
    expected = np.stack([head[:, a:b].sum(axis=1) for a, b in pairwise(bounds)], axis=1)
    expected /= expected.sum(axis=1, keepdims=True)
    assert np.allclose(np.asarray(translation.attention), expected, atol=1e-5)
    logprobs = torch.log_softmax(output.logits[0, : len(target)], dim=-1)[range(len(target)), target]
    assert np.allclose(translation.logprobs, logprobs.numpy(), atol=1e-4)
