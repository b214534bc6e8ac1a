"""A large language model behind an OpenAI-compatible chat-completions API (llama.cpp's server, vLLM,
Ollama, LM Studio, a hosted API) as the translator, its English aligned by the trained aligner.

LLMs see context across sentences but drop, merge and shift lines. So units go in windows of
consecutive units, with a few units before and after as read-only context and the glossary terms the
window holds; each unit carries an id, and the reply must give exactly one English per id, in order
(asked for with a JSON schema where the server takes one). A reply that does not is never accepted:
the window is asked again, then split in halves down to single units; a unit that still fails keeps
its Arabic (flagged `untranslated`). Whatever English comes back, the aligner forces it through its
model, so spans, word links and confidence are the aligner's, exactly as for human English.

Windows are batches of the translation cache, so a killed run re-sends only the windows not stored.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.aligner import WORD_START, EnglishAligner
from pipeline.backends.planning import Batch, Planner
from pipeline.errors import UserError
from pipeline.glossary import Term, terms_in
from pipeline.models import ResolvedModel
from pipeline.records import Translation
from pipeline.settings import LLMOptions

API_KEY_VARIABLE = "OPENAI_API_KEY"  # the key, if the server wants one: never a flag, never written
STRUCTURED = ("json_schema", "json_object", "none")  # ways to ask for the reply's shape, tried in order


class LLMError(UserError):
    """The server cannot be used: down, a wrong URL, model or key. One line, credentials left out."""


def public_url(url: str) -> str:
    """`url` without any user name or password in it, as the manifest and messages show it."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


class ChatClient:
    """A small JSON client for the API, with timeouts and retries (exponential backoff) on what a busy
    or restarting server answers: 408, 429, 5xx and dropped connections."""

    RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})

    def __init__(self, url: str, key: str | None, timeout: float, retries: int, backoff: float = 0.5):
        try:
            self.where = public_url(url)
        except ValueError:  # e.g. a '/' or '#' in a password: never echoed
            raise LLMError(
                "--llm-url is not a valid URL (percent-encode special characters in a user name or password, "
                f"or better, put the key in ${API_KEY_VARIABLE})"
            ) from None
        self.base = self.where
        parts = urllib.parse.urlsplit(url)
        # An API never redirects; following one would send the key to wherever it points.
        self.opener = urllib.request.build_opener(_NoRedirect())
        self.authorization = f"Bearer {key}" if key else None
        if self.authorization is None and parts.username is not None:  # user:password@ in the URL
            pair = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self.authorization = f"Basic {base64.b64encode(pair.encode()).decode()}"
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep: Callable[[float], None] = time.sleep

    def get(self, path: str, retry: bool = True) -> Any:
        return self._request("GET", path, None, retry)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._request("POST", path, json.dumps(body, ensure_ascii=False).encode())

    def _request(self, method: str, path: str, data: bytes | None, retry: bool = True) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        tries = self.retries + 1 if retry else 1
        for attempt in range(tries):
            last = attempt == tries - 1
            try:
                with self.opener.open(request, timeout=self.timeout) as response:
                    raw = response.read(MAX_REPLY + 1)
                if len(raw) > MAX_REPLY:
                    raise LLMError(
                        f"the LLM server at {self.where} sent an answer over {MAX_REPLY >> 20} MiB"
                    )
                try:
                    return json.loads(raw)
                except (ValueError, RecursionError):
                    problem = "an answer that is not JSON"
            except urllib.error.HTTPError as error:
                if 300 <= error.code < 400:
                    raise LLMError(
                        f"the LLM server at {self.where} redirects (HTTP {error.code}); give --llm-url the "
                        "address it redirects to"
                    ) from None
                detail = _error_detail(error)
                # llama-cpp-python answers a request field it does not take with a 500 naming it: that
                # is the request's fault, and asking again cannot mend it.
                if error.code in self.RETRY_STATUS and not last and "response_format" not in detail:
                    self.sleep(self._delay(attempt, error.headers.get("Retry-After")))
                    continue
                raise ServerRefused(error.code, detail, self._explain(error.code, detail)) from None
            except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
                reason = getattr(error, "reason", error)
                problem = _transport_problem(reason)
            if last:
                raise LLMError(f"the LLM server at {self.where} cannot be used: {problem}")
            self.sleep(self._delay(attempt, None))
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after and retry_after.strip().isdecimal() and retry_after.strip().isascii():
            return min(float(retry_after), 60.0)
        return self.backoff * 2**attempt

    def _explain(self, status: int, detail: str) -> str:
        if status in (401, 403):
            return (
                f"the LLM server at {self.where} refused the API key (HTTP {status}); "
                f"set it in ${API_KEY_VARIABLE}"
            )
        if status == 404:
            return (
                f"found no OpenAI-compatible API at {self.where} (HTTP 404{detail}); "
                "--llm-url is the API's base, usually ending in /v1"
            )
        return f"the LLM server at {self.where} answered HTTP {status}{detail}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects come back as the HTTPError they are, never followed."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


MAX_REPLY = 16 << 20  # bytes: a window's reply is a few kilobytes
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def shown(text: str) -> str:
    """Text from the server as an error message shows it: on one line, no control characters."""
    return " ".join(_CONTROL.sub(" ", text).split())


class ServerRefused(LLMError):
    """An HTTP error that retrying does not mend; `status` and `detail` let the caller try another way."""

    def __init__(self, status: int, detail: str, message: str):
        super().__init__(message)
        self.status = status
        self.detail = detail


def _error_detail(error: urllib.error.HTTPError) -> str:
    """The server's own message for an HTTP error, on one short line (': ...'), or ''."""
    try:
        body = error.read(2000).decode("utf-8", "replace")
    except OSError:
        return ""
    try:
        parsed = json.loads(body)
        message = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
        if isinstance(message, dict):
            message = message.get("message", message)
        body = str(message)
    except ValueError:
        pass
    line = shown(body)[:200]
    return f": {line}" if line else ""


def _transport_problem(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the server running, and is --llm-url right?)"
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "no answer in time (a slower model needs a longer --llm-timeout)"
    if isinstance(reason, socket.gaierror):
        return "no such host (check --llm-url)"
    return " ".join(str(reason).split()) or type(reason).__name__


@dataclass(frozen=True)
class Window(Batch):
    """A batch of consecutive units, with the units just before and after it as read-only context."""

    before: tuple[tuple[str, ...], ...] = ()
    after: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class WindowPlanner(Planner):
    """Units -> windows of `batch_size` consecutive units in the order given (transcript order, each
    distinct unit once), each with `context` units on either side. A function of the units alone, so
    a resumed run gets the same windows as an uninterrupted one."""

    context: int = 3

    def plan(self, units: Sequence[Sequence[str]]) -> list[Batch]:
        encoded = [self.encoder.encode(words) for words in units]
        windows: list[Batch] = []
        for first in range(0, len(units), self.batch_size):
            last = min(first + self.batch_size, len(units))
            windows.append(
                Window(
                    tuple(range(first, last)),
                    tuple(encoded[first:last]),
                    0,
                    tuple(tuple(words) for words in units[max(0, first - self.context) : first]),
                    tuple(tuple(words) for words in units[last : last + self.context]),
                )
            )
        return windows


@dataclass(frozen=True)
class Passage:
    """A unit as a request holds it: its Arabic, and who speaks it where the transcript says."""

    ar: str
    speaker: str | None = None

    def json(self) -> dict[str, str]:
        return {"speaker": self.speaker, "ar": self.ar} if self.speaker else {"ar": self.ar}


@dataclass
class Attempts:
    """What the run cost beyond one request per window (the bench reports it)."""

    requests: int = 0
    retried: int = 0  # windows asked again after an unusable reply
    split: int = 0  # windows split in halves
    failed: int = 0  # units left untranslated
    seconds: float = 0.0  # waiting for replies, summed over the workers
    prompt_tokens: int = 0  # as the server counts them (its `usage`), the instructions and context included
    completion_tokens: int = 0
    aligner_seconds: float = 0.0  # forcing the English through the aligner


class LLMTranslator:
    """`Translator` for an OpenAI-compatible server: windows of units out, English back, aligned by
    `aligner` (its planner counts the units' tokens, so every unit fits the aligner)."""

    def __init__(
        self,
        options: LLMOptions,
        aligner: EnglishAligner,
        glossary: Sequence[Term] = (),
        client: ChatClient | None = None,
    ):
        self.options = options
        self.aligner = aligner
        self.glossary = list(glossary)
        self.client = client or ChatClient(
            options.url, os.environ.get(API_KEY_VARIABLE) or None, options.timeout, options.retries
        )
        self.prompt = _read_prompt(options.prompt)
        self.model = self._served_model()
        self.speakers: dict[tuple[str, ...], str] = {}  # who speaks each unit, where the transcript says
        self.structured = STRUCTURED[0]  # how the reply's shape is asked for: the first the server takes
        self._lock = threading.Lock()
        self.attempts = Attempts()
        self.aligned_by: ResolvedModel | None = aligner.model
        self.name = f"{self.model} (OpenAI-compatible server)"
        base = aligner.forcing.planner
        self.planner: Planner = WindowPlanner(
            base.encoder, (), base.decoding, options.window, options.context
        )
        self.signature = json.dumps(
            {
                "backend": "openai",
                "model": self.model,
                "prompt": {
                    "file": options.prompt.name,
                    "sha256": hashlib.sha256(self.prompt.encode()).hexdigest(),
                },
                "window": options.window,
                "context": options.context,
                "temperature": options.temperature,
                "seed": options.seed,
                "glossary": [[term.ar, term.en] for term in self.glossary],
                "aligner": json.loads(aligner.signature),
            },
            sort_keys=True,
            ensure_ascii=False,
        )

    def _served_model(self) -> str:
        """The model name to send: the one asked for, checked against the server's list, or the server's
        only model. A server without the list (some hosted APIs) is taken at its word."""
        wanted = self.options.model
        try:  # once, at once: a server that is down is said before any work starts
            listed = self.client.get("/models", retry=False)
            names = [shown(str(entry["id"])) for entry in listed.get("data", []) if isinstance(entry, dict)]
        except ServerRefused as error:
            if error.status in (401, 403) or (error.status == 404 and wanted is None):
                raise
            names = []
        except (AttributeError, KeyError, TypeError):
            names = []
        if wanted is None:
            if len(names) == 1:
                return names[0]
            raise LLMError(
                f"the LLM server at {self.client.where} serves "
                + (f"{len(names)} models ({', '.join(names[:10])})" if names else "no model list")
                + ": name one with --llm-model"
            )
        if names and wanted not in names:
            raise LLMError(
                f"the LLM server at {self.client.where} has no model {wanted!r}; it serves: "
                + ", ".join(names[:10])
            )
        return wanted

    def run(self, batches: Sequence[Batch]) -> Iterator[list[Translation]]:
        """Each window's English, aligned, in order; up to `workers` windows in flight."""
        pool = ThreadPoolExecutor(max_workers=max(1, self.options.workers))
        try:
            futures: list[Future[list[str | None]]] = [pool.submit(self.english, batch) for batch in batches]
            for batch, future in zip(batches, futures, strict=True):
                yield self.align(batch, future.result())
        finally:  # a run stopped early (an error, Ctrl+C) sends nothing more
            pool.shutdown(wait=False, cancel_futures=True)

    def align(self, batch: Batch, english: Sequence[str | None]) -> list[Translation]:
        """The English forced through the aligner; a unit without English keeps its Arabic words, with
        no probability (confidence 0) and no attention, so it is flagged untranslated."""
        words = [unit.words for unit in batch.units]
        done = [index for index, text in enumerate(english) if text is not None]
        started = time.perf_counter()
        aligned = (
            self.aligner.translations([words[i] for i in done], [english[i] or "" for i in done])
            if done
            else []
        )
        self.attempts.aligner_seconds += time.perf_counter() - started  # the main thread's alone
        translations = dict(zip(done, aligned, strict=True))
        return [
            translations.get(index)
            or Translation(
                tuple(WORD_START + word for word in words[index] if word),
                tuple(float("-inf") for word in words[index] if word),
                None,
                truncated=False,
            )
            for index in range(len(words))
        ]

    def learn_speakers(self, speakers: Mapping[tuple[str, ...], str]) -> None:
        self.speakers.update(speakers)

    def english(self, batch: Batch) -> list[str | None]:
        """One English per unit of the window (None: no usable reply for it)."""
        assert isinstance(batch, Window), "the LLM translator plans its own windows"
        before = [self._passage(words) for words in batch.before]
        after = [self._passage(words) for words in batch.after]
        units = [self._passage(unit.words) for unit in batch.units]
        ids = [str(index + 1) for index in range(len(units))]
        return self._window(ids, units, before, after)

    def _passage(self, words: Sequence[str]) -> Passage:
        return Passage(" ".join(word for word in words if word), self.speakers.get(tuple(words)))

    def _window(
        self, ids: list[str], units: list[Passage], before: list[Passage], after: list[Passage]
    ) -> list[str | None]:
        for attempt in range(self.options.attempts):
            english = self._ask(ids, units, before, after, attempt)
            if english is not None:
                return list(english)
            self._count(retried=1)
        if len(units) == 1:
            self._count(failed=1)
            return [None]
        self._count(split=1)
        half, context = len(units) // 2, self.options.context
        left = self._window(ids[:half], units[:half], before, (units[half:] + after)[:context])
        right = self._window(
            ids[half:], units[half:], (before + units[:half])[max(0, len(before) + half - context) :], after
        )
        return left + right

    def _ask(
        self, ids: list[str], units: list[Passage], before: list[Passage], after: list[Passage], attempt: int
    ) -> list[str] | None:
        """The server's English for these units, or None when its reply does not hold exactly one
        non-empty English per id, in order."""
        arabic = [unit.ar for unit in units]
        request = {
            "before": [passage.json() for passage in before],
            "units": [{"id": i, **unit.json()} for i, unit in zip(ids, units, strict=True)],
            "after": [passage.json() for passage in after],
            "glossary": [
                {"ar": term.ar, "en": term.en} for term in terms_in(self.glossary, " ".join(arabic))
            ],
        }
        body: dict[str, Any] = {
            "model": self.model,
            # One user message: the instructions, then the request. Some chat templates drop a system
            # message (llama-cpp-python's Gemma format does, silently), and some refuse two user turns.
            "messages": [{"role": "user", "content": ask(self.prompt, request)}],
            "temperature": self.options.temperature,
            "seed": self.options.seed + attempt,  # a retry at temperature 0 needs another draw
            "max_tokens": self.options.max_tokens or _max_tokens(arabic),
        }
        reply = self._complete(body, ids, arabic)
        self._count(requests=1)
        return parse_reply(reply, ids)

    def _complete(self, body: dict[str, Any], ids: list[str], units: list[str]) -> str:
        """The reply's text, asking for its shape in the first way the server takes (remembered)."""
        started = time.perf_counter()
        try:
            while True:
                way = self.structured
                try:
                    answer = self.client.post(
                        "/chat/completions", {**body, **response_format(way, ids, units)}
                    )
                except ServerRefused as error:
                    # 400/422, or llama-cpp-python's 500 naming the field: this server wants it another way
                    refused = error.status in (400, 422) or "response_format" in error.detail
                    if not refused or way == STRUCTURED[-1]:
                        raise
                    with self._lock:  # the next way, once, whichever worker is refused first
                        if self.structured == way:
                            self.structured = STRUCTURED[STRUCTURED.index(way) + 1]
                    continue
                break
        finally:
            with self._lock:
                self.attempts.seconds += time.perf_counter() - started
        usage = answer.get("usage") if isinstance(answer, dict) else None
        if isinstance(usage, dict):
            with contextlib.suppress(
                TypeError, ValueError, OverflowError
            ):  # counts it got wrong: not counted
                self._count(
                    prompt_tokens=int(usage.get("prompt_tokens") or 0),
                    completion_tokens=int(usage.get("completion_tokens") or 0),
                )
        try:
            return str(answer["choices"][0]["message"]["content"] or "")
        except (KeyError, IndexError, TypeError):
            return ""

    def _count(self, **added: int) -> None:
        """Add to the counts, from any worker."""
        with self._lock:
            for name, value in added.items():
                setattr(self.attempts, name, getattr(self.attempts, name) + value)

    def record(self) -> dict[str, object]:
        """What the manifest says of the server: its URL (no credentials), the model it serves, the
        prompt and the windows (the translation cache's key holds all but the URL, so the same model
        served elsewhere keeps the cache)."""
        return {
            "server": self.client.where,
            "model": self.model,
            "prompt": str(self.options.prompt),
            "window": self.options.window,
            "context": self.options.context,
            "structured_output": self.structured,
        }

    def notes(self) -> list[str]:
        """What the run summary says of the requests: the units left untranslated, and what retries
        and splits cost."""
        a = self.attempts
        notes = []
        if a.retried or a.split:
            notes.append(
                f"the LLM's replies: {a.requests} request(s), {a.retried} window(s) asked again after an "
                f"unusable reply, {a.split} split"
            )
        if a.failed:
            notes.append(
                f"{a.failed} unit(s) got no usable English from the LLM: they keep their Arabic, flagged "
                "untranslated"
            )
        return notes


def ask(prompt: str, request: dict[str, Any]) -> str:
    """The one message sent: the instructions, a blank line, and the request as JSON on its last line."""
    return f"{prompt.rstrip()}\n\n{json.dumps(request, ensure_ascii=False)}"


def _read_prompt(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: the prompt cannot be read ({error})") from None


def _max_tokens(units: Sequence[str]) -> int:
    """Room for the reply: about three English tokens per Arabic word, and the JSON around them."""
    return 64 + sum(16 + 3 * len(text.split()) for text in units)


def reply_schema(ids: Sequence[str], units: Sequence[str]) -> dict[str, Any]:
    """The reply's JSON schema: exactly these ids, in this order, each with non-empty English of at
    most four characters per Arabic character (a grammar-constrained model that loops is cut there)."""
    return {
        "type": "object",
        "properties": {
            "translations": {
                "type": "array",
                "prefixItems": [
                    {
                        "type": "object",
                        "properties": {
                            "id": {"const": i},
                            "en": {"type": "string", "minLength": 1, "maxLength": max_english(text)},
                        },
                        "required": ["id", "en"],
                        "additionalProperties": False,
                    }
                    for i, text in zip(ids, units, strict=True)
                ],
                "items": False,
                "minItems": len(ids),
                "maxItems": len(ids),
            }
        },
        "required": ["translations"],
        "additionalProperties": False,
    }


def max_english(arabic: str) -> int:
    return 32 + 4 * len(arabic)


def response_format(way: str, ids: Sequence[str], units: Sequence[str]) -> dict[str, Any]:
    """The request fields that ask for the reply's shape: OpenAI's json_schema (vLLM, llama.cpp,
    Ollama, LM Studio, OpenAI), llama-cpp-python's json_object with a schema, or nothing."""
    schema = reply_schema(ids, units)
    if way == "json_schema":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "translations", "schema": schema, "strict": True},
            }
        }
    if way == "json_object":
        return {"response_format": {"type": "json_object", "schema": schema}}
    return {}


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_reply(text: str, ids: Sequence[str]) -> list[str] | None:
    """The English of each id from a reply, or None unless it holds exactly these ids in this order,
    each with non-empty English (a Markdown code fence around the JSON is allowed)."""
    fenced = _FENCE.match(text)
    try:
        parsed = json.loads(fenced.group(1) if fenced else text)
    except (ValueError, RecursionError):
        return None
    entries = parsed.get("translations") if isinstance(parsed, dict) else None
    if not isinstance(entries, list) or len(entries) != len(ids):
        return None
    english = []
    for entry, wanted in zip(entries, ids, strict=True):
        if not isinstance(entry, dict) or str(entry.get("id")) != wanted:
            return None
        text_en = entry.get("en")
        if not isinstance(text_en, str) or not text_en.split():
            return None
        english.append(" ".join(text_en.split()))
    return english
