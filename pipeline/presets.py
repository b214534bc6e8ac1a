"""Model presets: one small TOML file per model in the repository's `models/` folder.

`--model` takes a preset name, a hub id or a local folder. A preset names the hub id and gives the
family and language codes, the decoding defaults and the alignment layer and heads.
`models/<preset>/` holding downloaded weights is used instead of the hub cache when present.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

from pipeline.errors import InputError

DEFAULT_PRESET = "opus-mt-ar-en"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


@dataclass(frozen=True)
class Preset:
    name: str
    model: str  # hub id
    family: str = "marian"  # see pipeline.families
    source_lang: str = ""  # language codes for multilingual families; "" for the family's defaults
    target_lang: str = ""
    max_positions: int = 512
    beam: int = 4
    alignment_layer: int = -1
    alignment_heads: int = 1  # averaged from the layer's first head on
    download_mb: int = 0


def models_folder() -> Path:
    """$ARABIC_PIPELINE_MODELS, else the repository's models/ folder."""
    configured = os.environ.get("ARABIC_PIPELINE_MODELS")
    return Path(configured) if configured else Path(__file__).resolve().parent.parent / "models"


def presets() -> dict[str, Preset]:
    found = {}
    for path in sorted(models_folder().glob("*.toml")):
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise InputError(str(path), f"invalid preset: {error}") from None
        known = {field.name for field in fields(Preset)} - {"name"}
        unknown = set(values) - known
        if unknown or "model" not in values:
            raise InputError(str(path), f"a preset needs 'model' and takes only {', '.join(sorted(known))}")
        found[path.stem] = Preset(name=path.stem, **values)
    return found


def has_weights(folder: Path) -> bool:
    return folder.is_dir() and any((folder / name).exists() for name in WEIGHT_FILES)


def model_fingerprint(folder: Path) -> str:
    """A hash of every file that makes the model what it is (configuration, weights, tokenizer): the
    model's identity for converted copies and cached translations, whatever its name or path."""
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and not path.name.startswith(".") and path.suffix != ".md":
            digest.update(f"{path.name}\0".encode())
            with path.open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def cached_folder(hub_id: str) -> Path | None:
    """The hub cache's snapshot folder of `hub_id`, if it holds weights."""
    from huggingface_hub import try_to_load_from_cache

    config = try_to_load_from_cache(hub_id, "config.json")
    if isinstance(config, str) and has_weights(Path(config).parent):
        return Path(config).parent
    return None


@dataclass(frozen=True)
class ModelChoice:
    """What --model resolved to: where to load from, and the preset's defaults if it named one."""

    source: str  # a local folder or a hub id
    preset: Preset | None


def resolve(name: str) -> ModelChoice:
    known = presets()
    if name in known:
        local = models_folder() / name
        return ModelChoice(str(local) if has_weights(local) else known[name].model, known[name])
    by_hub_id = next((preset for preset in known.values() if preset.model == name), None)
    return ModelChoice(name, by_hub_id)


def where(preset: Preset) -> str:
    """Where a preset's weights are on this machine, if anywhere."""
    local = models_folder() / preset.name
    if has_weights(local):
        return str(local)
    cached = cached_folder(preset.model)
    return f"hub cache ({cached})" if cached else ""


def download(preset: Preset) -> Path:
    """Fetch a preset's config, tokenizer and weights (safetensors when the repository has them) into
    models/<preset>/, with the hub client's progress bars."""
    from huggingface_hub import list_repo_files, snapshot_download

    files = set(list_repo_files(preset.model))
    weights = next((name for name in WEIGHT_FILES if name in files), None)
    if weights is None:
        raise InputError(preset.model, f"the repository has none of {', '.join(WEIGHT_FILES)}")
    target = models_folder() / preset.name
    patterns = ["*.json", "*.spm", "*.model", "*.txt", weights]
    snapshot_download(preset.model, local_dir=target, allow_patterns=patterns)
    return target
