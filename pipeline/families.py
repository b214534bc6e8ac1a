"""Model families: how a seq2seq model is told which language it reads and which it writes.

MarianMT models have one direction and need nothing. Multilingual models (NLLB-200, M2M100) read a
source-language token before the text and must be forced to write the target-language token first;
that token is then dropped from the output. A family is named by a preset, or recognised from the
model's files (see pipeline.models) when `--model` is a hub id or a folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.errors import ModelNotAvailable


@dataclass(frozen=True)
class Family:
    name: str
    tokenizer: str  # the transformers tokenizer class, loaded by name (AutoTokenizer would import torch)
    language_token: str = ""  # how a language code is written as a token; "" for one-direction models
    source_lang: str = ""  # the default language codes
    target_lang: str = ""


FAMILIES: dict[str, Family] = {
    "marian": Family("marian", "MarianTokenizer"),
    "nllb": Family("nllb", "NllbTokenizer", "{}", "arb_Arab", "eng_Latn"),
    "m2m100": Family("m2m100", "M2M100Tokenizer", "__{}__", "ar", "en"),
}

# How a model's files name its family: the tokenizer class, else the configuration's model type.
FAMILY_OF_TOKENIZER: dict[str, str] = {
    **{family.tokenizer: family.name for family in FAMILIES.values()},
    "NllbTokenizerFast": "nllb",
}
FAMILY_OF_MODEL_TYPE: dict[str, str] = {"marian": "marian", "m2m_100": "m2m100"}


@dataclass(frozen=True)
class LanguageTokens:
    """Tokens around the text: before the source (after it comes the end token) and forced first in
    the output (and removed from it)."""

    source_prefix: tuple[str, ...] = ()
    target_prefix: tuple[str, ...] = ()


def language_tokens(tokenizer: Any, family: str, source_lang: str, target_lang: str) -> LanguageTokens:
    """The language tokens of a model of this family; a code its vocabulary lacks is a ModelNotAvailable."""
    chosen = FAMILIES[family]
    if not chosen.language_token:
        return LanguageTokens()
    source = chosen.language_token.format(source_lang)
    target = chosen.language_token.format(target_lang)
    for token in (source, target):
        if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id):
            raise ModelNotAvailable(f"{token!r} is not a language token of this {family} model's vocabulary")
    return LanguageTokens((source,), (target,))
