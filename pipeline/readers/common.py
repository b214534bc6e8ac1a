"""What every reader shares: decoding bytes, subtitle markup, timestamps, segment ids."""

from __future__ import annotations

import codecs
import html
import re
from collections.abc import Sequence
from dataclasses import replace

from pipeline.errors import InputError
from pipeline.records import Segment

# Longest BOM first: the UTF-32 LE BOM starts with the UTF-16 LE one.
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ARABIC_LETTER = re.compile(r"[\u0621-\u064a]")
LEGACY_ARABIC_ENCODING = "cp1256"


def decode(data: bytes, path: str, encoding: str | None = None) -> str:
    """Bytes -> text with '\\n' line ends: BOM, else UTF-8, else Windows-1256 (old Arabic subtitles)."""
    if encoding is not None:
        try:
            return _unify_newlines(data.decode(encoding))
        except (UnicodeDecodeError, LookupError) as error:
            raise InputError(path, f"cannot be decoded as {encoding}: {error}") from None
    for bom, codec in BOMS:
        if data.startswith(bom):
            try:
                return _unify_newlines(data.decode(codec))
            except UnicodeDecodeError as error:
                raise InputError(
                    path, f"has a {codec} byte-order mark but invalid {codec}: {error}"
                ) from None
    if b"\x00" in data:
        raise InputError(path, "is a binary file, not a text transcript (it contains NUL bytes)")
    try:
        return _unify_newlines(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        # Windows-1256 gives every byte a character, so it would "decode" damaged UTF-8 into mojibake:
        # take it only when no valid UTF-8 non-ASCII text came before the first error.
        if data[: error.start].isascii():
            legacy = data.decode(LEGACY_ARABIC_ENCODING)
            if _ARABIC_LETTER.search(legacy):
                return _unify_newlines(legacy)
        raise InputError(
            path,
            "is neither UTF-8 nor Windows-1256 Arabic; re-save it as UTF-8 or pass --encoding",
            line=line,
        ) from None


def _unify_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


_TAG = re.compile(r"<[^<>\n]*>")
_ASS_OVERRIDE = re.compile(r"\{\\[^{}\n]*\}")


def strip_markup(text: str, unescape_entities: bool = False) -> str:
    """Remove subtitle styling (<i>, <font ...>, {\\an8}); keep everything else as written."""
    text = _ASS_OVERRIDE.sub("", _TAG.sub("", text))
    if unescape_entities:
        text = html.unescape(text)
    lines = (line.strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$")


def parse_time(value: str) -> float:
    """Seconds from '12.5', '00:01:02,500', '01:02.5' or '1:02:03.004'; ValueError otherwise."""
    value = value.strip()
    match = _CLOCK.match(value)
    if match is None:
        seconds = float(value)  # raises ValueError for anything else
        if seconds < 0 or seconds != seconds or seconds == float("inf"):
            raise ValueError(value)
        return seconds
    hours, minutes, secs, fraction = match.groups()
    if int(minutes) >= 60 or int(secs) >= 60:
        raise ValueError(value)
    millis = int((fraction or "0").ljust(3, "0"))
    return int(hours or 0) * 3600 + int(minutes) * 60 + int(secs) + millis / 1000


def with_unique_ids(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """The file's own ids (cue numbers, JSON ids), a missing one replaced by the segment's position
    (from 1); if that leaves duplicates, every segment is numbered by position instead."""
    ids = [segment.id or str(number) for number, segment in enumerate(segments, start=1)]
    if len(set(ids)) != len(ids):
        ids = [str(number) for number in range(1, len(segments) + 1)]
    return tuple(replace(segment, id=segment_id) for segment, segment_id in zip(segments, ids, strict=True))
