"""NLLB and M2M100 plumbing on tiny random models of each family: language tokens in and out, the
forced first token, length limits, the alignment layer and heads, and both backends agreeing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pipeline.errors import ModelNotAvailable
from pipeline.families import FAMILIES
from pipeline.models import resolve_model
from tests.helpers import load_translator, translate

MULTILINGUAL = ["nllb", "m2m100"]
UNITS = [
    ("لقد", "إعتدنا", "للغاية", "علي", "استخدام", "الإنترنت."),
    ("مرحبا", "", "بكم"),
    ("نعم.",),
]
GREEDY = {"beam": 1, "max_new_tokens": 10, "compute_type": "float32"}


def language_token(family: str, code: str) -> str:
    return FAMILIES[family].language_token.format(code)


@pytest.mark.parametrize("family", MULTILINGUAL)
def test_the_source_starts_with_its_language_token_as_the_tokenizer_itself_encodes_it(family, tiny_model_of):
    translator = load_translator("hf", tiny_model_of(family), **GREEDY)
    assert resolve_model(str(tiny_model_of(family))).family == family  # recognised from its files
    text = " ".join(UNITS[0])
    reference = translator.tokenizer(text).input_ids  # the family's own tokenizer, source language set
    encoded = translator.planner.encoder.encode(UNITS[0])
    assert encoded.ids == reference
    assert encoded.pieces[0] == language_token(family, FAMILIES[family].source_lang)
    assert encoded.pieces[-1] == translator.tokenizer.eos_token and encoded.word_start == 1


@pytest.mark.parametrize("family", MULTILINGUAL)
def test_the_target_language_is_forced_first_then_removed(family, tiny_model_of):
    """Our translation equals transformers' documented recipe (forced_bos_token_id) minus that token."""
    translator = load_translator("hf", tiny_model_of(family), **GREEDY)
    target = language_token(family, FAMILIES[family].target_lang)
    tokenizer, model = translator.tokenizer, translator.network
    for words, translation in zip(UNITS, translate(translator, UNITS), strict=True):
        inputs = tokenizer(" ".join(words), return_tensors="pt")
        with torch.inference_mode():
            output = model.generate(
                **inputs,
                forced_bos_token_id=tokenizer.convert_tokens_to_ids(target),
                forced_eos_token_id=tokenizer.eos_token_id,
                num_beams=1,
                max_new_tokens=11,  # the forced token, then the 10 we allow
            )
        tokens = tokenizer.convert_ids_to_tokens(output[0].tolist())
        assert tokens[:2] == [tokenizer.convert_ids_to_tokens(model.config.decoder_start_token_id), target]
        assert list(translation.tokens) == [t for t in tokens[2:] if t != tokenizer.eos_token]
        assert target not in translation.tokens


@pytest.mark.parametrize(("family", "other"), [("nllb", "fra_Latn"), ("m2m100", "fr")])
def test_the_target_language_code_conditions_the_output(family, other, tiny_model_of):
    model = tiny_model_of(family)
    english = translate(load_translator("hf", model, **GREEDY), UNITS)
    french = load_translator("hf", model, model={"target_lang": other}, **GREEDY)
    # Random weights may pick the same tokens; their probabilities still depend on the forced token.
    scores = [t.logprobs for t in translate(french, UNITS)]
    assert not np.allclose(scores[0][:3], english[0].logprobs[:3], atol=1e-4)


@pytest.mark.parametrize(("family", "dialect"), [("nllb", "arz_Arab"), ("m2m100", "fa")])
def test_a_chosen_source_language_replaces_the_default_token(family, dialect, tiny_model_of):
    model = resolve_model(str(tiny_model_of(family)), source_lang=dialect)
    assert model.source_lang == dialect
    translator = load_translator("hf", tiny_model_of(family), model={"source_lang": dialect})
    assert translator.planner.encoder.encode(UNITS[0]).pieces[0] == language_token(family, dialect)


@pytest.mark.parametrize("family", MULTILINGUAL)
def test_an_unknown_language_code_is_refused_by_name(family, tiny_model_of):
    with pytest.raises(ModelNotAvailable, match=r"'(xx_Xxxx|__xx_Xxxx__)' is not a language token"):
        load_translator("hf", tiny_model_of(family), model={"target_lang": "xx_Xxxx"})


@pytest.mark.parametrize("family", MULTILINGUAL)
def test_max_positions_keeps_the_language_token_and_the_end_token(family, tiny_model_of):
    translator = load_translator("hf", tiny_model_of(family), model={"max_positions": 5})
    encoded = translator.planner.encoder.encode(UNITS[0])
    assert len(encoded.pieces) == 5
    assert encoded.pieces[0].endswith(("Arab", "__")) and encoded.pieces[-1] == translator.tokenizer.eos_token
    assert len(encoded.word_of) == 3


@pytest.mark.parametrize("family", MULTILINGUAL)
def test_ct2_float32_greedy_matches_transformers_tokens_and_averaged_alignment_heads(family, tiny_model_of):
    """The first layer (-2 of 2), both heads averaged: set on the CTranslate2 spec at conversion and
    sliced from transformers' cross-attention, two independent implementations that must agree."""
    alignment = {"alignment_layer": -2, "alignment_heads": 2}
    model = tiny_model_of(family)
    reference = translate(load_translator("hf", model, model=alignment, **GREEDY), UNITS)
    fast = translate(load_translator("ct2", model, model=alignment, **GREEDY), UNITS)
    assert [t.tokens for t in fast] == [t.tokens for t in reference]
    for a, b, words in zip(reference, fast, UNITS, strict=True):
        assert np.asarray(a.attention).shape == (len(a.tokens), len(words))
        assert np.allclose(a.attention, b.attention, atol=1e-4)
        assert np.mean(b.logprobs) == pytest.approx(np.mean(a.logprobs), abs=1e-3)
    default = translate(load_translator("hf", model, **GREEDY), UNITS)
    assert not np.allclose(default[0].attention, reference[0].attention, atol=1e-3)  # the option is used


@pytest.mark.parametrize(
    ("family", "tokenizer_class"), [("nllb", "NllbTokenizer"), ("m2m100", "M2M100Tokenizer")]
)
@pytest.mark.slow
def test_random_model_command_writes_a_loadable_model_of_the_family(
    family, tokenizer_class, tmp_path, capsys
):
    from safetensors.numpy import load_file
    from transformers import AutoConfig, AutoTokenizer

    from pipeline.cli import main

    for name in ("a", "b"):
        assert main(["random-model", "--family", family, "--seed", "3", str(tmp_path / name)]) == 0
    assert f"tiny {family} model" in capsys.readouterr().out
    config = AutoConfig.from_pretrained(tmp_path / "a")
    assert (config.model_type, config.decoder_start_token_id, config.max_position_embeddings) == (
        "m2m_100",
        2,
        1024,
    )
    tokenizer = AutoTokenizer.from_pretrained(tmp_path / "a")
    assert type(tokenizer).__name__ == tokenizer_class
    assert (
        tokenizer.convert_tokens_to_ids(language_token(family, FAMILIES[family].target_lang))
        < config.vocab_size
    )
    first, second = (
        load_file(tmp_path / "a" / "model.safetensors"),
        load_file(tmp_path / "b" / "model.safetensors"),
    )
    assert all(np.array_equal(first[key], second[key]) for key in first)  # the seed fixes the weights
