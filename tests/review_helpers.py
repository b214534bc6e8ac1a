"""Aligned transcripts built by hand, for the review tests that need no model."""

from __future__ import annotations

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
