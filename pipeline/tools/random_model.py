"""Models with random weights and real configurations, for tests, benchmarks and offline demos.

No registry ships real weights and tests never download. `marian` uses the real opus-mt-ar-en tokenizer
and configuration (`full` is the real architecture, so speed measured on it holds for the real weights
at equal output lengths). `nllb` and `m2m100` use the configuration of nllb-200-distilled-600M and
m2m100_418M with a small SentencePiece model trained here, on the words of the opus-mt vocabularies,
and the family's real tokenizer class with all its language codes: enough to prove the plumbing
(language tokens, forced first token, attention) without the multi-GB originals. `tiny` shrinks the
layers of any family.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Callable
from importlib.resources import as_file, files
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import GenerationConfig, PreTrainedConfig, PreTrainedModel

TINY = {
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 2,
    "encoder_attention_heads": 2,
    "decoder_attention_heads": 2,
    "encoder_ffn_dim": 64,
    "decoder_ffn_dim": 64,
}
# opus-mt-tc-big-ar-en's transformer-big layers (d_model 1024, 16 heads, FFN 4096, 6 + 6 layers) around
# opus-mt-ar-en's vocabulary (the tc-big vocabulary is not shipped): its speed, for the benchmark.
BIG = {
    "d_model": 1024,
    "encoder_attention_heads": 16,
    "decoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "decoder_ffn_dim": 4096,
}
SIZES: dict[str, dict[str, int]] = {"full": {}, "tiny": TINY, "big": BIG}
_MARIAN_FILES = ("source.spm", "target.spm", "vocab.json", "tokenizer_config.json", "NOTICE")
# From the hub configurations of facebook/nllb-200-distilled-600M and facebook/m2m100_418M; the layer
# sizes are M2M100Config's defaults (d_model 1024, 12 + 12 layers, 16 heads, ffn 4096), as in both.
_MULTILINGUAL_CONFIG: dict[str, Any] = {
    "max_position_embeddings": 1024,
    "scale_embedding": True,
    "activation_function": "relu",
    "bos_token_id": 0,
    "pad_token_id": 1,
    "eos_token_id": 2,
    "decoder_start_token_id": 2,
}
_GENERATION = {
    "bos_token_id": 0,
    "pad_token_id": 1,
    "eos_token_id": 2,
    "decoder_start_token_id": 2,
    "max_length": 200,
}
_SPM_VOCABULARY = 1000


def write_random_model(folder: Path, size: str, seed: int = 0, family: str = "marian") -> Path:
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    if family not in FAMILY_WRITERS:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILY_WRITERS)}")
    folder.mkdir(parents=True, exist_ok=True)
    FAMILY_WRITERS[family](folder, SIZES[size], seed)
    return folder


def _write_marian(folder: Path, layers: dict[str, Any], seed: int) -> None:
    from transformers import MarianConfig, MarianMTModel

    with as_file(files("pipeline") / "assets" / "opus-mt-ar-en") as assets:
        _save_random(MarianMTModel, MarianConfig.from_pretrained(assets, **layers), folder, seed)
        for name in (*_MARIAN_FILES, "generation_config.json"):  # the real decoding defaults too
            shutil.copyfile(assets / name, folder / name)


def _write_nllb(folder: Path, layers: dict[str, Any], seed: int) -> None:
    from transformers import NllbTokenizer
    from transformers.convert_slow_tokenizer import generate_merges

    vocabulary = _sentencepiece_vocabulary(_train_sentencepiece())
    tokenizer = NllbTokenizer(
        vocab=vocabulary, merges=generate_merges(vocabulary), src_lang="arb_Arab", tgt_lang="eng_Latn"
    )
    tokenizer.save_pretrained(folder)
    _write_m2m100_model(folder, layers, seed, len(tokenizer), "NllbTokenizer", {})


def _write_m2m100(folder: Path, layers: dict[str, Any], seed: int) -> None:
    from transformers import M2M100Tokenizer

    model = _train_sentencepiece()
    (folder / "sentencepiece.bpe.model").write_bytes(model)
    vocab_file = folder / "vocab.json"
    vocab_file.write_text(json.dumps(_sentencepiece_vocabulary(model), ensure_ascii=False), encoding="utf-8")
    tokenizer = M2M100Tokenizer(
        vocab_file=str(vocab_file),
        spm_file=str(folder / "sentencepiece.bpe.model"),
        src_lang="ar",
        tgt_lang="en",
    )
    tokenizer.save_pretrained(folder)
    size = len(tokenizer.encoder) + len(tokenizer.lang_token_to_id) + tokenizer.num_madeup_words  # as 128,112
    _write_m2m100_model(
        folder, layers, seed, size, "M2M100Tokenizer", {"num_beams": 5, "early_stopping": True}
    )


def _write_m2m100_model(
    folder: Path, layers: dict[str, Any], seed: int, vocab_size: int, tokenizer_class: str, generation: dict
) -> None:
    from transformers import GenerationConfig, M2M100Config, M2M100ForConditionalGeneration

    # PreTrainedConfig takes extra keyword arguments, which its @dataclass_transform type leaves out.
    config = M2M100Config(  # type: ignore[call-arg]
        vocab_size=vocab_size, tokenizer_class=tokenizer_class, **_MULTILINGUAL_CONFIG, **layers
    )
    _save_random(
        M2M100ForConditionalGeneration, config, folder, seed, GenerationConfig(**_GENERATION, **generation)
    )


def _save_random(
    model_class: type[PreTrainedModel],
    config: PreTrainedConfig,
    folder: Path,
    seed: int,
    generation: GenerationConfig | None = None,
) -> None:
    """Weights drawn from `seed`, so the same seed always gives the same model."""
    import torch

    torch.manual_seed(seed)
    model = model_class(config)
    if generation is not None:
        model.generation_config = generation
    model.save_pretrained(folder, safe_serialization=True)


def _train_sentencepiece() -> bytes:
    """A BPE model over the words of the real opus-mt-ar-en vocabulary (Arabic and English), with
    fairseq's special-token layout (<s> 0, <pad> 1, </s> 2, <unk> 3) as NLLB and M2M100 use."""
    import sentencepiece

    with as_file(files("pipeline") / "assets" / "opus-mt-ar-en" / "vocab.json") as path:
        pieces = json.loads(path.read_text(encoding="utf-8"))
    words = [piece.lstrip("▁") for piece in pieces if piece.startswith("▁") and len(piece) > 2]
    sentences = [" ".join(words[start : start + 16]) for start in range(0, len(words), 16)]
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences),
        model_writer=model,
        vocab_size=_SPM_VOCABULARY,
        model_type="bpe",
        character_coverage=1.0,
        bos_id=0,
        pad_id=1,
        eos_id=2,
        unk_id=3,
        minloglevel=2,
    )
    return model.getvalue()


def _sentencepiece_vocabulary(model: bytes) -> dict[str, int]:
    import sentencepiece

    processor = sentencepiece.SentencePieceProcessor(model_proto=model)
    return {processor.id_to_piece(index): index for index in range(processor.get_piece_size())}


FAMILY_WRITERS: dict[str, Callable[[Path, dict[str, Any], int], None]] = {
    "marian": _write_marian,
    "nllb": _write_nllb,
    "m2m100": _write_m2m100,
}
