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
