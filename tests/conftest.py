from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.backends.hf import HFTranslator
from pipeline.tools.random_model import write_random_model
from tests.helpers import load_translator

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A MarianMT model with random weights, the real opus-mt-ar-en tokenizer and small layers."""
    return write_random_model(tmp_path_factory.mktemp("models") / "tiny", "tiny")


@pytest.fixture(scope="session")
def tiny_aligner(tmp_path_factory) -> Path:
    """Another tiny MarianMT model (other random weights, the same tokenizer): an aligner that is not
    the translator."""
    return write_random_model(tmp_path_factory.mktemp("models") / "tiny-aligner", "tiny", seed=1)


@pytest.fixture(scope="session")
def tiny_model_of(tmp_path_factory, tiny_model):
    """family -> a tiny random model of that family (nllb and m2m100 carry a freshly trained
    SentencePiece model and their real tokenizer class), each built once per session."""
    built = {"marian": tiny_model}

    def build(family: str) -> Path:
        if family not in built:
            built[family] = write_random_model(
                tmp_path_factory.mktemp("models") / family, "tiny", family=family
            )
        return built[family]

    return build


@pytest.fixture(scope="session")
def tiny_translator(tiny_model) -> HFTranslator:
    translator = load_translator("hf", tiny_model)
    assert isinstance(translator, HFTranslator)
    return translator


@pytest.fixture(autouse=True, scope="session")
def conversion_cache_in_a_temporary_folder(tmp_path_factory):
    """CTranslate2 conversions go to a per-run folder, never the user's cache."""
    import os

    os.environ["ARABIC_PIPELINE_CACHE"] = str(tmp_path_factory.mktemp("ct2-cache"))
