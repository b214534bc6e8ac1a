from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from pipeline.output import OutputFolder
from pipeline.review.app import create_app
from pipeline.review.store import ReviewStore
from tests.review_helpers import aligned

PAYLOAD = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture
def client(tmp_path) -> TestClient:
    ReviewStore(OutputFolder(tmp_path).review_database).sync(
        aligned("talk", [("مرحبا بكم.", "Welcome."), (f"نص {PAYLOAD}", f"Text {PAYLOAD}")])
    )
    return TestClient(create_app(tmp_path), base_url="http://127.0.0.1:8765")


def sentences(client: TestClient) -> list[dict]:
    return client.get("/api/t/talk/sentences").json()["sentences"]


def test_the_index_lists_transcripts_with_their_review_progress(client):
    first = sentences(client)[0]
    client.post(f"/api/t/talk/sentences/{first['id']}", json={"revision": 0, "status": "approved"})
    page = client.get("/")
    assert page.status_code == 200 and 'href="/t/talk"' in page.text
    assert client.get("/api/transcripts").json() == [
        {
            "name": "talk",
            "total": 2,
            "approved": 1,
            "edited": 0,
            "needs_work": 0,
            "flagged": 0,
            "untouched": 1,
        }
    ]


def test_edit_approve_comment_and_history_through_the_api(client):
    first = sentences(client)[0]
    url = f"/api/t/talk/sentences/{first['id']}"
    edited = client.post(url, json={"revision": 0, "en": "Welcome, everyone."}).json()
    assert (edited["en"], edited["status"], edited["revision"]) == ("Welcome, everyone.", "edited", 1)
    done = client.post(url, json={"revision": 1, "status": "approved", "comment": "ok"}).json()
    assert (done["status"], done["comment"], done["revision"]) == ("approved", "ok", 2)
    assert [h["field"] for h in client.get(f"{url}/history").json()] == ["en", "status", "status", "comment"]
    assert sentences(client)[0]["en"] == "Welcome, everyone."


def test_a_stale_write_gets_409_with_the_current_sentence_and_changes_since_are_listed(client):
    first = sentences(client)[0]
    url = f"/api/t/talk/sentences/{first['id']}"
    seq = client.get("/api/t/talk/sentences").json()["seq"]
    client.post(url, json={"revision": 0, "en": "From tab one."})
    stale = client.post(url, json={"revision": 0, "en": "From tab two."})
    assert stale.status_code == 409 and stale.json()["current"]["en"] == "From tab one."
    changed = client.get(f"/api/t/talk/sentences?since={seq}").json()["sentences"]
    assert [s["en"] for s in changed] == ["From tab one."]


def test_cross_origin_and_non_json_writes_are_refused(client):
    first = sentences(client)[0]
    url = f"/api/t/talk/sentences/{first['id']}"
    evil = client.post(url, json={"revision": 0, "en": "x"}, headers={"Origin": "http://evil.example"})
    assert evil.status_code == 403
    form = client.post(url, data={"revision": "0", "en": "x"})
    assert form.status_code == 415
    same = client.post(url, json={"revision": 0, "en": "y"}, headers={"Origin": "http://127.0.0.1:8765"})
    assert same.status_code == 200 and sentences(client)[0]["en"] == "y"


@pytest.mark.parametrize(
    "path",
    [
        "/t/..%2F..%2Fetc%2Fpasswd",
        "/t/nope",
        "/api/t/..%2Freview.sqlite3/sentences",
        "/api/t/..%2F..%2Fetc/sentences/x/history",
        "/static/..%2F..%2Fstore.py",
        "/static/../store.py",
    ],
)
def test_names_and_static_paths_never_reach_files_outside_the_app(client, path):
    assert client.get(path).status_code == 404


def test_bad_requests_get_4xx_not_a_crash(client):
    first = sentences(client)[0]
    url = f"/api/t/talk/sentences/{first['id']}"
    assert client.post(url, json={"revision": "0"}).status_code == 400
    assert client.post(url, json={"revision": 0, "status": "perfect"}).status_code == 400
    assert client.post("/api/t/talk/sentences/s000", json={"revision": 0}).status_code == 404
    assert client.get("/api/t/talk/sentences?since=x").status_code == 400


def test_transcript_text_never_reaches_the_pages_as_markup(client):
    page = client.get("/t/talk").text
    assert "onerror" not in page and "<script>alert" not in page  # the page is a shell; data comes as JSON
    data = client.get("/api/t/talk/sentences").json()["sentences"][1]
    assert PAYLOAD in data["en"] and PAYLOAD in data["ar"]  # kept as text for textContent
