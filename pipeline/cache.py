"""The translation cache: finished batches of translations in SQLite in the output folder, so a run that
was killed resumes where it stopped and a run with nothing new translates nothing.

A unit's key is the backend's output signature (model files' hash, decoding options that change the
output) and the unit's words. `CachedTranslator` wraps a backend: it plans the batches over all the
units, as an uninterrupted run would, runs only the batches that are not all cached, and stores each
finished batch in one transaction. So a resumed run computes every batch exactly as an uninterrupted
run does, and its outputs are byte-identical.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from pipeline.backends.common import Batch, BatchedTranslator, gather
from pipeline.records import Translation

CACHE = "translations.sqlite3"


def _encode(translation: Translation) -> str:
    # JSON writes floats as their shortest round-tripping repr: a cached value reads back bit for bit.
    return json.dumps(
        [translation.tokens, translation.logprobs, translation.attention, translation.truncated]
    )


def _decode(text: str) -> Translation:
    tokens, logprobs, attention, truncated = json.loads(text)
    return Translation(
        tuple(tokens),
        tuple(logprobs),
        None if attention is None else tuple(tuple(row) for row in attention),
        truncated,
    )


class TranslationCache:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / CACHE
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS translations (key TEXT PRIMARY KEY, translation TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    @staticmethod
    def key(signature: str, words: Sequence[str]) -> str:
        return hashlib.sha256(json.dumps([signature, list(words)], ensure_ascii=False).encode()).hexdigest()

    def get(self, keys: Sequence[str]) -> dict[str, Translation]:
        found: dict[str, Translation] = {}
        with closing(self._connect()) as db:
            for start in range(0, len(keys), 500):  # SQLite's limit on bound parameters
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(f"SELECT key, translation FROM translations WHERE key IN ({marks})", chunk)
                found.update((key, _decode(text)) for key, text in rows)
        return found

    def put(self, translations: dict[str, Translation]) -> None:
        """One transaction: after a kill, a batch is either all there or not there."""
        with closing(self._connect()) as db, db:
            db.executemany(
                "INSERT OR REPLACE INTO translations VALUES (?, ?)",
                [(key, _encode(translation)) for key, translation in translations.items()],
            )


@dataclass(frozen=True)
class Plan:
    """One job's units: their cache keys, the batches found whole in the cache, the batches to translate."""

    keys: list[str]
    done: list[tuple[Batch, list[Translation]]]
    todo: list[Batch]


@dataclass
class CacheCounts:
    """How many units `translate_many` took from the cache and how many it translated."""

    cached: int = 0
    translated: int = 0


class CachedTranslator:
    """A backend with the translation cache in front of it, translating a whole archive (`translate_many`)."""

    def __init__(self, inner: BatchedTranslator, cache: TranslationCache):
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self.counts = CacheCounts()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def translate_many(
        self, jobs: Sequence[Sequence[Sequence[str]]], progress: Callable[[int], None] | None = None
    ) -> Iterator[list[Translation]]:
        """Each job's translations (a job is one transcript's units), in order, as soon as the job is done.

        Every job is planned on its own, as the backend's `translate` plans it, so its batches and
        numbers do not depend on the other jobs; the batches still to translate then go to the backend
        as one stream, so its workers never wait at a transcript's end while the next one is collected."""
        plans = [self._plan(units) for units in jobs]
        stream = self.inner.run([batch for plan in plans for batch in plan.todo])
        for units, plan in zip(jobs, plans, strict=True):
            yield gather(len(units), self._finished(plan, stream), progress)

    def _plan(self, units: Sequence[Sequence[str]]) -> Plan:
        keys = [self.cache.key(self.inner.signature, words) for words in units]
        found = self.cache.get(keys)
        plan = Plan(keys, [], [])
        for batch in self.inner.plan(units):
            if all(keys[i] in found for i in batch.indices):
                plan.done.append((batch, [found[keys[i]] for i in batch.indices]))
            else:
                plan.todo.append(batch)
        self.counts.cached += sum(len(batch.indices) for batch, _ in plan.done)
        self.counts.translated += sum(len(batch.indices) for batch in plan.todo)
        return plan

    def _finished(
        self, plan: Plan, stream: Iterator[list[Translation]]
    ) -> Iterator[tuple[Batch, list[Translation]]]:
        """The plan's cached batches, then its batches from the stream, each stored as it arrives."""
        yield from plan.done
        for batch in plan.todo:
            translations = next(stream)
            self.cache.put({plan.keys[i]: t for i, t in zip(batch.indices, translations, strict=True)})
            yield batch, translations
