"""MarianMT models with random weights and the real opus-mt-ar-en tokenizer and configuration.

No registry ships the real weights and tests never download, so tests, benchmarks and offline demos
use these: `full` has the real architecture (so speed measured on it holds for the real weights at
equal output lengths), `tiny` keeps the real tokenizer and vocabulary with small layers.
"""

from __future__ import annotations

import shutil
from importlib.resources import as_file, files
from pathlib import Path

SIZES: dict[str, dict[str, int]] = {
    "full": {},
    "tiny": {
        "d_model": 32,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "encoder_attention_heads": 2,
        "decoder_attention_heads": 2,
        "encoder_ffn_dim": 64,
        "decoder_ffn_dim": 64,
    },
}
_TOKENIZER_FILES = ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json", "NOTICE")


def write_random_model(folder: Path, size: str, seed: int = 0) -> Path:
    import torch
    from transformers import MarianConfig, MarianMTModel

    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    with as_file(files("pipeline") / "assets" / "opus-mt-ar-en") as assets:
        config = MarianConfig.from_pretrained(assets, **SIZES[size])
        torch.manual_seed(seed)
        model = MarianMTModel(config)
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        for name in (*_TOKENIZER_FILES, "generation_config.json"):  # the real decoding defaults too
            shutil.copyfile(assets / name, folder / name)
    return folder
