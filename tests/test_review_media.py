"""A transcript's recording: registered by `translate` (beside it, or --media), picked in the app from the
transcript's own folder, converted with ffmpeg, and served by the app with range requests, and only
when registered."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from pipeline.cli import main
from pipeline.output import OutputFolder
from pipeline.review import media
from pipeline.review.app import create_app
from pipeline.review.store import ReviewStore
from tests.review_helpers import aligned, write_fake_ffmpeg, write_tone

CUES = ["مرحبا بكم في البرنامج.", "تحدثنا مع صقر عن الصيد.", "شكرا لكم جميعا."]


def write_srt(path: Path, cues: list[str]) -> Path:
    blocks = [
        f"{i}\n00:00:0{2 * i - 2},000 --> 00:00:0{2 * i - 1},500\n{text}\n" for i, text in enumerate(cues, 1)
    ]
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def translate(tiny_model: Path, out: Path, *paths: Path, extra: tuple[str, ...] = ()) -> int:
    arguments = ["translate", *map(str, paths), "--out", str(out), "--model", str(tiny_model)]
    return main([*arguments, "--backend", "hf", "--formats", "jsonl", *extra])


def recorded_media(out: Path, name: str) -> str | None:
    return json.loads(OutputFolder(out).manifest(name).read_text(encoding="utf-8")).get("media")


def client_for(out: Path) -> TestClient:
    return TestClient(create_app(out), base_url="http://127.0.0.1:8765")


@pytest.fixture
def registered(tmp_path):
    """A review folder (no translation needed) for in/talk.srt, with in/talk.wav (a tone) registered."""
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_srt(source / "talk.srt", CUES)
    recording = write_tone(source / "talk.wav", seconds=8)
    store = ReviewStore(OutputFolder(out).review_database)
    store.claim("talk", source / "talk.srt")
    store.sync(aligned("talk", [(ar, f"English {i}.") for i, ar in enumerate(CUES)]))
    media.register(out, "talk", recording)
    return out, source, recording


@pytest.fixture
def translated(tmp_path, tiny_model):
    """talk.srt translated into out/ with the tiny model, with talk.wav (a tone) beside it."""
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_srt(source / "talk.srt", CUES)
    recording = write_tone(source / "talk.wav", seconds=8)
    assert translate(tiny_model, out, source / "talk.srt") == 0
    return out, source, recording


@pytest.mark.slow  # translates
def test_translate_registers_the_recording_beside_the_transcript_and_the_app_serves_byte_ranges(translated):
    out, _, recording = translated
    assert recorded_media(out, "talk") == str(recording.resolve())
    data = recording.read_bytes()
    client = client_for(out)

    whole = client.get("/api/t/talk/media")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "audio/wav" and whole.headers["accept-ranges"] == "bytes"
    part = client.get("/api/t/talk/media", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    assert part.content == data[1000:2000]
    tail = client.get("/api/t/talk/media", headers={"Range": "bytes=-100"})  # the end, as a seek to it asks
    assert tail.status_code == 206 and tail.content == data[-100:]
    assert "media-src 'self'" in part.headers["content-security-policy"]

    page = client.get("/t/talk").text
    assert '<audio id="player" src="/api/t/talk/media"' in page


def test_the_app_serves_no_file_that_was_not_registered_for_the_transcript(registered, tmp_path):
    out, source, recording = registered
    client = client_for(out)
    for path in (
        "/api/t/talk/media/..%2F..%2Freview.sqlite3",
        "/api/t/talk/media%2F..%2F..%2Freview.sqlite3",
        "/api/t/..%2Freview.sqlite3/media",
        "/api/t/nobody/media",
    ):
        assert client.get(path).status_code == 404, path
    # The route takes no path at all: whatever is asked, it answers with the registered file.
    assert client.get("/api/t/talk/media?file=../review.sqlite3").content == recording.read_bytes()

    # A page may only pick, by name, a media file in the transcript's own folder.
    elsewhere = write_tone(tmp_path / "elsewhere.wav", seconds=1)
    (source / "notes.txt").write_text("not media", encoding="utf-8")
    (source / "escape.wav").symlink_to(elsewhere)  # a link out of the folder is not offered
    assert client.get("/api/t/talk/media/choices").json() == ["talk.wav"]
    for chosen in ("../elsewhere.wav", str(elsewhere), "escape.wav", "notes.txt", "", "talk.wav/..", "."):
        answer = client.post("/api/t/talk/media", json={"file": chosen})
        assert answer.status_code == 400, chosen
    assert client.post("/api/t/talk/media", json=["talk.wav"]).status_code == 400
    assert recorded_media(out, "talk") == str(recording.resolve())  # unchanged by all of that


@pytest.mark.slow  # translates, twice
def test_a_reviewer_gives_a_transcript_without_one_a_recording_from_its_folder(tmp_path, tiny_model):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_srt(source / "talk.srt", CUES)
    assert translate(tiny_model, out, source / "talk.srt") == 0
    client = client_for(out)
    assert recorded_media(out, "talk") is None
    assert client.get("/api/t/talk/media").status_code == 404
    assert 'id="no-media"' in client.get("/t/talk").text

    recording = write_tone(source / "interview 2024-03-01.wav", seconds=2)
    assert client.get("/api/t/talk/media/choices").json() == ["interview 2024-03-01.wav"]
    chosen = client.post("/api/t/talk/media", json={"file": "interview 2024-03-01.wav"})
    assert chosen.status_code == 200 and chosen.json()["element"] == "audio"
    assert client.get("/api/t/talk/media").content == recording.read_bytes()

    # A re-run keeps it: the reviewer's choice is not forgotten.
    assert translate(tiny_model, out, source / "talk.srt") == 0
    assert recorded_media(out, "talk") == str(recording.resolve())


@pytest.mark.slow  # translates
def test_translate_media_names_the_recording_of_one_transcript_only(tmp_path, tiny_model, capsys):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    write_srt(source / "talk.srt", CUES)
    write_srt(source / "other.srt", CUES[:1])
    video = write_tone(tmp_path / "camera.WAV", seconds=1)  # elsewhere, any name, upper-case suffix

    assert translate(tiny_model, out, source / "talk.srt", extra=("--media", str(video))) == 0
    assert recorded_media(out, "talk") == str(video.resolve())

    assert translate(tiny_model, out, source, extra=("--media", str(video))) == 2
    assert "--media names the recording of one transcript; 2 were given" in capsys.readouterr().err
    assert translate(tiny_model, out, source / "talk.srt", extra=("--media", str(tmp_path / "gone.mp3"))) == 2
    assert f"{tmp_path / 'gone.mp3'}: no such media file (--media)" in capsys.readouterr().err
    (tmp_path / "notes.txt").write_text("x", encoding="utf-8")
    assert (
        translate(tiny_model, out, source / "talk.srt", extra=("--media", str(tmp_path / "notes.txt"))) == 2
    )
    assert "not a media file this tool knows" in capsys.readouterr().err


def test_an_unplayable_recording_is_converted_once_with_ffmpeg_and_then_served(
    registered, tmp_path, monkeypatch
):
    out, source, _ = registered
    odd = source / "talk.mkv"
    odd.write_bytes(b"\x1a\x45\xdf\xa3 not a video this browser plays")
    client = client_for(out)
    assert client.post("/api/t/talk/media", json={"file": "talk.mkv"}).status_code == 200
    assert client.get("/api/t/talk/media").headers["content-type"] == "video/x-matroska"

    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    refused = client.post("/api/t/talk/media/convert", json={})
    assert refused.status_code == 409
    assert refused.json()["error"] == "ffmpeg is not installed (Debian: apt-get install ffmpeg)"
    assert 'data-converter="ffmpeg"' not in client.get("/t/talk").text

    playable = write_tone(tmp_path / "converted.wav", seconds=1)
    fake = write_fake_ffmpeg(tmp_path / "bin", playable)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    assert 'data-converter="ffmpeg"' in client.get("/t/talk").text
    converted = client.post("/api/t/talk/media/convert", json={})
    assert converted.status_code == 200 and converted.json()["element"] == "audio"
    target = out / "talk" / "talk.media.m4a"
    assert recorded_media(out, "talk") == str(target.resolve())
    served = client.get("/api/t/talk/media")
    assert served.headers["content-type"] == "audio/mp4" and served.content == playable.read_bytes()
    call = (fake.parent / "calls.txt").read_text(encoding="utf-8")
    assert str(odd.resolve()) in call and "-vn" in call  # the audio of the registered file
    assert not list((out / "talk").glob(".*part*"))  # nothing half-written left behind


def test_a_conversion_survives_a_re_run_beside_the_unplayable_original(tmp_path):
    source = tmp_path / "in" / "talk.srt"
    source.parent.mkdir()
    source.write_text("1\n00:00:00,000 --> 00:00:01,000\nنص\n", encoding="utf-8")
    (tmp_path / "in" / "talk.mkv").write_bytes(b"\x1a\x45\xdf\xa3")
    converted = tmp_path / "out" / "talk" / "talk.media.m4a"
    converted.parent.mkdir(parents=True)
    converted.write_bytes(b"aac")
    media.register(tmp_path / "out", "talk", converted)
    assert media.for_run(source, None, tmp_path / "out", "talk") == converted.resolve()
    given = tmp_path / "in" / "other.wav"
    assert media.for_run(source, given, tmp_path / "out", "talk") == given
