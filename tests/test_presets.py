from __future__ import annotations

import shutil
import sys

import pytest

from pipeline.cli import main
from pipeline.errors import InputError
from pipeline.presets import presets, resolve


@pytest.fixture
def models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "house.toml").write_text(
        'model = "org/house-ar-en"\nfamily = "marian"\nbeam = 2\nalignment_layer = 4\nalignment_heads = 3\n'
    )
    monkeypatch.setenv("ARABIC_PIPELINE_MODELS", str(folder))
    return folder


def test_the_repository_presets_parse_and_the_default_is_opus_mt(monkeypatch):
    monkeypatch.delenv("ARABIC_PIPELINE_MODELS", raising=False)
    known = presets()
    assert known["opus-mt-ar-en"].model == "Helsinki-NLP/opus-mt-ar-en"
    assert known["opus-mt-tc-big-ar-en"].model == "Helsinki-NLP/opus-mt-tc-big-ar-en"
    assert {p.family for p in known.values()} == {"marian", "nllb", "m2m100"}
    assert resolve("Helsinki-NLP/opus-mt-ar-en").preset == known["opus-mt-ar-en"]


def test_model_names_resolve_to_preset_hub_id_folder_or_downloaded_preset(models, tiny_model):
    assert (resolve("house").source, resolve("house").preset.beam) == ("org/house-ar-en", 2)
    assert resolve("org/other").source == "org/other" and resolve("org/other").preset is None
    assert resolve(str(tiny_model)).source == str(tiny_model)
    shutil.copytree(tiny_model, models / "house")  # downloaded weights next to the preset win
    assert resolve("house").source == str(models / "house")


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
    (_, source, preset), (_, _, flagged) = seen
    assert source == str(models / "house")
    assert (preset.family, preset.source_lang, preset.target_lang) == ("nllb", "arb_Arab", "eng_Latn")
    assert (preset.beam, preset.max_positions, preset.alignment_layer, preset.alignment_heads) == (
        1,
        256,
        -2,
        16,
    )
    assert (flagged.source_lang, flagged.beam, flagged.target_lang) == ("arz_Arab", 3, "eng_Latn")
    assert (preset.workers, flagged.workers) == (None, 2)


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
