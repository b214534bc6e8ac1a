"""ASS/SSA and TTML (DFXP), parsed by pysubs2; decoding, markup and `file:line` errors stay ours.

pysubs2 knows the formats; it does not say where in the file an event came from, and its errors
name no line. So the ASS parser reads from a stream that counts the lines it hands out (the line of
a failure), and each event is matched to its `Dialogue:`/`Comment:` line (pysubs2 keeps file order);
TTML's XML errors carry their own line, and paragraphs are matched to their `<p>` tags.
"""

from __future__ import annotations

import io
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Sequence

import pysubs2

from pipeline.errors import InputError
from pipeline.readers.common import strip_markup
from pipeline.records import Segment

# What pysubs2's parsers raise on a malformed file (a bad timestamp, a missing attribute, a time
# expression or time container it does not support, broken XML).
_LIBRARY_ERRORS = (
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    NotImplementedError,
    ET.ParseError,
    pysubs2.Pysubs2Error,
)


class _CountedLines(io.StringIO):
    """A text stream that remembers the number of the last line read by iteration."""

    line = 0

    def __next__(self) -> str:  # type: ignore[override]  # typeshed: IOBase yields bytes
        self.line += 1
        return super().__next__()


_EVENT_TYPES = ("Dialogue:", "Comment:")
_EVENT_FIELDS = 10  # Layer (or Marked), Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
_ASS_BLOCK = re.compile(r"\{[^{}]*\}")  # override tags {\i1} and comments {like this}: never shown


def read_ass(text: str, path: str) -> list[Segment]:
    """Dialogue events in file order, with the Name (actor) field as speaker; comments and drawings
    are skipped."""
    lines = text.split("\n")
    event_lines = [
        number for number, line in enumerate(lines, start=1) if line.strip().startswith(_EVENT_TYPES)
    ]
    if not event_lines and "[Events]" not in text:
        raise InputError(path, "not an ASS/SSA file: it has no [Events] section with Dialogue lines", line=1)
    for number in event_lines:
        fields = lines[number - 1].split(":", 1)[1].split(",", _EVENT_FIELDS - 1)
        if len(fields) < _EVENT_FIELDS:
            raise InputError(
                path,
                f"an event needs {_EVENT_FIELDS} comma-separated fields (Layer, Start, End, Style, Name, "
                f"MarginL, MarginR, MarginV, Effect, Text); found {len(fields)}",
                line=number,
            )
    stream = _CountedLines(text)
    substation = "ssa" if "[V4 Styles]" in text else "ass"
    try:
        with warnings.catch_warnings():  # a field it cannot read (e.g. Layer) becomes its default
            warnings.simplefilter("ignore", RuntimeWarning)
            events = pysubs2.SSAFile.from_file(stream, format_=substation).events
    except _LIBRARY_ERRORS as error:
        problem = f"cannot be read as ASS/SSA: {_first_part(error)}"
        raise InputError(path, problem, line=stream.line or None) from None
    return [
        _segment(path, number, event.start, event.end, _ass_text(event.text), event.name.strip() or None)
        for event, number in zip(events, _lines_of(event_lines, events), strict=True)
        if not event.is_comment and not event.is_drawing
    ]


def _ass_text(text: str) -> str:
    r"""ASS text as written: `\N` and `\n` line breaks, `\h` hard spaces, no `{...}` blocks."""
    text = _ASS_BLOCK.sub("", text)
    return strip_markup(text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " "))


TTML_NAMESPACE = "http://www.w3.org/ns/ttml"
# DFXP, TTML's draft name, used these namespaces; the vocabulary pysubs2 reads is the same.
_DRAFT_NAMESPACES = re.compile(r"http://www\.w3\.org/2006/(?:04|10)/ttaf1")
_PARAGRAPH = re.compile(r"<(?:[\w.-]+:)?p(?:\s[^>]*)?/?>")
# TTML's `dur` attribute, which pysubs2 reads under the name `duration`.
_DURATION = re.compile(r"(<(?:[\w.-]+:)?p\s[^>]*?)\bdur=")
_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")
_TIMED = re.compile(r"\s(?:end|duration)=")
_TIME_EXPRESSION = re.compile(r"Unsupported time expression: (.*)")


def read_ttml(text: str, path: str) -> list[Segment]:
    """The `<p>` paragraphs of `<body><div>`, with their times; `<br/>` is a line break."""
    text = _DECLARATION.sub("", text, count=1)  # decoded already: its encoding="..." no longer holds
    text = _DURATION.sub(r"\1duration=", _DRAFT_NAMESPACES.sub(TTML_NAMESPACE, text))
    if TTML_NAMESPACE not in text:
        raise InputError(path, f'not TTML: the root must be <tt xmlns="{TTML_NAMESPACE}">', line=1)
    try:
        events = pysubs2.SSAFile.from_string(text, format_="ttml").events
    except ET.ParseError as error:
        raise InputError(path, f"invalid XML: {_first_part(error)}", line=error.position[0]) from None
    except _LIBRARY_ERRORS as error:
        expression = _TIME_EXPRESSION.match(str(error))
        if expression is not None:
            problem = f"a time this reader does not support (frames or ticks): {expression.group(1)!r}"
            raise InputError(path, problem, line=_line_holding(text, expression.group(1))) from None
        if isinstance(error, KeyError):
            untimed = [line for line, tag in _paragraphs(text) if not _TIMED.search(tag)]
            line = untimed[0] if untimed else None
            raise InputError(path, "a <p> paragraph without an end (or dur) time", line=line) from None
        raise InputError(path, f"cannot be read as TTML: {_first_part(error)}") from None
    paragraphs = [line for line, _ in _paragraphs(text)]
    if len(paragraphs) != len(events):
        raise InputError(
            path,
            f"has {len(paragraphs)} <p> paragraphs, of which {len(events)} are directly inside "
            "<body><div>; paragraphs elsewhere (nested <div>s) are not read",
        )
    return [
        _segment(path, number, event.start, event.end, strip_markup(event.text.replace("\\N", "\n")), None)
        for event, number in zip(events, paragraphs, strict=True)
    ]


def _segment(path: str, line: int, start_ms: int, end_ms: int, text: str, speaker: str | None) -> Segment:
    if end_ms < start_ms:
        raise InputError(path, "event ends before it starts", line=line)
    return Segment(id="", text=text, start=start_ms / 1000, end=end_ms / 1000, speaker=speaker, line=line)


def _paragraphs(text: str) -> list[tuple[int, str]]:
    """(line, tag) of each `<p>` start tag, in file order."""
    found = []
    line, counted_to = 1, 0
    for tag in _PARAGRAPH.finditer(text):
        line += text.count("\n", counted_to, tag.start())
        counted_to = tag.start()
        found.append((line, tag.group()))
    return found


def _lines_of(event_lines: Sequence[int], events: Sequence[object]) -> Sequence[int]:
    """The line of each event: pysubs2 makes one event per Dialogue/Comment line, in file order."""
    return event_lines if len(event_lines) == len(events) else [0] * len(events)


def _line_holding(text: str, fragment: str) -> int | None:
    found = text.find(fragment)
    return text.count("\n", 0, found) + 1 if found >= 0 else None


def _first_part(error: Exception) -> str:
    return " ".join(str(error).split())
