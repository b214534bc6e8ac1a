"""A transcript's recording: which audio or video file is registered for it, and where that can come
from. The one owner of the media suffixes.

A registration is the file's absolute path in the transcript's manifest (`"media"`): set by
`translate` (a file with the transcript's stem beside it, or `--media FILE`), by the review app (a file
the reviewer picks from the transcript's own folder) or by a conversion to a playable file. The review
app serves only the registered file, so no path typed into a page ever reaches the disk.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import InputError, UserError
from pipeline.output import OutputFolder, file_stem
from pipeline.writers.common import atomic_write


@dataclass(frozen=True)
class MediaType:
    mime: str
    element: str  # the HTML element that plays it: "audio" or "video"


MEDIA_TYPES = {
    ".mp3": MediaType("audio/mpeg", "audio"),
    ".m4a": MediaType("audio/mp4", "audio"),
    ".wav": MediaType("audio/wav", "audio"),
    ".ogg": MediaType("audio/ogg", "audio"),
    ".opus": MediaType("audio/ogg", "audio"),
    ".mp4": MediaType("video/mp4", "video"),
    ".webm": MediaType("video/webm", "video"),
    ".mkv": MediaType("video/x-matroska", "video"),
}
CONVERTED_SUFFIX = ".media.m4a"  # what a conversion writes into <out>/<name>/: AAC, which browsers play
CONVERSION_TIMEOUT_S = 3600  # an hour-long interview converts in well under a minute


def media_type(path: Path) -> MediaType | None:
    return MEDIA_TYPES.get(path.suffix.lower())


def beside(source: Path) -> list[Path]:
    """The media files in the folder of `source`, the one with its stem first: what a reviewer may pick."""
    folder = source.parent.resolve()
    try:
        found = sorted(
            path
            for path in folder.iterdir()
            if media_type(path) is not None and path.is_file() and path.resolve().parent == folder
        )  # a link out of the folder is not offered: what a page picks never leaves it
    except OSError:  # the folder was moved or is unreadable: nothing to offer
        return []
    return sorted(found, key=lambda p: p.stem != source.stem)


def same_stem(source: Path) -> Path | None:
    """The media file with the transcript's stem beside it, if there is one."""
    for path in beside(source):
        if path.stem == source.stem:
            return path
    return None


def given_media(path: Path) -> Path:
    """A file named with `--media`: it must exist and be of a known kind."""
    if not path.is_file():
        raise InputError(str(path), "no such media file (--media)")
    if media_type(path) is None:
        raise InputError(str(path), f"not a media file this tool knows ({' '.join(MEDIA_TYPES)})")
    return path.resolve()


def registered(out: Path, name: str) -> Path | None:
    """The media file registered for transcript `name` in its manifest, where it still exists."""
    manifest = OutputFolder(out).manifest(name)
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8")).get("media")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(recorded, str):
        return None
    path = Path(recorded)
    return path if path.is_absolute() and path.is_file() and media_type(path) is not None else None


def for_run(source: Path, given: Path | None, out: Path, name: str) -> Path | None:
    """The media a (re-)run records: the file given, else the one registered before (found beside the
    transcript, picked in the app or converted: a re-run never undoes a conversion), else the one with
    the transcript's stem beside it."""
    if given is not None:
        return given
    return registered(out, name) or same_stem(source)


def register(out: Path, name: str, path: Path) -> None:
    """Records `path` as the media of transcript `name` in its manifest (the rest of it kept)."""
    manifest = OutputFolder(out).manifest(name)
    try:
        record = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    record["media"] = str(path.resolve())
    manifest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(manifest, json.dumps(record, indent=2, sort_keys=True) + "\n")


def converter() -> str | None:
    """ffmpeg on PATH (Debian's `ffmpeg` package), looked up on each use: installing it needs no restart."""
    return shutil.which("ffmpeg")


def convert(out: Path, name: str, media: Path) -> Path:
    """`media` converted once into <out>/<name>/<name>.media.m4a (AAC audio, which every browser plays)
    and registered in its place. A UserError says why not."""
    ffmpeg = converter()
    if ffmpeg is None:
        raise UserError("ffmpeg is not installed (Debian: apt-get install ffmpeg)")
    stem = file_stem(name)
    target = out / stem / f"{stem}{CONVERTED_SUFFIX}"
    partial = target.with_name(f".{target.name}.part.m4a")
    command = [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(media)]
    command += ["-vn", "-c:a", "aac", "-b:a", "128k", str(partial)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CONVERSION_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        partial.unlink(missing_ok=True)
        raise UserError(f"ffmpeg could not convert {media.name}: {error}") from None
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise UserError(f"ffmpeg could not convert {media.name}: {reason}")
    os.replace(partial, target)
    register(out, name, target)
    return target
