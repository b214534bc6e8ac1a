"""Transcript readers, one module per format, chosen by file suffix."""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

from pipeline.errors import InputError
from pipeline.glossary import GLOSSARY_SUFFIX
from pipeline.readers.common import decode, with_unique_ids
from pipeline.readers.docx import read_docx
from pipeline.readers.plain_text import read_plain_text
from pipeline.readers.srt import read_srt
from pipeline.readers.subtitle_library import read_ass, read_ttml
from pipeline.readers.tsv import read_tsv
from pipeline.readers.vtt import read_vtt
from pipeline.readers.whisper_json import read_whisper_json
from pipeline.records import Segment, Transcript

Reader = Callable[[str, str], list[Segment]]  # (text, path): a text format
FileReader = Callable[[bytes, str, str | None], list[Segment]]  # (bytes, path, --encoding): any format


def text_format(reader: Reader) -> FileReader:
    """A text format's reader, fed the file's bytes through the project's encoding detection."""

    def read(data: bytes, path: str, encoding: str | None) -> list[Segment]:
        return reader(decode(data, path, encoding), path)

    return read


READERS: dict[str, FileReader] = {
    ".srt": text_format(read_srt),
    ".vtt": text_format(read_vtt),
    ".json": text_format(read_whisper_json),
    ".tsv": text_format(read_tsv),
    ".txt": text_format(read_plain_text),
    ".ass": text_format(read_ass),
    ".ssa": text_format(read_ass),
    ".ttml": text_format(read_ttml),
    ".dfxp": text_format(read_ttml),
    ".docx": read_docx,  # a zip of XML: bytes, not text
}


MAX_SECONDS = 30 * 24 * 3600.0  # a month: any time beyond, or not finite, is not a recording's


def read_transcript(path: Path, encoding: str | None = None) -> Transcript:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(
            str(path), f"unknown transcript format {path.suffix!r}; expected one of {', '.join(READERS)}"
        )
    try:
        segments = with_unique_ids(reader(path.read_bytes(), str(path), encoding))
    except InputError:
        raise
    except RecursionError:  # JSON nested thousands deep: this file's error, never the run's
        raise InputError(str(path), "cannot be read: nested thousands of levels deep") from None
    except (OSError, ValueError, OverflowError) as error:  # e.g. a number of thousands of digits
        raise InputError(str(path), f"cannot be read: {str(error).split(';')[0]}") from None
    bad_time = next(
        (s for s in segments for t in (s.start, s.end) if t is not None and not 0 <= t < MAX_SECONDS), None
    )
    if bad_time is not None:
        raise InputError(
            str(path),
            f"a time that is not a real recording's ({bad_time.start}, {bad_time.end})",
            bad_time.line or None,
        )
    if not any(segment.text.strip() for segment in segments):
        raise InputError(str(path), "holds no text to translate (empty, or only blank cues)")
    warnings = (*timing_warnings(path, segments), *language_warnings(path, segments))
    return Transcript(name=path.stem, source=str(path), segments=segments, warnings=warnings)


def timing_warnings(path: Path, segments: tuple[Segment, ...]) -> tuple[str, ...]:
    """Cues that start before the one above them, or overlap it: kept in file order, but worth a look.
    One line per kind, with the count and the first place."""
    found: dict[str, list[Segment]] = {
        "start before the cue above them": [],
        "overlap the cue above them": [],
    }
    timed = [(s.start, s.end, s) for s in segments if s.start is not None and s.end is not None]
    for (above_start, above_end, _), (cue_start, _, cue) in itertools.pairwise(timed):
        if cue_start < above_start:
            found["start before the cue above them"].append(cue)
        elif cue_start < above_end:
            found["overlap the cue above them"].append(cue)
    return tuple(
        f"{path}:{cues[0].line}: {len(cues)} cue(s) {kind} (kept in file order)"
        for kind, cues in found.items()
        if cues
    )


_ARABIC_LETTER = re.compile(r"[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff\u0750-\u077f\u08a0-\u08c9]")
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
MIN_LETTERS = 10  # fewer letters than this say nothing about a file's language


def language_warnings(path: Path, segments: tuple[Segment, ...]) -> tuple[str, ...]:
    """A file that looks already translated: mostly Latin letters (over half its letters) and little
    or no Arabic (under a tenth). Its lines without Arabic are kept as written, flagged not-arabic,
    so one line says so for the whole file."""
    text = "".join(segment.text for segment in segments)
    arabic, latin = len(_ARABIC_LETTER.findall(text)), len(_LATIN_LETTER.findall(text))
    letters = sum(1 for char in text if char.isalpha())
    if letters < MIN_LETTERS or 2 * latin <= letters or 10 * arabic >= letters:
        return ()
    return (
        f"{path}: mostly Latin letters and little or no Arabic (already English, or Arabic written in "
        "Latin letters?): lines without Arabic script are kept as written, flagged not-arabic",
    )


def find_transcripts(paths: list[Path]) -> list[Path]:
    """Files as given, folders expanded to the transcripts they hold (sorted, not recursive; a
    transcript's glossary beside it is not one)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.is_file() and is_transcript(p)))
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(str(path), "no such file or folder")
    return found


SEARCH_DEPTH = 3  # how many levels below a folder given `unsearched_notes` looks
MAX_FOLDER_NOTES = 5
_OUTPUT_MARKERS = ("translations.sqlite3", "review.sqlite3")  # an output folder's root (pipeline.output)
_OUTPUT_SUFFIXES = (".aligned.jsonl", ".meta.json")  # a transcript's output folder


def is_transcript(path: Path) -> bool:
    """A file `find_transcripts` takes from a folder: a reader's suffix, and not a glossary nor the
    lock file Word leaves beside a document it has open (`~$name.docx`)."""
    return (
        path.suffix.lower() in READERS
        and not path.name.endswith(GLOSSARY_SUFFIX)
        and not path.name.startswith("~$")
    )


def unsearched_notes(paths: Sequence[Path]) -> list[str]:
    """What `find_transcripts` left out, said once: one line per subfolder of a folder given that
    holds transcripts of its own (SEARCH_DEPTH levels down at most), with how many, since folders are
    not searched recursively. Hidden folders, folders given themselves and output folders (where
    `translate` writes: their subtitles are not transcripts) are left out; after MAX_FOLDER_NOTES
    folders, one line counts the rest."""
    given = {path.resolve() for path in paths if path.is_dir()}
    found: list[tuple[Path, int]] = []
    for root in paths:
        if not root.is_dir():
            continue
        for folder, subfolders, files in os.walk(root):
            here = Path(folder)
            depth = len(here.relative_to(root).parts)
            if set(files) & set(_OUTPUT_MARKERS) or any(f.endswith(_OUTPUT_SUFFIXES) for f in files):
                subfolders.clear()
                continue
            subfolders[:] = sorted(
                name
                for name in subfolders
                if not name.startswith((".", "__"))
                and depth < SEARCH_DEPTH
                and (here / name).resolve() not in given
            )
            if depth == 0:
                continue
            count = sum(1 for name in files if is_transcript(here / name))
            if count:
                found.append((here, count))
    notes = [
        f"{folder}{os.sep} has {count} transcript(s) that were not searched; name the folder to translate it"
        for folder, count in found[:MAX_FOLDER_NOTES]
    ]
    rest = found[MAX_FOLDER_NOTES:]
    if rest:
        notes.append(
            f"{len(rest)} more folder(s) hold {sum(count for _, count in rest)} transcript(s) that were not "
            "searched; name a folder to translate it"
        )
    return notes
