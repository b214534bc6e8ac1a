"""The review app served from a background thread, and Debian's Chromium as a headless browser for it:
what the browser test and the review-app benchmark share."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Chromium on a machine without a network or a display: no sandbox (root in CI), and none of the
# background connections that would be refused anyway.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium() -> str | None:
    """The system's Chromium (Debian's `chromium` package), never a downloaded browser."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """The review app over `folder` on a free 127.0.0.1 port; yields its address."""
    import uvicorn

    from pipeline.review.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(folder), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the review app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
