"""The whole pipeline through the CLI with the tiny random model and the real tokenizer."""

from __future__ import annotations

import csv
import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline import __version__
from pipeline.cli import main
from pipeline.readers import read_transcript
from pipeline.writers.tsv import HEADER
from tests.conftest import DATA

KEYS = {
    "transcript": str,
    "index": int,
    "en": str,
    "ar": str,
    "segments": list,
    "start": (float, type(None)),
    "end": (float, type(None)),
    "speaker": (str, type(None)),
    "confidence": float,
    "flags": list,
    "links": list,
}
FLAGS = {"repetition", "length-ratio", "untranslated", "empty", "truncated", "low-confidence"}
REPO = Path(__file__).resolve().parent.parent


def whisper_json_from_mgb3(path: Path, utterances: int = 12) -> Path:
    rows = [line.split("\t") for line in (DATA / "mgb3" / "segments.tsv").read_text("utf-8").splitlines()[1:]]
    clip = "5585cbb60680eee0174a0898c91535f8_164.19_402.02"
    segments = [
        {"id": i, "start": float(r[2]), "end": float(r[3]), "text": r[4], "speaker": f"SPEAKER_0{i % 2}"}
        for i, r in enumerate(row for row in rows if row[1] == clip)
    ][:utterances]
    path.write_text(
        json.dumps({"language": "ar", "segments": segments}, ensure_ascii=False), encoding="utf-8"
    )
    return path


@dataclass(frozen=True)
class Run:
    inputs: Path
    out: Path
    model: Path


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(("hf", "marian"), marks=pytest.mark.slow),
        ("ct2", "marian"),
        pytest.param(("ct2", "nllb"), marks=pytest.mark.slow),
        pytest.param(("hf", "m2m100"), marks=pytest.mark.slow),
    ],
    ids="-".join,
)
def translated(request, tiny_model_of, tmp_path_factory) -> Run:
    backend, family = request.param
    inputs = tmp_path_factory.mktemp("inputs")
    (inputs / "tor.srt").write_bytes((DATA / "tor_animation" / "Tor_animation.ar.srt").read_bytes())
    whisper_json_from_mgb3(inputs / "mgb3.json")
    out = tmp_path_factory.mktemp("output")
    command = [
        "translate",
        str(inputs),
        "--model",
        str(tiny_model_of(family)),
        "--out",
        str(out),
        "--backend",
        backend,
    ]
    assert main(command) == 0
    return Run(inputs, out, tiny_model_of(family))


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("stem", "source"), [("tor", "tor.srt"), ("mgb3", "mgb3.json")])
def test_every_output_exists_and_parses(translated, stem, source):
    folder = translated.out / stem
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{stem}{suffix}"
        for suffix in (".aligned.jsonl", ".html", ".en.srt", ".bilingual.vtt", ".tsv", ".meta.json")
    )
    made_by = json.loads((folder / f"{stem}.meta.json").read_text(encoding="utf-8"))
    assert made_by["pipeline"] == __version__ and made_by["translator"].startswith(str(translated.model))
    model_identity = made_by["signature"]["model"]
    assert len(model_identity["fingerprint"]) == 64 and model_identity["alignment_heads"] >= 1
    assert (
        made_by["signature"]["backend"].startswith(("ct2 ", "hf "))
        and made_by["signature"]["decoding"]["beam"]
    )
    records = load_jsonl(folder / f"{stem}.aligned.jsonl")
    # Subtitles: a long sentence is several cues (pipeline.subtitles), the bilingual ones each with the
    # Arabic it stands for; together they hold every sentence's English and Arabic, in order.
    srt = read_transcript(folder / f"{stem}.en.srt").segments
    vtt = read_transcript(folder / f"{stem}.bilingual.vtt").segments
    assert len(srt) == len(vtt) >= len(records)
    assert " ".join(s.text for s in srt).split() == " ".join(r["en"] for r in records).split()
    assert [s.text.startswith(e.text) for s, e in zip(vtt, srt, strict=True)] == [True] * len(srt)
    arabic = [s.text[len(e.text) :] for s, e in zip(vtt, srt, strict=True)]
    assert " ".join(arabic).split() == " ".join(r["ar"] for r in records).split()
    assert {s.speaker for s in vtt} == {r["speaker"] for r in records}
    assert [(s.start, s.end) for s in srt] == [(s.start, s.end) for s in vtt]
    assert srt[0].start == records[0]["start"] and all(s.end > s.start for s in srt)
    assert all(after.start >= before.end + 0.08 - 5e-4 for before, after in itertools.pairwise(srt))
    with (folder / f"{stem}.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert tuple(rows[0]) == HEADER
    assert [row[4] for row in rows[1:]] == [r["ar"] for r in records]
    rows = ReviewPage.rows((folder / f"{stem}.html").read_text(encoding="utf-8"))
    assert [row["en"] for row in rows] == [r["en"].split() for r in records]
    assert [row["ar"] for row in rows] == [r["ar"].split() for r in records]
    for row, record in zip(rows, records, strict=True):  # what hovering highlights is what links say
        assert sorted(row["links"]) == sorted(tuple(link) for link in record["links"])


class ReviewPage(HTMLParser):
    """Collects, per sentence row, the English words with their hover links and the Arabic words."""

    def __init__(self):
        super().__init__()
        self.found: list[dict] = []
        self.cell: str | None = None
        self.word: dict[str, str] | None = None

    @classmethod
    def rows(cls, page: str) -> list[dict]:
        parser = cls()
        parser.feed(page)
        parser.close()
        return parser.found

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "tr" and "sentence" in classes:
            self.found.append({"en": [], "ar": [], "links": []})
        elif tag == "td" and self.found:
            self.cell = next((c for c in classes if c in ("en", "ar")), None)
        elif tag == "span" and "w" in classes and self.cell:
            self.word = attributes

    def handle_data(self, data):
        if self.word is not None and self.cell:
            row = self.found[-1]
            if self.cell == "en":
                row["links"] += [(len(row["en"]), int(i)) for i in self.word["data-links"].split()]
            else:
                assert int(self.word["data-i"]) == len(row["ar"])
            row[self.cell].append(data)
            self.word = None


@pytest.mark.parametrize(("stem", "source"), [("tor", "tor.srt"), ("mgb3", "mgb3.json")])
def test_jsonl_records_and_the_alignment_invariant(translated, stem, source):
    records = load_jsonl(translated.out / stem / f"{stem}.aligned.jsonl")
    segments = read_transcript(translated.inputs / source).segments
    assert records
    for position, record in enumerate(records):
        assert list(record) == list(KEYS)
        for key, kind in KEYS.items():
            assert isinstance(record[key], kind), (key, record[key])
        assert record["transcript"] == stem and record["index"] == position
        assert 0.0 <= record["confidence"] <= 1.0
        assert set(record["flags"]) <= FLAGS
        assert all(isinstance(s, str) for s in record["segments"])
        assert "eng_Latn" not in record["en"] and "__en__" not in record["en"]  # forced, then removed
        for en_index, ar_index in record["links"]:
            assert 0 <= en_index < len(record["en"].split()) and 0 <= ar_index < len(record["ar"].split())

    def squeeze(texts):
        return "".join("".join(text.split()) for text in texts)

    assert squeeze(r["ar"] for r in records) == squeeze(s.text for s in segments)
    assert {s.id for s in segments if s.text.strip()} <= {sid for r in records for sid in r["segments"]}
    first, last = min(s.start for s in segments), max(s.end for s in segments)
    starts = [r["start"] for r in records]
    assert starts == sorted(starts)
    assert all(first <= r["start"] <= r["end"] <= last for r in records)


def test_speakers_and_segments_follow_the_source(translated):
    records = load_jsonl(translated.out / "mgb3" / "mgb3.aligned.jsonl")
    segments = {s.id: s for s in read_transcript(translated.inputs / "mgb3.json").segments}
    for record in records:
        assert {segments[sid].speaker for sid in record["segments"]} == {record["speaker"]}


def test_transcript_markup_and_script_are_inert_in_the_html(tiny_model, tmp_path):
    hostile = {
        "segments": [
            {
                "start": 0,
                "end": 2,
                "text": "مرحبا <img src=x onerror=alert(1) بكم",
                "speaker": "<script>alert(1)</script>",
            },
            {"start": 2, "end": 4, "text": 'نص " onmouseover="alert(2)', "speaker": "x"},
        ]
    }
    (tmp_path / "from_json.json").write_text(json.dumps(hostile, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "from_vtt.vtt").write_text(
        "WEBVTT\n\n00:00.000 --> 00:01.000\n<v Ali>&lt;script&gt;alert(3)&lt;/script&gt; أهلا\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert (
        main(["translate", str(tmp_path), "--model", str(tiny_model), "--out", str(out), "--formats", "html"])
        == 0
    )
    json_page = (out / "from_json" / "from_json.html").read_text(encoding="utf-8")
    vtt_page = (out / "from_vtt" / "from_vtt.html").read_text(encoding="utf-8")
    for page in (json_page, vtt_page):
        assert page.count("<script") == 1  # the page's own script, nothing from the transcript
        assert "<img" not in page and "alert(1)</script>" not in page and "alert(3)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in json_page
    assert "&lt;img" in json_page
    assert 'onmouseover="alert' not in json_page and "onmouseover=&#34;alert(2)" in json_page
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in vtt_page


def test_a_bad_file_is_reported_and_the_others_still_translate(tiny_model, tmp_path, capsys):
    (tmp_path / "good.txt").write_text("المذيع: أهلا بكم\n", encoding="utf-8")
    (tmp_path / "broken.srt").write_text("1\n00:00:01,000 -> 00:00:02,000\nنص\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["translate", str(tmp_path), "--model", str(tiny_model), "--out", str(out)]) == 1
    report = capsys.readouterr()
    assert f"{tmp_path / 'broken.srt'}:1: expected a cue number followed by a timing line" in report.err
    assert "1 file(s) failed" in report.out
    assert sorted(p.name for p in (out / "good").iterdir()) == [
        "good.aligned.jsonl",
        "good.html",
        "good.meta.json",
        "good.tsv",
    ]
    assert "no times in the input, so no subtitle files" in report.out


@pytest.mark.slow
def test_make_translate_runs_with_a_local_random_model(tiny_model, tmp_path):
    """The README's command, as a user types it, on the repository's own example transcript."""
    venv = Path(sys.prefix)
    if not (venv / ".installed").exists():
        pytest.skip("runs under `make test`, whose virtual environment make translate reuses")
    out = tmp_path / "out"
    result = subprocess.run(
        ["make", "-C", str(REPO), "translate", f"VENV={venv}", f"MODEL={tiny_model}", f"OUT={out}"],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Translated 1 transcript(s)" in result.stdout
    records = load_jsonl(out / "fisherman-interview" / "fisherman-interview.aligned.jsonl")
    assert {r["speaker"] for r in records} == {"المذيعة", "صقر الحمدان"}


def test_make_clean_keeps_the_review_database_and_only_delete_reviews_removes_it(tmp_path):
    out = tmp_path / "out"
    (out / "talk").mkdir(parents=True)
    for name in ("review.sqlite3", "review.sqlite3-wal", "translations.sqlite3", "talk/talk.html"):
        (out / name).write_text("x")
    make = ["make", "-s", "-C", str(REPO), f"OUT={out}"]
    subprocess.run([*make, "clean"], check=True, capture_output=True, timeout=60)
    assert sorted(p.name for p in out.iterdir()) == ["review.sqlite3", "review.sqlite3-wal"]
    done = subprocess.run([*make, "delete-reviews"], check=True, capture_output=True, text=True, timeout=60)
    assert "every edit, approval and comment" in done.stdout
    assert not out.exists()


def test_the_review_page_says_what_made_the_transcript(translated):
    from starlette.testclient import TestClient

    from pipeline.review.app import create_app

    client = TestClient(create_app(translated.out), base_url="http://127.0.0.1:8765")
    page = client.get("/t/tor").text
    made_by = json.loads((translated.out / "tor" / "tor.meta.json").read_text(encoding="utf-8"))
    assert f"Made by {made_by['translator']}" in page and made_by["signature"]["model"]["fingerprint"] in page
