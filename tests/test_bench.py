"""A smoke run of `make bench` on the tiny model: every contestant does the same forced work."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.tools.bench import BIG_CONTESTANTS, CONTESTANTS, ENGINE_CONTESTANTS
from pipeline.tools.browser import chromium

pytestmark = pytest.mark.slow  # the benchmark on every contestant

DATA = Path(__file__).parent / "data"


def table(report: str, header: str) -> list[list[str]]:
    lines = report.split(header, 1)[1].split("\n\n", 1)[0].splitlines()
    return [[cell.strip() for cell in line.split("|")[1:-1]] for line in lines[1:] if "---" not in line]


def test_bench_smoke_every_contestant_produces_the_same_tokens_and_a_report(
    tiny_model, tiny_aligner, tmp_path
):
    out = tmp_path / "BENCHMARKS.md"
    options = ["--segments", "6", "--tokens", "3", "--beams", "2", "--agreement", "4", "--review", "30"]
    options += ["--out", str(out), "--data", str(DATA), "--repeat", "1", "--llm-segments", "6"]
    # The tiny aligner stands in for the tc-big model: translated by it, aligned by the tiny model.
    assert main(["bench", "--model", str(tiny_model), "--big-model", str(tiny_aligner), *options]) == 0
    report = out.read_text(encoding="utf-8")
    rows = table(report, "| contestant |")
    assert [row[:3] for row in rows] == [[c, "2", "18"] for c in CONTESTANTS]
    assert all(float(row[3].replace(",", "")) > 0 for row in rows)
    assert "6 segments, 18 target tokens per contestant." in report
    assert "The ct2 pipeline end to end against raw CTranslate2's throughput: " in report
    big = table(
        report, "| contestant | beam | target tokens | tokens/s | seconds | load s | peak MB | vs raw |"
    )
    assert [row[:3] for row in big] == [[c, "2", "18"] for c in BIG_CONTESTANTS]
    assert big[-1][-1] == "1.0x"  # raw CTranslate2 against itself
    (share,) = table(report, "| beam | end to end s | aligner share |")
    assert share[0] == "2" and share[2].endswith("%")
    assert "Each figure is the median of 1 interleaved run(s)." in report
    engines = table(report, "| engine |")
    assert [row[:3] for row in engines] == [[c, "2", "18"] for c in ENGINE_CONTESTANTS]
    assert engines[0][-1] == "-" and all(row[-1].endswith("%") for row in engines[1:])
    agreement = table(report, "| backend |")
    assert [row[:3] for row in agreement[:1]] == [["ct2 float32", "4", "100.0%"]]
    assert agreement[1][0] == "ct2 int8"
    if chromium() is None:
        assert "Not measured: no Chromium on this machine" in report
    else:
        (timing,) = table(report, "| sentences | page ready")
        assert timing[0] == "30" and all(float(cell) > 0 for cell in timing[1:])
    llm = {row[0]: row[1] for row in table(report, "| measure | value |")}
    assert llm["segments translated"] == "6"
    assert "min per hour of interview, 6 segments)" in llm["end to end"]
    assert llm["requests"].split()[0].isdigit() and "unit(s) untranslated" in llm["requests"]
    assert int(llm["tokens generated"].split()[0].replace(",", "")) > 0
    assert "of which the instructions" in llm["prompt tokens"]
