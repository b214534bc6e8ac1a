"""Whisper-style JSON: {"segments": [{"start", "end", "text", optional "speaker", optional "id"}]}."""

from __future__ import annotations

import json
import math

from pipeline.errors import InputError
from pipeline.readers.common import strip_markup
from pipeline.records import Segment


def read_whisper_json(text: str, path: str) -> list[Segment]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(path, f"invalid JSON: {error.msg}", line=error.lineno) from None
    if not isinstance(document, dict) or not isinstance(document.get("segments"), list):
        raise InputError(path, 'expected a JSON object with a "segments" list (Whisper format)', line=1)
    return [_segment(item, path, f"segments[{i}]") for i, item in enumerate(document["segments"])]


def _segment(item: object, path: str, where: str) -> Segment:
    if not isinstance(item, dict):
        raise InputError(path, "each segment must be a JSON object", where=where)
    text = item.get("text")
    if not isinstance(text, str):
        raise InputError(path, 'missing or non-string "text"', where=where)
    start, end = _seconds(item, "start", path, where), _seconds(item, "end", path, where)
    if start is not None and end is not None and end < start:
        raise InputError(path, f"segment ends ({end}) before it starts ({start})", where=where)
    speaker = item.get("speaker")
    if speaker is not None and not isinstance(speaker, str):
        raise InputError(path, '"speaker" must be a string', where=where)
    segment_id = item.get("id")
    return Segment(
        id="" if segment_id is None else str(segment_id),
        text=strip_markup(text),
        start=start,
        end=end,
        speaker=speaker.strip() or None if speaker else None,
    )


def _seconds(item: dict, key: str, path: str, where: str) -> float | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InputError(
            path, f'"{key}" must be a non-negative number of seconds, not {value!r}', where=where
        )
    return float(value)
