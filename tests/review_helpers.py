"""Aligned transcripts (and the manifest naming their aligner) built by hand, for review tests that need
no translation."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.output import OutputFolder
from pipeline.records import AlignedSentence, AlignedTranscript, Transcript


def aligned(name: str, pairs: list[tuple[str, str]], source: str = "interview.srt") -> AlignedTranscript:
    """One segment per (Arabic, English) pair, two seconds each, speaker A."""
    sentences = tuple(
        AlignedSentence(
            index=i,
            en=en,
            ar=ar,
            segments=(str(i + 1),),
            start=2.0 * i,
            end=2.0 * i + 2,
            speaker="A",
            confidence=0.5,
            flags=(),
            links=((0, 0),),
        )
        for i, (ar, en) in enumerate(pairs)
    )
    return AlignedTranscript(Transcript(name, source, ()), sentences, "tiny")


def with_aligner(out: Path, name: str, model: Path | None) -> None:
    """The manifest `translate` writes beside transcript `name`, naming `model` as the model that
    aligned it (None: aligned by length), so the review app aligns edits with it."""
    from pipeline.models import model_fingerprint

    record = None
    if model is not None:
        record = {"model": str(model), "folder": str(model), "fingerprint": model_fingerprint(model)}
    path = OutputFolder(out).manifest(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"translator": "tiny", "aligner": record}), encoding="utf-8")


def write_tone(path: Path, seconds: float = 60.0, rate: int = 8000) -> Path:
    """A WAV recording made at test time (a 440 Hz tone, mono, 16-bit): media without a download."""
    import math
    import struct
    import wave

    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * n / rate)))
        for n in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return path


def write_fake_ffmpeg(folder: Path, recording: Path) -> Path:
    """An `ffmpeg` for tests (the real one is not installed here): it records its arguments beside itself
    and writes `recording` to the output path it was given last, as a conversion would."""
    import sys

    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "ffmpeg"
    script.write_text(
        f"#!{sys.executable}\n"
        "import pathlib, shutil, sys\n"
        "here = pathlib.Path(sys.argv[0]).parent\n"
        "(here / 'calls.txt').open('a').write(repr(sys.argv[1:]) + '\\n')\n"
        f"shutil.copyfile({str(recording)!r}, sys.argv[-1])\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script
