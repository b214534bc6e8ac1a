"""A reviewer's English is aligned again to its sentence's Arabic (no re-translation): word links for
its own words, its own flags, the aligner's confidence beside the machine's. Through the review app's
API, `import-review` and a re-run of `translate`: on hand-made sentences whose manifest names the tiny
random model as aligner, and (slow) on a transcript that model translated and aligned itself."""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipeline.aligner import load_aligner, realign, realign_many
from pipeline.cli import main
from pipeline.models import resolve_model
from pipeline.output import OutputFolder
from pipeline.review.app import create_app
from pipeline.review.exports import TSV_HEADER
from pipeline.review.realign import BY_LENGTH, NO_RECORD, Realigner
from pipeline.review.store import UNALIGNED_EDIT, ReviewStore
from pipeline.settings import Placement
from pipeline.tools.browser import serving
from tests.conftest import DATA
from tests.review_helpers import aligned, with_aligner
from tests.test_review_workflow import write_srt

CUES = ["مرحبا بكم في البرنامج.", "شكرا لكم جميعا.", "نعم."]
PAIRS = [
    ("مرحبا بكم في البرنامج.", "Welcome to the programme."),
    ("شكرا لكم جميعا.", "Thank you all."),
    ("نعم.", "Yes."),
]


def translate(source: Path, out: Path, model: Path) -> int:
    """The translator aligns its own English (hf, greedy), so its links are its generation's attention."""
    options = ["--backend", "hf", "--beam", "1", "--aligner", "self", "--formats", "jsonl"]
    return main(["translate", str(source), "--out", str(out), "--model", str(model), *options])


@pytest.fixture(scope="module")
def translated_once(tmp_path_factory, tiny_model) -> Path:
    root = tmp_path_factory.mktemp("realign")
    (root / "in").mkdir()
    write_srt(root / "in" / "talk.srt", CUES)
    assert translate(root / "in", root / "out", tiny_model) == 0
    return root


@pytest.fixture
def translated(translated_once, tmp_path) -> Path:
    """A copy of the translated output folder, for one test to change."""
    shutil.copytree(translated_once / "out", tmp_path / "out")
    return tmp_path / "out"


@pytest.fixture
def out(tmp_path, tiny_model) -> Path:
    """An output folder of hand-made sentences aligned by the tiny model, as its manifest says."""
    ReviewStore(OutputFolder(tmp_path).review_database).sync(aligned("talk", PAIRS))
    with_aligner(tmp_path, "talk", tiny_model)
    return tmp_path


def client_for(out: Path) -> TestClient:
    return TestClient(create_app(out), base_url="http://127.0.0.1:8765")


def sentences(client: TestClient) -> list[dict]:
    return client.get("/api/t/talk/sentences").json()["sentences"]


def save(client: TestClient, sentence: dict, **fields: str) -> dict:
    answer = client.post(
        f"/api/t/talk/sentences/{sentence['id']}", json={"revision": sentence["revision"], **fields}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def linked_words(en: str) -> list[int]:
    """The English words that get a link: those with a letter or digit."""
    return [i for i, word in enumerate(en.split()) if any(c.isalnum() for c in word)]


def assert_links_cover(sentence: dict) -> None:
    """One link per English word with a letter or digit, each into the sentence's Arabic words."""
    assert [en for en, _ in sentence["links"]] == linked_words(sentence["en"])
    assert all(0 <= ar < len(sentence["ar"].split()) for _, ar in sentence["links"])


def manifest(out: Path) -> tuple[Path, dict]:
    path = OutputFolder(out).manifest("talk")
    return path, json.loads(path.read_text(encoding="utf-8"))


def test_an_edit_gets_links_for_its_own_words_and_flags_for_its_own_english(out):
    client = client_for(out)
    machine = sentences(client)[0]
    assert machine["edit_confidence"] is None and machine["realigned"] is None
    assert machine["machine_flags"] == machine["flags"]

    edited = save(client, machine, en="Welcome to our programme, everyone (مرحبا) !")
    assert (edited["status"], edited["realigned"], edited["realign_note"]) == ("edited", True, None)
    assert_links_cover(edited)
    assert "untranslated" in edited["flags"]  # Arabic in the English
    assert "truncated" not in edited["flags"]  # the machine's English was cut; this one is not
    assert edited["machine_flags"] == machine["flags"]  # the machine's, still there to see
    assert edited["confidence"] == machine["confidence"]  # the translator's, in its own English
    assert isinstance(edited["edit_confidence"], float)  # the aligner's, in the reviewer's
    assert "low-confidence" in edited["flags"]  # a random model is sure of nothing
    assert sentences(client)[0] == edited  # as saved

    again = save(client, edited, en="Welcome welcome welcome welcome to the programme.")
    assert_links_cover(again)
    assert "repetition" in again["flags"] and "untranslated" not in again["flags"]

    progress = client.get("/api/transcripts").json()[0]
    listed = sentences(client)
    assert progress["flagged"] == sum(1 for s in listed if s["status"] != "approved" and s["flags"])


@pytest.mark.slow
def test_the_machine_english_saved_back_gets_exactly_the_machine_links(translated):
    out = translated
    client = client_for(out)
    listed = sentences(client)
    # The forced pass reproduces the generation's attention: the aligner links the machine's English
    # exactly as the translation did.
    aligned = Realigner(out).align("talk", [(s["ar"], s["machine"]) for s in listed])
    for sentence, alignment in zip(listed, aligned, strict=True):
        assert [list(link) for link in alignment.links] == sentence["links"]
        assert alignment.confidence == pytest.approx(sentence["confidence"], abs=1e-3)

    machine = listed[1]
    away = save(client, machine, en="Thank you all.")
    assert away["links"] != machine["links"]
    back = save(client, away, en=machine["machine"])
    for field in ("en", "links", "flags", "confidence", "edit_confidence", "machine_flags"):
        assert back[field] == machine[field], field


def test_without_its_aligner_an_edit_is_saved_with_its_flags_and_says_why_it_has_no_links(out):
    path, made_by = manifest(out)
    moved = {**made_by, "aligner": {**made_by["aligner"], "folder": str(out / "moved-away")}}
    path.write_text(json.dumps(moved), encoding="utf-8")
    client = client_for(out)
    first = sentences(client)[0]
    saved = save(client, first, en="Welcome, مرحبا.")
    assert saved["en"] == "Welcome, مرحبا." and saved["links"] == [] and saved["realigned"] is False
    assert "not there any more" in saved["realign_note"] and str(out / "moved-away") in saved["realign_note"]
    assert "untranslated" in saved["flags"] and "low-confidence" not in saved["flags"]  # nothing scored it
    assert saved["edit_confidence"] is None

    changed = {**made_by, "aligner": {**made_by["aligner"], "fingerprint": "0" * 64}}
    path.write_text(json.dumps(changed), encoding="utf-8")
    saved = save(client_for(out), saved, en="Welcome.")
    assert saved["links"] == [] and "is not the one that aligned" in saved["realign_note"]

    by_length = {**made_by, "aligner": None}  # translated with --aligner none
    older = {key: value for key, value in made_by.items() if key != "aligner"}  # before manifests said
    for number, (record, note) in enumerate(((by_length, BY_LENGTH), (older, NO_RECORD))):
        path.write_text(json.dumps(record), encoding="utf-8")
        saved = save(client_for(out), saved, en=f"Welcome {number}: مرحبا مرحبا مرحبا")
        assert (saved["links"], saved["realign_note"]) == ([], note)
        assert {"untranslated", "repetition"} <= set(saved["flags"]) and "low-confidence" not in saved[
            "flags"
        ]


@pytest.mark.slow
def test_import_review_aligns_changed_english_and_a_rerun_of_translate_keeps_it(
    translated, translated_once, tiny_model, tmp_path, capsys
):
    out = translated
    store = ReviewStore(OutputFolder(out).review_database)
    assert main(["export", "--from", str(out), "--format", "tsv", "--out", str(tmp_path / "x")]) == 0
    table = tmp_path / "x" / "talk.reviewed.tsv"
    lines = table.read_text(encoding="utf-8").splitlines()
    cells = lines[3].split("\t")
    cells[5] = "Yes, of course."
    table.write_text("\n".join([*lines[:3], "\t".join(cells)]) + "\n", encoding="utf-8")
    assert main(["import-review", "--from", str(out), str(table)]) == 0
    assert "Imported 1 change(s)" in capsys.readouterr().out
    client = client_for(out)
    imported = sentences(client)[2]
    assert (imported["en"], imported["status"], imported["realigned"]) == ("Yes, of course.", "edited", True)
    assert_links_cover(imported)
    before = store.sentence("talk", imported["id"])

    assert translate(translated_once / "in", out, tiny_model) == 0  # a re-run: the same Arabic
    after = store.sentence("talk", imported["id"])
    assert after == before  # its English, links, flags and the aligner's confidence kept

    # Without an aligner the import still lands, and says why it has no links.
    path, made_by = manifest(out)
    path.write_text(json.dumps({**made_by, "aligner": None}), encoding="utf-8")
    cells[5], cells[TSV_HEADER.index("revision")] = "Yes, yes, yes, yes.", str(after.revision)
    table.write_text("\n".join([*lines[:3], "\t".join(cells)]) + "\n", encoding="utf-8")
    assert main(["import-review", "--from", str(out), str(table)]) == 0
    assert f"1 without word links: {BY_LENGTH}" in capsys.readouterr().out
    assert store.sentence("talk", imported["id"]).sentence.flags[:1] == ("repetition",)


def test_a_database_from_before_edits_were_aligned_is_migrated_and_keeps_working(tmp_path):
    database = OutputFolder(tmp_path).review_database
    with sqlite3.connect(database) as old:
        old.executescript((DATA / "review-schema-1.sql").read_text(encoding="utf-8"))
    client = client_for(tmp_path)  # opening it migrates it
    columns = {row[1] for row in sqlite3.connect(database).execute("PRAGMA table_info(sentences)")}
    assert {"edit_en", "edit_links", "edit_flags", "edit_confidence", "edit_note"} <= columns

    approved, thanked, untouched, hello = sentences(client)
    assert approved["en"] == "Welcome to our programme." and approved["status"] == "approved"
    assert approved["flags"] == [] and approved["machine_flags"] == ["low-confidence"]  # unscored now
    assert thanked["flags"] == ["untranslated", "glossary"]  # Arabic in it, Saqr missing from it
    assert thanked["machine_flags"] == ["glossary"]
    assert hello["flags"] == ["repetition", "not-arabic"]  # the Arabic's flag stays with any English
    for edited in (approved, thanked, hello):
        assert (edited["links"], edited["realigned"], edited["realign_note"]) == ([], False, UNALIGNED_EDIT)
    assert untouched["links"] == [[0, 0]] and untouched["realigned"] is None
    progress = client.get("/api/transcripts").json()[0]
    assert (progress["approved"], progress["edited"], progress["flagged"]) == (1, 2, 2)

    ReviewStore(database)  # a second opening changes nothing
    saved = save(client, thanked, en="Thank you, Saqr.")
    assert (saved["flags"], saved["realign_note"]) == ([], NO_RECORD)  # no manifest names an aligner
    assert sentences(client_for(tmp_path))[1] == saved


def test_loading_the_aligner_holds_up_no_other_request(out, monkeypatch):
    """The first edit loads the aligner (seconds for a real model) in a worker thread: the app keeps
    answering meanwhile, and the edit is saved when it is done."""
    loading, release = threading.Event(), threading.Event()

    def slow_load(self: Realigner, record: object) -> str:
        loading.set()
        release.wait(20)
        return "the test held the aligner back"

    monkeypatch.setattr(Realigner, "_load", slow_load)
    with serving(out) as url:
        with urllib.request.urlopen(f"{url}/api/t/talk/sentences") as answer:
            first = json.load(answer)["sentences"][0]
        body = json.dumps({"revision": first["revision"], "en": "Welcome, all of you."}).encode()
        request = urllib.request.Request(
            f"{url}/api/t/talk/sentences/{first['id']}", body, {"Content-Type": "application/json"}
        )
        with ThreadPoolExecutor(max_workers=1) as pool:
            edit = pool.submit(lambda: json.load(urllib.request.urlopen(request, timeout=30)))
            assert loading.wait(20)
            with urllib.request.urlopen(f"{url}/api/transcripts", timeout=5) as answer:
                assert answer.status == 200  # answered while the aligner loads
            assert not edit.done()
            release.set()
            saved = edit.result(timeout=30)
    assert (saved["en"], saved["realign_note"]) == ("Welcome, all of you.", "the test held the aligner back")


def test_edits_aligned_together_get_what_each_gets_alone(tiny_aligner):
    """import-review aligns a file's changed English in batches; each sentence gets what it would alone."""
    aligner = load_aligner("ct2", resolve_model(str(tiny_aligner)), Placement(device="cpu"))
    pairs = [
        ("مرحبا بكم في البرنامج.", "Welcome to the programme."),
        ("نعم.", ""),
        ("شكرا لكم جميعا على الحضور اليوم.", "Thank you all for coming today, it was a pleasure."),
        ("نعم.", "Yes."),
        ("هل أنت من دبي؟", "Are you from Dubai?"),
    ]
    together = realign_many(aligner, pairs, batch_size=2)
    alone = [realign(aligner, ar, en) for ar, en in pairs]
    assert [(s.en, s.links, s.flags) for s in together] == [(s.en, s.links, s.flags) for s in alone]
    assert [s.confidence for s in together] == pytest.approx([s.confidence for s in alone], abs=1e-4)
    assert together[1].flags == ("empty",) and together[1].links == ()
