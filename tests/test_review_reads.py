"""Reading the review app never waits behind a writer, such as a `translate` re-run syncing a long
transcript into the review database."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from pipeline.output import OutputFolder
from pipeline.review.app import create_app
from pipeline.review.store import ReviewStore
from tests.review_helpers import aligned


def test_pages_and_the_api_answer_while_a_writer_holds_the_database(tmp_path):
    store = ReviewStore(OutputFolder(tmp_path).review_database)
    store.sync(aligned("talk", [("نعم", "Yes"), ("لا", "No")]))
    client = TestClient(create_app(tmp_path), base_url="http://127.0.0.1:8765")
    writer = sqlite3.connect(store.path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # what ReviewStore.sync holds while it replaces a transcript
    writer.execute("UPDATE sentences SET en = 'half-written' WHERE transcript = 'talk'")
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        reads = [
            pool.submit(client.get, path)
            for path in ("/", "/t/talk", "/api/transcripts", "/api/t/talk/sentences")
        ]
        # A read that waited for the write lock would hang here until SQLite's 30 s timeout.
        answers = [read.result(timeout=10) for read in reads]
    finally:
        writer.execute("ROLLBACK")  # lets any read still waiting finish, so the pool can close
        writer.close()
        pool.shutdown(cancel_futures=True)
    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
    english = [s["en"] for s in answers[-1].json()["sentences"]]
    assert english == ["Yes", "No"]  # the last committed state, never the writer's half-written one
