"""MarianMT (and other seq2seq models) through Hugging Face transformers.

Generation runs in length-sorted batches. A second, teacher-forced pass over the chosen output gives
the token log-probabilities and the alignment head's cross-attention: Marian trains one head of the
last decoder layer with guided alignment, so that head says which source word each English token
came from. Attention is aggregated from source tokens to source words here, so the aligner never
sees tokenisation.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import numpy as np
import torch

from pipeline.errors import ModelNotAvailable
from pipeline.records import Translation

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_MODEL = "Helsinki-NLP/opus-mt-ar-en"


@dataclass(frozen=True)
class DecodingOptions:
    beam: int | None = None  # None: the model's generation config (4 for opus-mt)
    batch_size: int = 16
    device: str = "auto"  # auto | cpu | cuda
    max_new_tokens: int | None = None  # None: about twice the source length plus 16 (see length_cap)
    alignment_layer: int = -1  # the decoder layer and head trained with guided alignment
    alignment_head: int = 0
    score_batch_size: int = 4  # the scoring pass holds batch x length x vocabulary logits


def resolve_device(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but PyTorch sees no CUDA device")
    return device


@dataclass(frozen=True)
class Encoded:
    """A unit's source ids (ending with EOS); for each id before EOS, the word it came from."""

    ids: list[int]
    word_of: list[int]
    n_words: int  # words with no tokens (empty model input) still get an attention column


class HFTranslator:
    def __init__(self, model_name: str, options: DecodingOptions = DecodingOptions()):
        tokenizer, model = load(model_name)
        self.name = model_name
        self.options = options
        self.device = resolve_device(options.device)
        self.tokenizer = tokenizer
        self.model = model.to(self.device).eval()
        config = model.generation_config
        self.beam = options.beam or config.num_beams or 1
        self.max_positions = getattr(model.config, "max_position_embeddings", 512)
        self._word_ids: dict[str, list[int]] = {}

    def count_tokens(self, text: str) -> int:
        return len(self._ids(text))

    def _ids(self, word: str) -> list[int]:
        ids = self._word_ids.get(word)
        if ids is None:
            ids = self.tokenizer.convert_tokens_to_ids(self.tokenizer.tokenize(word)) if word else []
            self._word_ids[word] = ids
        return ids

    def translate(
        self, units: Sequence[Sequence[str]], progress: Callable[[int], None] | None = None
    ) -> list[Translation]:
        encoded = [self._encode(words) for words in units]
        caps = [self.length_cap(len(unit.ids)) for unit in encoded]
        longest_first = sorted(range(len(units)), key=lambda i: -len(encoded[i].ids))
        results: dict[int, Translation] = {}
        for batch in _batches(longest_first, caps, self.options.batch_size):
            translations = self._translate_batch([encoded[i] for i in batch], caps[batch[0]])
            results.update(zip(batch, translations, strict=True))
            if progress is not None:
                progress(len(batch))
        return [results[i] for i in range(len(units))]

    def length_cap(self, source_length: int) -> int:
        """New tokens allowed for a source of this many tokens: a function of the unit alone (rounded
        up to a multiple of 8 so that batches can share it), never of what else is in its batch."""
        if self.options.max_new_tokens is not None:
            return self.options.max_new_tokens
        return min(self.max_positions - 1, 2 * (-(-source_length // 8) * 8) + 16)

    def _encode(self, words: Sequence[str]) -> Encoded:
        ids: list[int] = []
        word_of: list[int] = []
        for index, word in enumerate(words):
            word_ids = self._ids(word)
            ids.extend(word_ids)
            word_of.extend([index] * len(word_ids))
        budget = self.max_positions - 1
        return Encoded([*ids[:budget], self.tokenizer.eos_token_id], word_of[:budget], len(words))

    @torch.inference_mode()
    def _translate_batch(self, batch: list[Encoded], cap: int) -> list[Translation]:
        input_ids, attention_mask = self._pad([unit.ids for unit in batch])
        sequences = self.model.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            num_beams=self.beam,
            max_new_tokens=cap,
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
        targets = sequences[:, 1:]
        logprobs = (
            torch.log_softmax(output.logits.float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        )
        heads = output.cross_attentions[self.options.alignment_layer][:, self.options.alignment_head].float()
        eos = self.tokenizer.eos_token_id
        translations = []
        for row, unit in enumerate(batch):
            target = targets[row].tolist()
            length = target.index(eos) if eos in target else len(target)
            translations.append(
                Translation(
                    tokens=tuple(self.tokenizer.convert_ids_to_tokens(target[:length])),
                    logprobs=tuple(logprobs[row, :length].tolist()),
                    attention=_word_attention(
                        heads[row, :length, : len(unit.word_of)].cpu().numpy(), unit.word_of, unit.n_words
                    ),
                    truncated=length + 1 >= cap,
                )
            )
        return translations


def _batches(order: list[int], caps: list[int], size: int) -> list[list[int]]:
    """Consecutive runs of `order` with the same length cap, at most `size` long."""
    batches: list[list[int]] = []
    for index in order:
        if batches and len(batches[-1]) < size and caps[batches[-1][0]] == caps[index]:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def _word_attention(
    token_attention: np.ndarray, word_of: list[int], n_words: int
) -> tuple[tuple[float, ...], ...] | None:
    """[target, source token] -> [target, source word], each row renormalised without EOS and padding."""
    if not word_of:
        return None
    by_word = np.zeros((token_attention.shape[1], n_words))
    by_word[np.arange(len(word_of)), word_of] = 1.0
    mass = token_attention @ by_word
    totals = mass.sum(axis=1, keepdims=True)
    mass = np.where(totals > 0, mass / np.where(totals > 0, totals, 1), 1.0 / n_words)
    return tuple(tuple(row) for row in mass.tolist())


def load(model_name: str) -> tuple[PreTrainedTokenizerBase, PreTrainedModel]:
    """Tokenizer and model from a local folder or the hub cache; never runs remote code.

    The hub is asked only when the model is not cached and the hub answers, so an offline machine
    gets an explanation at once instead of a minute of retries and a stack trace.
    """
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    local = Path(model_name).expanduser()
    is_folder = local.is_dir()
    source = str(local) if is_folder else model_name
    attempts = (True,) if is_folder else (True, False)
    last_error: Exception | None = None
    for local_only in attempts:
        if not local_only and not _hub_reachable():
            break
        try:
            kwargs = {"trust_remote_code": False, "local_files_only": local_only}
            tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
            model = AutoModelForSeq2SeqLM.from_pretrained(source, attn_implementation="eager", **kwargs)
            return tokenizer, model
        except (OSError, ValueError) as error:  # ValueError: a folder without tokenizer files
            last_error = error
    raise ModelNotAvailable(_missing_model_message(model_name, is_folder, last_error))


def _hub_reachable(timeout: float = 5.0) -> bool:
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
