"""`translate --backend openai`: a large language model on an OpenAI-compatible server translates, in
windows with context and locked ids, and the aligner aligns its English. Here the server is a scripted
one on 127.0.0.1 (tests/llm_servers.py); tests/test_llm_server.py runs a real llama.cpp server."""

from __future__ import annotations

import json
import threading
from contextlib import ExitStack
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from pipeline.backends.llm import parse_reply, public_url, reply_schema
from pipeline.cli import main
from pipeline.readers import read_transcript
from pipeline.settings import PROMPT
from tests.conftest import DATA
from tests.llm_servers import ChatServer, made_up_english, request_of, serving

TOR = DATA / "tor_animation" / "Tor_animation.ar.srt"


def translate(server: ChatServer, out: Path, aligner: Path, *extra: str, source: Path = TOR) -> int:
    return main(
        [
            "translate",
            str(source),
            "--out",
            str(out),
            "--backend",
            "openai",
            "--llm-url",
            server.url,
            "--aligner",
            str(aligner),
            "--llm-window",
            "6",
            *extra,
        ]
    )


def sentences(out: Path, name: str = "Tor_animation.ar") -> list[dict]:
    lines = (out / name / f"{name}.aligned.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def sent_units(server: ChatServer) -> list[str]:
    """The Arabic of every unit the server was asked to translate, in the order asked."""
    return [unit["ar"] for body in server.requests for unit in request_of(body)["units"]]


def test_every_unit_is_translated_once_in_order_in_windows_with_context(tmp_path, tiny_aligner):
    with serving(ChatServer(made_up_english)) as server:  # one request at a time: in window order
        assert translate(server, tmp_path, tiny_aligner, "--workers", "1") == 0
    units = sent_units(server)
    assert len(units) == len(set(units)), "no unit is sent twice"
    windows = [request_of(body) for body in server.requests]
    assert all(len(window["units"]) <= 6 for window in windows)
    assert [unit["id"] for unit in windows[0]["units"]] == [
        str(n) for n in range(1, len(windows[0]["units"]) + 1)
    ]
    # Context: the units just before and after each window, not to be translated.
    for previous, window, following in zip([None, *windows], windows, [*windows[1:], None], strict=False):
        if previous is not None:
            assert [c["ar"] for c in window["before"]] == [unit["ar"] for unit in previous["units"][-3:]]
        if following is not None:
            assert [c["ar"] for c in window["after"]] == [unit["ar"] for unit in following["units"][:3]]
    body = server.requests[0]
    assert body["temperature"] == 0 and body["seed"] == 0 and body["model"] == "fake-llm"
    assert body["response_format"]["type"] == "json_schema"
    (message,) = body["messages"]  # one user message: the instructions, then the request
    assert message["role"] == "user" and message["content"].startswith(
        PROMPT.read_text(encoding="utf-8").rstrip()
    )

    # Every Arabic word is in exactly one sentence, in order, and the English is the server's.
    rows = sentences(tmp_path)
    transcript = read_transcript(TOR)
    assert " ".join(r["ar"] for r in rows).split() == " ".join(s.text for s in transcript.segments).split()
    assert all(word.startswith("w") for r in rows for word in r["en"].split())
    assert all(r["start"] is not None for r in rows)
    assert any(r["links"] for r in rows), "the aligner links the LLM's words to the Arabic"
    manifest = json.loads((tmp_path / "Tor_animation.ar" / "Tor_animation.ar.meta.json").read_text())
    signature = manifest["signature"]
    assert signature["backend"] == "openai" and signature["model"] == "fake-llm"
    assert signature["window"] == 6 and signature["context"] == 3
    assert manifest["service"]["server"] == server.url and manifest["service"]["model"] == "fake-llm"
    assert len(signature["prompt"]["sha256"]) == 64
    assert manifest["aligner"]["folder"] == str(tiny_aligner)


@pytest.mark.slow
def test_a_second_run_sends_nothing_and_a_new_prompt_translates_again(tmp_path, tiny_aligner):
    with serving(ChatServer(made_up_english)) as server:
        assert translate(server, tmp_path, tiny_aligner) == 0
        first = len(server.requests)
        before = (tmp_path / "Tor_animation.ar" / "Tor_animation.ar.aligned.jsonl").read_bytes()
        assert translate(server, tmp_path, tiny_aligner) == 0
        assert len(server.requests) == first, "every window came from the translation cache"
        assert (tmp_path / "Tor_animation.ar" / "Tor_animation.ar.aligned.jsonl").read_bytes() == before
        prompt = tmp_path / "prompt.txt"
        prompt.write_text("Translate into English. Reply in JSON.", encoding="utf-8")
        assert translate(server, tmp_path, tiny_aligner, "--prompt", str(prompt)) == 0
        assert len(server.requests) == 2 * first, "the prompt's hash is part of the cache key"
        assert server.requests[-1]["messages"][0]["content"].startswith(prompt.read_text(encoding="utf-8"))


def test_a_killed_run_resends_only_the_windows_not_stored(tmp_path, tiny_aligner, capsys):
    with serving(ChatServer(made_up_english)) as whole:
        assert translate(whole, tmp_path / "whole", tiny_aligner) == 0
    # The server fails for good at the third window: the run stops with one line, two windows stored.
    with serving(ChatServer(made_up_english, faults=["ok", "ok", 401])) as failing:
        assert translate(failing, tmp_path / "out", tiny_aligner, "--workers", "1") == 2
    assert "refused the API key" in capsys.readouterr().err
    with serving(ChatServer(made_up_english)) as again:
        assert translate(again, tmp_path / "out", tiny_aligner) == 0
    assert len(again.requests) == len(whole.requests) - 2, "only the windows not stored are sent again"
    assert sentences(tmp_path / "out") == sentences(tmp_path / "whole")


@pytest.mark.slow
@pytest.mark.parametrize("faults", [[500, 429, 503], ["drop", "drop"]])
def test_busy_and_dropped_requests_are_sent_again(tmp_path, tiny_aligner, faults):
    with serving(ChatServer(made_up_english)) as server:
        assert translate(server, tmp_path / "clean", tiny_aligner) == 0
    with serving(ChatServer(made_up_english, faults=list(faults))) as faulty:
        assert translate(faulty, tmp_path / "faulty", tiny_aligner, "--workers", "1") == 0
    assert sentences(tmp_path / "faulty") == sentences(tmp_path / "clean")


@pytest.mark.slow
@pytest.mark.parametrize("spoiled", ["not-json", "missing-id", "extra-id", "reordered", "merged", "empty-en"])
def test_a_wrong_reply_is_asked_again_never_accepted(tmp_path, tiny_aligner, spoiled):
    with serving(ChatServer(made_up_english)) as server:
        assert translate(server, tmp_path / "clean", tiny_aligner) == 0
    with serving(ChatServer(made_up_english, faults=[spoiled])) as faulty:
        assert translate(faulty, tmp_path / "faulty", tiny_aligner, "--workers", "1") == 0
    assert len(faulty.requests) == len(server.requests) + 1
    assert faulty.requests[1]["seed"] == 1, "the retry draws again"
    assert sentences(tmp_path / "faulty") == sentences(tmp_path / "clean")


def test_a_window_that_keeps_failing_is_split_down_to_units_and_never_loses_one(
    tmp_path, tiny_aligner, capsys
):
    source = tmp_path / "two.txt"
    source.write_text("ذهبت إلى السوق أمس.\nواشتريت خبزا وحليبا.\n", encoding="utf-8")
    # Both attempts at the window of two fail, then both attempts at the first unit; the second unit
    # answers at its first attempt.
    with serving(
        ChatServer(made_up_english, faults=["merged", "reordered", "not-json", "missing-id"])
    ) as server:
        assert translate(server, tmp_path / "out", tiny_aligner, source=source) == 0
    asked = [[u["ar"] for u in request_of(b)["units"]] for b in server.requests]
    assert [len(units) for units in asked] == [2, 2, 1, 1, 1]
    rows = sentences(tmp_path / "out", "two")
    assert " ".join(r["ar"] for r in rows).split() == source.read_text(encoding="utf-8").split()
    first, second = [r for r in rows if "ذهبت" in r["ar"]], [r for r in rows if "واشتريت" in r["ar"]]
    assert all(
        ("untranslated" in r["flags"] and r["en"] == r["ar"].rstrip(".")) or "ذهبت" in r["en"] for r in first
    )
    assert all("untranslated" not in r["flags"] for r in second)
    assert "untranslated" in capsys.readouterr().out


@pytest.mark.slow
def test_a_server_without_json_schema_is_asked_with_json_object(tmp_path, tiny_aligner):
    with serving(ChatServer(made_up_english, refuse_json_schema=True)) as server:
        assert translate(server, tmp_path, tiny_aligner, "--workers", "1") == 0
    kinds = [body.get("response_format", {}).get("type") for body in server.requests]
    assert kinds[0] == "json_schema" and set(kinds[1:]) == {"json_object"}
    units = [unit["ar"] for unit in request_of(server.requests[1])["units"]]
    ids = [str(n) for n in range(1, len(units) + 1)]
    assert server.requests[1]["response_format"]["schema"] == reply_schema(ids, units)


@pytest.mark.slow
def test_the_key_comes_from_the_environment_and_is_written_nowhere(
    tmp_path, tiny_aligner, monkeypatch, capsys
):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    with serving(ChatServer(made_up_english, key="sk-very-secret")) as server:
        with_user = server.url.replace("http://", "http://me:hunter2@")
        server.url = with_user
        assert translate(server, tmp_path, tiny_aligner) == 0
    assert server.headers[-1]["Authorization"] == "Bearer sk-very-secret"
    said = capsys.readouterr()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"sk-very-secret" not in data and b"hunter2" not in data, path
    assert "sk-very-secret" not in said.out + said.err and "hunter2" not in said.out + said.err


@pytest.mark.slow
@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("down", "connection refused"),
        ("wrong-model", "has no model 'no-such-model'; it serves: fake-llm"),
        ("wrong-key", "refused the API key (HTTP 401); set it in $OPENAI_API_KEY"),
        ("wrong-url", "usually ending in /v1"),
    ],
)
def test_an_unusable_server_is_one_clear_line(tmp_path, tiny_aligner, monkeypatch, capsys, setup, expected):
    monkeypatch.setenv("OPENAI_API_KEY", "wrong")
    with ExitStack() as running:
        server = running.enter_context(serving(ChatServer(made_up_english, key="wrong")))
        url, extra = server.url, []
        if setup == "down":
            running.close()  # the port is free again: nothing listens there
        elif setup == "wrong-model":
            extra = ["--llm-model", "no-such-model"]
        elif setup == "wrong-key":
            server.key = "right"
        elif setup == "wrong-url":
            url = url.removesuffix("/v1")
        code = main(
            [
                "translate",
                str(TOR),
                "--out",
                str(tmp_path),
                "--backend",
                "openai",
                "--llm-url",
                url,
                "--aligner",
                str(tiny_aligner),
                *extra,
            ]
        )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and expected in err[0], err
    assert not (tmp_path / "Tor_animation.ar").exists(), "nothing is written"


@pytest.mark.slow
def test_glossary_terms_in_a_window_go_into_its_prompt(tmp_path, tiny_aligner):
    glossary = tmp_path / "glossary.tsv"
    glossary.write_text("الإنترنت\tthe Internet\nصقر\tSaqr\n", encoding="utf-8")
    with serving(ChatServer(made_up_english)) as server:
        assert translate(server, tmp_path / "out", tiny_aligner, "--glossary", str(glossary)) == 0
    sent = [request_of(body) for body in server.requests]
    assert sent[0]["glossary"] == [{"ar": "الإنترنت", "en": "the Internet"}]
    assert all(term["ar"] != "صقر" for window in sent for term in window["glossary"])


def test_replies_are_read_strictly():
    ids = ["1", "2"]
    good = json.dumps({"translations": [{"id": "1", "en": "one"}, {"id": "2", "en": " two  words "}]})
    assert parse_reply(good, ids) == ["one", "two words"]
    assert parse_reply(f"```json\n{good}\n```", ids) == ["one", "two words"]
    assert (
        parse_reply(json.dumps({"translations": [{"id": "2", "en": "x"}, {"id": "1", "en": "y"}]}), ids)
        is None
    )
    assert parse_reply(json.dumps({"translations": [{"id": "1", "en": "x"}]}), ids) is None
    assert parse_reply("[]", ids) is None and parse_reply("", ids) is None
    assert public_url("https://user:pw@api.example.com:8443/v1/") == "https://api.example.com:8443/v1"


def test_a_unit_the_server_never_answers_keeps_its_arabic(tmp_path, tiny_aligner, capsys):
    source = tmp_path / "one.txt"
    source.write_text("ذهبت إلى السوق أمس\n", encoding="utf-8")
    with serving(ChatServer(made_up_english, faults=["not-json", "empty-en"])) as server:
        assert translate(server, tmp_path / "out", tiny_aligner, source=source) == 0
    (row,) = sentences(tmp_path / "out", "one")
    assert row["en"] == row["ar"] == "ذهبت إلى السوق أمس"
    assert "untranslated" in row["flags"] and row["confidence"] == 0
    assert "1 unit(s) got no usable English from the LLM" in capsys.readouterr().out


def test_a_redirect_is_refused_and_the_key_never_follows_it(tmp_path, tiny_aligner, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    seen: list[str | None] = []

    class Elsewhere(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    class Redirecting(Elsewhere):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{elsewhere.server_address[1]}/steal")
            self.end_headers()

    elsewhere = HTTPServer(("127.0.0.1", 0), Elsewhere)
    redirecting = HTTPServer(("127.0.0.1", 0), Redirecting)
    for server in (elsewhere, redirecting):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{redirecting.server_address[1]}/v1"
        code = translate_via(url, tmp_path, tiny_aligner)
    finally:
        for server in (elsewhere, redirecting):
            server.shutdown()
    assert code == 2 and "redirects (HTTP 302)" in capsys.readouterr().err
    assert seen == [], "nothing, and no key, reached the address it redirected to"


def translate_via(url: str, out: Path, aligner: Path) -> int:
    return main(
        [
            "translate",
            str(TOR),
            "--out",
            str(out),
            "--backend",
            "openai",
            "--llm-url",
            url,
            "--aligner",
            str(aligner),
        ]
    )


def test_each_unit_goes_with_its_speaker_who_is_no_part_of_the_english(tmp_path, tiny_aligner):
    source = tmp_path / "talk.txt"
    lines = ["المذيع: مساء الخير وأهلا بكم.", "الضيف: شكرا على الدعوة.", "المذيع: حدثنا عن عملك."]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with serving(ChatServer(made_up_english)) as server:
        assert translate(server, tmp_path / "out", tiny_aligner, "--workers", "1", source=source) == 0
    (request,) = [request_of(body) for body in server.requests]
    assert [unit.get("speaker") for unit in request["units"]] == ["المذيع", "الضيف", "المذيع"]
    assert all(not unit["ar"].startswith(unit["speaker"]) for unit in request["units"])
    rows = sentences(tmp_path / "out", "talk")
    assert [r["speaker"] for r in rows] == ["المذيع", "الضيف", "المذيع"]
    assert all("المذيع" not in r["en"] for r in rows)
