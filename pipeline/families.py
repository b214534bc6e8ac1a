"""Model families: how a seq2seq model is told which language it reads and which it writes.

MarianMT models have one direction and need nothing. Multilingual models (NLLB-200, M2M100) read a
source-language token before the text and must be forced to write the target-language token first;
that token is then dropped from the output. A family is named by a preset, or recognised from the
tokenizer's class when `--model` is a hub id or a folder.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    language_token: str = ""  # how a language code is written as a token; "" for one-direction models
    source_lang: str = ""  # the default language codes
    target_lang: str = ""


FAMILIES: dict[str, Family] = {
    "marian": Family("marian"),
    "nllb": Family("nllb", "{}", "arb_Arab", "eng_Latn"),
    "m2m100": Family("m2m100", "__{}__", "ar", "en"),
}

FAMILY_OF_TOKENIZER: dict[str, str] = {
    "MarianTokenizer": "marian",
    "NllbTokenizer": "nllb",
    "NllbTokenizerFast": "nllb",
    "M2M100Tokenizer": "m2m100",
}


@dataclass(frozen=True)
class LanguageTokens:
    """Tokens around the text: before the source (after it comes the end token) and forced first in
    the output (and removed from it)."""

    source_prefix: tuple[str, ...] = ()
    target_prefix: tuple[str, ...] = ()


def language_tokens(
    tokenizer, family: str | None = None, source_lang: str | None = None, target_lang: str | None = None
) -> LanguageTokens:
    """The language tokens for this tokenizer's model; an unknown family or code is a ValueError."""
    name = family or FAMILY_OF_TOKENIZER.get(type(tokenizer).__name__, "marian")
    if name not in FAMILIES:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}")
    chosen = FAMILIES[name]
    if not chosen.language_token:
        return LanguageTokens()
    source = chosen.language_token.format(source_lang or chosen.source_lang)
    target = chosen.language_token.format(target_lang or chosen.target_lang)
    for token in (source, target):
        if tokenizer.convert_tokens_to_ids(token) in (None, tokenizer.unk_token_id):
            raise ValueError(f"{token!r} is not a language token of this {name} model's vocabulary")
    return LanguageTokens((source,), (target,))
