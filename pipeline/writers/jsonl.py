"""The canonical output: one JSON object per English sentence, in order."""

from __future__ import annotations

import json

from pipeline.records import AlignedTranscript


def render_jsonl(aligned: AlignedTranscript) -> str:
    lines = []
    for sentence in aligned.sentences:
        record = {
            "transcript": aligned.transcript.name,
            "index": sentence.index,
            "en": sentence.en,
            "ar": sentence.ar,
            "segments": list(sentence.segments),
            "start": sentence.start,
            "end": sentence.end,
            "speaker": sentence.speaker,
            "confidence": sentence.confidence,
            "flags": list(sentence.flags),
            "links": [list(link) for link in sentence.links],
        }
        lines.append(json.dumps(record, ensure_ascii=False) + "\n")
    return "".join(lines)
