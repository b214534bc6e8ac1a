"""Wires the stages: read -> units -> translate -> align -> write. Each stage stays importable alone."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.align import WORD_START, align_transcript
from pipeline.arabic import has_arabic
from pipeline.cache import CachedTranslator
from pipeline.errors import InputError
from pipeline.records import AlignedTranscript, Transcript, Translation, Unit
from pipeline.writers import WRITERS
from pipeline.writers.common import atomic_write

LOCK = ".translate.lock"
EMPTY = Translation(tokens=(), logprobs=(), attention=None, truncated=False)


def translate_archive(
    planned: Sequence[tuple[Transcript, Sequence[Unit]]],
    translator: CachedTranslator,
    progress: Callable[[int], None] | None = None,
) -> Iterator[AlignedTranscript]:
    """Transcript after transcript, aligned as soon as its units are back; the model works through the
    whole archive's units as one stream (see CachedTranslator.translate_many)."""
    jobs = [model_inputs(units) for _, units in planned]
    for (transcript, units), translations in zip(
        planned, translator.translate_many(jobs, progress), strict=True
    ):
        yield assemble(transcript, units, translations, translator.name)


def model_inputs(units: Sequence[Unit]) -> list[tuple[str, ...]]:
    """The words of the units the model translates: those with Arabic in them."""
    return [unit.model_words for unit in units if has_arabic(unit.text)]


def assemble(
    transcript: Transcript, units: Sequence[Unit], translated: Sequence[Translation], model: str
) -> AlignedTranscript:
    """The model's translations of `model_inputs(units)`, with text without Arabic script (English,
    French, numbers) passed through as it is and empty units given an empty translation; then align."""
    translated_in_order = iter(translated)
    translations = [
        next(translated_in_order) if has_arabic(unit.text) else passthrough(unit) if unit.text else EMPTY
        for unit in units
    ]
    return align_transcript(transcript, units, translations, model)


def passthrough(unit: Unit) -> Translation:
    """The unit's own words as the 'translation', each token attending to its own word."""
    words = [(index, word) for index, word in enumerate(unit.model_words) if word]
    attention = tuple(tuple(1.0 if j == index else 0.0 for j in range(len(unit.words))) for index, _ in words)
    return Translation(
        tokens=tuple(WORD_START + word for _, word in words),
        logprobs=(0.0,) * len(words),
        attention=attention,
        truncated=False,
    )


def output_folder(out: Path, transcript: Transcript) -> Path:
    """<out>/<stem>/, refusing stems that would step outside <out>."""
    folder = (out / transcript.name).resolve()
    if transcript.name in ("", ".", "..") or folder.parent != out.resolve():
        raise InputError(
            transcript.source, f"the file name gives no usable output folder name ({transcript.name!r})"
        )
    return folder


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """One `translate` run per output folder at a time: two would interleave their writes to the
    review database and the cache. The lock goes with the process, however it ends."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / LOCK).open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise InputError(
                str(out),
                f"{holder} is translating into this folder; wait for it to finish or use another --out",
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"translate run (pid {os.getpid()})")
        handle.flush()
        yield


def write_outputs(aligned: AlignedTranscript, out: Path, formats: Sequence[str]) -> list[Path]:
    folder = output_folder(out, aligned.transcript)
    written = []
    for name in formats:
        suffix, render = WRITERS[name]
        text = render(aligned)
        if text is not None:
            path = folder / f"{aligned.transcript.name}{suffix}"
            atomic_write(path, text)
            written.append(path)
    return written


@dataclass
class Summary:
    """What the end-of-run screen reports."""

    files: int = 0
    segments: int = 0
    sentences: int = 0
    flagged: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, aligned: AlignedTranscript) -> None:
        self.files += 1
        self.segments += len(aligned.transcript.segments)
        self.sentences += len(aligned.sentences)
        self.flagged += sum(1 for sentence in aligned.sentences if sentence.flags)

    def format(self) -> str:
        lines = [
            f"Translated {self.files} transcript(s) in {self.seconds:.1f} s: "
            f"{self.segments} segments -> {self.sentences} English sentences, "
            f"{self.flagged} flagged for review."
        ]
        lines += [f"  note: {note}" for note in self.notes]
        if self.failures:
            lines.append(f"{len(self.failures)} file(s) failed:")
            lines += [f"  {failure}" for failure in self.failures]
        return "\n".join(lines)
