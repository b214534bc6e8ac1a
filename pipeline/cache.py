"""The translation cache: finished batches of translations in SQLite in the output folder, so a run that
was killed resumes where it stopped and a run with nothing new translates nothing.

A unit's key is the translator's output signature (the model's identity, every decoding option, the
backend's version and quantisation) and the unit's words. `CachedTranslator` wraps a translator: it
plans the batches over all the units, as an uninterrupted run would, runs only the batches that are
not all cached, and stores each finished batch in one transaction. So a resumed run computes every
batch exactly as an uninterrupted run does, and its outputs are byte-identical.

Values are stored as binary float64 arrays, read back bit for bit, and a cached batch is read only
when its turn comes, so memory does not grow with the transcript.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.backends import Translator
from pipeline.backends.planning import Batch, Planner
from pipeline.errors import UserError
from pipeline.records import Translation

_SCHEMA = """CREATE TABLE IF NOT EXISTS translations_v2 (
    key TEXT PRIMARY KEY, tokens TEXT NOT NULL, logprobs BLOB NOT NULL,
    attention BLOB, words INTEGER NOT NULL, truncated INTEGER NOT NULL
)"""
_CHUNK = 500  # SQLite's limit on bound parameters


def _row(key: str, translation: Translation) -> tuple[object, ...]:
    attention = translation.attention
    return (
        key,
        json.dumps(translation.tokens, ensure_ascii=False),
        np.asarray(translation.logprobs, dtype=np.float64).tobytes(),
        None if attention is None else np.asarray(attention, dtype=np.float64).tobytes(),
        -1 if attention is None else np.shape(attention)[1],
        int(translation.truncated),
    )


def _translation(
    tokens: str, logprobs: bytes, attention: bytes | None, words: int, truncated: int
) -> Translation:
    return Translation(
        tuple(json.loads(tokens)),
        tuple(np.frombuffer(logprobs, dtype=np.float64).tolist()),
        None if attention is None else np.frombuffer(attention, dtype=np.float64).reshape(-1, words),
        bool(truncated),
    )


class TranslationCache:
    def __init__(self, path: Path):
        self.path = path
        try:
            with closing(self._connect()) as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(_SCHEMA)
        except sqlite3.DatabaseError as error:
            raise UserError(
                f"{path}: the translation cache cannot be opened ({error}); delete it to start afresh "
                "(reviewed work is in the review database beside it, not in this file)"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    @staticmethod
    def key(signature: str, words: Sequence[str]) -> str:
        return hashlib.sha256(json.dumps([signature, list(words)], ensure_ascii=False).encode()).hexdigest()

    def present(self, keys: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with closing(self._connect()) as db:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(
                    key
                    for (key,) in db.execute(f"SELECT key FROM translations_v2 WHERE key IN ({marks})", chunk)
                )
        return found

    def get(self, keys: Sequence[str]) -> list[Translation]:
        """The translations of `keys`, in order; every key must be present."""
        found: dict[str, Translation] = {}
        with closing(self._connect()) as db:
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    "SELECT key, tokens, logprobs, attention, words, truncated FROM translations_v2 "
                    f"WHERE key IN ({marks})",
                    chunk,
                )
                found.update((key, _translation(*values)) for key, *values in rows)
        return [found[key] for key in keys]

    def add(self, keys: Sequence[str], translations: Sequence[Translation]) -> None:
        """One transaction: after a kill, a batch is either all there or not there. A unit already
        stored keeps its first translation, so its outputs never change from one run to the next."""
        with closing(self._connect()) as db, db:
            db.executemany(
                "INSERT OR IGNORE INTO translations_v2 VALUES (?, ?, ?, ?, ?, ?)",
                [_row(key, t) for key, t in zip(keys, translations, strict=True)],
            )


@dataclass(frozen=True)
class Plan:
    """One job's units as the translator sees them: each distinct unit once (a unit's numbers may
    depend on its batch-mates, so a unit that recurs is translated once and every occurrence shares
    that translation, in this run and in any resumed one)."""

    keys: list[str]  # each distinct unit's cache key, in order of first occurrence in the job
    occurrences: dict[str, list[int]]  # key -> the job's unit indices holding those words
    earlier: list[str]  # keys an earlier job of the archive translates: read back once it has
    stored: set[str]  # keys (of `keys` and `earlier`) the cache held when the job was planned
    done: list[Batch]  # batches (over `keys`) found whole in the cache
    todo: list[Batch]  # batches to translate


@dataclass
class CacheCounts:
    """How many units `translate_many` took from the cache and how many it translated."""

    cached: int = 0
    translated: int = 0


class CachedTranslator:
    """A translator with the translation cache in front of it, for a whole archive (`translate_many`)."""

    def __init__(self, inner: Translator, cache: TranslationCache):
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.planner: Planner = inner.planner
        self.counts = CacheCounts()

    def translate_many(
        self, jobs: Sequence[Sequence[Sequence[str]]]
    ) -> Iterator[tuple[int, list[int], list[Translation]]]:
        """(job number, unit indices, their translations) until every unit of every job (a job is one
        transcript's units) is done, job after job, each batch as soon as it is done.

        Every job is planned on its own, so its batches and numbers do not depend on the later jobs;
        the batches still to translate then go to the translator as one stream, so its workers never
        wait at a transcript's end while the next one is collected."""
        seen: set[str] = set()
        plans = []
        for units in jobs:
            plans.append(self._plan(units, seen))
            seen.update(plans[-1].keys)
        stream = self.inner.run([batch for plan in plans for batch in plan.todo])
        for number, plan in enumerate(plans):
            if plan.earlier:
                yield number, *self._spread(plan, plan.earlier, self.cache.get(plan.earlier))
            for batch in plan.done:
                keys = [plan.keys[i] for i in batch.indices]
                yield number, *self._spread(plan, keys, self.cache.get(keys))
            for batch in plan.todo:
                keys = [plan.keys[i] for i in batch.indices]
                translations = next(stream)
                self.cache.add(keys, translations)
                if plan.stored.intersection(keys):  # the first translation stored for a unit stays
                    translations = self.cache.get(keys)
                yield number, *self._spread(plan, keys, translations)

    @staticmethod
    def _spread(
        plan: Plan, keys: Sequence[str], translations: Sequence[Translation]
    ) -> tuple[list[int], list[Translation]]:
        """Each distinct unit's translation given to every occurrence of it."""
        pairs = [
            (index, translation)
            for key, translation in zip(keys, translations, strict=True)
            for index in plan.occurrences[key]
        ]
        return [index for index, _ in pairs], [translation for _, translation in pairs]

    def _plan(self, units: Sequence[Sequence[str]], earlier: set[str]) -> Plan:
        occurrences: dict[str, list[int]] = {}
        words_of: dict[str, Sequence[str]] = {}
        for index, words in enumerate(units):
            key = self.cache.key(self.inner.signature, words)
            occurrences.setdefault(key, []).append(index)
            words_of.setdefault(key, words)
        keys = [key for key in occurrences if key not in earlier]
        stored = self.cache.present(list(occurrences))
        plan = Plan(keys, occurrences, [key for key in occurrences if key in earlier], stored, [], [])
        for batch in self.planner.plan([words_of[key] for key in keys]):
            (plan.done if all(keys[i] in stored for i in batch.indices) else plan.todo).append(batch)
        from_cache = sum(len(indices) for key, indices in occurrences.items() if key in stored)
        self.counts.cached += from_cache
        self.counts.translated += len(units) - from_cache
        return plan
