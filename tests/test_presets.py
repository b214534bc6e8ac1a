from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.errors import InputError, ModelNotAvailable
from pipeline.models import DEFAULT_ALIGNER, DEFAULT_PRESET, presets, resolve_model
from pipeline.settings import DecodingOptions, output_signature


@pytest.fixture
def models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "house.toml").write_text(
        'model = "org/house-ar-en"\nfamily = "marian"\nbeam = 2\nalignment_layer = 4\nalignment_heads = 3\n'
    )
    monkeypatch.setenv("ARABIC_PIPELINE_MODELS", str(folder))
    return folder


def test_the_repository_presets_parse_and_the_default_is_tc_big_aligned_by_opus_mt(monkeypatch):
    monkeypatch.delenv("ARABIC_PIPELINE_MODELS", raising=False)
    known = presets()
    assert (DEFAULT_PRESET, DEFAULT_ALIGNER) == ("opus-mt-tc-big-ar-en", "opus-mt-ar-en")
    assert (known[DEFAULT_PRESET].alignment, known[DEFAULT_ALIGNER].alignment) == ("untrained", "trained")
    assert known["opus-mt-ar-en"].model == "Helsinki-NLP/opus-mt-ar-en"
    assert known["opus-mt-tc-big-ar-en"].model == "Helsinki-NLP/opus-mt-tc-big-ar-en"
    assert {p.family for p in known.values()} == {"marian", "nllb", "m2m100"}


def hub_cache_holding(root: Path, hub_id: str, model: Path) -> Path:
    """A Hugging Face hub cache as `hf download` leaves it, with `model`'s files as hub_id's snapshot."""
    repo = root / f"models--{hub_id.replace('/', '--')}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123abcd")
    shutil.copytree(model, repo / "snapshots" / "0123abcd")
    return root


def test_model_names_resolve_to_preset_hub_id_folder_or_downloaded_preset(
    models, tiny_model, tmp_path, monkeypatch
):
    hub = hub_cache_holding(tmp_path / "hub", "org/house-ar-en", tiny_model)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(hub))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    by_preset = resolve_model("house")
    assert by_preset.label == "org/house-ar-en"
    assert by_preset.folder == (hub / "models--org--house-ar-en" / "snapshots" / "0123abcd").resolve()
    assert (by_preset.beam, by_preset.alignment_layer, by_preset.alignment_heads) == (2, 4, 3)
    assert resolve_model("org/house-ar-en") == by_preset  # the hub id finds its preset
    as_folder = resolve_model(str(tiny_model))  # no preset: the model's own files say
    assert (as_folder.label, as_folder.family, as_folder.beam, as_folder.max_positions) == (
        str(tiny_model),
        "marian",
        4,
        512,
    )
    assert (as_folder.alignment_layer, as_folder.alignment_heads) == (-1, 1)
    assert as_folder.fingerprint == by_preset.fingerprint  # the same files are the same model
    shutil.copytree(tiny_model, models / "house")  # downloaded weights next to the preset win
    assert resolve_model("house").label == str(models / "house")
    with pytest.raises(ModelNotAvailable, match="'org/other' is not on this machine"):
        resolve_model("org/other")


def test_the_cache_key_covers_every_field_that_changes_a_translation(tiny_model, tmp_path):
    """The key is derived from the values, not from a list kept by hand: a new decoding option, or a
    changed fact about the model, changes it; where the model lives and what it is called do not."""
    model = resolve_model(str(tiny_model))
    decoding = DecodingOptions(beam=4)
    key = output_signature("ct2", model, decoding)

    @dataclass(frozen=True)
    class WithANewOption(DecodingOptions):
        length_penalty: float = 1.0

    assert output_signature("ct2", model, WithANewOption(beam=4)) != key
    for change in ({"beam": 2}, {"max_new_tokens": 40}, {"min_new_tokens": 3}):
        assert output_signature("ct2", model, replace(decoding, **change)) != key
    for fact in fields(model):
        changed = replace(model, **{fact.name: _other(getattr(model, fact.name))})
        changes_key = output_signature("ct2", changed, decoding) != key
        assert changes_key == (fact.name not in ("label", "folder", "beam", "alignment")), fact.name
    shutil.copytree(tiny_model, tmp_path / "elsewhere")
    assert output_signature("ct2", resolve_model(str(tmp_path / "elsewhere")), decoding) == key
    assert output_signature("hf 5.24.0", model, decoding) != key


def _other(value: object) -> object:
    if value is None:
        return "trained"
    if isinstance(value, Path):
        return value / "other"
    if isinstance(value, str):
        return value + "x"
    assert isinstance(value, int)
    return value + 1


def test_a_preset_with_unknown_keys_is_refused_naming_the_file(models):
    (models / "bad.toml").write_text('model = "x"\nbeams = 4\n')
    with pytest.raises(InputError, match=r"bad\.toml: a preset needs 'model' and takes only"):
        presets()


def test_translate_takes_family_languages_and_alignment_from_the_preset_and_flags(
    models, tiny_model, tmp_path, monkeypatch
):
    shutil.copytree(tiny_model, models / "house")
    (models / "house.toml").write_text(
        'model = "org/house-ar-en"\nfamily = "nllb"\nsource_lang = "arb_Arab"\ntarget_lang = "eng_Latn"\n'
        "max_positions = 256\nbeam = 1\nalignment_layer = -2\nalignment_heads = 16\n"
    )
    seen = []
    monkeypatch.setattr("pipeline.engines.load_translator", lambda *call: seen.append(call) or sys.exit(0))
    (tmp_path / "a.txt").write_text("مرحبا\n", encoding="utf-8")
    for flags in ([], ["--source-lang", "arz_Arab", "--beam", "3", "--workers", "2"]):
        with pytest.raises(SystemExit):
            main(["translate", str(tmp_path / "a.txt"), "--model", "house", *flags])
    (_, preset, decoding, placement, aligner), (_, flagged, flagged_decoding, flagged_placement, _) = seen
    assert aligner == "self"  # the preset does not say its attention is untrained
    assert (preset.label, preset.folder) == (str(models / "house"), (models / "house").resolve())
    assert (preset.family, preset.source_lang, preset.target_lang) == ("nllb", "arb_Arab", "eng_Latn")
    assert (decoding.beam, preset.max_positions, preset.alignment_layer, preset.alignment_heads) == (
        1,
        256,
        -2,
        16,
    )
    assert (flagged.source_lang, flagged_decoding.beam, flagged.target_lang) == ("arz_Arab", 3, "eng_Latn")
    assert (placement.workers, flagged_placement.workers) == (None, 2)


def test_models_list_and_offline_download(models, tiny_model, capsys, monkeypatch):
    shutil.copytree(tiny_model, models / "house")
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert "house" in listing and str(models / "house") in listing
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    assert main(["models", "download", "house"]) == 2
    assert "cannot be reached" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["models", "download", "nope"])


def test_offline_the_default_translator_names_its_aligner_and_how_to_get_both(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ARABIC_PIPELINE_MODELS", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    (tmp_path / "a.txt").write_text("مرحبا\n", encoding="utf-8")
    assert main(["translate", str(tmp_path / "a.txt"), "--out", str(tmp_path / "out")]) == 2
    said = capsys.readouterr().err
    assert "'Helsinki-NLP/opus-mt-tc-big-ar-en' is not on this machine" in said
    assert "aligned by Helsinki-NLP/opus-mt-ar-en" in said and "--local-dir models/opus-mt-ar-en" in said
    assert "`make models` fetches both" in said and "Traceback" not in said


def test_a_preset_s_own_folder_named_as_a_path_keeps_the_preset(models, tiny_model):
    (models / "house.toml").write_text('model = "org/house-ar-en"\nbeam = 2\nalignment = "untrained"\n')
    shutil.copytree(tiny_model, models / "house")
    resolved = resolve_model(str(models / "house"))
    assert (resolved.beam, resolved.alignment) == (2, "untrained")  # not a bare folder aligning itself
