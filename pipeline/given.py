"""English from elsewhere (a human translator, another MT system, an LLM) paired with its Arabic, so
`python -m pipeline align` checks it exactly as `translate` checks the model's English.

The English arrives per segment, in one of three ways: a bilingual TSV (an English column beside the
Arabic), an English subtitle file beside the Arabic one (cues matched by time, see pipeline.pairing),
or a plain-text file with one line per Arabic segment. Each pair (consecutive Arabic segments and the
English given for them) becomes one unit; the aligner then forces that English through its model and
its attention partitions the unit's Arabic words among the English sentences, as for a translation.

Every way a pair can be bad is found here, before anything is written: one InputError naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.align import align_unit, join_units
from pipeline.arabic import Boundary, boundary_after, segment_words
from pipeline.errors import InputError, UserError
from pipeline.pairing import Cues, any_overlap, match
from pipeline.readers import read_transcript, timing_warnings
from pipeline.readers.common import decode, strip_markup
from pipeline.readers.tsv import COLUMN_NAMES, read_tsv
from pipeline.records import AlignedSentence, AlignedTranscript, Segment, Transcript, Unit
from pipeline.units import UnitOptions, transcript_words

if TYPE_CHECKING:
    from pipeline.aligner import EnglishAligner

# A bilingual TSV's English column, by the first of these names its header has.
ENGLISH_COLUMNS = ("english", "en", "eng", "translation", "target")
SUBTITLES = (".srt", ".vtt")
LINES = ".txt"
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
ALIGN_BATCH = 32  # units forced through the aligner in one call


@dataclass(frozen=True)
class Pair:
    """Consecutive Arabic segments and the English given for them."""

    segments: range  # indices into Transcript.segments
    english: str


@dataclass(frozen=True)
class Given:
    transcript: Transcript  # the Arabic
    english: Path  # the file the English came from (the TSV itself for a bilingual one)
    pairs: tuple[Pair, ...]  # in order, covering every segment once
    notes: tuple[str, ...]  # what the user should know: odd timing, how cues were matched


def read_given(arabic: Path, english: Path | None = None) -> Given:
    """The Arabic transcript and its English, paired; an InputError naming the file for a bad pair."""
    for path in (arabic, english):
        if path is not None and not path.is_file():
            raise InputError(str(path), "no such file")
    if english is None and arabic.suffix.lower() != ".tsv":
        raise UserError(
            f"{arabic}: give the English file too (subtitles or one line per segment); "
            "only a bilingual .tsv carries its own English"
        )
    if english is not None and english.suffix.lower() not in (*SUBTITLES, LINES):
        raise InputError(
            str(english),
            f"English in {english.suffix or 'a file without a suffix'} cannot be paired; give "
            f"{', '.join(SUBTITLES)} subtitles, a {LINES} file with one line per Arabic segment, "
            "or a bilingual .tsv alone",
        )
    if english is not None:
        _not_empty(english)
    transcript = read_transcript(arabic)
    notes = list(transcript.warnings)
    if english is None:
        pairs = one_each(transcript, bilingual_english(arabic))
        english = arabic
    elif english.suffix.lower() == LINES:
        pairs = one_each(transcript, english_lines(english, transcript))
    else:
        cues = read_transcript(english)
        notes.extend(timing_warnings(english, cues.segments))  # not the readers' notes on Arabic
        pairs, note = by_time(transcript, cues.segments, english)
        notes.append(note)
    return Given(transcript, english, tuple(joined_where_no_arabic(transcript, pairs)), tuple(notes))


def bilingual_english(path: Path) -> list[str]:
    """The English column of a bilingual TSV, row by row: read by `read_tsv` itself, with the header
    naming the English column as its text column (and the Arabic's columns as nothing), so its rows,
    cells and errors are exactly those of the Arabic read beside it."""
    text = decode(path.read_bytes(), str(path))
    lines = text.split("\n")
    number = next((k for k, line in enumerate(lines) if line.strip()), None)
    if number is None:
        raise InputError(str(path), "is empty: no Arabic or English in it")
    columns = lines[number].split("\t")
    names = [column.strip().lower() for column in columns]
    where = next((names.index(name) for name in ENGLISH_COLUMNS if name in names), None)
    if where is None:
        raise InputError(
            str(path),
            f"no English column: name one in the header as {', '.join(ENGLISH_COLUMNS)} "
            f"(found: {', '.join(names)}), or give the English file beside it",
            line=number + 1,
        )
    renamed = [
        "text" if k == where else ("-" if name in COLUMN_NAMES["text"] else column)
        for k, (column, name) in enumerate(zip(columns, names, strict=True))
    ]
    lines[number] = "\t".join(renamed)
    english = [segment.text for segment in read_tsv("\n".join(lines), str(path))]
    _has_english(english, path)
    return english


def english_lines(path: Path, transcript: Transcript) -> list[str]:
    """A plain-text English file, one non-blank line per Arabic segment (markup removed)."""
    text = decode(path.read_bytes(), str(path))
    lines = [
        (number, strip_markup(line)) for number, line in enumerate(text.split("\n"), start=1) if line.strip()
    ]
    _has_english([line for _, line in lines], path)
    segments = transcript.segments
    if len(lines) > len(segments):
        raise InputError(
            str(path),
            f"English beyond the {len(segments)} segments of {transcript.source}: give one line per "
            f"Arabic segment ({len(lines)} non-blank lines here)",
            line=lines[len(segments)][0],
        )
    if len(lines) < len(segments):
        missing = segments[len(lines)]
        raise InputError(
            str(path),
            f"{len(lines)} non-blank lines of English for the {len(segments)} segments of "
            f"{transcript.source}: give one line per Arabic segment (the first without English is at "
            f"{transcript.source}:{missing.line or len(lines) + 1})",
        )
    return [line for _, line in lines]


def one_each(transcript: Transcript, english: Sequence[str]) -> list[Pair]:
    """The k-th English to the k-th segment (the caller has checked there is one for each)."""
    assert len(english) == len(transcript.segments)
    return [Pair(range(k, k + 1), text) for k, text in enumerate(english)]


def by_time(transcript: Transcript, cues: Sequence[Segment], path: Path) -> tuple[list[Pair], str]:
    """English subtitles matched to the Arabic segments by time (pipeline.pairing), and a note saying
    how. Arabic without times can only take the English one cue per segment."""
    _has_english([cue.text for cue in cues], path)
    segments = transcript.segments
    if any(segment.start is None or segment.end is None for segment in segments):
        if len(cues) != len(segments):
            raise InputError(
                transcript.source,
                f"has no times to match the {len(cues)} English cues of {path} by: give subtitles for both, "
                f"or a {LINES} file with one line of English per segment ({len(segments)})",
            )
        return one_each(transcript, [cue.text for cue in cues]), (
            f"{path.name}: {len(cues)} English cues paired one to one with the untimed Arabic segments"
        )
    # Matched by time: English cues in the order they are spoken, whatever their order in the file.
    cues = sorted(cues, key=lambda cue: (cue.start or 0.0, cue.end or 0.0))
    arabic, english = arabic_cues(segments), english_cues(cues)
    if not any_overlap(arabic, english):
        raise InputError(
            str(path),
            f"no English cue overlaps any Arabic cue of {transcript.source} in time: the two files are "
            f"not timed for the same recording (give a {LINES} file with one line per segment instead)",
        )
    groups = match(arabic, english)
    pairs = [Pair(a, " ".join(cues[k].text for k in e)) for a, e in groups]
    shapes = {
        "one to one": sum(len(a) == len(e) == 1 for a, e in groups),
        "many Arabic to one English": sum(len(a) > 1 for a, _ in groups),
        "one Arabic to many English": sum(len(e) > 1 for _, e in groups),
    }
    said = ", ".join(f"{count} {shape}" for shape, count in shapes.items() if count)
    return pairs, (
        f"{path.name}: {len(cues)} English cues matched to {len(segments)} Arabic cues by time and "
        f"length in {len(groups)} groups ({said})"
    )


def arabic_cues(segments: Sequence[Segment]) -> Cues:
    """Timed Arabic segments as the matching sees them; a sentence end is judged on the normalised
    words, so a full stop that right-to-left authoring put first counts."""
    ends = []
    for segment in segments:
        norms = [w.norm for w in segment_words(segment, 0, UnitOptions().max_word_chars) if w.norm]
        ends.append(bool(norms) and boundary_after(norms[-1], None) == Boundary.SENTENCE)
    return Cues.of(
        [(s.start or 0.0, s.end or 0.0) for s in segments], [_chars(s.text) for s in segments], ends
    )


def english_cues(cues: Sequence[Segment]) -> Cues:
    ends = [
        bool(c.text.split()) and boundary_after(c.text.split()[-1], None) == Boundary.SENTENCE for c in cues
    ]
    return Cues.of([(c.start or 0.0, c.end or 0.0) for c in cues], [_chars(c.text) for c in cues], ends)


def joined_where_no_arabic(transcript: Transcript, pairs: Sequence[Pair]) -> list[Pair]:
    """Pairs whose segments have no Arabic words (blank cues, empty TSV cells) joined to the pair before
    (the first such to the one after), so each unit has words and no English is left out."""
    has_words = [bool(segment.text.split()) for segment in transcript.segments]
    joined: list[Pair] = []
    waiting: list[Pair] = []  # wordless pairs before the first with words
    for pair in pairs:
        if not any(has_words[k] for k in pair.segments):
            if joined:
                joined[-1] = _join(joined[-1], pair)
            else:
                waiting.append(pair)
            continue
        for early in reversed(waiting):
            pair = _join(early, pair)
        waiting = []
        joined.append(pair)
    assert joined, "a transcript read has some text"
    return joined


def _join(first: Pair, second: Pair) -> Pair:
    english = " ".join(text for text in (first.english, second.english) if text.strip())
    return Pair(range(first.segments.start, second.segments.stop), english)


def units(given: Given, options: UnitOptions = UnitOptions()) -> list[Unit]:
    """One unit per pair: the words of its segments."""
    words = transcript_words(given.transcript, options)
    by_segment: list[list] = [[] for _ in given.transcript.segments]
    for word in words:
        by_segment[word.segment].append(word)
    return [
        Unit(index, tuple(word for k in pair.segments for word in by_segment[k]))
        for index, pair in enumerate(given.pairs)
    ]


def align_given(
    given: Given, aligner: EnglishAligner, progress: Callable[[int], None] | None = None
) -> AlignedTranscript:
    """The given English forced through the aligner, unit by unit (longest first, in batches), then
    cut into sentences over exactly its Arabic: the AlignedTranscript `translate` would have made had
    the model written this English."""
    planned = units(given)
    per_unit: list[list[AlignedSentence]] = [[] for _ in planned]
    order = sorted(range(len(planned)), key=lambda k: -len(planned[k].words))
    for first in range(0, len(order), ALIGN_BATCH):
        batch = order[first : first + ALIGN_BATCH]
        translations = aligner.translations(
            [planned[k].model_words for k in batch], [given.pairs[k].english for k in batch]
        )
        for k, translation in zip(batch, translations, strict=True):
            per_unit[k] = align_unit(planned[k], translation, given.transcript.segments)
        if progress is not None:
            progress(len(batch))
    return join_units(given.transcript, per_unit, f"given English ({given.english.name})")


def _not_empty(path: Path) -> None:
    if not decode(path.read_bytes(), str(path)).strip():
        raise InputError(str(path), "is empty: there is no English in it")


def _has_english(texts: Sequence[str], path: Path) -> None:
    if not any(_LATIN_LETTER.search(text) for text in texts):
        raise InputError(str(path), "holds no English: not one Latin letter in it")


def _chars(text: str) -> int:
    return len("".join(text.split()))
