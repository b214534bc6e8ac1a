"""Translation and alignment as two roles: the English is teacher-forced through an aligner model whose
attention gives the spans and word links. Identity first: with the translator as its own aligner, the
forced pass reproduces the generation's attention."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from pipeline.align import english_words
from pipeline.aligner import AlignedTranslator, load_translator, spread_logprobs
from pipeline.backends import translate_units
from pipeline.cli import main
from pipeline.errors import ModelNotAvailable
from pipeline.models import DEFAULT_ALIGNER, presets, resolve_aligner, resolve_model
from pipeline.settings import DecodingOptions, Placement
from tests.conftest import DATA

UNITS = [
    ("لقد", "إعتدنا", "للغاية", "علي", "استخدام", "الإنترنت."),
    ("مرحبا", "", "بكم"),
    ("نعم.",),
    tuple((DATA / "tatoeba" / "ar.txt").read_text(encoding="utf-8").splitlines()[7].split()),
]


def outputs(out: Path) -> dict[Path, bytes]:
    """Every output file but the manifest, which records the aligner."""
    return {
        p.relative_to(out): p.read_bytes()
        for p in sorted(out.glob("*/*"))
        if not p.name.endswith(".meta.json")
    }


def both(backend: str, model: Path, aligner: Path, **placement: str) -> tuple[list, list]:
    """The translations as the translator aligns them itself, and as `aligner` aligns them."""
    resolved = resolve_model(str(model))
    decoding = DecodingOptions(beam=1, max_new_tokens=12)
    where = Placement(device="cpu", **placement)  # type: ignore[arg-type]
    alone = load_translator(backend, resolved, decoding, where, "self")
    aligned = load_translator(backend, resolved, decoding, where, resolve_model(str(aligner)))
    assert isinstance(aligned, AlignedTranslator)
    return translate_units(alone, UNITS), translate_units(aligned, UNITS)


@pytest.mark.parametrize(("backend", "placement"), [("hf", {}), ("ct2", {"compute_type": "float32"})])
def test_the_translator_as_its_own_aligner_reproduces_its_generation_attention(
    backend, placement, tiny_model, tmp_path
):
    same = tmp_path / "same-model"
    shutil.copytree(tiny_model, same)  # another folder: the aligner is loaded on its own
    alone, aligned = both(backend, tiny_model, same, **placement)
    for a, b in zip(alone, aligned, strict=True):
        assert a.tokens == b.tokens and a.logprobs == b.logprobs and a.truncated == b.truncated
        assert a.attention is not None and b.attention is not None
        assert np.abs(a.attention - b.attention).max() < 1e-4


@pytest.mark.slow
def test_self_and_the_same_model_as_aligner_give_identical_outputs(tiny_model, tmp_path):
    def command(out: str) -> list[str]:
        return [
            "translate",
            str(DATA / "tor_animation" / "Tor_animation.ar.srt"),
            "--model",
            str(tiny_model),
            "--backend",
            "hf",
            "--out",
            out,
        ]

    assert main(command(str(tmp_path / "a"))) == 0
    assert main([*command(str(tmp_path / "b")), "--aligner", str(tiny_model)]) == 0
    first, second = outputs(tmp_path / "a"), outputs(tmp_path / "b")
    assert first and first == second  # the manifests alone differ: each says which aligner it had


@pytest.mark.parametrize("backend", ["hf", "ct2"])
def test_another_model_aligns_the_same_english_with_its_own_attention(backend, tiny_model, tiny_aligner):
    alone, aligned = both(backend, tiny_model, tiny_aligner)
    for words, a, b in zip(UNITS, alone, aligned, strict=True):
        assert [w.text for w in english_words(a.tokens)] == [w.text for w in english_words(b.tokens)]
        assert b.attention is not None and b.attention.shape == (len(b.tokens), len(words))
        assert np.allclose(b.attention.sum(axis=1), 1.0)
        # The translator's confidence: each word keeps its log-probability, spread over the aligner's pieces.
        assert np.mean(b.logprobs) == pytest.approx(np.mean(a.logprobs), rel=0.05)
    assert any(
        a.attention.shape != b.attention.shape or not np.allclose(a.attention, b.attention)
        for a, b in zip(alone, aligned, strict=True)
    )


def test_english_in_another_vocabulary_is_re_tokenised_and_keeps_each_words_log_probability():
    tokens = ("▁Hel", "lo", "▁world", ".")
    assert spread_logprobs(tokens, (-1.0, -3.0, -0.5, -0.5), ("▁Hello", "▁wor", "ld", ".")) == (
        -2.0,
        -0.5,
        -0.5,
        -0.5,
    )
    assert spread_logprobs(tokens, (-1.0, -3.0, -0.5, -0.5), ("▁Hello", "▁world", "▁.")) == (-1.25,) * 3


@pytest.mark.slow
def test_a_run_aligned_by_another_model_keeps_every_output_and_the_invariant(
    tiny_model, tiny_aligner, tmp_path
):
    source = DATA / "tor_animation" / "Tor_animation.ar.srt"
    out = tmp_path / "out"
    command = ["translate", str(source), "--model", str(tiny_model), "--out", str(out), "--beam", "2"]
    assert main(command) == 0
    own = (out / "Tor_animation.ar" / "Tor_animation.ar.aligned.jsonl").read_text(encoding="utf-8")
    assert main([*command, "--aligner", str(tiny_aligner)]) == 0
    folder = out / "Tor_animation.ar"
    assert sorted(p.suffix for p in folder.iterdir()) == [".html", ".json", ".jsonl", ".srt", ".tsv", ".vtt"]
    made_by = json.loads((folder / "Tor_animation.ar.meta.json").read_text(encoding="utf-8"))
    assert made_by["signature"]["aligner"] != made_by["signature"]["translator"]  # both identities kept
    rows = [
        json.loads(line)
        for line in (folder / "Tor_animation.ar.aligned.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [row["en"] for row in rows] == [json.loads(line)["en"] for line in own.splitlines()]
    assert any(row["links"] for row in rows)
    assert (folder / "Tor_animation.ar.aligned.jsonl").read_text(encoding="utf-8") != own  # other links


@pytest.mark.slow
def test_a_change_of_aligner_aligns_again_rather_than_reading_the_cache(
    tiny_model, tiny_aligner, tmp_path, capsys
):
    source = DATA / "tor_animation" / "Tor_animation.ar.srt"
    command = ["translate", str(source), "--model", str(tiny_model), "--out", str(tmp_path), "--beam", "1"]
    assert main(command) == 0
    capsys.readouterr()
    assert main([*command, "--aligner", str(tiny_aligner)]) == 0
    assert "came from the translation cache" not in capsys.readouterr().out
    assert main([*command, "--aligner", str(tiny_aligner)]) == 0
    assert "came from the translation cache" in capsys.readouterr().out


def test_aligner_none_gives_spans_by_length_and_no_word_links(tiny_model, tmp_path):
    source = DATA / "tor_animation" / "Tor_animation.ar.srt"
    command = ["translate", str(source), "--model", str(tiny_model), "--out", str(tmp_path), "--beam", "1"]
    assert main([*command, "--aligner", "none", "--formats", "jsonl"]) == 0
    rows = (tmp_path / "Tor_animation.ar" / "Tor_animation.ar.aligned.jsonl").read_text(encoding="utf-8")
    assert all(json.loads(line)["links"] == [] for line in rows.splitlines())


def test_presets_say_whose_attention_is_trained_and_untrained_ones_get_the_default_aligner(
    monkeypatch, tiny_model
):
    monkeypatch.delenv("ARABIC_PIPELINE_MODELS", raising=False)
    roles = {name: preset.alignment for name, preset in presets().items()}
    assert roles == {
        "opus-mt-ar-en": "trained",
        "opus-mt-tc-big-ar-en": "untrained",
        "nllb-200-distilled-600M": "untrained",
        "m2m100_418M": "untrained",
    }
    folder = resolve_model(str(tiny_model))
    assert folder.alignment is None and resolve_aligner(None, folder) == "self"
    assert resolve_aligner("none", folder) == "none"
    untrained = folder.__class__(**{**vars(folder), "alignment": "untrained", "label": "org/big"})
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    with pytest.raises(
        ModelNotAvailable, match=f"org/big is aligned by {DEFAULT_ALIGNER}, which is not available"
    ):
        resolve_aligner(None, untrained)


@pytest.mark.parametrize("backend", ["hf", "ct2"])
def test_english_longer_than_the_aligner_takes_keeps_no_attention_instead_of_failing(
    backend, tiny_model, tiny_aligner
):
    """Degenerate English (a random model's, or a 1,024-position translator's) can outgrow a 512-position
    aligner: that unit gets spans by length and no links; the run goes on."""
    small = replace(resolve_model(str(tiny_aligner)), max_positions=6)
    decoding = DecodingOptions(beam=1, max_new_tokens=12)
    aligned = load_translator(
        backend, resolve_model(str(tiny_model)), decoding, Placement(device="cpu"), small
    )
    for translation in translate_units(aligned, UNITS):
        if len(translation.tokens) > 5:
            assert translation.attention is None
        else:
            assert translation.attention is not None
