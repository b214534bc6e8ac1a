"""MarianMT (and other seq2seq models) through Hugging Face transformers.

Generation runs in length-sorted batches. A second, teacher-forced pass over the chosen output gives
the token log-probabilities and the alignment head's cross-attention: Marian trains one head of the
last decoder layer with guided alignment, so that head says which source word each English token
came from. Attention is summed from source tokens to source words, so the aligner never sees
tokenisation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

import torch
import transformers

from pipeline.backends.attention import word_attention
from pipeline.backends.planning import Batch, Encoded, Forced, make_planner
from pipeline.models import ResolvedModel
from pipeline.records import Translation
from pipeline.settings import DecodingOptions, Placement, output_signature, resolve_device


class HFTranslator:
    def __init__(self, model: ResolvedModel, decoding: DecodingOptions, placement: Placement = Placement()):
        tokenizer = model.load_tokenizer()
        network = model.load_torch_model()
        self.name = model.label
        self.model = model
        self.aligned_by: ResolvedModel | None = model
        self.decoding = decoding
        self.placement = placement
        self.device = resolve_device(placement.device, torch.cuda.is_available())
        self.tokenizer = tokenizer
        # transformers wraps PreTrainedModel.to in @wraps(torch.nn.Module.to): its type loses the bound self.
        self.network = network.to(self.device).eval()  # type: ignore[arg-type]
        self.signature = output_signature(f"hf {transformers.__version__}", model, decoding)
        self.planner = make_planner(model, tokenizer, decoding, placement)
        self.target_prefix = self.planner.target_prefix
        self._decoder_prefix = [
            network.config.decoder_start_token_id,
            *cast("list[int]", tokenizer.convert_tokens_to_ids(list(self.target_prefix))),
        ]

    def run(self, batches: Sequence[Batch]) -> Iterator[list[Translation]]:
        for batch in batches:
            yield self._translate_batch(list(batch.units), batch.cap)

    @torch.inference_mode()
    def _translate_batch(self, batch: list[Encoded], cap: int) -> list[Translation]:
        input_ids, attention_mask = self._pad([unit.ids for unit in batch])
        # Multilingual models start from [decoder start, target language]; Marian from its own start.
        decoder_input_ids = (
            torch.tensor([self._decoder_prefix] * len(batch), device=self.device)
            if self.target_prefix
            else None
        )
        sequences = self.network.generate(
            input_ids=input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=decoder_input_ids,
            num_beams=self.decoding.beam,
            max_new_tokens=cap,
            forced_eos_token_id=self.tokenizer.eos_token_id,  # the cap counts the end token (Marian's own)
            min_new_tokens=self.decoding.min_new_tokens,
            max_length=None,  # the config's 512 would otherwise compete with max_new_tokens
        )
        translations = []
        step = self.placement.score_batch_size
        for first in range(0, len(batch), step):
            rows = slice(first, first + step)
            translations.extend(
                self._score(input_ids[rows], attention_mask[rows], sequences[rows], batch[rows], cap)
            )
        return translations

    @torch.inference_mode()
    def force(
        self, units: Sequence[Encoded], targets: Sequence[Sequence[str]], scores: bool = False
    ) -> list[Forced]:
        """The alignment attention (and each token's log-probability) of given English tokens,
        teacher-forced (one forward pass, no search): the same pass that scores the model's own output,
        so its own tokens give its own attention. The pass has the log-probabilities anyway, so
        `scores` costs nothing here."""
        input_ids, attention_mask = self._pad([unit.ids for unit in units])
        eos = self.tokenizer.eos_token_id
        rows = [[*self._decoder_prefix, *self._ids(t), eos] for t in targets]
        sequences, _ = self._pad(rows)
        cap = sequences.shape[1] + 1
        results: list[Forced] = []
        step = self.placement.score_batch_size
        for first in range(0, len(units), step):
            rows_of = slice(first, first + step)
            scored = self._score(
                input_ids[rows_of], attention_mask[rows_of], sequences[rows_of], list(units[rows_of]), cap
            )
            results.extend(
                Forced(t.attention if target else None, t.logprobs[: len(target)])
                for t, target in zip(scored, targets[rows_of], strict=True)
            )
        return results

    def _ids(self, tokens: Sequence[str]) -> list[int]:
        return cast("list[int]", self.tokenizer.convert_tokens_to_ids(list(tokens)))

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
        output = self.network(
            input_ids=input_ids,
            attention_mask=attention_mask,
            decoder_input_ids=sequences[:, :-1],
            output_attentions=True,
        )
        forced = len(self.target_prefix)  # the target-language token is not part of the translation
        targets = sequences[:, 1 + forced :]
        logits = output.logits[:, forced:].float()
        logprobs = torch.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        layer = output.cross_attentions[self.model.alignment_layer][:, :, forced:]
        heads = layer[:, : self.model.alignment_heads].float().mean(dim=1)
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
