"""The developer tools' commands: `bench` and `random-model`. Registering them imports nothing heavy;
the benchmark is imported when its command runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipeline.tools.random_model import FAMILY_WRITERS, SIZES  # light: it imports transformers when it runs


def register(commands: Any) -> None:
    random_model = commands.add_parser(
        "random-model", help="write a model with random weights and a real configuration"
    )
    random_model.add_argument("--size", choices=tuple(SIZES), default="tiny")
    random_model.add_argument("--family", choices=tuple(FAMILY_WRITERS), default="marian")
    random_model.add_argument("--seed", type=int, default=0)
    random_model.add_argument("folder", type=Path)
    random_model.set_defaults(run=_random_model)

    bench = commands.add_parser("bench", help="forced-length speed comparison, written to BENCHMARKS.md")
    bench.add_argument("--child", help=argparse.SUPPRESS)
    bench.add_argument("--model", default="models/random-full", help="a local model folder")
    bench.add_argument(
        "--data",
        type=Path,
        default=Path("tests/data"),
        help="the test data folder: MGB-3 utterances for the interview, Tatoeba sentences for agreement "
        "(default: tests/data of this checkout)",
    )
    bench.add_argument(
        "--big-model",
        help="a tc-big architecture folder (random-model --size big): adds the tc-big contestants, aligned "
        "by --model",
    )
    bench.add_argument(
        "--repeat", type=int, default=1, help="interleaved runs per contestant; the median is kept"
    )
    bench.add_argument("--segments", type=int, default=1000)
    bench.add_argument("--tokens", type=int, default=13, help="target tokens per segment")
    bench.add_argument("--beams", default="4,1")
    bench.add_argument("--contestants", default="", help="comma-separated (default: all)")
    bench.add_argument("--agreement", type=int, default=200, help="sentences for the int8 agreement check")
    bench.add_argument(
        "--review", default="2500,10000", help="sentence counts for the review-app timing ('' skips it)"
    )
    bench.add_argument(
        "--llm-segments",
        type=int,
        default=0,
        help="segments of the interview through --backend openai and a local llama.cpp server (the llama "
        "extra); 0: not measured",
    )
    bench.add_argument("--out", type=Path, default=Path("BENCHMARKS.md"))
    bench.set_defaults(run=_bench)


def _random_model(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.tools.random_model import write_random_model

    folder = write_random_model(args.folder, args.size, args.seed, args.family)
    print(f"Wrote a {args.size} {args.family} model with random weights to {folder}")
    return 0


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.tools.bench import run

    return run(args, parser)
