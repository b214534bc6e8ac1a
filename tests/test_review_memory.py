"""Repeated Arabic (short answers such as نعم occur dozens of times) through re-runs: each occurrence
keeps its own review, and the translation memory only proposes English for the untouched ones."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from starlette.testclient import TestClient

from pipeline.cli import main
from pipeline.output import OutputFolder
from pipeline.records import ReviewedSentence
from pipeline.review.app import create_app
from pipeline.review.store import MEMORY, MEMORY_APPROVED, SOURCE_CHANGED, Conflict, ReviewStore
from pipeline.tools.browser import CHROMIUM_FLAGS, chromium, serving
from tests.review_helpers import aligned

YES = "نعم."
PAIRS = [
    ("هل أنت من دبي؟", "Are you from Dubai?"),
    (YES, "Yes."),
    ("هل تصطاد بالصقور؟", "Do you hunt with falcons?"),
    (YES, "Yes."),
    ("منذ الصغر؟", "Since childhood?"),
    (YES, "Yes."),
    ("وأبوك أيضا؟", "And your father too?"),
    (YES, "Yes."),
]


def state(s: ReviewedSentence) -> tuple[str, str, str, int]:
    return s.sentence.en, s.status, s.comment, s.revision


def answers(store: ReviewStore) -> list[ReviewedSentence]:
    return [s for s in store.sentences("talk") if s.sentence.ar == YES]


@pytest.fixture
def store(tmp_path) -> ReviewStore:
    store = ReviewStore(OutputFolder(tmp_path).review_database)
    store.sync(aligned("talk", PAIRS))
    return store


def review_differently(store: ReviewStore) -> list[ReviewedSentence]:
    """One approved (A), one edited with a comment (B), one needs work, one untouched."""
    first, second, third, _ = answers(store)
    store.update("talk", first.id, 0, en="Yes, I am.", status="approved")
    store.update("talk", second.id, 0, en="Yes, I do.", comment="he sounds proud")
    store.update("talk", third.id, 0, status="needs-work", comment="listen again")
    return answers(store)


def test_a_rerun_keeps_each_occurrences_own_review_and_only_proposes_to_the_untouched_one(store):
    before = review_differently(store)
    assert [s.status for s in before] == ["approved", "edited", "needs-work", "untouched"]

    assert store.sync(aligned("talk", PAIRS)) == 3  # the same machine output again: a re-run
    assert store.sync(aligned("talk", PAIRS)) == 3  # and again
    after = answers(store)
    assert [s.id for s in after] == [s.id for s in before]
    assert [state(s) for s in after[:3]] == [
        ("Yes, I am.", "approved", "", 1),
        ("Yes, I do.", "edited", "he sounds proud", 1),
        ("Yes.", "needs-work", "listen again", 1),
    ]
    untouched = after[3]
    assert state(untouched) == ("Yes.", "untouched", "", 0)  # still the machine's English
    assert untouched.machine == "Yes."
    assert untouched.sentence.flags[-2:] == (MEMORY, MEMORY_APPROVED)
    assert untouched.previous == "Yes, I am."  # approved beats the later edit
    for reviewed in after[:3]:
        assert MEMORY not in reviewed.sentence.flags and reviewed.previous is None
    others = [s for s in store.sentences("talk") if s.sentence.ar != YES]
    assert {s.status for s in others} == {"untouched"} and all(s.previous is None for s in others)


def test_the_proposal_appears_at_once_and_using_it_is_an_ordinary_checked_edit(store):
    first, second, *_ = answers(store)
    store.update("talk", first.id, 0, en="Yes, I am.")
    proposed = answers(store)[1]
    assert (proposed.previous, proposed.status, proposed.sentence.flags) == (
        "Yes, I am.",
        "untouched",
        (MEMORY,),
    )
    assert proposed.revision == 0  # a tab showing it can still save on revision 0

    with pytest.raises(Conflict):
        store.update("talk", second.id, 1, en="Yes, I am.")
    taken = store.update("talk", second.id, 0, en="Yes, I am.")
    assert state(taken) == ("Yes, I am.", "edited", "", 1)
    assert taken.previous is None and MEMORY not in taken.sentence.flags
    assert [h["field"] for h in store.history("talk", second.id)] == ["en", "status"]


def test_counts_agree_with_the_filters_a_proposal_is_flagged_but_neither_edited_nor_approved(store):
    review_differently(store)
    progress = store.progress("talk")
    sentences = store.sentences("talk")
    assert (progress.approved, progress.edited, progress.needs_work, progress.untouched) == (1, 1, 1, 5)
    flagged = [s for s in sentences if s.status != "approved" and s.sentence.flags]  # the page's filter
    assert progress.flagged == len(flagged) == 1 and MEMORY in flagged[0].sentence.flags


def test_taking_back_the_only_reviewed_english_withdraws_the_proposal(store):
    first, *_ = answers(store)
    store.update("talk", first.id, 0, en="Yes, I am.", status="approved")
    assert all(s.previous == "Yes, I am." for s in answers(store)[1:])
    store.update("talk", first.id, 1, status="needs-work")
    assert all(s.previous is None and MEMORY not in s.sentence.flags for s in answers(store)[1:])
    store.sync(aligned("talk", PAIRS))
    assert all(s.previous is None for s in answers(store)[1:])


def test_a_line_added_above_renumbers_the_segments_and_each_occurrence_still_keeps_its_review(store):
    before = review_differently(store)
    shifted = aligned("talk", [("أهلا وسهلا.", "Welcome."), *PAIRS])  # every segment id moves by one
    assert store.sync(shifted) == 3
    after = answers(store)
    assert [s.id for s in after] != [s.id for s in before]
    assert [(s.sentence.en, s.status, s.comment) for s in after] == [
        ("Yes, I am.", "approved", ""),
        ("Yes, I do.", "edited", "he sounds proud"),
        ("Yes.", "needs-work", "listen again"),
        ("Yes.", "untouched", ""),
    ]
    assert after[3].previous == "Yes, I am."
    assert [h["new"] for h in store.history("talk", after[1].id)] == [
        "Yes, I do.",
        "edited",
        "he sounds proud",
    ]


def test_an_occurrence_whose_arabic_changed_is_source_changed_not_given_another_occurrences_review(store):
    review_differently(store)
    changed = [*PAIRS]
    changed[3] = ("نعم، منذ زمن بعيد.", "Yes, for a long time.")  # the second answer was misheard
    assert store.sync(aligned("talk", changed)) == 2
    new = store.sentences("talk")[3]
    assert (new.sentence.en, new.status, new.previous) == ("Yes, for a long time.", "untouched", "Yes, I do.")
    assert SOURCE_CHANGED in new.sentence.flags and MEMORY not in new.sentence.flags
    first, third, fourth = answers(store)
    assert (first.status, third.status, fourth.status) == ("approved", "needs-work", "untouched")


def test_a_database_from_the_previous_version_opens_and_its_last_save_memory_decides_nothing(tmp_path):
    """The schema is unchanged; the previous version's memory held the last save of any status."""
    database = OutputFolder(tmp_path).review_database
    store = ReviewStore(database)
    store.sync(aligned("talk", PAIRS))
    first, *_ = answers(store)
    store.update("talk", first.id, 0, en="Yes, I am.", status="approved")
    with sqlite3.connect(database) as db:  # as the previous version left it after a needs-work save
        db.execute(
            "UPDATE memory SET en = 'Yes.', status = 'needs-work', comment = 'listen again' "
            "WHERE transcript = ?",
            ("talk",),
        )
    reopened = ReviewStore(database)
    reopened.sync(aligned("talk", PAIRS))
    after = answers(reopened)
    assert state(after[0]) == ("Yes, I am.", "approved", "", 1)
    assert [(s.status, s.comment, s.previous) for s in after[1:]] == [("untouched", "", "Yes, I am.")] * 3


def test_a_save_made_while_reruns_sync_is_never_lost(store):
    first = answers(store)[0]
    saved: list[str] = []
    stop = threading.Event()

    def rerun() -> None:
        while not stop.is_set():
            store.sync(aligned("talk", [(ar, en.upper()) for ar, en in PAIRS]))
            store.sync(aligned("talk", PAIRS))

    worker = threading.Thread(target=rerun)
    worker.start()
    try:
        for n in range(40):
            while True:
                current = store.sentence("talk", first.id)
                try:
                    store.update("talk", first.id, current.revision, en=f"Yes ({n}).")
                    saved.append(f"Yes ({n}).")
                    break
                except Conflict:
                    continue  # a re-run moved the revision on: the tab shows the conflict, nothing lost
    finally:
        stop.set()
        worker.join()
    assert store.sentence("talk", first.id).sentence.en == saved[-1] == "Yes (39)."
    assert [h["new"] for h in store.history("talk", first.id) if h["field"] == "en"] == saved


def test_the_app_shows_the_proposal_and_accepting_it_saves_it(tmp_path):
    ReviewStore(OutputFolder(tmp_path).review_database).sync(aligned("talk", PAIRS))
    client = TestClient(create_app(tmp_path), base_url="http://127.0.0.1:8765")
    assert "<kbd>m</kbd>" in client.get("/t/talk").text  # listed in the page's keys

    def yeses() -> list[dict]:
        return [s for s in client.get("/api/t/talk/sentences").json()["sentences"] if s["ar"] == YES]

    first = yeses()[0]
    approved = client.post(
        f"/api/t/talk/sentences/{first['id']}", json={"revision": 0, "en": "Yes, I am.", "status": "approved"}
    )
    assert approved.status_code == 200
    second = yeses()[1]
    assert (second["previous"], second["status"], second["en"]) == ("Yes, I am.", "untouched", "Yes.")
    assert {MEMORY, MEMORY_APPROVED} <= set(second["flags"])
    counts = client.get("/api/transcripts").json()[0]
    assert (counts["approved"], counts["edited"], counts["flagged"]) == (1, 0, 3)

    url = f"/api/t/talk/sentences/{second['id']}"
    accepted = client.post(url, json={"revision": second["revision"], "en": second["previous"]}).json()
    assert (accepted["en"], accepted["status"], accepted["revision"]) == ("Yes, I am.", "edited", 1)
    assert MEMORY not in accepted["flags"] and accepted["previous"] is None
    stale = client.post(url, json={"revision": 0, "en": "Yes."})
    assert stale.status_code == 409


@pytest.mark.slow
def test_translate_rerun_keeps_each_repeated_lines_own_review(tmp_path, tiny_model, capsys):
    source = tmp_path / "talk.txt"
    source.write_text("\n".join(ar for ar, _ in PAIRS) + "\n", encoding="utf-8")
    out = tmp_path / "out"

    def translate() -> int:
        return main(["translate", str(source), "--model", str(tiny_model), "--out", str(out)])

    assert translate() == 0
    store = ReviewStore(OutputFolder(out).review_database)
    first, second, third, fourth = answers(store)
    store.update("talk", first.id, 0, en="Yes, I am.", status="approved")
    store.update("talk", second.id, 0, en="Yes, I do.", comment="he sounds proud")
    store.update("talk", third.id, 0, status="needs-work")
    capsys.readouterr()

    assert translate() == 0
    assert "3 sentence(s) keep their reviewed English" in capsys.readouterr().out
    after = answers(store)
    assert [(s.id, s.sentence.en, s.status, s.comment) for s in after[:3]] == [
        (first.id, "Yes, I am.", "approved", ""),
        (second.id, "Yes, I do.", "edited", "he sounds proud"),
        (third.id, third.sentence.en, "needs-work", ""),
    ]
    assert (after[3].status, after[3].sentence.en, after[3].previous) == (
        "untouched",
        fourth.sentence.en,
        "Yes, I am.",
    )
    assert MEMORY in after[3].sentence.flags


CHROMIUM = chromium()


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_in_the_browser_the_proposal_is_shown_and_m_or_the_button_uses_it(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    store = ReviewStore(OutputFolder(tmp_path).review_database)
    store.sync(aligned("talk", PAIRS))
    first = answers(store)[0]
    store.update("talk", first.id, 0, en="Yes, I am.", status="approved")
    with serving(tmp_path) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS))
        page = browser.new_page()
        page.goto(f"{url}/t/talk")
        rows = page.locator("article.s")
        expect(rows).to_have_count(len(PAIRS))
        proposal = rows.nth(3).locator(".proposal")
        expect(proposal).to_contain_text("approved for this Arabic elsewhere in the transcript): Yes, I am.")
        expect(page.locator("#counts")).to_contain_text("3 flagged")
        proposal.locator("text=Use proposal").click()
        expect(rows.nth(3).locator(".status")).to_have_text("edited")
        expect(rows.nth(3).locator(".en")).to_have_text("Yes, I am.")
        page.keyboard.press("j")
        page.keyboard.press("j")  # to the third answer
        page.keyboard.press("m")
        expect(rows.nth(5).locator(".status")).to_have_text("edited")
        expect(rows.nth(7).locator(".status")).to_have_text("untouched")
        browser.close()
    assert [s.status for s in answers(store)] == ["approved", "edited", "edited", "untouched"]
