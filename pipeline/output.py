"""The output folder, owned in one place: what lives in it and under which name, and the lock that
lets one `translate` run write to it at a time.

    <out>/.translate.lock          held by the running translate
    <out>/translations.sqlite3     the translation cache (pipeline.cache)
    <out>/review.sqlite3           the reviewers' work (pipeline.review.store)
    <out>/<name>/<name><suffix>    each transcript's machine outputs (pipeline.writers)
    <out>/<name>/<name>.meta.json  what made them: pipeline version, translator, its full signature
    <out>/exports/                 reviewed exports, by default
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError
from pipeline.records import AlignedTranscript, Transcript
from pipeline.subtitles import DEFAULTS, SubtitleRules
from pipeline.writers import WRITERS
from pipeline.writers.common import atomic_write

# File systems take names of at most 255 bytes; the longest suffix is ".aligned.jsonl" plus the
# temporary-file decoration of atomic_write (about 50 bytes).
MAX_STEM_BYTES = 180


def file_stem(name: str) -> str:
    """A transcript's name as a file or folder name: as it is, or, when too long for a file system,
    cut at a character boundary and made unique by a hash of the whole name."""
    encoded = name.encode("utf-8")
    if len(encoded) <= MAX_STEM_BYTES:
        return name
    digest = hashlib.sha256(encoded).hexdigest()[:12]
    head = encoded[: MAX_STEM_BYTES - 13].decode("utf-8", errors="ignore")
    return f"{head}-{digest}"


@dataclass(frozen=True)
class OutputFolder:
    root: Path

    @property
    def cache(self) -> Path:
        return self.root / "translations.sqlite3"

    @property
    def review_database(self) -> Path:
        return self.root / "review.sqlite3"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    def transcript_folder(self, transcript: Transcript) -> Path:
        """<out>/<stem>/, refusing stems that would step outside <out>."""
        name = file_stem(transcript.name)
        folder = (self.root / name).resolve()
        if name in ("", ".", "..") or folder.parent != self.root.resolve():
            raise InputError(
                transcript.source, f"the file name gives no usable output folder name ({transcript.name!r})"
            )
        return folder

    def manifest(self, name: str) -> Path:
        """The transcript's manifest (see `write`)."""
        stem = file_stem(name)
        return self.root / stem / f"{stem}.meta.json"

    def write(
        self,
        aligned: AlignedTranscript,
        formats: Sequence[str],
        manifest: Mapping[str, object],
        rules: SubtitleRules = DEFAULTS,
    ) -> list[Path]:
        """The transcript's files in these formats, each replaced whole (a format with nothing to write,
        subtitles without times, is left out), and its manifest: what made them, the translation cache's
        signature written out, so every output says which model, aligner, backend and options made it.
        Subtitles keep `rules`."""
        folder = self.transcript_folder(aligned.transcript)
        atomic_write(
            self.manifest(aligned.transcript.name), json.dumps(manifest, indent=2, sort_keys=True) + "\n"
        )
        written = []
        for name in formats:
            suffix, render = WRITERS[name]
            text = render(aligned, rules)
            if text is not None:
                path = folder / f"{file_stem(aligned.transcript.name)}{suffix}"
                atomic_write(path, text)
                written.append(path)
        return written

    @contextmanager
    def lock(self) -> Iterator[None]:
        """One `translate` run per output folder at a time: two would interleave their writes to the
        review database and the cache. The lock goes with the process, however it ends."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            handle = (self.root / ".translate.lock").open("a+", encoding="utf-8")
        except OSError as error:  # a file where the folder should be, a read-only or full disk
            raise InputError(
                str(self.root), f"cannot write the output folder here: {error.strerror}; use another --out"
            ) from None
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise InputError(
                    str(self.root),
                    f"{holder} is translating into this folder; wait for it to finish or use another --out",
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"translate run (pid {os.getpid()})")
            handle.flush()
            yield
