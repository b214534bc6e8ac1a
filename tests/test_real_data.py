"""Every real transcript we have through the whole pipeline with the tiny model: no error, and the
alignment invariant holds. The repository's copies always; `../shared/data`, where it sits beside the
checkout (as in CI), too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.readers import find_transcripts, read_transcript
from tests.conftest import DATA

pytestmark = pytest.mark.slow  # every real transcript through the pipeline

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
FOLDERS = [
    REPO / "transcripts",
    *sorted(p for p in DATA.iterdir() if p.is_dir() and p.name != "schemas"),
    *(sorted(p for p in SHARED.iterdir() if p.is_dir()) if SHARED.is_dir() else []),
]


@pytest.mark.parametrize("aligned_by", ["self", "another model"])
@pytest.mark.parametrize("folder", FOLDERS, ids=lambda folder: f"{folder.parent.name}/{folder.name}")
def test_every_real_transcript_translates_without_error_and_keeps_the_invariant(
    folder, aligned_by, tiny_model, tiny_aligner, tmp_path
):
    """With the translator's own attention, and with another model's (a translator without trained
    alignment, aligned by opus-mt-ar-en)."""
    out = tmp_path / "out"
    command = ["translate", str(folder), "--out", str(out), "--model", str(tiny_model), "--beam", "1"]
    if aligned_by != "self":
        command += ["--aligner", str(tiny_aligner)]
    assert main([*command, "--formats", "jsonl"]) == 0
    transcripts = find_transcripts([folder])
    assert transcripts
    for path in transcripts:
        lines = (out / path.stem / f"{path.stem}.aligned.jsonl").read_text(encoding="utf-8").splitlines()
        arabic = "".join("".join(json.loads(line)["ar"].split()) for line in lines)
        assert arabic == "".join("".join(s.text.split()) for s in read_transcript(path).segments), path
