"""CTranslate2's Transformers converter, adjusted: imported only to convert a model (it imports torch
and transformers' model code, which running a converted model never needs)."""

from __future__ import annotations

import numpy as np
from ctranslate2.converters import TransformersConverter


class ModelConverter(TransformersConverter):
    """CTranslate2's converter with two changes. The alignment layer and heads are set on the decoder
    spec (its loaders always keep the last layer's first head, which only Marian trains for alignment).
    And M2M100's language tokens are put back into the tokenizer's vocabulary: transformers 5 leaves
    them out of `M2M100Tokenizer.get_vocab()`, so the converted vocabulary would be 100 tokens short."""

    def __init__(self, model: str, layer: int, heads: int):
        super().__init__(model)
        self.alignment = (layer, heads)

    def load_tokenizer(self, tokenizer_class, model_name_or_path, **kwargs):
        tokenizer = super().load_tokenizer(tokenizer_class, model_name_or_path, **kwargs)
        vocabulary = tokenizer.get_vocab()
        languages = getattr(tokenizer, "lang_token_to_id", {})
        if languages.keys() - vocabulary.keys():
            complete = {**vocabulary, **languages}
            tokenizer.get_vocab = lambda: complete  # this instance only, read by the converter's loader
        return tokenizer

    def _load(self):
        spec = super()._load()
        spec.decoder.alignment_layer = np.int16(self.alignment[0])
        spec.decoder.alignment_heads = np.int16(self.alignment[1])
        return spec
