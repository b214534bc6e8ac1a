"""The review app's guard at the HTTP level: only its own Host and Origin (DNS rebinding), capped
bodies, 400 for anything malformed, and security headers on every response.

A refused request must leave the database as it was, so each refusal is checked against the store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from pipeline.output import OutputFolder
from pipeline.review.app import MAX_BODY, SECURITY_HEADERS, create_app, serve
from pipeline.review.store import STATUSES, ReviewStore
from pipeline.tools.browser import serving
from tests.review_helpers import aligned

BASE = "http://127.0.0.1:8765"
FORGED = ["evil.example:8765", "attacker.test", "127.0.0.1.evil.example:8765", "127.0.0.1:9999", "testserver"]


def build(folder: Path) -> tuple[ReviewStore, str]:
    """A review database with one transcript; the first sentence's id."""
    store = ReviewStore(OutputFolder(folder).review_database)
    store.sync(aligned("talk", [("مرحبا بكم.", "Welcome."), ("شكرا.", "Thank you.")]))
    return store, store.sentences("talk")[0].id


def state(store: ReviewStore) -> list[tuple]:
    """Everything a write could change, for comparing before and after a refusal."""
    return [(s.id, s.sentence.en, s.status, s.comment, s.revision) for s in store.sentences("talk")] + [
        tuple(h.values()) for s in store.sentences("talk") for h in store.history("talk", s.id)
    ]


@pytest.fixture
def app(tmp_path) -> Iterator[tuple[TestClient, ReviewStore, str]]:
    store, first = build(tmp_path)
    with TestClient(create_app(tmp_path), base_url=BASE) as client:
        yield client, store, first


def routes(first: str) -> list[tuple[str, str]]:
    return [
        ("GET", "/"),
        ("GET", "/t/talk"),
        ("GET", "/api/transcripts"),
        ("GET", "/api/t/talk/sentences"),
        ("POST", f"/api/t/talk/sentences/{first}"),
        ("GET", f"/api/t/talk/sentences/{first}/history"),
        ("GET", "/static/review.js"),
    ]


def send(client: TestClient, method: str, path: str, **kwargs) -> httpx.Response:
    if method == "POST":
        kwargs.setdefault("json", {"revision": 0, "en": "Changed."})
    return client.request(method, path, **kwargs)


def assert_secure_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]


# --- Host: only the addresses the app serves --------------------------------------------------------


@pytest.mark.parametrize("host", FORGED)
@pytest.mark.parametrize("route", range(7), ids=lambda i: routes("ID")[i][1].replace("ID", "{id}"))
def test_a_forged_host_is_refused_on_every_route_before_it_runs(app, host, route):
    client, store, first = app
    method, path = routes(first)[route]
    before = state(store)
    origin = {"Origin": f"http://{host}"} if method == "POST" else {}
    response = send(client, method, path, headers={"Host": host, **origin})
    assert response.status_code == 400 and "Host" in response.json()["error"]
    assert_secure_headers(response)
    assert state(store) == before


@pytest.mark.parametrize("route", range(7))
@pytest.mark.parametrize("host", ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "LOCALHOST:8765"])
def test_the_loopback_names_on_the_served_port_are_answered(app, host, route):
    client, _, first = app
    method, path = routes(first)[route]
    assert send(client, method, path, headers={"Host": host}).status_code == 200


def test_the_dns_rebinding_origin_is_refused_and_the_apps_own_accepted(app):
    client, store, first = app
    url = f"/api/t/talk/sentences/{first}"
    before = state(store)
    rebound = {"Host": "evil.example:8765", "Origin": "http://evil.example:8765"}
    assert client.post(url, json={"revision": 0, "en": "x"}, headers=rebound).status_code == 400
    # Even with a Host it could not send, an Origin that matches only the Host is not enough.
    spoofed = {"Host": "127.0.0.1:8765", "Origin": "http://evil.example:8765"}
    assert client.post(url, json={"revision": 0, "en": "x"}, headers=spoofed).status_code == 403
    for origin in ("http://127.0.0.1:9999", "https://127.0.0.1:8765", "null"):
        refused = client.post(url, json={"revision": 0, "en": "x"}, headers={"Origin": origin})
        assert refused.status_code == 403, origin
    assert state(store) == before
    own = client.post(url, json={"revision": 0, "en": "Mine."}, headers={"Origin": "http://127.0.0.1:8765"})
    assert own.status_code == 200 and own.json()["en"] == "Mine."
    other_name = client.post(
        url, json={"revision": 1, "en": "Also."}, headers={"Origin": "http://localhost:8765"}
    )
    assert other_name.status_code == 200
    no_origin = client.post(url, json={"revision": 2, "en": "Scripted."})  # curl, a script: no Origin
    assert no_origin.status_code == 200


def test_a_given_port_and_host_are_the_only_ones_answered(tmp_path):
    build(tmp_path)
    fixed = create_app(tmp_path, port=8765)
    assert TestClient(fixed, base_url="http://127.0.0.1:8765").get("/").status_code == 200
    assert TestClient(fixed, base_url="http://127.0.0.1:9999").get("/").status_code == 400
    named = create_app(tmp_path, host="review.lan", port=80)
    assert TestClient(named, base_url="http://review.lan").get("/").status_code == 200
    assert TestClient(named, base_url="http://review.lan:80").get("/").status_code == 200
    assert TestClient(named, base_url="http://localhost").get("/").status_code == 400  # not on loopback
    everywhere = create_app(tmp_path, host="0.0.0.0", port=9000)
    for base in ("http://192.168.1.5:9000", "http://localhost:9000", "http://0.0.0.0:9000"):
        assert TestClient(everywhere, base_url=base).get("/").status_code == 200, base
    forged = TestClient(everywhere, base_url="http://192.168.1.5:9000").get(
        "/", headers={"Host": "evil.example:9000"}
    )
    assert forged.status_code == 400


def test_serve_answers_to_the_host_and_port_it_listens_on(tmp_path, monkeypatch):
    build(tmp_path)
    served = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.append((app, options)))
    serve(tmp_path, "127.0.0.1", 9000)
    [(app, options)] = served
    assert (options["host"], options["port"]) == ("127.0.0.1", 9000)
    assert TestClient(app, base_url="http://localhost:9000").get("/").status_code == 200
    assert TestClient(app, base_url="http://127.0.0.1:9001").get("/").status_code == 400


def test_a_real_server_refuses_a_rebound_host_and_answers_its_own(tmp_path):
    store, first = build(tmp_path)
    with serving(tmp_path) as url:
        port = httpx.URL(url).port
        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.get("/").status_code == 200
            assert client.get("/", headers={"Host": f"localhost:{port}"}).status_code == 200
            for host in (f"evil.example:{port}", "attacker.test"):
                for method, path in routes(first):
                    response = send(client, method, path, headers={"Host": host, "Origin": f"http://{host}"})
                    assert response.status_code == 400, (host, path)
                    assert_secure_headers(response)
            update = f"/api/t/talk/sentences/{first}"
            rebound = client.post(
                update, json={"revision": 0, "en": "x"}, headers={"Origin": "http://evil.example"}
            )
            assert rebound.status_code == 403
            own = client.post(update, json={"revision": 0, "en": "Real."}, headers={"Origin": url})
            assert own.status_code == 200
            huge = client.post(
                update, content=b" " * (2 * MAX_BODY), headers={"Content-Type": "application/json"}
            )
            assert huge.status_code == 413
    assert store.sentences("talk")[0].sentence.en == "Real."


# --- bodies and query values -------------------------------------------------------------------------


def test_a_body_over_the_cap_gets_413_with_or_without_content_length(app):
    client, store, first = app
    url = f"/api/t/talk/sentences/{first}"
    before = state(store)
    big = json.dumps({"revision": 0, "en": "x" * (2 * MAX_BODY)}).encode()
    declared = client.post(url, content=big, headers={"Content-Type": "application/json"})
    assert declared.status_code == 413 and "body over" in declared.json()["error"]
    assert_secure_headers(declared)

    def chunks() -> Iterator[bytes]:  # streamed: no Content-Length to refuse it by
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = client.post(url, content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413 and "body over" in streamed.json()["error"]
    assert_secure_headers(streamed)
    lying = client.post(
        url, content=b"{}", headers={"Content-Type": "application/json", "Content-Length": "x"}
    )
    assert lying.status_code == 400
    assert state(store) == before


@pytest.mark.parametrize(
    "body",
    [
        b"{",
        b"{'revision': 0}",
        b"",
        b"\xff\xfe\x00",
        b"NaN",
        b"[" * 100_000 + b"]" * 100_000,
        b'"just a string"',
        b"[0, 1]",
        b"null",
        b"17",
        b'{"revision": true, "en": "x"}',
        b'{"revision": 0, "en": 5}',
        b'{"revision": 0, "en": "\\ud800"}',
        b'{"revision": 0, "status": ["approved"]}',
        b'{"revision": 0, "status": "perfect"}',
    ],
)
def test_malformed_or_non_object_json_gets_400_and_changes_nothing(app, body):
    client, store, first = app
    before = state(store)
    response = client.post(
        f"/api/t/talk/sentences/{first}", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]
    assert_secure_headers(response)
    assert state(store) == before


@pytest.mark.parametrize("since", ["x", "", "--5", "1-", "²", "1.5", "9" * 40, " 1", "0x10"])
def test_a_bad_since_gets_400(app, since):
    client, store, _ = app
    before = state(store)
    response = client.get("/api/t/talk/sentences", params={"since": since})
    assert response.status_code == 400 and response.json()["error"]
    assert state(store) == before
    assert client.get("/api/t/talk/sentences", params={"since": "-1"}).status_code == 200


# --- headers on every response -----------------------------------------------------------------------


def test_every_kind_of_response_carries_the_security_headers(tmp_path):
    _, first = build(tmp_path)
    client = TestClient(create_app(tmp_path), base_url=BASE, raise_server_exceptions=False)
    url = f"/api/t/talk/sentences/{first}"
    responses = [
        client.get("/"),  # HTML
        client.get("/t/talk"),
        client.get("/api/transcripts"),  # JSON
        client.get("/static/review.js"),  # static
        client.get("/static/review.css"),
        client.get("/static/nope.js"),  # 404s
        client.get("/t/nope"),
        client.get("/nowhere"),
        client.get(url),  # 405
        client.post(url, json={"revision": 0}, headers={"Origin": "http://evil.example"}),  # 403
        client.post(url, data={"revision": "0"}),  # 415
        client.post(url, json={"revision": 5, "en": "x"}),  # 409
        client.get("/", headers={"Host": "evil.example"}),  # 400
    ]
    OutputFolder(tmp_path).review_database.write_bytes(b"not a database" * 100)
    responses.append(client.get("/api/transcripts"))  # 500
    assert {r.status_code for r in responses} >= {200, 400, 403, 404, 405, 409, 415, 500}
    for response in responses:
        assert_secure_headers(response)


def test_the_pages_need_no_inline_script_or_style(app):
    client, _, _ = app
    for path in ("/", "/t/talk"):
        page = client.get(path).text.lower()
        assert "<style" not in page and " style=" not in page and "javascript:" not in page
        assert page.count("<script") == page.count('<script src="/static/')
        assert not re.search(r"<[^>]*\son[a-z]+\s*=", page)  # no onclick=, onload=, ... handlers


# --- fuzzing the update body -------------------------------------------------------------------------

SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
UPDATES = st.fixed_dictionaries(
    {},
    optional={
        "revision": st.integers(-2, 3) | VALUES,
        "en": st.text(max_size=40) | VALUES,
        "status": st.sampled_from(STATUSES) | VALUES,
        "comment": st.text(max_size=40) | VALUES,
    },
)
BODIES = (VALUES | UPDATES).map(lambda value: json.dumps(value).encode()) | st.binary(max_size=200)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    # One database for all examples on purpose: each example is checked against the state before it.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(body=BODIES)
def test_any_update_body_gets_2xx_or_4xx_and_a_refusal_changes_nothing(app, body):
    client, store, first = app
    before = state(store)
    response = client.post(
        f"/api/t/talk/sentences/{first}", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code < 500, (body, response.text)
    assert_secure_headers(response)
    if response.status_code >= 400:
        assert state(store) == before, body
