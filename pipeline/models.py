"""Which model, where its files are, and what it is: the one place that answers.

`--model` (and, later, an aligner) is a preset name, a hub id or a local folder. `resolve_model` turns
it into one `ResolvedModel`: the folder holding the files, their fingerprint, the family and language
codes, the positions the model takes, its alignment layer and heads and its default beam. Every
backend, the translation cache and the Ray actors use that value; none of them looks at the name again.

Presets are small TOML files in the repository's `models/` folder (`$ARABIC_PIPELINE_MODELS`);
`models/<preset>/` holding downloaded weights wins over the hub cache. Nothing here imports torch: the
CTranslate2 path needs only the tokenizer. Loading never runs code shipped with a model.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pipeline.errors import InputError, ModelNotAvailable
from pipeline.families import FAMILIES, FAMILY_OF_MODEL_TYPE, FAMILY_OF_TOKENIZER

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# The best English that meets the speed goal: tc-big translates (FLORES-101 ar->en BLEU 42.6 against 33.9)
# and DEFAULT_ALIGNER aligns it. The hour-long benchmark interview, full-size random models of both, on 2
# CPU cores: 48.0 s at beam 4 and 25.7 s greedy end to end, under the 75 s and 30 s set (BENCHMARKS.md).
DEFAULT_PRESET = "opus-mt-tc-big-ar-en"
# The aligner of translators whose attention was not trained for alignment: OPUS-MT's transformer-align
# models train one head of the last decoder layer with guided alignment (Marian's --guided-alignment).
DEFAULT_ALIGNER = "opus-mt-ar-en"
ALIGNMENT_ROLES = ("trained", "untrained")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
# What a download fetches besides one weights file: configuration and tokenizer, never code.
DOWNLOAD_PATTERNS = ("*.json", "*.spm", "*.model", "*.txt")


@dataclass(frozen=True)
class Preset:
    """One `models/<name>.toml`. Unset values are the model's own (its configuration files)."""

    name: str
    model: str  # hub id
    family: str | None = None  # see pipeline.families; None: recognised from the model's files
    source_lang: str | None = None  # language codes of multilingual families; None: the family's
    target_lang: str | None = None
    max_positions: int | None = None  # None: the configuration's max_position_embeddings
    beam: int | None = None  # None: the model's generation_config.json
    alignment_layer: int = -1  # the decoder layer whose cross-attention aligns...
    alignment_heads: int = 1  # ...averaged over its first N heads
    # "trained": that attention was trained for alignment, so the model aligns its own English;
    # "untrained": its English is aligned by DEFAULT_ALIGNER. None (a folder or hub id without a
    # preset): not stated, so its own attention is used unless --aligner names another model.
    alignment: str | None = None
    download_mb: int = 0


@dataclass(frozen=True)
class ResolvedModel:
    """What a model is, resolved once. Fields marked `identity=False` say where or how it is named;
    every other field decides its translations, so the translation cache's key is built from them
    (see `identity`), and a new field here can never be left out of it."""

    label: str = field(metadata={"identity": False})  # what the user asked for, as outputs show it
    folder: Path = field(metadata={"identity": False})  # config, tokenizer and weights (absolute)
    fingerprint: str  # a hash of every file of the model: its identity whatever its path
    family: str  # marian | nllb | m2m100
    source_lang: str  # language codes ("" for one-direction families)
    target_lang: str
    max_positions: int  # source tokens the model takes, its end token included
    alignment_layer: int
    alignment_heads: int
    beam: int = field(metadata={"identity": False})  # the default; the chosen beam is a decoding option
    alignment: str | None = field(default=None, metadata={"identity": False})  # see Preset.alignment

    def identity(self) -> dict[str, object]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("identity", True)}

    def load_tokenizer(self) -> PreTrainedTokenizerBase:
        """The model's tokenizer, by its family's class: AutoTokenizer would import torch (through
        transformers' configuration code), and a named class never runs code shipped with a model."""
        import transformers

        tokenizer_class = getattr(transformers, FAMILIES[self.family].tokenizer)
        return _loaded(self.folder, tokenizer_class.from_pretrained)

    def load_torch_model(self) -> PreTrainedModel:
        """The PyTorch model, for the transformers backend. Eager attention: as fast as SDPA on CPU
        here, and the only kind that returns attention weights. A folder with safetensors weights is
        loaded from them only: a pickle beside them is never opened."""
        from transformers import AutoModelForSeq2SeqLM

        safetensors_only = (self.folder / "model.safetensors").is_file() or None
        return _loaded(
            self.folder,
            lambda folder, **kwargs: AutoModelForSeq2SeqLM.from_pretrained(
                folder,
                attn_implementation="eager",
                use_safetensors=safetensors_only,
                trust_remote_code=False,
                **kwargs,
            ),
        )


def _loaded(folder: Path, loader: Callable[..., Any]) -> Any:
    try:
        return loader(str(folder), local_files_only=True)
    except (OSError, ValueError) as error:  # ValueError: a folder without tokenizer files
        raise ModelNotAvailable(_unusable_folder_message(str(folder), error)) from None


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
        known = {f.name for f in fields(Preset)} - {"name"}
        unknown = set(values) - known
        if unknown or "model" not in values:
            raise InputError(str(path), f"a preset needs 'model' and takes only {', '.join(sorted(known))}")
        if values.get("alignment", "trained") not in ALIGNMENT_ROLES:
            raise InputError(str(path), f"alignment is one of {', '.join(ALIGNMENT_ROLES)}")
        found[path.stem] = Preset(name=path.stem, **values)
    return found


def resolve_model(name: str, source_lang: str | None = None) -> ResolvedModel:
    """A preset name, hub id or folder -> the resolved model; `source_lang` overrides the preset's
    source language (dialect codes for NLLB). Fetches from the hub when the model is not on this
    machine and the hub answers; otherwise ModelNotAvailable says where it looked and how to fix it."""
    known = presets()
    # By name, by hub id, or as its own folder models/<preset>/ named as a path (which keeps its settings).
    as_path = Path(name).expanduser().resolve()
    preset = known.get(name) or next(
        (p for p in known.values() if name == p.model or as_path == (models_folder() / p.name).resolve()),
        None,
    )
    folder, label = _folder_of(name, preset)
    chosen = preset or Preset(name=name, model=name)  # no preset: the Preset defaults, the model's own files
    config = _json(folder / "config.json")
    family = chosen.family or _family_of_files(folder, config)
    if family not in FAMILIES:
        raise ModelNotAvailable(f"unknown model family {family!r}; known: {', '.join(FAMILIES)}")
    configured_positions = int(config.get("max_position_embeddings", 512))
    generation = _json(folder / "generation_config.json")
    return ResolvedModel(
        label=label,
        folder=folder.resolve(),
        fingerprint=model_fingerprint(folder),
        family=family,
        source_lang=source_lang or chosen.source_lang or FAMILIES[family].source_lang,
        target_lang=chosen.target_lang or FAMILIES[family].target_lang,
        max_positions=min(configured_positions, chosen.max_positions or configured_positions),
        alignment_layer=chosen.alignment_layer,
        alignment_heads=chosen.alignment_heads,
        beam=chosen.beam or int(generation.get("num_beams") or config.get("num_beams") or 1),
        alignment=chosen.alignment,
    )


def resolve_aligner(choice: str | None, translator: ResolvedModel) -> ResolvedModel | str:
    """The model whose attention aligns the translator's English, or "self" (the translator's own
    attention) or "none" (no attention: sentence spans by length, no word links). `choice` is
    --aligner; None means self for a translator whose attention is trained or not stated, and
    DEFAULT_ALIGNER for one whose attention is untrained."""
    if choice is None:
        choice = DEFAULT_ALIGNER if translator.alignment == "untrained" else "self"
    if choice in ("self", "none"):
        return choice
    try:
        aligner = resolve_model(choice)
    except ModelNotAvailable as error:
        raise ModelNotAvailable(
            f"{translator.label} is aligned by {choice}, which is not available either:\n{error}\n"
            f"(--aligner self uses {translator.label}'s own attention, untrained for alignment; "
            "--aligner none gives sentence spans by length and no word links)"
        ) from None
    return able_to_align(aligner, choice, f"{DEFAULT_ALIGNER}, self or none")


def able_to_align(aligner: ResolvedModel, choice: str, instead: str = DEFAULT_ALIGNER) -> ResolvedModel:
    """`aligner`, unless its preset says its attention was not trained for alignment: then a
    ModelNotAvailable that names what to use `instead`."""
    if aligner.alignment == "untrained":
        raise ModelNotAvailable(
            f"{choice} cannot align: its attention was not trained for alignment (its preset says so); "
            f"use --aligner {instead}"
        )
    return aligner


def _folder_of(name: str, preset: Preset | None) -> tuple[Path, str]:
    """(the folder with the model's files, the label outputs show): a folder as given; a preset's
    models/<name>/ when it holds weights; else the hub cache's copy, fetched first if need be."""
    local = Path(name).expanduser()
    if _looks_like_a_path(name) and not local.exists():
        raise ModelNotAvailable(
            f"No model folder {name}: nothing is there. A preset name "
            "(.venv/bin/python -m pipeline models list), a hub id such as Helsinki-NLP/opus-mt-ar-en, "
            "or an existing folder"
        )
    if local.is_dir():
        if not (local / "config.json").is_file() or not has_weights(local):
            raise ModelNotAvailable(_unusable_folder_message(name, "no config.json or weights file"))
        return local, name
    if preset is not None and has_weights(models_folder() / preset.name) and name == preset.name:
        return models_folder() / preset.name, str(models_folder() / preset.name)
    hub_id = preset.model if preset is not None else name
    cached = cached_folder(hub_id)
    if cached is None and hub_reachable():
        cached = fetch(hub_id)
    if cached is None:
        raise ModelNotAvailable(_missing_model_message(hub_id))
    return cached, hub_id


def _looks_like_a_path(name: str) -> bool:
    """A name the user meant as a folder: it starts like a path, or its first part is a folder here
    (models/typo), which a hub id never is."""
    if name.startswith((".", "/", "~")):
        return True
    first, slash, _ = name.partition("/")
    return bool(slash) and Path(first).is_dir()


def _family_of_files(folder: Path, config: dict[str, Any]) -> str:
    """The family from the tokenizer class the files name, else the configuration's model type."""
    tokenizer_class = _json(folder / "tokenizer_config.json").get("tokenizer_class") or config.get(
        "tokenizer_class"
    )
    if tokenizer_class in FAMILY_OF_TOKENIZER:
        return FAMILY_OF_TOKENIZER[tokenizer_class]
    return FAMILY_OF_MODEL_TYPE.get(config.get("model_type", ""), "marian")


def _json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        values = error
    if not isinstance(values, dict):
        problem = f"{path.name} is not a JSON object ({values})"
        raise ModelNotAvailable(_unusable_folder_message(str(path.parent), problem))
    return values


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


def fetch(hub_id: str, target: Path | None = None) -> Path:
    """Config, tokenizer and weights (safetensors when the repository has them), never code: into
    `target`, or the hub cache; with the hub client's progress bars."""
    from huggingface_hub import list_repo_files, snapshot_download

    files = set(list_repo_files(hub_id))
    weights = next((name for name in WEIGHT_FILES if name in files), None)
    if weights is None:
        raise InputError(hub_id, f"the repository has none of {', '.join(WEIGHT_FILES)}")
    patterns = [*DOWNLOAD_PATTERNS, weights]
    return Path(snapshot_download(hub_id, local_dir=target, allow_patterns=patterns))


def download(preset: Preset) -> Path:
    """A preset's files into models/<preset>/."""
    return fetch(preset.model, models_folder() / preset.name)


def where(preset: Preset) -> str:
    """Where a preset's weights are on this machine, if anywhere."""
    local = models_folder() / preset.name
    if has_weights(local):
        return str(local)
    cached = cached_folder(preset.model)
    return f"hub cache ({cached})" if cached else ""


def hub_reachable(timeout: float = 5.0) -> bool:
    """Whether asking the hub can work: an offline machine gets an explanation at once instead of a
    minute of retries and a stack trace."""
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    if any(os.environ.get(name) for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True  # the proxy decides; let the download try
    endpoint = urlparse(constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        with socket.create_connection((endpoint.hostname, port), timeout=timeout):
            return True
    except OSError:
        return False


def _unusable_folder_message(folder: str, error: object) -> str:
    return (
        f"No usable model in the folder {folder}: {error}\n"
        "It needs config.json, the tokenizer files and model.safetensors (or pytorch_model.bin).\n"
        f"For an offline test model: .venv/bin/python -m pipeline random-model --size tiny {folder}"
    )


def _missing_model_message(hub_id: str) -> str:
    from huggingface_hub import constants

    stem = hub_id.rstrip("/").split("/")[-1]
    preset = next((p for p in presets().values() if p.model == hub_id), None)
    aligner = presets().get(DEFAULT_ALIGNER)
    aligned_by = ""
    if preset is not None and preset.alignment == "untrained" and aligner is not None:
        aligned_by = (
            f"\n  Its English is aligned by {aligner.model}, which it needs too (get it the same way,"
            f" `hf download {aligner.model} --local-dir models/{DEFAULT_ALIGNER}`); with network,"
            f" `make models` fetches both ({preset.name} and {DEFAULT_ALIGNER}) into models/."
        )
    return (
        f"The model {hub_id!r} is not on this machine and the Hugging Face hub cannot be reached.\n"
        f"  Looked for: a folder named {hub_id!r} (none), and the hub cache {constants.HF_HUB_CACHE}\n"
        "  Fix one of:\n"
        f"    - run once with network access (`make translate` downloads {hub_id} into that cache);\n"
        f"    - on a machine with network: `hf download {hub_id} --local-dir models/{stem}`, copy\n"
        f"      the folder here and run `make translate MODEL=models/{stem}`;\n"
        "    - for an offline demo with random weights: `make random-model` (models/random-tiny), then\n"
        "      `make translate MODEL=models/random-tiny`." + aligned_by
    )
