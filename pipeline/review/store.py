"""The review database: one SQLite file in the output folder holding every sentence's reviewed state,
its history, and a translation memory that carries reviewed English over to later runs.

Every change is one transaction. A write names the revision it was based on; when another tab saved
the sentence since, the write is refused with the current state (`Conflict`) instead of overwriting it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pipeline.glossary import Term, fold, missing_renderings
from pipeline.records import AlignedSentence, AlignedTranscript, ReviewedSentence

STATUSES = ("untouched", "edited", "approved", "needs-work")
SOURCE_CHANGED = "source-changed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS transcripts (
    name TEXT PRIMARY KEY, source TEXT NOT NULL, model TEXT NOT NULL, glossary TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sentences (
    transcript TEXT NOT NULL, id TEXT NOT NULL, position INTEGER NOT NULL,
    ar TEXT NOT NULL, machine TEXT NOT NULL, en TEXT NOT NULL,
    status TEXT NOT NULL, comment TEXT NOT NULL, previous TEXT,
    segments TEXT NOT NULL, start REAL, end REAL, speaker TEXT,
    confidence REAL NOT NULL, flags TEXT NOT NULL, links TEXT NOT NULL,
    revision INTEGER NOT NULL, updated TEXT, seq INTEGER NOT NULL,
    PRIMARY KEY (transcript, id)
);
CREATE INDEX IF NOT EXISTS sentences_by_seq ON sentences (transcript, seq);
CREATE TABLE IF NOT EXISTS history (
    transcript TEXT NOT NULL, id TEXT NOT NULL, revision INTEGER NOT NULL,
    field TEXT NOT NULL, old TEXT, new TEXT, at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS memory (
    transcript TEXT NOT NULL, ar TEXT NOT NULL,
    en TEXT NOT NULL, status TEXT NOT NULL, comment TEXT NOT NULL, at TEXT NOT NULL,
    PRIMARY KEY (transcript, ar)
);
"""


class Conflict(Exception):
    """The sentence changed since the revision the write was based on."""

    def __init__(self, current: ReviewedSentence):
        self.current = current
        super().__init__(f"sentence {current.id} is at revision {current.revision}")


class UnknownSentence(KeyError):
    pass


@dataclass(frozen=True)
class Progress:
    name: str
    total: int
    approved: int
    edited: int
    needs_work: int
    flagged: int  # not yet approved and flagged by the checks (glossary included)
    untouched: int


def memory_key(ar: str) -> str:
    """The translation memory's key: the Arabic of a span, folded as the glossary folds it."""
    return " ".join(fold(ar))


def sentence_ids(sentences: Sequence[AlignedSentence]) -> list[str]:
    """Ids that stay the same across runs for the same Arabic in the same segments."""
    ids: list[str] = []
    seen: dict[str, int] = {}
    for sentence in sentences:
        digest = hashlib.sha1(
            json.dumps([sentence.segments, sentence.ar], ensure_ascii=False).encode()
        ).hexdigest()[:12]
        seen[digest] = seen.get(digest, 0) + 1
        ids.append(f"s{digest}" if seen[digest] == 1 else f"s{digest}-{seen[digest]}")
    return ids


def _revision_after_sync(before: sqlite3.Row | None, en: str, status: str) -> int:
    """Unchanged sentences keep their revision (an export made before the run still imports cleanly);
    changed ones move on, so a tab still showing the old text cannot overwrite the new."""
    if before is None:
        return 0
    return before["revision"] + (0 if (before["en"], before["status"]) == (en, status) else 1)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ReviewStore:
    def __init__(self, path: Path):
        """The database at `path` (an output folder's `OutputFolder.review_database`), created if need be."""
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
            db.executescript(_SCHEMA)
        finally:
            db.close()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """One connection per operation (the server answers from several threads); one transaction."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # waits 30 s for a lock
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    # --- what translate does ------------------------------------------------------------------------

    def sync(self, aligned: AlignedTranscript, glossary: Sequence[Term] = ()) -> int:
        """Replace a transcript's machine output, keeping reviewed work: a sentence whose Arabic the
        transcript's memory knows keeps its reviewed English (approval is a judgement in context, so the
        memory does not cross transcripts); where a reviewed sentence's Arabic changed, the new
        sentences over its segments come in flagged `source-changed` with the old English beside them.
        Returns how many sentences kept reviewed English."""
        name = aligned.transcript.name
        ids = sentence_ids(aligned.sentences)
        with self._connect() as db:
            old = {
                row["id"]: row for row in db.execute("SELECT * FROM sentences WHERE transcript = ?", (name,))
            }
            memory = {
                row["ar"]: row for row in db.execute("SELECT * FROM memory WHERE transcript = ?", (name,))
            }
            new_ids, keys = set(ids), {memory_key(sentence.ar) for sentence in aligned.sentences}
            orphans = [
                row
                for row in old.values()
                if row["status"] != "untouched"
                and row["id"] not in new_ids
                and memory_key(row["ar"]) not in keys
            ]
            seq = self._next_seq(db)
            kept = 0
            db.execute("DELETE FROM sentences WHERE transcript = ?", (name,))
            for position, (sentence_id, sentence) in enumerate(zip(ids, aligned.sentences, strict=True)):
                remembered = memory.get(memory_key(sentence.ar))
                before = old.get(sentence_id)
                en, status, comment, previous, flags = (
                    sentence.en,
                    "untouched",
                    "",
                    None,
                    list(sentence.flags),
                )
                if remembered is not None and remembered["status"] != "untouched":
                    en, status, comment = remembered["en"], remembered["status"], remembered["comment"]
                    kept += 1
                elif remembered is not None:
                    comment = remembered["comment"]  # a comment on machine output; the new output stands
                else:
                    overlapping = [
                        row["en"]
                        for row in orphans
                        if set(json.loads(row["segments"])) & set(sentence.segments)
                    ]
                    if before is not None and before["previous"]:  # still waiting for a reviewer
                        overlapping.insert(0, before["previous"])
                    if overlapping:
                        previous = "\n".join(overlapping)
                        flags.append(SOURCE_CHANGED)
                db.execute(
                    "INSERT INTO sentences VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        name,
                        sentence_id,
                        position,
                        sentence.ar,
                        sentence.en,
                        en,
                        status,
                        comment,
                        previous,
                        json.dumps(sentence.segments),
                        sentence.start,
                        sentence.end,
                        sentence.speaker,
                        sentence.confidence,
                        json.dumps(flags),
                        json.dumps(sentence.links),
                        _revision_after_sync(before, en, status),
                        before["updated"] if before is not None else None,
                        seq,
                    ),
                )
            db.execute(
                "INSERT OR REPLACE INTO transcripts VALUES (?, ?, ?, ?)",
                (name, aligned.transcript.source, aligned.model, json.dumps([vars(t) for t in glossary])),
            )
        return kept

    # --- what the review app and the exports read ----------------------------------------------------

    def transcripts(self) -> list[str]:
        with self._connect() as db:
            return [row["name"] for row in db.execute("SELECT name FROM transcripts ORDER BY name")]

    def sentences(self, name: str, since: int = -1) -> list[ReviewedSentence]:
        """In transcript order; with `since`, only those changed after that sequence number."""
        with self._connect() as db:
            terms = self._terms(db, name)
            rows = db.execute(
                "SELECT * FROM sentences WHERE transcript = ? AND seq > ? ORDER BY position", (name, since)
            ).fetchall()
        return [self._reviewed(row, terms) for row in rows]

    def sentence(self, name: str, sentence_id: str) -> ReviewedSentence:
        with self._connect() as db:
            return self._reviewed(self._row(db, name, sentence_id), self._terms(db, name))

    def latest_seq(self, name: str) -> int:
        with self._connect() as db:
            return db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sentences WHERE transcript = ?", (name,)
            ).fetchone()[0]

    def history(self, name: str, sentence_id: str) -> list[dict]:
        with self._connect() as db:
            self._row(db, name, sentence_id)
            rows = db.execute(
                "SELECT revision, field, old, new, at FROM history WHERE transcript = ? AND id = ? "
                "ORDER BY rowid",
                (name, sentence_id),
            )
            return [dict(row) for row in rows]

    def progress(self, name: str) -> Progress:
        sentences = self.sentences(name)
        count = {status: sum(1 for s in sentences if s.status == status) for status in STATUSES}
        flagged = sum(1 for s in sentences if s.status != "approved" and s.sentence.flags)
        return Progress(
            name,
            len(sentences),
            count["approved"],
            count["edited"],
            count["needs-work"],
            flagged,
            count["untouched"],
        )

    # --- what a reviewer does ------------------------------------------------------------------------

    def update(
        self,
        name: str,
        sentence_id: str,
        revision: int,
        *,
        en: str | None = None,
        status: str | None = None,
        comment: str | None = None,
    ) -> ReviewedSentence:
        """Save a reviewer's change made on `revision`. New English without a status marks it edited.
        Raises Conflict when the sentence is no longer at `revision`."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; choose from {', '.join(STATUSES)}")
        with self._connect() as db:
            row = self._row(db, name, sentence_id)
            if row["revision"] != revision:
                raise Conflict(self._reviewed(row, self._terms(db, name)))
            changes = {}
            if en is not None and en != row["en"]:
                changes["en"] = en
                if status is None and row["status"] in ("untouched", "needs-work"):
                    status = "edited"
            if status is not None and status != row["status"]:
                changes["status"] = status
            if comment is not None and comment != row["comment"]:
                changes["comment"] = comment
            if not changes:
                return self._reviewed(row, self._terms(db, name))
            at, new_revision = _now(), revision + 1
            for field, value in changes.items():
                db.execute(
                    "INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (name, sentence_id, new_revision, field, row[field], value, at),
                )
            current = {**dict(row), **changes}
            flags = [flag for flag in json.loads(row["flags"]) if flag != SOURCE_CHANGED]
            resolved = current["status"] in ("edited", "approved")
            db.execute(
                "UPDATE sentences SET en = ?, status = ?, comment = ?, revision = ?, updated = ?, seq = ?, "
                "previous = ?, flags = ? WHERE transcript = ? AND id = ?",
                (
                    current["en"],
                    current["status"],
                    current["comment"],
                    new_revision,
                    at,
                    self._next_seq(db),
                    None if resolved else row["previous"],
                    json.dumps(flags if resolved else json.loads(row["flags"])),
                    name,
                    sentence_id,
                ),
            )
            db.execute(
                "INSERT OR REPLACE INTO memory VALUES (?, ?, ?, ?, ?, ?)",
                (name, memory_key(row["ar"]), current["en"], current["status"], current["comment"], at),
            )
            return self._reviewed(self._row(db, name, sentence_id), self._terms(db, name))

    # --- helpers -------------------------------------------------------------------------------------

    @staticmethod
    def _next_seq(db: sqlite3.Connection) -> int:
        return db.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM sentences").fetchone()[0]

    @staticmethod
    def _head(db: sqlite3.Connection, name: str) -> sqlite3.Row:
        head = db.execute("SELECT * FROM transcripts WHERE name = ?", (name,)).fetchone()
        if head is None:
            raise KeyError(name)
        return head

    def _terms(self, db: sqlite3.Connection, name: str) -> list[Term]:
        return [Term(**term) for term in json.loads(self._head(db, name)["glossary"])]

    @staticmethod
    def _row(db: sqlite3.Connection, name: str, sentence_id: str) -> sqlite3.Row:
        row = db.execute(
            "SELECT * FROM sentences WHERE transcript = ? AND id = ?", (name, sentence_id)
        ).fetchone()
        if row is None:
            raise UnknownSentence(f"{name}/{sentence_id}")
        return row

    @staticmethod
    def _reviewed(row: sqlite3.Row, terms: Sequence[Term]) -> ReviewedSentence:
        missing = missing_renderings(list(terms), row["ar"], row["en"])
        flags = tuple(json.loads(row["flags"])) + (("glossary",) if missing else ())
        sentence = AlignedSentence(
            index=row["position"],
            en=row["en"],
            ar=row["ar"],
            segments=tuple(json.loads(row["segments"])),
            start=row["start"],
            end=row["end"],
            speaker=row["speaker"],
            confidence=row["confidence"],
            flags=flags,
            links=tuple(tuple(link) for link in json.loads(row["links"]))
            if row["en"] == row["machine"]
            else (),
        )
        return ReviewedSentence(
            id=row["id"],
            sentence=sentence,
            machine=row["machine"],
            status=row["status"],
            comment=row["comment"],
            revision=row["revision"],
            previous=row["previous"],
            expected=tuple(term.en for term in missing),
            updated=row["updated"],
        )
