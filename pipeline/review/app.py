"""The local review app: Starlette over the review database in the output folder.

Pages are a shell; the transcript page's script fetches sentences as JSON and puts every transcript
string into the page as text (never as markup), so nothing in a transcript can run. Transcripts are
looked up by name in the database, never as paths. State-changing requests must be JSON and, when a
browser sends an Origin, come from this app's own origin.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.output import OutputFolder
from pipeline.records import ReviewedSentence
from pipeline.review.store import STATUSES, Conflict, ReviewStore, UnknownSentence

STATIC = Path(__file__).resolve().parent / "static"


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
        "confidence": s.confidence,
        "flags": list(s.flags),
        "links": [list(link) for link in s.links],
        "status": reviewed.status,
        "comment": reviewed.comment,
        "revision": reviewed.revision,
        "previous": reviewed.previous,
        "expected": list(reviewed.expected),
        "updated": reviewed.updated,
    }


class SameOrigin:
    """Refuses a state-changing request that a browser sent from another origin (CSRF), or that is not
    JSON (a cross-site form cannot send JSON without the browser asking first)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in ("GET", "HEAD", "OPTIONS"):
            request = Request(scope)
            origin = request.headers.get("origin")
            own = f"{request.url.scheme}://{request.headers.get('host', '')}"
            if origin is not None and origin != own:
                await JSONResponse({"error": "cross-origin request refused"}, 403)(scope, receive, send)
                return
            if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
                await JSONResponse({"error": "send JSON"}, 415)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(out: Path) -> Starlette:
    store = ReviewStore(OutputFolder(out).review_database)
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
        return HTMLResponse(pages.get_template("app_index.html.j2").render(progress=progress, folder=out))

    async def transcript_page(request: Request) -> Response:
        name = known(request.path_params["name"])
        return HTMLResponse(pages.get_template("app_transcript.html.j2").render(name=name, statuses=STATUSES))

    async def list_transcripts(request: Request) -> Response:
        return JSONResponse([asdict(store.progress(name)) for name in store.transcripts()])

    async def sentences(request: Request) -> Response:
        name = known(request.path_params["name"])
        since = request.query_params.get("since", "-1")
        if not since.lstrip("-").isdigit():
            raise HTTPException(400, "since must be an integer")
        seq = store.latest_seq(name)
        changed = store.sentences(name, int(since))
        return JSONResponse({"seq": seq, "sentences": [sentence_json(s) for s in changed]})

    async def update(request: Request) -> Response:
        name = known(request.path_params["name"])
        body = await request.json()
        fields = {key: body[key] for key in ("en", "status", "comment") if key in body}
        if not isinstance(body.get("revision"), int) or not all(isinstance(v, str) for v in fields.values()):
            raise HTTPException(400, "send {revision: int, en?: str, status?: str, comment?: str}")
        try:
            saved = store.update(name, request.path_params["id"], body["revision"], **fields)
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

    routes = [
        Route("/", index),
        Route("/t/{name}", transcript_page),
        Route("/api/transcripts", list_transcripts),
        Route("/api/t/{name}/sentences", sentences),
        Route("/api/t/{name}/sentences/{id}", update, methods=["POST"]),
        Route("/api/t/{name}/sentences/{id}/history", history),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SameOrigin)])


def serve(out: Path, host: str = "127.0.0.1", port: int = 8765) -> None:
    import uvicorn

    print(f"Reviewing {out}: open http://{host}:{port}/ (Ctrl+C stops)", flush=True)
    uvicorn.run(create_app(out), host=host, port=port, log_level="warning")
