"""Blocks of lines separated by blank lines, and the timing line: what SRT and WebVTT share."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from pipeline.errors import InputError
from pipeline.readers.common import parse_time


@dataclass(frozen=True)
class Block:
    first_line: int  # 1-based line number of lines[0]
    lines: tuple[str, ...]


def blocks(text: str) -> Iterator[Block]:
    current: list[str] = []
    first = 0
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            if not current:
                first = number
            current.append(line.rstrip())
        elif current:
            yield from _cues_run_together(Block(first, tuple(current)))
            current = []
    if current:
        yield from _cues_run_together(Block(first, tuple(current)))


def _cues_run_together(block: Block) -> Iterator[Block]:
    """Cues written without the blank line between them: every timing line after the first starts a
    new cue, with the cue number on the line before it if there is one."""
    starts = [0]
    for index, line in enumerate(block.lines):
        if index > 1 and is_timing(line) and any(is_timing(seen) for seen in block.lines[starts[-1] : index]):
            number_above = index - 1 > starts[-1] and block.lines[index - 1].strip().isdigit()
            starts.append(index - 1 if number_above else index)
    for start, end in zip(starts, [*starts[1:], len(block.lines)], strict=True):
        yield Block(block.first_line + start, block.lines[start:end])


_ARROW = re.compile(r"^\s*(\S+)\s+-->\s+(\S+)")


def is_timing(line: str) -> bool:
    return "-->" in line


def parse_timing(line: str, path: str, line_number: int) -> tuple[float, float]:
    """'00:00:01,000 --> 00:00:02,500 [settings]' -> (1.0, 2.5), or an InputError at that line."""
    match = _ARROW.match(line)
    if match is None:
        raise InputError(path, f"malformed timing line {line.strip()!r}", line=line_number)
    try:
        start, end = parse_time(match.group(1)), parse_time(match.group(2))
    except ValueError:
        raise InputError(path, f"malformed timestamp in {line.strip()!r}", line=line_number) from None
    if end < start:
        raise InputError(path, f"cue ends before it starts ({line.strip()!r})", line=line_number)
    return start, end
