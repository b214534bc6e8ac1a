"""The review database: one SQLite file in the output folder holding every sentence's reviewed state,
its history, and a translation memory of reviewed English per Arabic.

Every change is one transaction. A write names the revision it was based on; when another tab saved
the sentence since, the write is refused with the current state (`Conflict`) instead of overwriting it.

A re-run keeps each sentence's own review: it is matched to its own row by id (its Arabic and its
segments), so the fifth `نعم` keeps the fifth's English, status and comment. The memory only proposes:
an untouched sentence whose Arabic was reviewed elsewhere in the transcript gets that English in
`previous`, flagged `memory` (and `memory-approved`), and stays untouched until a reviewer takes it.

A reviewer's English is aligned again for its own text (`EditAlignment`, computed by the caller
before the write, see pipeline.review.realign): its word links, the aligner's confidence in it and
the flags that judge English. The machine's values stay beside them, and each edit alignment names
the English it was computed for, so it is never shown for other text.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path

from pipeline.errors import InputError, UserError
from pipeline.glossary import Term, fold, missing_renderings
from pipeline.quality import ENGLISH_FLAGS, FLAG_CHECKS, GLOSSARY, SCORED_FLAGS
from pipeline.records import AlignedSentence, AlignedTranscript, ReviewedSentence

STATUSES = ("untouched", "edited", "approved", "needs-work")
REVIEWED = ("edited", "approved")  # English a reviewer chose: what the memory may propose
SOURCE_CHANGED = "source-changed"
MEMORY = "memory"  # the memory proposes English (in `previous`) for this untouched sentence
MEMORY_APPROVED = "memory-approved"  # beside MEMORY: the proposal was approved where it was reviewed

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
    edit_en TEXT, edit_links TEXT, edit_flags TEXT, edit_confidence REAL, edit_note TEXT,
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
CREATE TABLE IF NOT EXISTS origins (name TEXT PRIMARY KEY, path TEXT NOT NULL);
"""
# Columns added since the first schema, as `ALTER TABLE sentences ADD COLUMN` takes them (see _migrate).
_ADDED_COLUMNS = {
    "edit_en": "TEXT",  # the English the edit_* values were computed for
    "edit_links": "TEXT",  # JSON [[english word, arabic word], ...]
    "edit_flags": "TEXT",  # JSON: the ENGLISH_FLAGS of edit_en (glossary aside: judged on every read)
    "edit_confidence": "REAL",  # the aligner's confidence in edit_en; NULL: no aligner scored it
    "edit_note": "TEXT",  # why edit_en has no word links; NULL: the aligner linked it
}
_SENTENCE_COLUMNS = (
    "transcript, id, position, ar, machine, en, status, comment, previous, segments, start, end, "
    "speaker, confidence, flags, links, revision, updated, seq, " + ", ".join(_ADDED_COLUMNS)
)
ARABIC_CHANGED = (
    "its Arabic was read differently since this English was aligned: no word links until it is saved again"
)
UNALIGNED_EDIT = (
    "edited before edits were aligned again (or outside the review app): no word links until its "
    "English is saved again"
)


class Conflict(Exception):
    """The sentence changed since the revision the write was based on."""

    def __init__(self, current: ReviewedSentence):
        self.current = current
        super().__init__(f"sentence {current.id} is at revision {current.revision}")


class UnknownSentence(KeyError):
    pass


@dataclass(frozen=True)
class EditAlignment:
    """What a reviewer's English `en` got, for the sentence's Arabic as written: word links into its
    whitespace words, the flags that judge English (quality.ENGLISH_FLAGS, glossary aside), the
    aligner's confidence in it (None: no aligner scored it) and, where it has no links, why."""

    en: str
    links: tuple[tuple[int, int], ...] = ()
    flags: tuple[str, ...] = ()
    confidence: float | None = None
    note: str | None = None


def unaligned_edits(pairs: Sequence[tuple[str, str]], note: str) -> list[EditAlignment]:
    """(Arabic, English) pairs judged without a model: the flags that need none, no links, `note`."""
    from pipeline.aligner import realign_many  # numpy and the backends' planning: only when needed

    return [
        EditAlignment(en, (), english_flags(sentence.flags), None, note)
        for (_, en), sentence in zip(pairs, realign_many(None, pairs), strict=True)
    ]


def english_flags(flags: Iterable[str]) -> tuple[str, ...]:
    return tuple(flag for flag in flags if flag in ENGLISH_FLAGS)


@dataclass(frozen=True)
class Progress:
    name: str
    total: int
    approved: int
    edited: int
    needs_work: int
    flagged: int  # is_flagged: the transcript page's filter shows as many
    untouched: int


def is_flagged(reviewed: ReviewedSentence) -> bool:
    """What "flagged" means everywhere (index page, transcript page, its filter and progress bar): not
    yet approved, with a flag of the current English (a check's, the glossary's, a memory proposal's)."""
    return reviewed.status != "approved" and bool(reviewed.sentence.flags)


@lru_cache(maxsize=1 << 16)
def memory_key(ar: str) -> str:
    """The translation memory's key: the Arabic of a span, folded as the glossary folds it. Cached: a
    save looks for the other occurrences of its Arabic among all the transcript's sentences."""
    return " ".join(fold(ar))


@dataclass(frozen=True)
class Rendering:
    """Reviewed English for some Arabic, as the memory may propose it."""

    en: str
    status: str
    at: str  # when it was saved; "" when unknown


def best_rendering(candidates: Iterable[Rendering]) -> Rendering | None:
    """What to propose where one Arabic was reviewed differently: approved beats edited, then the
    latest. English that is untouched or needs work is never proposed."""
    reviewed = [c for c in candidates if c.status in REVIEWED]
    return max(reviewed, key=lambda c: (c.status == "approved", c.at), default=None)


def with_proposal(en: str, flags: Sequence[str], proposal: Rendering | None) -> tuple[str | None, list[str]]:
    """An untouched sentence's `previous` and flags with `proposal` in place of any earlier one. No
    proposal where it would change nothing (the machine already wrote that English)."""
    kept = [flag for flag in flags if flag not in (MEMORY, MEMORY_APPROVED)]
    if proposal is None or proposal.en == en:
        return None, kept
    return proposal.en, [*kept, MEMORY, *([MEMORY_APPROVED] if proposal.status == "approved" else [])]


def match_rows(
    old: Sequence[sqlite3.Row], ids: Sequence[str], keys: Sequence[str]
) -> list[sqlite3.Row | None]:
    """Each new sentence's row from the last run (`old` in transcript order), or None. First by id (the
    same Arabic over the same segments); then, where segment ids moved (a line added above renumbers a
    plain-text transcript), the leftovers are lined up by their Arabic in transcript order, so the
    third `نعم` stays the third and never takes another occurrence's review."""
    by_id = {row["id"]: row for row in old}
    matched = [by_id.get(sentence_id) for sentence_id in ids]
    taken = {row["id"] for row in matched if row is not None}
    left_old = [row for row in old if row["id"] not in taken]
    left_new = [index for index, row in enumerate(matched) if row is None]
    if left_old and left_new:
        pairs = SequenceMatcher(
            None, [memory_key(row["ar"]) for row in left_old], [keys[i] for i in left_new], autojunk=False
        )
        for a, b, size in pairs.get_matching_blocks():
            for k in range(size):
                matched[left_new[b + k]] = left_old[a + k]
    return matched


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


def _links(text: str) -> tuple[tuple[int, int], ...]:
    return tuple((int(en), int(ar)) for en, ar in json.loads(text))


def _stored_edit(row: sqlite3.Row) -> EditAlignment:
    """A row's edit alignment (its edit_en is not NULL)."""
    return EditAlignment(
        row["edit_en"],
        _links(row["edit_links"] or "[]"),
        tuple(json.loads(row["edit_flags"] or "[]")),
        row["edit_confidence"],
        row["edit_note"],
    )


def _edit_values(edit: EditAlignment | None) -> tuple[object, ...]:
    """The edit_* columns' values, in _ADDED_COLUMNS order."""
    if edit is None:
        return (None,) * len(_ADDED_COLUMNS)
    return (
        edit.en,
        json.dumps([list(link) for link in edit.links]),
        json.dumps(list(edit.flags)),
        edit.confidence,
        edit.note,
    )


def _rendering(row: sqlite3.Row) -> Rendering:
    return Rendering(row["en"], row["status"], row["updated"] or "")


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
        except sqlite3.DatabaseError as error:
            raise UserError(
                f"{path}: the review database cannot be opened ({error}). It holds the reviewers' work, so "
                "nothing was changed: restore it from a backup, or move it away to start a new one"
            ) from None
        finally:
            db.close()
        self._migrate()

    def _migrate(self) -> None:
        """A database made before the edit alignment gets its columns; English reviewers edited then
        gets the flags that need no model (it has no links until it is saved again). Only a database
        that needs it waits for the write lock."""

        def missing_columns(db: sqlite3.Connection) -> list[str]:
            have = {row["name"] for row in db.execute("PRAGMA table_info(sentences)")}
            return [column for column in _ADDED_COLUMNS if column not in have]

        with self._connect(write=False) as db:
            if not missing_columns(db):
                return
        with self._connect() as db:
            for column in missing_columns(db):  # none where another process migrated it meanwhile
                db.execute(f"ALTER TABLE sentences ADD COLUMN {column} {_ADDED_COLUMNS[column]}")
            edited = db.execute(
                "SELECT transcript, id, ar, en FROM sentences WHERE en != machine AND edit_en IS NULL"
            ).fetchall()
            alignments = unaligned_edits([(row["ar"], row["en"]) for row in edited], UNALIGNED_EDIT)
            for row, alignment in zip(edited, alignments, strict=True):
                self._set_edit(db, row["transcript"], row["id"], alignment)

    @contextmanager
    def _connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """One connection per operation (the server answers from several threads); one transaction. A
        write takes the write lock at once (waiting up to 30 s for another writer); a read is a deferred
        transaction, which in WAL mode reads a snapshot and never waits behind a writer, such as a
        `translate` re-run syncing a long transcript."""
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
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
        """Replace a transcript's machine output, keeping reviewed work: each sentence keeps its own
        row's English, status and comment (`match_rows`), however often its Arabic recurs; where a
        reviewed sentence's Arabic changed, the new sentences over its segments come in flagged
        `source-changed` with the old English beside them; an untouched sentence whose Arabic was
        reviewed elsewhere in the transcript gets that English as a proposal (approval is a judgement
        in context, so the memory neither decides for it nor crosses transcripts). One transaction:
        a save made meanwhile either lands first and is kept, or is checked against the new revision.
        Returns how many sentences kept reviewed English."""
        name = aligned.transcript.name
        ids = sentence_ids(aligned.sentences)
        keys = [memory_key(sentence.ar) for sentence in aligned.sentences]
        with self._connect() as db:
            old = db.execute(
                "SELECT * FROM sentences WHERE transcript = ? ORDER BY position", (name,)
            ).fetchall()
            memory = {
                row["ar"]: Rendering(row["en"], row["status"], row["at"])
                for row in db.execute("SELECT * FROM memory WHERE transcript = ?", (name,))
            }
            matched = match_rows(old, ids, keys)
            carried = {row["id"] for row in matched if row is not None}
            # Reviewed rows left without a sentence: their Arabic changed (or is gone).
            unpaired = [row for row in old if row["status"] != "untouched" and row["id"] not in carried]
            states = [
                self._carried(sentence, before, unpaired)
                for sentence, before in zip(aligned.sentences, matched, strict=True)
            ]
            renderings: dict[str, list[Rendering]] = {}
            for key, (en, status, *_rest), before in zip(keys, states, matched, strict=True):
                at = before["updated"] if before is not None else None
                renderings.setdefault(key, []).append(Rendering(en, status, at or ""))
            for row in unpaired:  # reviewed English whose sentence is gone still counts
                renderings.setdefault(memory_key(row["ar"]), []).append(_rendering(row))
            proposals: dict[str, Rendering | None] = {}
            for key, candidates in renderings.items():
                best = best_rendering(candidates)
                if best is not None and best != memory.get(key):
                    self._remember(db, name, key, best)
                proposals[key] = best or best_rendering([memory[key]] if key in memory else [])
            edits = self._carried_edits(aligned.sentences, matched, [state[0] for state in states])
            seq = self._next_seq(db)
            db.execute("DELETE FROM sentences WHERE transcript = ?", (name,))
            for position, (sentence_id, sentence, before, key, state, edit) in enumerate(
                zip(ids, aligned.sentences, matched, keys, states, edits, strict=True)
            ):
                en, status, comment, previous, flags = state
                if status == "untouched" and SOURCE_CHANGED not in flags:
                    previous, flags = with_proposal(en, flags, proposals[key])
                if before is not None and before["id"] != sentence_id:  # its history moves with it
                    db.execute(
                        "UPDATE history SET id = ? WHERE transcript = ? AND id = ?",
                        (sentence_id, name, before["id"]),
                    )
                db.execute(
                    f"INSERT INTO sentences ({_SENTENCE_COLUMNS}) VALUES ({', '.join('?' * 24)})",
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
                        *_edit_values(edit),
                    ),
                )
            db.execute(
                "INSERT OR REPLACE INTO transcripts VALUES (?, ?, ?, ?)",
                (name, aligned.transcript.source, aligned.model, json.dumps([vars(t) for t in glossary])),
            )
        return sum(1 for _en, status, *_rest in states if status != "untouched")

    @staticmethod
    def _carried_edits(
        sentences: Sequence[AlignedSentence], matched: Sequence[sqlite3.Row | None], english: Sequence[str]
    ) -> list[EditAlignment | None]:
        """Each new sentence's edit alignment: None where its English is the machine's; a reviewer's
        English over the same Arabic keeps its own (or, where it is the last run's machine English,
        that run's links and English flags, unscored); other reviewed English is judged afresh
        without a model (its Arabic was read differently: no links until it is saved again)."""
        edits: list[EditAlignment | None] = []
        afresh: dict[str, list[int]] = {}  # note -> the sentences judged afresh with it
        for index, (sentence, before, en) in enumerate(zip(sentences, matched, english, strict=True)):
            edit = None
            if en == sentence.en or before is None:
                pass
            elif before["ar"] != sentence.ar:
                afresh.setdefault(ARABIC_CHANGED, []).append(index)
            elif before["edit_en"] == en:
                edit = _stored_edit(before)
            elif before["machine"] == en:
                flags = english_flags(json.loads(before["flags"]))
                edit = EditAlignment(
                    en, _links(before["links"]), tuple(f for f in flags if f not in SCORED_FLAGS)
                )
            else:
                afresh.setdefault(UNALIGNED_EDIT, []).append(index)
            edits.append(edit)
        for note, indices in afresh.items():
            pairs = [(sentences[index].ar, english[index]) for index in indices]
            for index, edit in zip(indices, unaligned_edits(pairs, note), strict=True):
                edits[index] = edit
        return edits

    @staticmethod
    def _carried(
        sentence: AlignedSentence, before: sqlite3.Row | None, orphans: Sequence[sqlite3.Row]
    ) -> tuple[str, str, str, str | None, list[str]]:
        """A new sentence's English, status, comment, `previous` and flags, from its own row of the last
        run: reviewed English stays, untouched English is the new machine output; without a row, the
        reviewed English of vanished Arabic over the same segments comes beside it, `source-changed`."""
        flags = list(sentence.flags)
        if before is not None:
            reviewed = before["status"] != "untouched"
            en = before["en"] if reviewed else sentence.en
            pending = SOURCE_CHANGED in json.loads(before["flags"]) and before["previous"]
            if pending:  # still waiting for a reviewer
                flags.append(SOURCE_CHANGED)
            return en, before["status"], before["comment"], before["previous"] if pending else None, flags
        overlapping = [
            row["en"] for row in orphans if set(json.loads(row["segments"])) & set(sentence.segments)
        ]
        if overlapping:
            flags.append(SOURCE_CHANGED)
            return sentence.en, "untouched", "", "\n".join(overlapping), flags
        return sentence.en, "untouched", "", None, flags

    def claim(self, name: str, source: Path, replace: bool = False) -> None:
        """Records that transcript `name` in this folder comes from the file `source`. A transcript of
        that name from another file is a different interview: refused (InputError), unless `replace`,
        which forgets the old one's sentences and memory (its history stays). Databases from before
        this check have no origin yet: the first run records it."""
        path = str(source.resolve())
        with self._connect() as db:
            row = db.execute("SELECT path FROM origins WHERE name = ?", (name,)).fetchone()
            if row is not None and row["path"] != path:
                if not replace:
                    raise InputError(
                        str(source),
                        f"{self.path.parent} already holds a transcript named {name!r} from another file "
                        f"({row['path']}); use another --out, or --replace to replace it and its reviews",
                    )
                for table, column in (
                    ("sentences", "transcript"),
                    ("memory", "transcript"),
                    ("transcripts", "name"),
                ):
                    db.execute(f"DELETE FROM {table} WHERE {column} = ?", (name,))
            db.execute("INSERT OR REPLACE INTO origins VALUES (?, ?)", (name, path))

    # --- what the review app and the exports read ----------------------------------------------------

    def origin(self, name: str) -> Path | None:
        """The file transcript `name` was read from (see `claim`), where recorded."""
        with self._connect(write=False) as db:
            row = db.execute("SELECT path FROM origins WHERE name = ?", (name,)).fetchone()
        return None if row is None else Path(row["path"])

    def transcripts(self) -> list[str]:
        with self._connect(write=False) as db:
            return [row["name"] for row in db.execute("SELECT name FROM transcripts ORDER BY name")]

    def sentences(self, name: str, since: int = -1) -> list[ReviewedSentence]:
        """In transcript order; with `since`, only those changed after that sequence number."""
        with self._connect(write=False) as db:
            terms = self._terms(db, name)
            rows = db.execute(
                "SELECT * FROM sentences WHERE transcript = ? AND seq > ? ORDER BY position", (name, since)
            ).fetchall()
        return [self._reviewed(row, terms) for row in rows]

    def sentence(self, name: str, sentence_id: str) -> ReviewedSentence:
        with self._connect(write=False) as db:
            return self._reviewed(self._row(db, name, sentence_id), self._terms(db, name))

    def latest_seq(self, name: str) -> int:
        with self._connect(write=False) as db:
            return db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sentences WHERE transcript = ?", (name,)
            ).fetchone()[0]

    def history(self, name: str, sentence_id: str) -> list[dict]:
        with self._connect(write=False) as db:
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
        flagged = sum(1 for s in sentences if is_flagged(s))
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
        alignment: EditAlignment | None = None,
    ) -> ReviewedSentence:
        """Save a reviewer's change made on `revision`. New English without a status marks it edited;
        it is saved with `alignment` where that was computed for it (pipeline.review.realign: done
        before, outside the transaction), else judged here without a model (no links). Raises
        Conflict, writing nothing, when the sentence is no longer at `revision`."""
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
            flags, previous = json.loads(row["flags"]), row["previous"]
            if current["status"] != "untouched" and MEMORY in flags:  # proposals are for untouched ones
                flags, previous = [f for f in flags if f not in (MEMORY, MEMORY_APPROVED)], None
            if current["status"] in REVIEWED:  # a reviewer has seen the old English beside it
                flags, previous = [f for f in flags if f != SOURCE_CHANGED], None
            if "en" in changes and changes["en"] != row["machine"]:
                if alignment is None or alignment.en != changes["en"]:
                    [alignment] = unaligned_edits([(row["ar"], changes["en"])], UNALIGNED_EDIT)
                self._set_edit(db, name, sentence_id, alignment)
            seq = self._next_seq(db)
            db.execute(
                "UPDATE sentences SET en = ?, status = ?, comment = ?, revision = ?, updated = ?, seq = ?, "
                "previous = ?, flags = ? WHERE transcript = ? AND id = ?",
                (
                    current["en"],
                    current["status"],
                    current["comment"],
                    new_revision,
                    at,
                    seq,
                    previous,
                    json.dumps(flags),
                    name,
                    sentence_id,
                ),
            )
            withdrawn = row["en"] if row["status"] in REVIEWED and current["status"] not in REVIEWED else None
            self._propose(db, name, memory_key(row["ar"]), seq, withdrawn)
            return self._reviewed(self._row(db, name, sentence_id), self._terms(db, name))

    # --- helpers -------------------------------------------------------------------------------------

    def _propose(self, db: sqlite3.Connection, name: str, key: str, seq: int, withdrawn: str | None) -> None:
        """After a save, at once: the memory takes the best reviewed English of `key` in the transcript,
        and every untouched sentence with that Arabic is offered it (only `previous` and flags change,
        so tabs showing them can still save). `withdrawn`: English a reviewer just took back (set to
        needs work), which the memory forgets when no other sentence still has it reviewed."""
        db.create_function("memory_key", 1, memory_key, deterministic=True)  # cached: a save stays quick
        rows = db.execute(
            "SELECT id, en, status, flags, previous, updated FROM sentences "
            "WHERE transcript = ? AND memory_key(ar) = ?",
            (name, key),
        ).fetchall()
        best = best_rendering(_rendering(row) for row in rows)
        remembered = db.execute(
            "SELECT en, status, at FROM memory WHERE transcript = ? AND ar = ?", (name, key)
        ).fetchone()
        if best is not None:
            self._remember(db, name, key, best)
        elif remembered is not None and remembered["en"] == withdrawn:
            db.execute("DELETE FROM memory WHERE transcript = ? AND ar = ?", (name, key))
            remembered = None
        if best is None and remembered is not None:
            best = best_rendering([Rendering(remembered["en"], remembered["status"], remembered["at"])])
        for row in rows:
            flags = json.loads(row["flags"])
            if row["status"] != "untouched" or SOURCE_CHANGED in flags:
                continue
            previous, proposed = with_proposal(row["en"], flags, best)
            if (previous, proposed) != (row["previous"], flags):
                db.execute(
                    "UPDATE sentences SET previous = ?, flags = ?, seq = ? WHERE transcript = ? AND id = ?",
                    (previous, json.dumps(proposed), seq, name, row["id"]),
                )

    @staticmethod
    def _set_edit(db: sqlite3.Connection, name: str, sentence_id: str, edit: EditAlignment) -> None:
        assignments = ", ".join(f"{column} = ?" for column in _ADDED_COLUMNS)
        db.execute(
            f"UPDATE sentences SET {assignments} WHERE transcript = ? AND id = ?",
            (*_edit_values(edit), name, sentence_id),
        )

    @staticmethod
    def _remember(db: sqlite3.Connection, name: str, key: str, best: Rendering) -> None:
        db.execute(
            "INSERT OR REPLACE INTO memory VALUES (?, ?, ?, ?, ?, ?)",
            (name, key, best.en, best.status, "", best.at),
        )

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
        """A row as the app and the exports read it. The machine's English shows the machine's links
        and flags; a reviewer's English, its edit alignment's links and English flags beside the
        flags that do not judge the English (the Arabic's, the memory's, source-changed)."""
        missing = missing_renderings(list(terms), row["ar"], row["en"]) if terms else []
        stored = json.loads(row["flags"])
        machine_missing = (
            missing
            if row["en"] == row["machine"] or not terms
            else missing_renderings(list(terms), row["ar"], row["machine"])
        )
        machine_flags = tuple(flag for flag in stored if flag in FLAG_CHECKS)
        machine_flags += (GLOSSARY,) if machine_missing else ()
        edit: EditAlignment | None = None
        if row["en"] == row["machine"]:
            flags, links = tuple(stored), _links(row["links"])
        else:
            # Never left unaligned by a write; a database edited by hand might be.
            edit = (
                _stored_edit(row)
                if row["edit_en"] == row["en"]
                else EditAlignment(row["en"], note=UNALIGNED_EDIT)
            )
            judged = set(edit.flags) | {flag for flag in stored if flag not in ENGLISH_FLAGS}
            flags = tuple(flag for flag in FLAG_CHECKS if flag in judged)  # the checks' order
            flags += tuple(flag for flag in stored if flag in judged and flag not in FLAG_CHECKS)
            links = edit.links
        flags += (GLOSSARY,) if missing else ()
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
            links=links,
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
            machine_flags=machine_flags,
            edit_confidence=None if edit is None else edit.confidence,
            realign_note=None if edit is None else edit.note,
        )
