"""A smoke run of `make bench` on the tiny model: every contestant does the same forced work."""

from __future__ import annotations

from pipeline.bench import CONTESTANTS, main


def test_bench_smoke_every_contestant_produces_the_same_tokens_and_a_report(tiny_model, tmp_path):
    out = tmp_path / "BENCHMARKS.md"
    options = ["--segments", "6", "--tokens", "3", "--beams", "2", "--out", str(out)]
    assert main(["--model", str(tiny_model), *options]) == 0
    report = out.read_text(encoding="utf-8")
    rows = [
        line.split("|")[1:-1] for line in report.splitlines() if line.startswith("| ") and "---" not in line
    ][1:]
    assert [(row[0].strip(), row[1].strip(), row[2].strip()) for row in rows] == [
        (c, "2", "18") for c in CONTESTANTS
    ]
    assert all(float(row[3].replace(",", "")) > 0 for row in rows)
    assert "6 segments, 18 target tokens per contestant." in report
