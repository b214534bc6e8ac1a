"""Transcript readers, one module per format, chosen by file suffix."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from pipeline.errors import InputError
from pipeline.glossary import GLOSSARY_SUFFIX
from pipeline.readers.common import decode, with_unique_ids
from pipeline.readers.plain_text import read_plain_text
from pipeline.readers.srt import read_srt
from pipeline.readers.tsv import read_tsv
from pipeline.readers.vtt import read_vtt
from pipeline.readers.whisper_json import read_whisper_json
from pipeline.records import Segment, Transcript

Reader = Callable[[str, str], list[Segment]]

READERS: dict[str, Reader] = {
    ".srt": read_srt,
    ".vtt": read_vtt,
    ".json": read_whisper_json,
    ".tsv": read_tsv,
    ".txt": read_plain_text,
}


MAX_SECONDS = 30 * 24 * 3600.0  # a month: any time beyond, or not finite, is not a recording's


def read_transcript(path: Path, encoding: str | None = None) -> Transcript:
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise InputError(
            str(path), f"unknown transcript format {path.suffix!r}; expected one of {', '.join(READERS)}"
        )
    try:
        text = decode(path.read_bytes(), str(path), encoding)
        segments = with_unique_ids(reader(text, str(path)))
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
    return Transcript(
        name=path.stem, source=str(path), segments=segments, warnings=timing_warnings(path, segments)
    )


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


def find_transcripts(paths: list[Path]) -> list[Path]:
    """Files as given, folders expanded to the transcripts they hold (sorted, not recursive; a
    transcript's glossary beside it is not one)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.iterdir()
                    if p.is_file() and p.suffix.lower() in READERS and not p.name.endswith(GLOSSARY_SUFFIX)
                )
            )
        elif path.is_file():
            found.append(path)
        else:
            raise InputError(str(path), "no such file or folder")
    return found
