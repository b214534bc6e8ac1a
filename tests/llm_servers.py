"""OpenAI-compatible chat servers on 127.0.0.1 for the LLM backend's tests: a scripted one (`fake_llm`,
which translates each unit to made-up English) and a proxy in front of a real server; both inject the
failures a test lines up (HTTP errors, dropped connections, malformed or wrong replies)."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[[dict[str, Any]], dict[str, Any]]

# What a test can line up, one per request, in order: "ok", an HTTP status, "drop" (the connection
# closes with no answer), or a reply whose content is spoiled in one of these ways.
SPOILED = ("not-json", "missing-id", "extra-id", "reordered", "merged", "empty-en", "fenced")


@dataclass
class ChatServer:
    answer: Answer
    models: tuple[str, ...] = ("fake-llm",)
    key: str | None = None  # the API key it wants, if any
    refuse_json_schema: bool = False  # answer 400 to OpenAI's json_schema, as llama-cpp-python's server
    faults: list[str | int] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def reply(self, handler: BaseHTTPRequestHandler, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        self.headers.append(dict(handler.headers.items()))
        if self.key is not None and handler.headers.get("Authorization") != f"Bearer {self.key}":
            return self.reply(handler, 401, {"error": {"message": "Incorrect API key provided"}})
        if method == "GET" and handler.path == "/v1/models":
            return self.reply(handler, 200, {"object": "list", "data": [{"id": m} for m in self.models]})
        if method != "POST" or handler.path != "/v1/chat/completions":
            return self.reply(handler, 404, {"error": {"message": "not found"}})
        length = int(handler.headers.get("Content-Length", "0"))
        body = json.loads(handler.rfile.read(length))
        self.requests.append(body)
        if self.refuse_json_schema and body.get("response_format", {}).get("type") == "json_schema":
            return self.reply(handler, 400, {"error": {"message": "response_format: unsupported type"}})
        fault = self.faults.pop(0) if self.faults else "ok"
        if isinstance(fault, int):
            return self.reply(handler, fault, {"error": {"message": f"injected {fault}"}})
        if fault == "drop":
            handler.close_connection = True
            handler.connection.shutdown(2)
            return None
        if body.get("model") not in self.models:
            return self.reply(handler, 404, {"error": {"message": f"model {body.get('model')!r} not found"}})
        try:
            answer = self.answer(body)
        except UpstreamError as error:  # the real server's own error, passed on as it is
            return self.reply(handler, error.status, error.body)
        if fault != "ok":
            content = answer["choices"][0]["message"]["content"]
            answer["choices"][0]["message"]["content"] = spoil(content, str(fault))
        return self.reply(handler, 200, answer)


def spoil(content: str, how: str) -> str:
    """A reply's content made wrong in one way a real model gets it wrong."""
    if how == "not-json":
        return content[: len(content) // 2]
    if how == "fenced":
        return f"```json\n{content}\n```"
    translations = json.loads(content)["translations"]
    if how == "missing-id":
        translations = translations[:-1] or [{"id": "x", "en": "nothing"}]
    elif how == "extra-id":
        translations = [*translations, {"id": "99", "en": "an extra line"}]
    elif how == "reordered":
        translations = translations[::-1] if len(translations) > 1 else [{"id": "0", "en": "wrong"}]
    elif how == "merged":
        first, *rest = translations
        merged = " ".join(t["en"] for t in translations)
        translations = [{"id": first["id"], "en": merged}, *rest[1:]] if rest else [{"id": "0", "en": merged}]
    elif how == "empty-en":
        translations = [{**translations[0], "en": " "}, *translations[1:]]
    return json.dumps({"translations": translations})


def request_of(body: dict[str, Any]) -> dict[str, Any]:
    """The request in a chat body: the JSON on the last line of its one user message."""
    return dict(json.loads(body["messages"][-1]["content"].rsplit("\n", 1)[-1]))


def made_up_english(body: dict[str, Any]) -> dict[str, Any]:
    """An answer that translates every unit to English words made from its Arabic (one per word), in
    the shape asked for: what a well-behaved model returns."""
    request = request_of(body)
    translations = [
        {"id": unit["id"], "en": " ".join(f"w{len(word)}" for word in unit["ar"].split()) or "empty"}
        for unit in request["units"]
    ]
    content = json.dumps({"translations": translations})
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": body["model"],
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
        ],
    }


class UpstreamError(Exception):
    def __init__(self, status: int, body: object):
        super().__init__(status)
        self.status = status
        self.body = body


def forwarded_to(upstream: str) -> Answer:
    """An answer taken from the real server at `upstream` (its /v1 base); its errors are passed on."""

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{upstream}/chat/completions", json.dumps(body).encode(), {"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=600) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as error:
            raise UpstreamError(error.code, json.loads(error.read() or b"{}")) from None

    return answer


@contextmanager
def serving(server: ChatServer) -> Iterator[ChatServer]:
    """`server` listening on 127.0.0.1 (a free port) until the block ends; `server.url` is its /v1."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            server.handle(self, "GET")

        def do_POST(self) -> None:
            server.handle(self, "POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    http.daemon_threads = True
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{http.server_address[1]}/v1"
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()
