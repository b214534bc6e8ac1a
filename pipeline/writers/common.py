"""What writers share: atomic file replacement and subtitle time codes."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterable
from pathlib import Path

from pipeline.records import AlignedSentence, AlignedTranscript


def timed_sentences(aligned: AlignedTranscript) -> list[tuple[AlignedSentence, float, float]]:
    """The sentences that can become subtitle cues, each with its start and end (an input without
    times has none)."""
    return [(s, s.start, s.end) for s in aligned.sentences if s.start is not None and s.end is not None]


def atomic_write(path: Path, text: str | Iterable[str]) -> None:
    """Write to a temporary file beside `path`, then rename: a killed run never leaves half a file.
    `text` may come in pieces, written as they come."""
    pieces = [text] if isinstance(text, str) else text
    atomic_write_bytes(path, (piece.encode("utf-8") for piece in pieces))


def atomic_write_bytes(path: Path, data: bytes | Iterable[bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        # os.open with 0o666 lets the umask decide the mode, as a plain open() would.
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(descriptor, "wb") as handle:
            for block in [data] if isinstance(data, bytes) else data:
                handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def timecode(seconds: float, decimal: str = ".") -> str:
    """12.5 -> '00:00:12.500' (WebVTT) or, with decimal=',', '00:00:12,500' (SRT)."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


# Characters XML 1.0 cannot hold, even escaped: C0 controls but tab/LF/CR, surrogates, U+FFFE/U+FFFF.
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What a text reader would take for a line break (str.splitlines), runs of them with the blanks between.
_LINE_BREAKS = re.compile("[ \t]*(?:[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029][ \t]*)+")


def xml_safe(text: str, placeholder: str = "\ufffd") -> str:
    """`text` with every character XML cannot hold replaced by `placeholder` (U+FFFD)."""
    return XML_INVALID.sub(placeholder, text)


def subtitle_text(text: str) -> str:
    """A sentence as one subtitle cue's text: stripped, each run of line breaks (and blank lines) one
    line break, so an edited sentence can never end its cue or start another."""
    return _LINE_BREAKS.sub("\n", text.strip())
