"""A reviewer's English aligned again to its sentence's Arabic, by the model that aligned the
transcript: word links for hovering, the aligner's confidence in it, and the flags that judge English.
No re-translation: the English is teacher-forced through the aligner (pipeline.aligner.realign_many).

The transcript's manifest names its aligner (folder and fingerprint; the signature beside it says how
it was run). It is loaded on CTranslate2 (no torch), once per model, on the first edit that needs it.
Where it cannot be used (its folder is gone, its files changed, it does not load) or there is none
(a transcript aligned by length), the English is still judged by the checks that need no model, and
the edit says why it has no word links: a save is never blocked or lost for want of an aligner.

Callers compute an edit's alignment first, outside the database transaction, then save it with the
revision check (`ReviewStore.update(..., alignment=...)`): a conflict writes nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.aligner import EnglishAligner, load_aligner, realign_many
from pipeline.errors import UserError
from pipeline.models import ResolvedModel, model_fingerprint, resolve_model
from pipeline.output import OutputFolder
from pipeline.review.store import EditAlignment, ReviewStore, english_flags, unaligned_edits
from pipeline.settings import Placement

BACKEND = "ct2"
NO_RECORD = (
    "no manifest says which model aligned this transcript (it was translated by an older version): "
    "translate it again to have edits aligned"
)
BY_LENGTH = "this transcript was aligned by sentence length (--aligner none), so edits get no word links"


@dataclass(frozen=True)
class AlignerRecord:
    """The aligner as a transcript's manifest records it."""

    label: str
    folder: Path
    fingerprint: str
    identity: dict[str, Any] | None  # ResolvedModel.identity() from the signature, when it is there
    compute_type: str | None  # the quantisation it aligned with on CTranslate2 (float32: transformers)


def aligner_record(manifest: dict[str, Any]) -> AlignerRecord | str:
    """The manifest's aligner, or why there is none to load."""
    record = manifest.get("aligner", "absent")
    if record is None:
        return BY_LENGTH
    if not isinstance(record, dict) or not {"model", "folder", "fingerprint"} <= set(record):
        return NO_RECORD
    identity, backend = None, ""
    for run in _runs(manifest.get("signature")):
        if run["model"].get("fingerprint") == record["fingerprint"]:
            identity, backend = run["model"], str(run.get("backend", ""))
            break
    compute_type = backend.split()[-1] if backend.startswith("ct2 ") else "float32"
    return AlignerRecord(
        str(record["model"]), Path(record["folder"]), str(record["fingerprint"]), identity, compute_type
    )


def _runs(signature: Any) -> Iterator[dict[str, Any]]:
    """The {backend, model, decoding} parts of a signature (a translator's own, or beside its aligner)."""
    if isinstance(signature, dict):
        if isinstance(signature.get("model"), dict):
            yield signature
        for value in signature.values():
            yield from _runs(value)


def resolved(record: AlignerRecord) -> ResolvedModel:
    """The recorded model as the run resolved it (its alignment layer and heads included), else as its
    folder alone resolves."""
    if record.identity is not None:
        try:
            return ResolvedModel(label=record.label, folder=record.folder, beam=1, **record.identity)
        except TypeError:  # a signature from another version of ResolvedModel
            pass
    return resolve_model(str(record.folder))


class Realigner:
    """The aligners that align reviewers' English, one loaded per model (the review app holds one
    Realigner; import-review one per run). Safe to call from several threads: one alignment at a time."""

    def __init__(self, out: Path, device: str = "auto"):
        self.output = OutputFolder(out)
        self.device = device
        self._loaded: dict[tuple[str, str, str | None], EnglishAligner | str] = {}
        self._lock = threading.Lock()

    def align(self, name: str, pairs: Sequence[tuple[str, str]]) -> list[EditAlignment]:
        """Each (Arabic as written, English) of transcript `name`, aligned by its aligner."""
        if not pairs:
            return []
        with self._lock:
            aligner = self.aligner(name)
            if isinstance(aligner, str):
                return unaligned_edits(pairs, aligner)
            try:
                sentences = realign_many(aligner, pairs)
            except Exception as error:  # never lose a save for the aligner's sake
                return unaligned_edits(pairs, f"the aligner failed on this English ({error})")
            edits = []
            for (_, en), sentence in zip(pairs, sentences, strict=True):
                words = en.split()
                if words and len(aligner.pieces(words)) > aligner.room:
                    note = f"longer than the aligner takes ({aligner.room} pieces), so no word links"
                    edits.append(EditAlignment(en, (), english_flags(sentence.flags), None, note))
                else:
                    confidence = sentence.confidence if words else None
                    edits.append(EditAlignment(en, sentence.links, english_flags(sentence.flags), confidence))
            return edits

    def aligner(self, name: str) -> EnglishAligner | str:
        """Transcript `name`'s aligner, loaded on first need, or why it cannot be used."""
        try:
            manifest = json.loads(self.output.manifest(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return NO_RECORD
        record = aligner_record(manifest) if isinstance(manifest, dict) else NO_RECORD
        if isinstance(record, str):
            return record
        if not record.folder.is_dir():
            return f"the aligner's folder {record.folder} is not there any more, so edits get no word links"
        key = (str(record.folder), record.fingerprint, record.compute_type)
        if key not in self._loaded:
            self._loaded[key] = self._load(record)
        return self._loaded[key]

    def _load(self, record: AlignerRecord) -> EnglishAligner | str:
        if model_fingerprint(record.folder) != record.fingerprint:
            return (
                f"the model in {record.folder} is not the one that aligned this transcript (its files "
                "changed), so edits get no word links; translate again to align with it"
            )
        try:
            model = resolved(record)
        except UserError as error:
            return f"the aligner in {record.folder} cannot be used ({error})"
        last: Exception | None = None
        # As it ran, else this device's default quantisation. One CTranslate2 worker with every core:
        # alignments run one at a time (the lock), so more workers would leave cores idle.
        for compute_type in dict.fromkeys((record.compute_type, None)):
            try:
                return load_aligner(BACKEND, model, Placement(self.device, compute_type, workers=1))
            except Exception as error:  # a quantisation this device lacks, a failed conversion
                last = error
        return f"the aligner in {record.folder} could not be loaded ({last})"


def edit_alignment(
    store: ReviewStore, realigner: Realigner, name: str, sentence_id: str, revision: int, en: str
) -> EditAlignment | None:
    """The alignment a save of `en` over `revision` needs, or None where it needs none (the English is
    unchanged or the machine's) or the save will be refused anyway (a stale revision: a conflict)."""
    current = store.sentence(name, sentence_id)
    if current.revision != revision or en in (current.sentence.en, current.machine):
        return None
    [alignment] = realigner.align(name, [(current.sentence.ar, en)])
    return alignment
