"""The local review app: Starlette over the review database in the output folder.

Pages are a shell; the transcript page's script fetches sentences as JSON and puts every transcript
string into the page as text (never as markup), so nothing in a transcript can run. Transcripts are
looked up by name in the database, never as paths.

The app answers only to the addresses it serves (`ServedHosts`): a page on another site that
DNS-rebinds its own name to 127.0.0.1 still sends its own name as Host and Origin, so it is refused.
State-changing requests must be JSON and, when a browser sends an Origin, come from one of those
addresses. Bodies are capped, and every response carries a script-only-from-here policy.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.errors import UserError
from pipeline.output import OutputFolder
from pipeline.records import ReviewedSentence
from pipeline.review import media
from pipeline.review.realign import Realigner, edit_alignment
from pipeline.review.store import STATUSES, Conflict, ReviewStore, UnknownSentence, is_flagged

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 1 << 20  # 1 MiB: one sentence's edit is a few kilobytes
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
ANY_ADDRESS = ("", "0.0.0.0", "::")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "media-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
SINCE = re.compile(r"-?[0-9]{1,18}")  # fits SQLite's 64-bit integers
PAGE_HEADERS = {"Cache-Control": "no-store"}  # Back shows today's counts, never a cached page's


def sentence_json(reviewed: ReviewedSentence) -> dict:
    s = reviewed.sentence
    return {
        "id": reviewed.id,
        "index": s.index,
        "en": s.en,
        "ar": s.ar,
        "machine": reviewed.machine,
        "start": s.start,
        "end": s.end,
        "speaker": s.speaker,
        "confidence": s.confidence,  # the translator's, in the machine's English
        "flags": list(s.flags),  # of the current English (the reviewer's where they edited it)
        "links": [list(link) for link in s.links],
        "machine_flags": list(reviewed.machine_flags),
        # For a reviewer's English: the aligner's confidence in it, whether it has word links and why not.
        "edit_confidence": reviewed.edit_confidence,
        "realigned": None if s.en == reviewed.machine else reviewed.realign_note is None,
        "realign_note": reviewed.realign_note,
        "status": reviewed.status,
        "flagged": is_flagged(reviewed),  # one definition for the index, the filter and the counts
        "comment": reviewed.comment,
        "revision": reviewed.revision,
        "previous": reviewed.previous,
        "expected": list(reviewed.expected),
        "updated": reviewed.updated,
    }


def host_name(address: str) -> str:
    """An address as a Host header writes it: IPv6 in brackets, lower case."""
    bare = address.strip("[]").lower()
    return f"[{bare}]" if ":" in bare else bare


def is_loopback(address: str) -> bool:
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


def local_address(address: Any) -> str | None:
    """The IP literal a connection came in on (an IPv4-mapped IPv6 address as IPv4), or None."""
    try:
        ip = ipaddress.ip_address(str(address))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return host_name(str(ip))


@dataclass(frozen=True)
class ServedHosts:
    """The Host header values this app answers to: loopback names when it listens on loopback, the
    `host` it was given, and, listening on every address, the IP literal a connection came in on.
    A rebinding attacker's page can only send its own name, which is none of these. Without a `port`
    (an app whose caller picks a free port), the port is the one the connection came in on."""

    host: str = "127.0.0.1"
    port: int | None = None

    def for_connection(self, scope: Scope) -> frozenset[str]:
        server = scope.get("server")
        port = self.port if self.port is not None else (server[1] if server else None)
        if port is None:  # a Unix socket and no port given: nothing is known to be ours
            return frozenset()
        everywhere = self.host in ANY_ADDRESS
        names = set(LOOPBACK_NAMES) if everywhere or is_loopback(self.host) else set()
        if self.host:
            names.add(host_name(self.host))
        if everywhere and server and (local := local_address(server[0])):
            names.add(local)
        hosts = {f"{name}:{port}" for name in names}
        return frozenset(hosts | names if port == 80 else hosts)

    def allows(self, host: str | None, scope: Scope) -> bool:
        return host is not None and host.lower() in self.for_connection(scope)


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response that passes through (errors from inside included)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


class AllowedHosts:
    """Refuses, before any route runs, a request whose Host is not one the app serves (DNS rebinding)."""

    def __init__(self, app: ASGIApp, served: ServedHosts):
        self.app = app
        self.served = served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.served.allows(
            Headers(scope=scope).get("host"), scope
        ):
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await JSONResponse({"error": "unknown Host: open the address the app printed"}, 400)(
                    scope, receive, send
                )
            return
        await self.app(scope, receive, send)


class SameOrigin:
    """Refuses a state-changing request that a browser sent from an origin other than the app's own
    addresses (CSRF; compared with those, not with Host, which a rebinding page controls), or that is
    not JSON (a cross-site form cannot send JSON without the browser asking first)."""

    def __init__(self, app: ASGIApp, served: ServedHosts):
        self.app = app
        self.served = served

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not (
                origin.startswith("http://") and self.served.allows(origin.removeprefix("http://"), scope)
            ):
                await JSONResponse({"error": "cross-origin request refused"}, 403)(scope, receive, send)
                return
            if headers.get("content-type", "").split(";")[0].strip() != "application/json":
                await JSONResponse({"error": "send JSON"}, 415)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuses a body over `limit` bytes with 413: at once from Content-Length, else as it streams in
    (the endpoint reading it gets an HTTPException, answered before any response has started)."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and not (length.isascii() and length.isdigit()):
            await JSONResponse({"error": "bad Content-Length"}, 400)(scope, receive, send)
            return
        if length is not None and int(length) > self.limit:
            await JSONResponse({"error": f"body over {self.limit} bytes"}, 413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, f"body over {self.limit} bytes")
            return message

        await self.app(scope, limited, send)


def http_error(request: Request, error: Exception) -> Response:
    """Errors as JSON, `{"error": ...}`, like the app's own refusals."""
    assert isinstance(error, HTTPException)
    return JSONResponse({"error": error.detail}, error.status_code, headers=error.headers)


def server_error(request: Request, error: Exception) -> Response:
    """A crash's 500 is sent from outside the middleware, so it carries the headers itself."""
    return JSONResponse({"error": "internal error"}, 500, headers=SECURITY_HEADERS)


def update_fields(raw: bytes) -> tuple[int, dict[str, str]]:
    """The revision and fields of an update body, or a 400 saying what to send."""
    usage = "send {revision: int, en?: str, status?: str, comment?: str}"
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:  # bad JSON or encoding; absurd nesting
        raise HTTPException(400, f"not JSON: {usage}") from error
    if not isinstance(body, dict):
        raise HTTPException(400, usage)
    revision = body.get("revision")
    fields = {key: body[key] for key in ("en", "status", "comment") if key in body}
    if not isinstance(revision, int) or isinstance(revision, bool):
        raise HTTPException(400, usage)
    for value in fields.values():
        if not isinstance(value, str):
            raise HTTPException(400, usage)
        try:
            value.encode()
        except UnicodeEncodeError as error:  # a lone surrogate from a \ud800 escape
            raise HTTPException(400, "text must be valid Unicode") from error
    return revision, fields


def chosen_file(raw: bytes) -> str:
    """The file name in a media choice body, or a 400 saying what to send."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise HTTPException(400, "not JSON: send {file: str}") from error
    if not isinstance(body, dict) or not isinstance(body.get("file"), str):
        raise HTTPException(400, "send {file: str}, a name from /media/choices")
    return body["file"]


def player_json(out: Path, name: str) -> dict | None:
    """What the page's player needs: the registered file's name and the element that plays it."""
    path = media.registered(out, name)
    kind = None if path is None else media.media_type(path)
    if path is None or kind is None:
        return None
    return {"file": path.name, "element": kind.element, "mime": kind.mime}


def create_app(out: Path, *, host: str = "127.0.0.1", port: int | None = None) -> Starlette:
    """The app over `out`, answering to the addresses that listening on `host`:`port` serves
    (`ServedHosts`); without `port`, to loopback names on whatever port the server listens on."""
    store = ReviewStore(OutputFolder(out).review_database)
    realigner = Realigner(out)  # loads each transcript's aligner on the first edit that needs it
    served = ServedHosts(host, port)
    pages = Environment(
        loader=PackageLoader("pipeline", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )

    def known(name: str) -> str:
        if name not in store.transcripts():
            raise HTTPException(404, f"no transcript named {name!r}")
        return name

    async def index(request: Request) -> Response:
        progress = [store.progress(name) for name in store.transcripts()]
        page = pages.get_template("app_index.html.j2").render(progress=progress, folder=out)
        return HTMLResponse(page, headers=PAGE_HEADERS)

    async def transcript_page(request: Request) -> Response:
        name = known(request.path_params["name"])
        manifest = OutputFolder(out).manifest(name)
        made_by = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else None
        page = pages.get_template("app_transcript.html.j2").render(
            name=name,
            statuses=STATUSES,
            made_by=made_by,
            player=player_json(out, name),
            converter=media.converter() is not None,
        )
        return HTMLResponse(page, headers=PAGE_HEADERS)

    async def list_transcripts(request: Request) -> Response:
        return JSONResponse([asdict(store.progress(name)) for name in store.transcripts()])

    async def sentences(request: Request) -> Response:
        name = known(request.path_params["name"])
        since = request.query_params.get("since", "-1")
        if not SINCE.fullmatch(since):
            raise HTTPException(400, "since must be an integer")
        seq = store.latest_seq(name)
        changed = store.sentences(name, int(since))
        return JSONResponse({"seq": seq, "sentences": [sentence_json(s) for s in changed]})

    async def update(request: Request) -> Response:
        name = known(request.path_params["name"])
        revision, fields = update_fields(await request.body())
        sentence_id = request.path_params["id"]
        try:
            # The aligner runs first, off the event loop and outside the database transaction.
            alignment = None
            if "en" in fields and fields.get("status", STATUSES[0]) in STATUSES:  # else refused below
                alignment = await run_in_threadpool(
                    edit_alignment, store, realigner, name, sentence_id, revision, fields["en"]
                )
            saved = store.update(name, sentence_id, revision, **fields, alignment=alignment)
        except UnknownSentence as error:
            raise HTTPException(404, f"no sentence {request.path_params['id']!r}") from error
        except Conflict as conflict:
            return JSONResponse({"error": "conflict", "current": sentence_json(conflict.current)}, 409)
        except ValueError as error:
            raise HTTPException(400, str(error)) from error
        return JSONResponse(sentence_json(saved))

    async def history(request: Request) -> Response:
        name = known(request.path_params["name"])
        try:
            return JSONResponse(store.history(name, request.path_params["id"]))
        except UnknownSentence as error:
            raise HTTPException(404, f"no sentence {request.path_params['id']!r}") from error

    async def play_media(request: Request) -> Response:
        """The registered recording, with HTTP range requests (FileResponse answers Range with 206)."""
        name = known(request.path_params["name"])
        path = media.registered(out, name)
        kind = None if path is None else media.media_type(path)
        if path is None or kind is None:
            raise HTTPException(404, f"no recording is registered for {name!r}")
        return FileResponse(path, media_type=kind.mime, headers={"Cache-Control": "no-cache"})

    def offered(name: str) -> list[Path]:
        source = store.origin(name)
        return [] if source is None else media.beside(source)

    async def media_choices(request: Request) -> Response:
        """The media files beside the transcript's source, by name: the only ones a page may pick."""
        name = known(request.path_params["name"])
        return JSONResponse([path.name for path in offered(name)])

    async def choose_media(request: Request) -> Response:
        name = known(request.path_params["name"])
        chosen = chosen_file(await request.body())
        by_name = {path.name: path for path in offered(name)}
        if chosen not in by_name:
            raise HTTPException(400, f"{chosen!r} is not a media file beside the transcript")
        media.register(out, name, by_name[chosen])
        return JSONResponse(player_json(out, name))

    async def convert_media(request: Request) -> Response:
        """A one-time conversion of the registered recording to a file every browser plays (ffmpeg)."""
        name = known(request.path_params["name"])
        path = media.registered(out, name)
        if path is None:
            raise HTTPException(404, f"no recording is registered for {name!r}")
        try:
            await run_in_threadpool(media.convert, out, name, path)
        except UserError as error:
            raise HTTPException(409, str(error)) from error
        return JSONResponse(player_json(out, name))

    routes = [
        Route("/", index),
        Route("/t/{name}", transcript_page),
        Route("/api/transcripts", list_transcripts),
        Route("/api/t/{name}/sentences", sentences),
        Route("/api/t/{name}/sentences/{id}", update, methods=["POST"]),
        Route("/api/t/{name}/sentences/{id}/history", history),
        Route("/api/t/{name}/media", play_media),
        Route("/api/t/{name}/media", choose_media, methods=["POST"]),
        Route("/api/t/{name}/media/choices", media_choices),
        Route("/api/t/{name}/media/convert", convert_media, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(AllowedHosts, served),
        Middleware(SameOrigin, served),
        Middleware(BodyLimit),
    ]
    handlers = {HTTPException: http_error, Exception: server_error}
    return Starlette(routes=routes, middleware=middleware, exception_handlers=handlers)


def serve(out: Path, host: str = "127.0.0.1", port: int = 8765) -> None:
    import socket

    import uvicorn

    try:  # uvicorn would log the clash and exit; say which port and what to do instead
        with socket.create_server((host, port)):
            pass
    except OSError as error:
        raise UserError(
            f"cannot listen on {host}:{port} ({error.strerror}); choose another with --port"
        ) from None

    print(f"Reviewing {out}: open http://{host_name(host)}:{port}/ (Ctrl+C stops)", flush=True)
    uvicorn.run(create_app(out, host=host, port=port), host=host, port=port, log_level="warning")
