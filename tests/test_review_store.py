from __future__ import annotations

import threading

import pytest

from pipeline.glossary import Term
from pipeline.output import OutputFolder
from pipeline.review.store import Conflict, ReviewStore
from tests.review_helpers import aligned

PAIRS = [("مرحبا بكم في البرنامج.", "Welcome to the show."), ("شكرا لك يا صقر.", "Thank you, Falcon.")]


@pytest.fixture
def store(tmp_path) -> ReviewStore:
    store = ReviewStore(OutputFolder(tmp_path).review_database)
    store.sync(aligned("talk", PAIRS))
    return store


def test_edits_approvals_and_comments_are_saved_with_their_history_and_survive_a_restart(store, tmp_path):
    first, _ = store.sentences("talk")
    edited = store.update("talk", first.id, 0, en="Welcome to our programme.")
    assert (edited.status, edited.revision, edited.machine) == ("edited", 1, "Welcome to the show.")
    approved = store.update("talk", first.id, 1, status="approved", comment="checked against audio")
    reopened = ReviewStore(OutputFolder(tmp_path).review_database).sentence("talk", first.id)
    assert reopened == approved
    assert (reopened.sentence.en, reopened.status, reopened.comment) == (
        "Welcome to our programme.",
        "approved",
        "checked against audio",
    )
    history = ReviewStore(OutputFolder(tmp_path).review_database).history("talk", first.id)
    assert [(h["revision"], h["field"], h["old"], h["new"]) for h in history] == [
        (1, "en", "Welcome to the show.", "Welcome to our programme."),
        (1, "status", "untouched", "edited"),
        (2, "status", "edited", "approved"),
        (2, "comment", "", "checked against audio"),
    ]


def test_a_write_based_on_a_stale_revision_is_refused_with_the_current_state(store):
    first, _ = store.sentences("talk")
    store.update("talk", first.id, 0, en="Tab one's English.")
    with pytest.raises(Conflict) as refused:
        store.update("talk", first.id, 0, en="Tab two's English.")
    assert refused.value.current.sentence.en == "Tab one's English."
    assert store.sentence("talk", first.id).sentence.en == "Tab one's English."


def test_two_concurrent_writers_never_lose_an_edit_silently(store):
    first, _ = store.sentences("talk")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)

    def write(number: int) -> None:
        barrier.wait()
        try:
            store.update("talk", first.id, 0, en=f"writer {number}")
            outcomes.append(f"saved {number}")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    saved = [o for o in outcomes if o.startswith("saved")]
    assert len(saved) == 1 and outcomes.count("conflict") == 7
    assert store.sentence("talk", first.id).sentence.en == f"writer {saved[0].split()[1]}"


def test_a_rerun_keeps_reviewed_english_for_unchanged_arabic_and_takes_new_machine_output(store):
    first, _second = store.sentences("talk")
    store.update("talk", first.id, 0, en="Welcome to our programme.", status="approved")
    rerun = [(ar, en.upper()) for ar, en in PAIRS]  # another model's output for the same Arabic
    assert store.sync(aligned("talk", rerun)) == 1
    kept, fresh = store.sentences("talk")
    assert (kept.id, kept.sentence.en, kept.status, kept.machine) == (
        first.id,
        "Welcome to our programme.",
        "approved",
        "WELCOME TO THE SHOW.",
    )
    assert (fresh.sentence.en, fresh.status, fresh.revision) == ("THANK YOU, FALCON.", "untouched", 1)


def test_an_edited_sentence_whose_arabic_changed_comes_back_flagged_with_the_old_edit_beside_it(store):
    _, second = store.sentences("talk")
    store.update("talk", second.id, 0, en="Thank you, Saqr.")
    changed = [PAIRS[0], ("شكرا جزيلا لك يا صقر.", "Thank you very much, Falcon.")]
    store.sync(aligned("talk", changed))
    _, new = store.sentences("talk")
    assert new.id != second.id
    assert "source-changed" in new.sentence.flags
    assert (new.previous, new.sentence.en, new.status) == (
        "Thank you, Saqr.",
        "Thank you very much, Falcon.",
        "untouched",
    )
    resolved = store.update("talk", new.id, new.revision, en="Thank you very much, Saqr.")
    assert "source-changed" not in resolved.sentence.flags and resolved.previous is None


def test_glossary_terms_missing_from_the_english_flag_the_sentence_until_it_is_fixed(tmp_path):
    store = ReviewStore(OutputFolder(tmp_path).review_database)
    pairs = [*PAIRS, ("وصقر هنا", "And he is here"), ("صقري هنا", "My falcon is here")]
    store.sync(aligned("talk", pairs), [Term("صَقْر", "Saqr", "g.tsv:1")])
    welcome, thanks, clitic, other_word = store.sentences("talk")
    assert "glossary" not in welcome.sentence.flags
    assert thanks.expected == ("Saqr",) and "glossary" in thanks.sentence.flags
    assert clitic.expected == ("Saqr",)  # و + صقر: "and Saqr"
    assert other_word.expected == ()  # صقري is another word
    fixed = store.update("talk", thanks.id, 0, en="Thank you, saqr.")
    assert fixed.expected == () and "glossary" not in fixed.sentence.flags


def test_progress_counts_each_status_and_the_flagged_sentences(store):
    first, _second = store.sentences("talk")
    store.update("talk", first.id, 0, status="approved")
    progress = store.progress("talk")
    assert (progress.total, progress.approved, progress.untouched, progress.edited) == (2, 1, 1, 0)
