"""Tab-separated with a header naming the columns: text (required), start, end, speaker (optional).

Common alternative names are accepted, so corpus files such as MGB-3's segments.tsv read as they are.
"""

from __future__ import annotations

from pipeline.errors import InputError
from pipeline.readers.common import parse_time, strip_markup
from pipeline.records import Segment

COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "text": ("text", "arabic", "ar", "transcript", "sentence"),
    "start": ("start", "start_s", "begin", "start_time"),
    "end": ("end", "end_s", "stop", "end_time"),
    "speaker": ("speaker", "spk", "speaker_name"),
}


def read_tsv(text: str, path: str) -> list[Segment]:
    rows = [(number, line) for number, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if not rows:
        return []
    header_line, header = rows[0]
    columns = [name.strip().lower() for name in header.split("\t")]
    where = {
        name: columns.index(alias)
        for name, aliases in COLUMN_NAMES.items()
        for alias in aliases[::-1]  # the first alias wins when several are present
        if alias in columns
    }
    if "text" not in where:
        raise InputError(
            path,
            f"the header must name the text column, as one of {', '.join(COLUMN_NAMES['text'])} "
            f"(found: {', '.join(columns)})",
            line=header_line,
        )
    segments = []
    for number, line in rows[1:]:
        cells = line.split("\t")
        if len(cells) < len(columns):
            raise InputError(
                path, f"expected {len(columns)} tab-separated columns, found {len(cells)}", line=number
            )
        times = {}
        for key in ("start", "end"):
            cell = cells[where[key]].strip() if key in where else ""
            try:
                times[key] = parse_time(cell) if cell else None
            except ValueError:
                raise InputError(
                    path, f"{key} time {cell!r} is not seconds or HH:MM:SS.mmm", line=number
                ) from None
        if times["start"] is not None and times["end"] is not None and times["end"] < times["start"]:
            raise InputError(path, "segment ends before it starts", line=number)
        speaker = cells[where["speaker"]].strip() if "speaker" in where else ""
        segments.append(
            Segment(
                id=str(number),
                text=strip_markup(cells[where["text"]]),
                start=times["start"],
                end=times["end"],
                speaker=speaker or None,
                line=number,
            )
        )
    return segments
