"""The review wing's commands: `review` (the local app), `export` and `import-review`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.output import OutputFolder
from pipeline.review.exports import EXPORTERS
from pipeline.review.store import ReviewStore
from pipeline.subtitles import add_options as add_subtitle_options
from pipeline.subtitles import rules_from


def register(commands: Any) -> None:
    review = commands.add_parser("review", help="the local review app for a translated output folder")
    _from_option(review)
    review.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    review.add_argument("--port", type=int, default=8765)
    review.set_defaults(run=_review)

    export = commands.add_parser(
        "export", help="write the reviewed state as subtitles, documents or CAT files"
    )
    _from_option(export)
    export.add_argument("--format", choices=tuple(EXPORTERS), required=True)
    export.add_argument("--out", type=Path, default=None, help="folder for the files (default: FROM/exports)")
    export.add_argument("transcripts", nargs="*", metavar="TRANSCRIPT", help="names (default: all)")
    add_subtitle_options(export)
    export.set_defaults(run=_export)

    take_back = commands.add_parser("import-review", help="take an XLIFF or TSV edited elsewhere back in")
    _from_option(take_back)
    take_back.add_argument("file", type=Path, metavar="FILE")
    take_back.set_defaults(run=_import_review)


def _from_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=Path("output"),
        help="the folder `translate` wrote, where the review database lives (default: output)",
    )


def _review_store(folder: Path) -> ReviewStore:
    database = OutputFolder(folder).review_database
    if not database.is_file():
        raise InputError(str(folder), "no review database here: translate into this folder first")
    return ReviewStore(database)


def _review(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.review.app import serve

    _review_store(args.source)
    serve(args.source, args.host, args.port)
    return 0


def _export(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.review.exports import export

    store = _review_store(args.source)
    names = args.transcripts or store.transcripts()
    unknown = sorted(set(names) - set(store.transcripts()))
    if unknown:
        raise InputError(str(store.path), f"no transcript named {', '.join(unknown)}")
    rules = rules_from(args, parser)
    written = export(store, names, args.format, args.out or OutputFolder(args.source).exports, rules)
    for name, exported in written.items():
        if exported.path is None:
            print(f"{name}: no times, so no {args.format} file")
        else:
            print(f"{name} -> {exported.path}")
        if exported.note:
            print(f"  note: {exported.note}")
    return 0


def _import_review(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.review.imports import import_review

    report = import_review(_review_store(args.source), args.file)
    print(report.format())
    return 1 if report.conflicts or report.unknown else 0
