"""Nothing in a transcript runs, nothing outside a folder is reached, nothing unsafe is loaded."""

from __future__ import annotations

import json
import pickle
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipeline.backends.ct2 import convert
from pipeline.cli import main
from pipeline.models import resolve_model
from pipeline.output import OutputFolder
from pipeline.records import AlignedTranscript, Transcript
from pipeline.review.app import create_app
from pipeline.review.store import ReviewStore
from pipeline.writers.html import render_html
from tests.review_helpers import aligned

# Real payloads from XSS filter-evasion lists: tags, attributes, URLs, breaking out of attributes and
# of script blocks, and an SVG carrier.
PAYLOADS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<svg/onload=alert(1)>",
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=javascript:alert(1)>",
    "<body onload=alert(1)>",
    '<div style="background:url(javascript:alert(1))">',
    "{{7*7}}<%= 7*7 %>${7*7}",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]


class Markup(HTMLParser):
    """Every tag and attribute in a page, and the text of its scripts."""

    def __init__(self):
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str | None]] = []
        self.scripts = 0
        self.text: list[str] = []

    def handle_data(self, data):
        self.text.append(data)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes += attrs
        self.scripts += tag == "script"


def markup(page: str) -> Markup:
    parser = Markup()
    parser.feed(page)
    return parser


def assert_inert(page: str, own_scripts: int) -> None:
    found = markup(page)
    assert {"img", "svg", "iframe"}.isdisjoint(found.tags)
    assert not [name for name, _ in found.attributes if name.startswith("on")]
    assert not [value for _, value in found.attributes if value and "javascript:" in value]
    assert found.scripts == own_scripts


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_in_text_and_speaker_names_are_inert_in_the_html_report(payload):
    base = aligned("talk", [(f"نص {payload}", f"Text {payload}")])
    sentence = base.sentences[0]
    hostile = AlignedTranscript(
        Transcript(f"talk {payload}", f"{payload}.srt", ()),
        (sentence.__class__(**{**vars(sentence), "speaker": payload}),),
        payload,
    )
    page = render_html(hostile)
    assert_inert(page, own_scripts=markup(render_html(base)).scripts)
    assert payload in markup(page).text  # the speaker, shown as the text it is


@pytest.mark.parametrize("payload", PAYLOADS)
def test_payloads_as_transcript_names_are_inert_in_the_review_app_pages(tmp_path, payload):
    name = f"talk {payload}"
    ReviewStore(OutputFolder(tmp_path).review_database).sync(
        aligned(name, [(f"نص {payload}", f"Text {payload}")])
    )
    client = TestClient(create_app(tmp_path), base_url="http://127.0.0.1:8765")
    assert_inert(client.get("/").text, own_scripts=0)
    listed = client.get("/api/transcripts").json()
    assert [entry["name"] for entry in listed] == [name]


def test_the_review_app_listens_on_loopback_unless_told_otherwise(tmp_path, monkeypatch):
    ReviewStore(OutputFolder(tmp_path).review_database).sync(aligned("talk", [("نص", "Text")]))
    calls = []
    monkeypatch.setattr("pipeline.review.app.serve", lambda *args: calls.append(args))
    assert main(["review", "--from", str(tmp_path)]) == 0
    assert main(["review", "--from", str(tmp_path), "--host", "0.0.0.0", "--port", "9000"]) == 0
    assert calls == [(tmp_path, "127.0.0.1", 8765), (tmp_path, "0.0.0.0", 9000)]


class Trap:
    """Unpickling this writes a file: proof that a pickle was opened."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pickle was loaded"))


def test_a_pickle_beside_safetensors_weights_is_never_opened(tiny_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    marker = tmp_path / "pwned"
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Trap(marker)))
    model = resolve_model(str(folder))
    model.load_torch_model()
    convert(model, "int8", tmp_path / "ct2")
    assert not marker.exists()


def test_code_shipped_with_a_model_is_never_run(tiny_model, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(tiny_model, folder)
    marker = tmp_path / "pwned"
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('remote code ran')\n")
    for name, key in (("config.json", "AutoModelForSeq2SeqLM"), ("tokenizer_config.json", "AutoTokenizer")):
        config = json.loads((folder / name).read_text())
        config["auto_map"] = {key: "evil.Evil"}
        (folder / name).write_text(json.dumps(config))
    model = resolve_model(str(folder))
    model.load_torch_model()
    model.load_tokenizer()
    assert not marker.exists()
