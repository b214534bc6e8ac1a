"""A glossary of Arabic terms and their required English renderings (names above all: صقر -> Saqr).

A sentence whose Arabic contains a term while its English lacks the rendering is flagged `glossary`.
Arabic is matched on folded words (no diacritics or tatweel, one alef, ه for ة, ي for ى), with the
proclitics Arabic writes onto a word (و ف ب ك ل ال and their combinations) allowed before a term's
first word; English is matched case-insensitively on word boundaries.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.arabic import normalize_word
from pipeline.errors import InputError

GLOSSARY_SUFFIX = ".glossary.tsv"  # beside a transcript: transcripts/interview.glossary.tsv
_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي"})
_PROCLITICS = ("", "و", "ف", "ب", "ك", "ل", "ال", "وال", "فال", "بال", "كال", "لل", "ولل", "وب", "ول", "فب")
_PUNCTUATION = "\"'«»“”‘’()[]{}.,،;؛:!?؟…-"


@dataclass(frozen=True)
class Term:
    ar: str  # as written in the glossary file
    en: str
    source: str  # "file:line", for the reviewer

    @property
    def words(self) -> tuple[str, ...]:
        return fold(self.ar)


def fold(text: str) -> tuple[str, ...]:
    """The words of an Arabic text as the glossary compares them."""
    words = (normalize_word(word).translate(_FOLD).strip(_PUNCTUATION) for word in text.split())
    return tuple(word for word in words if word)


def read_glossary(path: Path) -> list[Term]:
    """A TSV of `arabic<TAB>english` rows; blank lines and lines starting with # are skipped; an
    optional header row `ar<TAB>en` too."""
    terms = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for line, row in enumerate(csv.reader(handle, delimiter="\t"), start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if line == 1 and [cell.strip().lower() for cell in row[:2]] == ["ar", "en"]:
                continue
            if len(row) < 2 or not fold(row[0]) or not row[1].strip():
                raise InputError(
                    str(path), "a glossary row needs an Arabic term, a tab and its English rendering", line
                )
            terms.append(Term(row[0].strip(), row[1].strip(), f"{path.name}:{line}"))
    return terms


def glossary_for(transcript_source: str, shared: list[Term]) -> list[Term]:
    """The shared glossary's terms, then those of the transcript's own glossary file, if it has one."""
    source = Path(transcript_source)
    own = source.with_name(source.stem + GLOSSARY_SUFFIX)
    return [*shared, *(read_glossary(own) if own.is_file() else [])]


def _contains(words: tuple[str, ...], term: tuple[str, ...]) -> bool:
    first, rest = term[0], term[1:]
    for index, word in enumerate(words[: len(words) - len(rest)]):
        if (
            any(word == prefix + first for prefix in _PROCLITICS)
            and words[index + 1 : index + 1 + len(rest)] == rest
        ):
            return True
    return False


def terms_in(terms: Sequence[Term], ar: str) -> list[Term]:
    """The terms that occur in `ar`."""
    words = fold(ar)
    return [term for term in terms if _contains(words, term.words)]


def missing_renderings(terms: list[Term], ar: str, en: str) -> tuple[Term, ...]:
    """The terms found in `ar` whose rendering `en` does not contain."""
    return tuple(
        term
        for term in terms_in(terms, ar)
        if not re.search(rf"(?<!\w){re.escape(term.en)}(?!\w)", en, flags=re.IGNORECASE)
    )
