"""Arabic clean-up for the model's input only, and Arabic sentence boundaries.

Work is done per whitespace-delimited word so that every normalised word keeps the character
range of the original text it came from: reviewers see what was written, the model sees clean input.
"""

from __future__ import annotations

import re
import unicodedata
from enum import IntEnum

from pipeline.records import ArabicWord, Segment

TATWEEL = "\u0640"
_REMOVED = {
    TATWEEL,
    "\u00ad",  # soft hyphen
    "\u061c",  # Arabic letter mark
    "\ufeff",
    *(chr(c) for c in range(0x064B, 0x0660)),  # harakat, shadda, sukun and other combining marks
    "\u0670",  # superscript alef
    *(chr(c) for c in range(0x200B, 0x2010)),  # zero-width space/joiners, LRM, RLM
    *(chr(c) for c in range(0x202A, 0x202F)),  # bidi embeddings and overrides
    *(chr(c) for c in range(0x2066, 0x206A)),  # bidi isolates
}
_DIGITS = {ord(d): str(i) for i, d in enumerate("٠١٢٣٤٥٦٧٨٩")} | {
    ord(d): str(i) for i, d in enumerate("۰۱۲۳۴۵۶۷۸۹")
}
_CLEAN = {ord(c): None for c in _REMOVED} | _DIGITS

SENTENCE_END = ".!?؟…"
CLAUSE_END = "؛;:"
COMMA = "،,"
# Punctuation that right-to-left authoring puts at the start of a line when it belongs at the end.
_MISPLACED = re.compile(rf"^[{re.escape(SENTENCE_END + CLAUSE_END + COMMA)}]+")
_TRAILING_CLOSERS = "\"'»”’)]"
CONJUNCTIONS = frozenset({"و", "ثم", "لكن", "ولكن", "بل", "أو", "او", "لأن", "لان", "بس", "حتى", "بينما"})


class Boundary(IntEnum):
    """How good a place after a word is for ending a unit, weakest first."""

    NONE = 0
    SPACE = 1
    CONJUNCTION = 2
    COMMA = 3
    CLAUSE = 4
    SENTENCE = 5


ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")


# Marks, embeddings, overrides and isolates that change the order in which text is displayed.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible_controls(text: str) -> str:
    """Bidirectional controls as visible ⟨U+202E⟩ tags, so they cannot reorder what a reviewer sees."""
    return BIDI_CONTROLS.sub(lambda control: f"⟨U+{ord(control.group()):04X}⟩", text)


def has_arabic(text: str) -> bool:
    return ARABIC_SCRIPT.search(text) is not None


def normalize_word(text: str) -> str:
    """Compatibility forms (presentation forms, ligatures) decomposed; tatweel, diacritics and
    invisible controls dropped; Arabic-Indic digits made ASCII."""
    return unicodedata.normalize("NFKC", text).translate(_CLEAN)


def segment_words(segment: Segment, segment_index: int, max_word_chars: int) -> list[ArabicWord]:
    """Split one segment into words, fixing punctuation misplaced by RTL authoring line by line."""
    words: list[ArabicWord] = []
    token = 0
    line_start = 0
    for line in segment.text.split("\n"):
        line_words: list[ArabicWord] = []
        for match in re.finditer(r"\S+", line):
            for offset in range(0, len(match.group()), max_word_chars):
                start = line_start + match.start() + offset
                end = min(start + max_word_chars, line_start + match.end())
                line_words.append(
                    ArabicWord(segment_index, start, end, token, normalize_word(segment.text[start:end]))
                )
            token += 1
        words.extend(_fix_misplaced_punctuation(line_words))
        line_start += len(line) + 1
    return words


def _fix_misplaced_punctuation(line: list[ArabicWord]) -> list[ArabicWord]:
    """'.لقد إعتدنا' -> 'لقد إعتدنا.' when the line starts, but does not end, with punctuation."""
    if not line:
        return line
    misplaced = _MISPLACED.match(line[0].norm)
    last = line[-1].norm.rstrip(_TRAILING_CLOSERS)
    if misplaced is None or (last and _is_punctuation(last[-1])):
        return line
    moved = misplaced.group()
    first = _replace_norm(line[0], line[0].norm[len(moved) :])
    fixed = [first, *line[1:]]
    fixed[-1] = _replace_norm(fixed[-1], fixed[-1].norm + moved)
    return fixed


def _replace_norm(word: ArabicWord, norm: str) -> ArabicWord:
    return ArabicWord(word.segment, word.start, word.end, word.token, norm)


def _is_punctuation(char: str) -> bool:
    return unicodedata.category(char).startswith("P")


def boundary_after(word: str, next_word: str | None) -> Boundary:
    """The strength of a unit boundary between `word` and `next_word` (normalised forms)."""
    end = word.rstrip(_TRAILING_CLOSERS)
    if end and end[-1] in SENTENCE_END:
        return Boundary.SENTENCE
    if end and end[-1] in CLAUSE_END:
        return Boundary.CLAUSE
    if end and end[-1] in COMMA:
        return Boundary.COMMA
    if next_word is not None and (next_word in CONJUNCTIONS or _starts_with_wa(next_word)):
        return Boundary.CONJUNCTION
    return Boundary.SPACE


def _starts_with_wa(word: str) -> bool:
    # 'و' prefixed to a word ('وقال') is usually 'and'; three-letter words like 'وقت' usually are not.
    return word.startswith("و") and len(word) >= 4


def ends_with_punctuation(text: str) -> bool:
    text = text.rstrip().rstrip(_TRAILING_CLOSERS)
    return bool(text) and _is_punctuation(text[-1])
