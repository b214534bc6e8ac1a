"""`python -m pipeline align`: English from elsewhere checked exactly as a translation is. The English
given per segment (a bilingual TSV, an English subtitle file, one line per segment) lands in order in
the same outputs and review rows `translate` writes, every Arabic word covered exactly once; subtitles
timed differently from the Arabic are matched cue group to cue group; every bad pair is one line
naming the file, and nothing is written."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipeline.cli import main
from pipeline.given import arabic_cues, english_cues
from pipeline.output import OutputFolder
from pipeline.pairing import Cues, any_overlap, match, total_cost
from pipeline.readers import read_transcript
from pipeline.review.store import ReviewStore
from tests.conftest import DATA

REPO = Path(__file__).resolve().parent.parent
TOR = DATA / "tor_animation"
AR_LINES = (DATA / "tatoeba" / "ar.txt").read_text(encoding="utf-8").splitlines()
EN_LINES = (DATA / "tatoeba" / "en.txt").read_text(encoding="utf-8").splitlines()
PAIRS = [0, 3, 4, 6]  # Tatoeba pairs of one sentence each


def srt(texts: list[str], times: list[tuple[float, float]]) -> str:
    def clock(seconds: float) -> str:
        millis = round(seconds * 1000)
        return f"{millis // 3600000:02}:{millis // 60000 % 60:02}:{millis // 1000 % 60:02},{millis % 1000:03}"

    return "".join(
        f"{n}\n{clock(start)} --> {clock(end)}\n{text}\n\n"
        for n, (text, (start, end)) in enumerate(zip(texts, times, strict=True), start=1)
    )


TIMES = [(1.0 + 3 * k, 3.5 + 3 * k) for k in range(len(PAIRS))]


def align(*args: object, aligner: Path, out: Path, backend: str = "hf") -> int:
    return main(
        ["align", *map(str, args), "--aligner", str(aligner), "--out", str(out), "--backend", backend]
    )


def records(out: Path, name: str) -> list[dict]:
    path = out / name / f"{name}.aligned.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def squeezed(texts) -> str:
    return "".join("".join(text.split()) for text in texts)


def check_alignment(out: Path, name: str, arabic: Path, english: list[str]) -> list[dict]:
    """The outputs translate writes, the given English in order, the invariant (the sentences' spans,
    in order, cover every Arabic word exactly once), times, and the review database's rows."""
    rows = records(out, name)
    assert sorted(p.name for p in (out / name).iterdir()) == sorted(
        f"{name}{suffix}"
        for suffix in (".aligned.jsonl", ".html", ".en.srt", ".bilingual.vtt", ".tsv", ".meta.json")
    )
    assert " ".join(r["en"] for r in rows) == " ".join(" ".join(english).split())
    segments = read_transcript(arabic).segments
    assert squeezed(r["ar"] for r in rows) == squeezed(s.text for s in segments)
    assert [r["index"] for r in rows] == list(range(len(rows)))
    assert all(r["start"] is not None and r["start"] <= r["end"] for r in rows)
    assert [r["start"] for r in rows] == sorted(r["start"] for r in rows)
    reviewed = ReviewStore(OutputFolder(out).review_database).sentences(name)
    assert [s.sentence.en for s in reviewed] == [r["en"] for r in rows]
    assert [s.sentence.ar for s in reviewed] == [r["ar"] for r in rows]
    return rows


def test_a_bilingual_tsv_is_aligned_and_written_as_translate_writes(tmp_path, tiny_aligner, capsys):
    source = tmp_path / "interview.tsv"
    lines = ["start\tend\tarabic\tenglish"] + [
        f"{start}\t{end}\t{AR_LINES[k]}\t{EN_LINES[k]}" for k, (start, end) in zip(PAIRS, TIMES, strict=True)
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert align(source, aligner=tiny_aligner, out=out) == 0
    summary = capsys.readouterr().out
    assert "Aligned 1 transcript(s) in" in summary and f"{len(PAIRS)} segments -> " in summary
    rows = check_alignment(out, "interview", source, [EN_LINES[k] for k in PAIRS])
    assert [r["segments"] for r in rows] == [[str(line)] for line in range(2, 2 + len(PAIRS))]
    manifest = json.loads((out / "interview" / "interview.meta.json").read_text(encoding="utf-8"))
    assert manifest["translator"] == "given English (interview.tsv)"
    assert manifest["signature"]["english"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert manifest["signature"]["aligner"]["model"]["fingerprint"] == manifest["aligner"]["fingerprint"]
    assert manifest["aligner"]["folder"] == str(tiny_aligner)


def test_equally_timed_subtitles_pair_cue_with_cue(tmp_path, tiny_aligner):
    arabic, english = tmp_path / "talk.ar.srt", tmp_path / "talk.en.srt"
    arabic.write_text(srt([AR_LINES[k] for k in PAIRS], TIMES), encoding="utf-8")
    english.write_text(srt([EN_LINES[k] for k in PAIRS], TIMES), encoding="utf-8")
    out = tmp_path / "out"
    assert align(arabic, english, aligner=tiny_aligner, out=out) == 0
    rows = check_alignment(out, "talk.ar", arabic, [EN_LINES[k] for k in PAIRS])
    assert [(r["segments"], r["en"], (r["start"], r["end"])) for r in rows] == [
        ([str(n)], EN_LINES[k], times) for n, (k, times) in enumerate(zip(PAIRS, TIMES, strict=True), start=1)
    ]


@pytest.mark.slow
def test_a_rerun_keeps_what_the_reviewer_did(tmp_path, tiny_aligner, capsys):
    arabic, english = tmp_path / "talk.srt", tmp_path / "talk.txt"
    arabic.write_text(srt([AR_LINES[k] for k in PAIRS], TIMES), encoding="utf-8")
    english.write_text("\n".join(EN_LINES[k] for k in PAIRS) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert align(arabic, english, aligner=tiny_aligner, out=out) == 0
    store = ReviewStore(OutputFolder(out).review_database)
    first = store.sentences("talk")[0]
    store.update("talk", first.id, first.revision, en="I owe him a great deal.", status="approved")
    capsys.readouterr()
    assert align(arabic, english, aligner=tiny_aligner, out=out) == 0
    assert "talk: 1 sentence(s) keep their reviewed English" in capsys.readouterr().out
    kept = store.sentences("talk")[0]
    assert (kept.sentence.en, kept.status, kept.machine) == (
        "I owe him a great deal.",
        "approved",
        EN_LINES[0],
    )


@pytest.mark.slow
def test_the_cross_timed_tor_subtitles_are_matched_cue_group_to_cue_group(tmp_path, tiny_aligner, capsys):
    """The Arabic is timed to an Arabic voice-over (up to 4 s from the English) and has a cue, the
    translator's credit, that the English lacks."""
    arabic, english = TOR / "Tor_animation.ar.srt", TOR / "Tor_animation.en.srt"
    out = tmp_path / "out"
    assert align(arabic, english, aligner=tiny_aligner, out=out, backend="ct2") == 0
    # The matching's note (the subtitle cues' own note is tested in test_subtitles.py).
    notes = [line for line in capsys.readouterr().out.splitlines() if "note: Tor_animation.en.srt" in line]
    assert notes == [
        "  note: Tor_animation.en.srt: 35 English cues matched to 36 Arabic cues by time and length in 35 "
        "groups (34 one to one, 1 many Arabic to one English)"
    ]
    cues = read_transcript(english).segments
    rows = check_alignment(out, "Tor_animation.ar", arabic, [cue.text for cue in cues])
    by_cue = [[] for _ in cues]  # the records each English cue's words went to
    words = iter(range(len(cues)))
    left = 0
    for row in rows:
        for _ in row["en"].split():
            while not left:
                cue = next(words)
                left = len(cues[cue].text.split())
            by_cue[cue].append(row)
            left -= 1
    covered = [sorted({int(s) for row in group for s in row["segments"]}) for group in by_cue]
    assert covered == [[n] for n in range(1, 35)] + [[35, 36]]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"a.tsv": "arabic\tnotes\nمرحبا\tx\n"}, "{a_tsv}:1: no English column: name one in the header as"),
        ({"a.srt": srt(["مرحبا"], [(0, 2)]), "e.srt": ""}, "{e_srt}: is empty: there is no English in it"),
        ({"a.srt": srt(["مرحبا"], [(0, 2)]), "e.txt": "\n \n"}, "{e_txt}: is empty: there is no English"),
        (
            {
                "a.srt": srt(["مرحبا", "نعم"], [(0, 2), (2, 4)]),
                "e.srt": srt(["Hi", "Yes"], [(60, 62), (62, 64)]),
            },
            "{e_srt}: no English cue overlaps any Arabic cue of {a_srt} in time",
        ),
        (
            {"a.srt": srt(["مرحبا"], [(0, 2)]), "e.srt": srt(["1 2 3 ..."], [(0, 2)])},
            "{e_srt}: holds no English: not one Latin letter in it",
        ),
        ({"a.tsv": "ar\ten\nمرحبا\t...\n"}, "{a_tsv}: holds no English: not one Latin letter in it"),
        (
            {"a.txt": "مرحبا\nنعم\n", "e.txt": "Hello\nYes\nAnd more\n"},
            "{e_txt}:3: English beyond the 2 segments of {a_txt}: give one line per Arabic segment",
        ),
        (
            {"a.txt": "مرحبا\nنعم\nلا\n", "e.txt": "Hello\n"},
            "{e_txt}: 1 non-blank lines of English for the 3 segments of {a_txt}",
        ),
        ({"a.srt": srt(["مرحبا"], [(0, 2)])}, "{a_srt}: give the English file too"),
        ({"a.srt": srt(["مرحبا"], [(0, 2)]), "e.json": "{}"}, "{e_json}: English in .json cannot be paired"),
        (
            {"a.txt": "مرحبا\nنعم\n", "e.srt": srt(["Hello"], [(0, 2)])},
            "{a_txt}: has no times to match the 1 English cues of {e_srt} by",
        ),
    ],
)
def test_a_bad_pair_is_one_line_naming_the_file_and_nothing_is_written(
    tmp_path, tiny_aligner, capsys, files, message
):
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / name
        paths[name].write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert align(*paths.values(), aligner=tiny_aligner, out=out) == 2
    error = capsys.readouterr().err
    names = {name.replace(".", "_"): path for name, path in paths.items()}
    assert error.count("\n") == 1 and error.startswith(f"error: {message.format(**names)}"), error
    assert not out.exists()


def test_a_text_file_gives_one_line_per_segment_and_a_bad_one_leaves_the_outputs_as_they_were(
    tmp_path, tiny_aligner, capsys
):
    arabic = tmp_path / "talk.srt"
    arabic.write_text(srt([AR_LINES[k] for k in PAIRS], TIMES), encoding="utf-8")
    (tmp_path / "talk.txt").write_text("\n\n".join(EN_LINES[k] for k in PAIRS) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert align(arabic, tmp_path / "talk.txt", aligner=tiny_aligner, out=out) == 0
    rows = check_alignment(out, "talk", arabic, [EN_LINES[k] for k in PAIRS])
    assert [r["segments"] for r in rows] == [[str(n)] for n in range(1, len(PAIRS) + 1)]
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    (tmp_path / "short.txt").write_text(EN_LINES[0] + "\n", encoding="utf-8")
    assert align(arabic, tmp_path / "short.txt", aligner=tiny_aligner, out=out) == 2
    assert "short.txt: 1 non-blank lines of English for the 4 segments" in capsys.readouterr().err
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before


def test_an_aligner_whose_attention_is_untrained_is_refused(tmp_path, tiny_aligner, capsys, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    (models / "big.toml").write_text('model = "org/big"\nfamily = "marian"\nalignment = "untrained"\n')
    shutil.copytree(tiny_aligner, models / "big")
    monkeypatch.setenv("ARABIC_PIPELINE_MODELS", str(models))
    source = tmp_path / "a.tsv"
    source.write_text("ar\ten\nمرحبا\tHello\n", encoding="utf-8")
    assert main(["align", str(source), "--aligner", "big", "--out", str(tmp_path / "out")]) == 2
    assert "big cannot align: its attention was not trained for alignment" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):
        main(["align", str(source), "--aligner", "none"])
    assert "align forces the English through a model" in capsys.readouterr().err


# The matching itself, on cue times and lengths alone.


def test_the_tor_pair_matches_one_to_one_but_for_the_credit_that_joins_the_last_cue():
    arabic = arabic_cues(read_transcript(TOR / "Tor_animation.ar.srt").segments)
    english = english_cues(read_transcript(TOR / "Tor_animation.en.srt").segments)
    groups = match(arabic, english)
    assert [(list(a), list(e)) for a, e in groups] == [([k], [k]) for k in range(34)] + [([34, 35], [34])]


def synthetic(count: int, seed: int) -> Cues:
    rng = np.random.default_rng(seed)
    starts = np.cumsum(rng.uniform(0.5, 4, count))
    return Cues.of(
        [(s, s + d) for s, d in zip(starts, rng.uniform(0, 4, count), strict=True)],
        list(rng.integers(0, 40, count)),
        list(rng.random(count) < 0.5),
    )


def every_grouping(m: int, n: int, most: int):
    """Every monotonic grouping with shapes p:1 and 1:q (p, q <= most) of m and n cues."""
    if m == 0 and n == 0:
        yield []
        return
    shapes = [(p, 1) for p in range(1, most + 1)] + [(1, q) for q in range(2, most + 1)]
    for p, q in shapes:
        if p <= m and q <= n:
            for rest in every_grouping(m - p, n - q, most):
                yield [(range(0, p), range(0, q))] + [
                    (range(a.start + p, a.stop + p), range(e.start + q, e.stop + q)) for a, e in rest
                ]


@pytest.mark.parametrize("seed", range(6))
def test_the_matching_finds_the_cheapest_grouping(seed):
    rng = random.Random(seed)
    m, n = rng.randint(1, 6), rng.randint(1, 6)
    arabic, english = synthetic(m, seed), synthetic(n, seed + 100)
    found = match(arabic, english)
    assert [k for a, _ in found for k in a] == list(range(m)) and [k for _, e in found for k in e] == list(
        range(n)
    )
    cheapest = min(total_cost(arabic, english, g) for g in every_grouping(m, n, 4))
    assert total_cost(arabic, english, found) == pytest.approx(cheapest)


def test_cues_on_one_side_only_join_their_nearest_neighbour():
    arabic = Cues.of([(0, 2), (2, 4), (4, 6)], [10, 10, 10], [True, True, True])
    # An English cue in a gap of the Arabic, and eleven cues after the Arabic has ended.
    english = Cues.of(
        [(0, 2), (2.5, 3.5), (4, 6)] + [(100 + k, 101 + k) for k in range(11)], [10] * 14, [True] * 14
    )
    groups = match(arabic, english)
    assert [(list(a), list(e)) for a, e in groups] == [([0], [0]), ([1], [1]), ([2], list(range(2, 14)))]


def test_overlap_is_any_shared_time_at_all():
    one = Cues.of([(0, 1), (5, 6)], [1, 1], [True, True])
    assert any_overlap(one, Cues.of([(5.5, 7)], [1], [True]))
    assert not any_overlap(one, Cues.of([(1, 5), (6, 9)], [1, 1], [True, True]))  # touching is not sharing
    assert any_overlap(one, Cues.of([(5, 5)], [1], [True]))  # a zero-length cue at an Arabic cue's start
    assert not any_overlap(one, Cues.of([(3, 3)], [1], [True]))


@pytest.mark.slow
def test_make_align_runs_as_the_readme_prints_it(tiny_aligner, tmp_path):
    venv = Path(sys.prefix)
    if not (venv / ".installed").exists():
        pytest.skip("runs under `make test`, whose virtual environment make align reuses")
    out = tmp_path / "out"
    arabic, english = TOR / "Tor_animation.ar.srt", TOR / "Tor_animation.en.srt"
    command = ["make", "-C", str(REPO), "align", f"VENV={venv}", f"AR={arabic}", f"EN={english}"]
    result = subprocess.run(
        [*command, f"ALIGNER={tiny_aligner}", f"OUT={out}"],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Aligned 1 transcript(s)" in result.stdout
    assert (out / "Tor_animation.ar" / "Tor_animation.ar.aligned.jsonl").is_file()
    missing = subprocess.run(
        ["make", "-s", "-C", str(REPO), "align", f"VENV={venv}"], capture_output=True, text=True, timeout=60
    )
    assert missing.returncode != 0 and "make align AR=" in missing.stderr


def test_english_subtitles_are_matched_in_the_order_they_are_spoken_not_their_order_in_the_file(
    tmp_path, tiny_aligner
):
    arabic, english = tmp_path / "talk.srt", tmp_path / "talk.en.srt"
    arabic.write_text(srt([AR_LINES[k] for k in PAIRS], TIMES), encoding="utf-8")
    shuffled = list(reversed(range(len(PAIRS))))  # the file lists the cues last first, times and all
    english.write_text(
        srt([EN_LINES[PAIRS[k]] for k in shuffled], [TIMES[k] for k in shuffled]), encoding="utf-8"
    )
    out = tmp_path / "out"
    assert align(arabic, english, aligner=tiny_aligner, out=out) == 0
    rows = check_alignment(out, "talk", arabic, [EN_LINES[k] for k in PAIRS])
    assert [r["segments"] for r in rows] == [[str(n)] for n in range(1, len(PAIRS) + 1)]


def test_zero_length_english_cues_at_the_arabic_times_still_meet_them(tmp_path, tiny_aligner):
    arabic, english = tmp_path / "talk.srt", tmp_path / "talk.en.srt"
    arabic.write_text(srt([AR_LINES[k] for k in PAIRS], TIMES), encoding="utf-8")
    english.write_text(srt([EN_LINES[k] for k in PAIRS], [(s, s) for s, _ in TIMES]), encoding="utf-8")
    assert align(arabic, english, aligner=tiny_aligner, out=tmp_path / "out") == 0
    assert len(records(tmp_path / "out", "talk")) >= len(PAIRS)


def test_english_longer_than_the_aligner_takes_is_aligned_by_length_with_no_confidence(
    tmp_path, tiny_aligner
):
    arabic, english = tmp_path / "talk.txt", tmp_path / "talk.en.txt"
    arabic.write_text("\n".join(AR_LINES[k] for k in PAIRS) + "\n", encoding="utf-8")
    long = " ".join(["hello"] * 600)  # more pieces than the aligner's 512 positions
    english.write_text("\n".join([long, *(EN_LINES[k] for k in PAIRS[1:])]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert align(arabic, english, aligner=tiny_aligner, out=out) == 0
    first = records(out, "talk")[0]
    assert first["en"].split()[:3] == ["hello"] * 3 and first["confidence"] == 0.0 and first["links"] == []
