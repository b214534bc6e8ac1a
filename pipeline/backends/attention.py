"""Source-token attention summed into source-word attention, so the aligner never sees tokenisation."""

from __future__ import annotations

import numpy as np

from pipeline.backends.planning import Encoded


def word_attention(token_attention: np.ndarray, unit: Encoded) -> np.ndarray | None:
    """[target, source token] -> [target, source word], each row renormalised without the language
    token, EOS and padding."""
    word_of, n_words = unit.word_of, unit.n_words
    if not word_of:
        return None
    token_attention = np.asarray(token_attention, dtype=float)[
        :, unit.word_start : unit.word_start + len(word_of)
    ]
    by_word = np.zeros((len(word_of), n_words))
    by_word[np.arange(len(word_of)), word_of] = 1.0
    mass = token_attention @ by_word
    totals = mass.sum(axis=1, keepdims=True)
    return np.where(totals > 0, mass / np.where(totals > 0, totals, 1), 1.0 / n_words)
