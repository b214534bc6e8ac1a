"""MarianMT (and other seq2seq models) through Hugging Face transformers.

Generation runs in length-sorted batches. A second, teacher-forced pass over the chosen output gives
the token log-probabilities and the alignment head's cross-attention: Marian trains one head of the
last decoder layer with guided alignment, so that head says which source word each English token
came from. Attention is summed from source tokens to source words, so the aligner never sees
tokenisation.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import torch
import transformers

from pipeline.backends.common import (
    BatchedTranslator,
    DecodingOptions,
    Encoded,
    output_signature,
    resolve_device,
    source_and_target_tokens,
    word_attention,
)
from pipeline.errors import ModelNotAvailable
from pipeline.presets import cached_folder, model_fingerprint
from pipeline.records import Translation

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class HFTranslator(BatchedTranslator):
    def __init__(self, model_name: str, options: DecodingOptions = DecodingOptions()):
        tokenizer = load_tokenizer(model_name)
        model = load_model(model_name)
        self.name = model_name
        self.options = options
        self.device = resolve_device(options.device, torch.cuda.is_available())
        self.tokenizer = tokenizer
        self.model = model.to(self.device).eval()
        self.beam = options.beam or model.generation_config.num_beams or 1
        self.signature = output_signature(
            f"hf {transformers.__version__}", model_fingerprint(model_folder(model_name)), options, self.beam
        )
        positions = getattr(model.config, "max_position_embeddings", 512)
        self.encoder, self.target_prefix = source_and_target_tokens(tokenizer, positions, options)
        self._decoder_prefix = [
            model.config.decoder_start_token_id,
            *tokenizer.convert_tokens_to_ids(self.target_prefix),
        ]

    @torch.inference_mode()
    def _translate_batch(self, batch: list[Encoded], cap: int) -> list[Translation]:
        input_ids, attention_mask = self._pad([unit.ids for unit in batch])
        # Multilingual models start from [decoder start, target language]; Marian from its own start.
        decoder_input_ids = (
            torch.tensor([self._decoder_prefix] * len(batch), device=self.device)
            if self.target_prefix
            else None
        )
        sequences = self.model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            num_beams=self.beam,
            max_new_tokens=cap,
            forced_eos_token_id=self.tokenizer.eos_token_id,  # the cap counts the end token (Marian's own)
            min_new_tokens=self.options.min_new_tokens,
            max_length=None,  # the config's 512 would otherwise compete with max_new_tokens
        )
        translations = []
        step = self.options.score_batch_size
        for first in range(0, len(batch), step):
            rows = slice(first, first + step)
            translations.extend(
                self._score(input_ids[rows], attention_mask[rows], sequences[rows], batch[rows], cap)
            )
        return translations

    def _pad(self, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(row) for row in rows)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([row + [pad] * (width - len(row)) for row in rows], device=self.device)
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in rows], device=self.device)
        return ids, mask

    def _score(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        sequences: torch.Tensor,
        batch: list[Encoded],
        cap: int,
    ) -> list[Translation]:
        """Teacher-forced pass over the generated tokens: log-probabilities and alignment attention."""
        output = self.model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=sequences[:, :-1],
            output_attentions=True,
        )
        forced = len(self.target_prefix)  # the target-language token is not part of the translation
        targets = sequences[:, 1 + forced :]
        logits = output.logits[:, forced:].float()
        logprobs = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        layer = output.cross_attentions[self.options.alignment_layer][:, :, forced:]
        heads = layer[:, : self.options.alignment_heads].float().mean(dim=1)
        eos = self.tokenizer.eos_token_id
        translations = []
        for row, unit in enumerate(batch):
            target = targets[row].tolist()
            length = target.index(eos) if eos in target else len(target)
            translations.append(
                Translation(
                    tokens=tuple(self.tokenizer.convert_ids_to_tokens(target[:length])),
                    logprobs=tuple(logprobs[row, :length].tolist()),
                    attention=word_attention(heads[row, :length].cpu().numpy(), unit),
                    truncated=length + 1 >= cap,
                )
            )
        return translations


def model_folder(model_name: str) -> Path:
    """A local folder as given, or the hub cache's snapshot of a hub id (fetched first if need be)."""
    local = Path(model_name).expanduser()
    if local.is_dir():
        return local
    cached = cached_folder(model_name)
    if cached is None:
        load_model(model_name)  # downloads when the hub answers, else explains what to do
        cached = cached_folder(model_name)
    assert cached is not None
    return cached


def load_tokenizer(model_name: str) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    return _from_local_or_hub(model_name, AutoTokenizer.from_pretrained)


def load_model(model_name: str) -> PreTrainedModel:
    """Eager attention: as fast as SDPA on CPU here, and the only kind that returns attention weights.
    A folder with safetensors weights is loaded from them only: a pickle beside them is never opened."""
    from transformers import AutoModelForSeq2SeqLM

    safetensors_only = (Path(model_name).expanduser() / "model.safetensors").is_file() or None
    return _from_local_or_hub(
        model_name,
        lambda source, **kwargs: AutoModelForSeq2SeqLM.from_pretrained(
            source, attn_implementation="eager", use_safetensors=safetensors_only, **kwargs
        ),
    )


def _from_local_or_hub(model_name: str, loader: Callable[..., Any]) -> Any:
    """From a local folder or the hub cache; never runs remote code.

    The hub is asked only when the model is not cached and the hub answers, so an offline machine
    gets an explanation at once instead of a minute of retries and a stack trace.
    """
    local = Path(model_name).expanduser()
    is_folder = local.is_dir()
    source = str(local) if is_folder else model_name
    attempts = (True,) if is_folder else (True, False)
    last_error: Exception | None = None
    for local_only in attempts:
        if not local_only and not hub_reachable():
            break
        try:
            return loader(source, trust_remote_code=False, local_files_only=local_only)
        except (OSError, ValueError) as error:  # ValueError: a folder without tokenizer files
            last_error = error
    raise ModelNotAvailable(_missing_model_message(model_name, is_folder, last_error))


def hub_reachable(timeout: float = 5.0) -> bool:
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


def _missing_model_message(model_name: str, is_folder: bool, error: Exception | None) -> str:
    from huggingface_hub import constants

    if is_folder:
        return (
            f"No usable model in the folder {model_name}: {error}\n"
            "It needs config.json, the tokenizer files and model.safetensors (or pytorch_model.bin).\n"
            f"For an offline test model: python -m pipeline random-model --size tiny {model_name}"
        )
    stem = model_name.rstrip("/").split("/")[-1]
    return (
        f"The model {model_name!r} is not on this machine and the Hugging Face hub cannot be reached.\n"
        f"  Looked for: a folder named {model_name!r} (none), and the hub cache {constants.HF_HUB_CACHE}\n"
        "  Fix one of:\n"
        f"    - run once with network access (`make translate` downloads {model_name} into that cache);\n"
        f"    - on a machine with network: `hf download {model_name} --local-dir models/{stem}`, copy\n"
        f"      the folder here and run `make translate MODEL=models/{stem}`;\n"
        "    - for an offline demo with random weights: `python -m pipeline random-model --size tiny "
        "models/random-tiny` and `make translate MODEL=models/random-tiny`."
    )
