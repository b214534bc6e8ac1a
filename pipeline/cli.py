"""`python -m pipeline ...` (also installed as `arabic-pipeline`): parses arguments, calls the command,
prints. Each wing registers its own subcommands, and a command imports what it needs only when it
runs, so `--help` or `review` never load torch, CTranslate2 or the benchmark.

Every error a user can fix (`UserError`) reaches them one way: `error: <message>` and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from pipeline.errors import UserError

# Modules with `register(commands)`, each adding its subcommands with a `run(args, parser) -> int`.
WINGS = ("pipeline.commands", "pipeline.review.commands", "pipeline.tools.commands")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for wing in WINGS:
        importlib.import_module(wing).register(commands)
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args, parser)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Finished batches are in the translation cache and finished files are whole (written beside
        # and renamed), so running the same command again goes on from here.
        print(
            f"\ninterrupted: run the same command again to {RESUME.get(args.command, 'start over')}",
            file=sys.stderr,
        )
        return 130
    return code


RESUME = {"translate": "resume where it stopped (finished work is kept)"}
