"""Property-based fuzzing of what reviewers send back: files given to `import-review` and JSON bodies
posted to the review app's save route.

`import-review` answers whatever bytes it is given with a report (exit 0, or 1 when it lists conflicts
or unknown ids) or one `error:` line (exit 2), never a traceback, and a refused file leaves the review
database exactly as it was. The app answers every body with 2xx or 4xx, never 500, and a 4xx leaves
the database exactly as it was.
"""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from pipeline.cli import main
from pipeline.output import OutputFolder
from pipeline.review.app import create_app
from pipeline.review.exports import TSV_HEADER
from pipeline.review.store import STATUSES, ReviewStore
from tests.review_helpers import aligned

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
ORIGIN = "http://127.0.0.1:8765"

# What spreadsheets, CAT tools and people put in cells: formulas, quotes, tabs, line ends, Arabic,
# digits that are not ASCII, controls and what XML cannot hold.
PIECES = st.sampled_from(
    list("abc ,.'\"=+-@\t\r\n\\<>&;#0123456789")
    + list("نعم مرحبا")
    + [
        "\x00",
        "\x0b",
        "\ufffd",
        "\u202e",
        "😀",
        "²",
        "٣",
        "①",
        "\ufeff",
        "]]>",
        "&amp;",
        "&#0;",
        "<cp hex='0'/>",
    ]
)
TEXT = st.lists(PIECES, max_size=20).map("".join)
XML_TEXT = TEXT.map(lambda text: text.replace("\x00", "").replace("\x0b", ""))  # what XML 1.0 can hold


USUAL_REVISIONS = st.sampled_from(["0", "1", "2", "3"])
ODD_REVISIONS = st.one_of(
    st.sampled_from(["", "-1", "٣", "1.0", " 0", "9" * 30, "0x1", "²", "①"]),
    TEXT,
)


def mostly(draw, usual: st.SearchStrategy, odd: st.SearchStrategy):
    """The usual value four times in five, an odd one otherwise: odd enough to find what breaks, usual
    enough to get past the first check to the code behind it."""
    return draw(odd) if draw(st.integers(0, 4)) == 4 else draw(usual)


ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1256"])


def database_state(out: Path) -> str:
    """Every row of the review database, as SQL."""
    with contextlib.closing(sqlite3.connect(OutputFolder(out).review_database)) as db:
        return "\n".join(db.iterdump())


def reviewed_folder(folder: Path) -> tuple[Path, list[str]]:
    """An output folder whose review database holds 'talk' (one sentence already edited): the folder
    and the sentence ids."""
    store = ReviewStore(OutputFolder(folder).review_database)
    store.sync(aligned("talk", [("مرحبا بكم.", "Welcome."), ("نعم.", "Yes."), ("شكرا.", "Thanks.")]))
    ids = [sentence.id for sentence in store.sentences("talk")]
    store.update("talk", ids[0], 0, en="Welcome, everyone.", comment="checked")
    return folder, ids


@pytest.fixture(scope="module")
def review_out(tmp_path_factory) -> tuple[Path, list[str]]:
    return reviewed_folder(tmp_path_factory.mktemp("review"))


def import_review(out: Path, path: Path) -> tuple[int, str, str]:
    """`python -m pipeline import-review --from OUT FILE`, in this process: (status, stdout, stderr).
    Anything but a clean exit status (a traceback) fails the test where it is raised."""
    printed, errors = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(errors):
        status = main(["import-review", "--from", str(out), str(path)])
    return status, printed.getvalue(), errors.getvalue()


def check_import(out: Path, path: Path, data: bytes) -> None:
    path.write_bytes(data)
    before = database_state(out)
    status, printed, errors = import_review(out, path)
    assert status in (0, 1, 2), (status, printed, errors)
    if status == 2:
        assert errors.startswith("error: ") and errors.count("\n") == 1, errors  # one line
        assert database_state(out) == before, "a refused file changed the review database"
    else:
        assert printed.startswith("Imported ") and not errors, (printed, errors)
        if status == 1:
            assert "  conflict: " in printed or "  unknown: " in printed, printed


# --- import-review: TSV ------------------------------------------------------------------------------


@st.composite
def tsv_files(draw, ids: list[str]) -> bytes:
    """A reviewed TSV as a spreadsheet might save it: the exported header (or not quite), rows of
    about the right width, real or made-up ids, any revision, status and English; any encoding."""
    header = mostly(
        draw, st.just(list(TSV_HEADER)), st.lists(st.sampled_from([*TSV_HEADER, "EN", ""]), max_size=13)
    )
    rows = [header]
    for _ in range(draw(st.integers(0, 4))):
        row = [draw(TEXT) for _ in range(mostly(draw, st.just(len(TSV_HEADER)), st.integers(0, 14)))]
        if len(row) == len(TSV_HEADER):
            row[TSV_HEADER.index("id")] = mostly(draw, st.sampled_from(ids), TEXT)
            row[TSV_HEADER.index("revision")] = mostly(draw, USUAL_REVISIONS, ODD_REVISIONS)
            row[TSV_HEADER.index("status")] = mostly(draw, st.sampled_from(STATUSES), TEXT)
            row[TSV_HEADER.index("transcript")] = mostly(draw, st.just("talk"), TEXT)
        rows.append(row)
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quoted = mostly(draw, st.just(True), st.just(False))  # as spreadsheets quote a cell with a tab in it
    text = newline.join("\t".join(cell(text, quoted) for text in row) for row in rows)
    text += draw(st.sampled_from(["", newline]))
    return text.encode(draw(ENCODINGS), errors="replace")


def cell(text: str, quoted: bool) -> str:
    if quoted and any(char in text for char in '\t\r\n"'):
        return '"' + text.replace('"', '""') + '"'
    return text


@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_import_review_answers_any_tsv_with_a_report_or_an_error_line(review_out, tmp_path, data):
    out, ids = review_out
    check_import(out, tmp_path / "talk.reviewed.tsv", data.draw(tsv_files(ids)))


@SETTINGS
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".tsv", ".xlf"]))
def test_import_review_answers_arbitrary_bytes_with_a_report_or_an_error_line(
    review_out, tmp_path, data, suffix
):
    out, _ = review_out
    check_import(out, tmp_path / f"talk{suffix}", data)


# --- import-review: XLIFF ----------------------------------------------------------------------------

XLIFF_STATES = ["initial", "translated", "reviewed", "final"]


@st.composite
def xliff_files(draw, ids: list[str]) -> bytes:
    """An XLIFF 2.0 file as a CAT tool might give it back: units with real or made-up ids, any
    revision and state, targets that are missing, escaped or not (markup), with <cp> of any hex."""
    units = []
    for _ in range(draw(st.integers(0, 3))):
        unit_id = mostly(draw, st.sampled_from(ids), TEXT)
        revision = mostly(draw, USUAL_REVISIONS, ODD_REVISIONS)
        segments = []
        for _ in range(mostly(draw, st.just(1), st.integers(0, 3))):
            state = mostly(draw, st.sampled_from(XLIFF_STATES), TEXT)
            sub_state = draw(st.sampled_from(["", ' subState="review:needs-work"']))
            english = mostly(draw, XML_TEXT.map(escape), TEXT)
            if draw(st.booleans()):
                hex_value = mostly(draw, st.sampled_from(["41", "1F600", "0", "D800", "110000"]), TEXT)
                english += f"<cp hex={quoteattr(hex_value)}/>"
            target = mostly(draw, st.just(f"<target>{english}</target>"), st.just(""))
            segments.append(
                f"<segment state={quoteattr(state)}{sub_state}><source>نص</source>{target}</segment>"
            )
        note = ""
        if draw(st.booleans()):
            note = f'<notes><note category="comment">{escape(mostly(draw, XML_TEXT, TEXT))}</note></notes>'
        attributes = f"id={quoteattr(unit_id)} review:revision={quoteattr(revision)}"
        units.append(f"<unit {attributes}>{note}{''.join(segments)}</unit>")
    name = mostly(draw, st.just("talk"), TEXT)
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" '
        'xmlns:review="urn:arabic-interview-pipeline:review" version="2.0" srcLang="ar" trgLang="en">'
        f'<file id="f1" original={quoteattr(name)}>{"".join(units)}</file></xliff>'
    )
    return document.encode("utf-8")


@SETTINGS
@given(data=st.data())
def test_import_review_answers_any_xliff_with_a_report_or_an_error_line(review_out, tmp_path, data):
    out, ids = review_out
    check_import(out, tmp_path / "talk.xlf", data.draw(xliff_files(ids)))


# --- the review app's save route ---------------------------------------------------------------------

CURRENT = object()  # the sentence's revision now, filled in when the request is sent
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=2**63 - 2, max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        TEXT,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def bodies(draw) -> object:
    """Mostly the shape the page sends, {revision, en?, status?, comment?}, with odd values in it."""
    if draw(st.integers(0, 9)) == 9:
        return draw(JSON_VALUES)
    body = {"revision": mostly(draw, st.just(CURRENT), JSON_VALUES)}
    fields = {"en": TEXT, "status": st.sampled_from(STATUSES), "comment": TEXT}
    for key, usual in fields.items():
        if draw(st.booleans()):
            body[key] = mostly(draw, usual, JSON_VALUES)
    if draw(st.integers(0, 9)) == 9:
        body.update(draw(st.dictionaries(TEXT, JSON_VALUES, max_size=2)))
    return body


BODIES = bodies()
RAW_BODIES = st.sampled_from(
    [
        b"",
        b"{",
        b'{"revision": 0, "en": "\\ud800"}',
        b'{"revision": 0, "comment": "\\udfff\\ud800"}',
        b'{"revision": 0, "en": "x", "en": 5}',
        b'{"revision": 1e400}',
        b'{"revision": ' + b"9" * 5000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
        b"\xff\xfe{\x00}\x00",
        b'{"revision": NaN}',
    ]
)


@pytest.fixture(scope="module")
def app_client(tmp_path_factory) -> tuple[TestClient, Path, list[str]]:
    out, ids = reviewed_folder(tmp_path_factory.mktemp("app"))
    return TestClient(create_app(out), base_url=ORIGIN), out, ids


def post(client: TestClient, out: Path, url: str, body: bytes) -> None:
    before = database_state(out)
    answer = client.post(url, content=body, headers={"content-type": "application/json", "origin": ORIGIN})
    assert answer.status_code < 500, (body[:200], answer.status_code, answer.text)
    assert 200 <= answer.status_code < 300 or 400 <= answer.status_code < 500, answer.status_code
    if answer.status_code >= 400:
        assert database_state(out) == before, "a refused save changed the review database"


@SETTINGS
@given(body=BODIES, which=st.integers(0, 3))
def test_the_save_route_answers_any_json_body_with_2xx_or_4xx(app_client, body, which):
    client, out, ids = app_client
    sentence_id = ids[which] if which < len(ids) else "no-such-sentence"
    if isinstance(body, dict) and body.get("revision") is CURRENT:
        current = client.get("/api/t/talk/sentences").json()["sentences"]
        body["revision"] = next((s["revision"] for s in current if s["id"] == sentence_id), 0)
    post(client, out, f"/api/t/talk/sentences/{sentence_id}", json.dumps(body).encode())


@SETTINGS
@given(body=st.one_of(RAW_BODIES, st.binary(max_size=200)), which=st.integers(0, 2))
def test_the_save_route_answers_any_bytes_with_2xx_or_4xx(app_client, body, which):
    client, out, ids = app_client
    post(client, out, f"/api/t/talk/sentences/{ids[which]}", body)


# --- what the fuzzing found in pipeline/review/imports.py (fixed) -----------------------------------


def exported_tsv(out: Path, revision: str = "0", en: str = "Yes, of course.") -> bytes:
    store = ReviewStore(OutputFolder(out).review_database)
    sentence = store.sentences("talk")[1]
    row = ["1", "2.000", "4.000", "A", "نعم.", en, "0.5000", "", "edited", "", sentence.id, revision, "talk"]
    return ("\t".join(TSV_HEADER) + "\n" + "\t".join(row) + "\n").encode()


@pytest.mark.parametrize("revision", ["²", "①"])
def test_a_revision_of_digits_that_are_not_decimal_is_an_error_line_not_a_traceback(tmp_path, revision):
    out, _ = reviewed_folder(tmp_path / "out")
    check_import(out, tmp_path / "talk.reviewed.tsv", exported_tsv(out, revision=revision))


def test_an_xliff_revision_of_digits_that_are_not_decimal_is_an_error_line_not_a_traceback(tmp_path):
    out, ids = reviewed_folder(tmp_path / "out")
    segment = "<segment><source>نعم.</source><target>Yes.</target></segment>"
    document = (
        '<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" '
        'xmlns:review="urn:arabic-interview-pipeline:review" version="2.0" srcLang="ar" trgLang="en">'
        f'<file id="f1" original="talk"><unit id="{ids[1]}" review:revision="²">{segment}</unit>'
        "</file></xliff>"
    )
    check_import(out, tmp_path / "talk.xlf", document.encode())


def test_a_spreadsheet_cell_over_128k_characters_is_imported(tmp_path):
    out, _ = reviewed_folder(tmp_path / "out")
    (tmp_path / "talk.reviewed.tsv").write_bytes(exported_tsv(out, en="x" * 200_000))
    status, printed, _ = import_review(out, tmp_path / "talk.reviewed.tsv")
    assert status == 0 and printed.startswith("Imported 1 change(s)")


def test_malformed_xliff_is_one_error_line(tmp_path):
    out, _ = reviewed_folder(tmp_path / "out")
    (tmp_path / "talk.xlf").write_bytes(b'<?xml version="1.0"?>\n<xliff>\x00</xliff>')
    status, _, errors = import_review(out, tmp_path / "talk.xlf")
    assert status == 2 and errors.startswith("error: ") and errors.count("\n") == 1, errors
