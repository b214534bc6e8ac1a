"""`python -m pipeline ...` (also installed as `arabic-pipeline`): wires the stages, nothing more."""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from pipeline.backends import BACKENDS
from pipeline.backends.common import DecodingOptions
from pipeline.bench import add_arguments as add_bench_arguments
from pipeline.bench import run as run_bench
from pipeline.cache import CachedTranslator, TranslationCache
from pipeline.engines import ENGINES, EngineOptions, open_engine
from pipeline.errors import EngineUnavailable, InputError, ModelNotAvailable
from pipeline.glossary import Term, glossary_for, read_glossary
from pipeline.presets import DEFAULT_PRESET, Preset, download, models_folder, presets, resolve, where
from pipeline.random_model import FAMILY_WRITERS, SIZES, write_random_model
from pipeline.readers import READERS, find_transcripts, read_transcript
from pipeline.records import Transcript, Unit
from pipeline.review.exports import EXPORTERS, export
from pipeline.review.imports import import_review
from pipeline.review.store import DATABASE, ReviewStore
from pipeline.run import Summary, model_inputs, output_folder, output_lock, translate_archive, write_outputs
from pipeline.units import UnitOptions, build_units
from pipeline.writers import WRITERS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    translate = commands.add_parser("translate", help="translate and align transcripts")
    translate.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="transcript files or folders")
    translate.add_argument(
        "--model",
        default=DEFAULT_PRESET,
        help=f"preset name, hub id or local folder (default: {DEFAULT_PRESET})",
    )
    translate.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    translate.add_argument("--beam", type=int, default=None, help="beam size (default: the model's own)")
    translate.add_argument(
        "--backend",
        choices=tuple(BACKENDS),
        default="ct2",
        help="ct2 (CTranslate2, default) or hf (transformers)",
    )
    translate.add_argument(
        "--compute-type", default=None, help="ct2 only: int8 (CPU default), float16, float32"
    )
    translate.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    translate.add_argument(
        "--formats", default=",".join(WRITERS), help=f"comma-separated, from {','.join(WRITERS)}"
    )
    translate.add_argument(
        "--batch-size", type=int, default=None, help="sentences per batch (default: 128 // beam)"
    )
    translate.add_argument(
        "--engine",
        choices=tuple(ENGINES),
        default="local",
        help="local (this process, default) or ray (model actors on a Ray cluster; pip install '.[ray]')",
    )
    translate.add_argument(
        "--workers",
        type=int,
        default=None,
        help="batches translated at once: local ct2 workers (default: one per CPU core, each on one "
        "thread), or ray model actors (default: one per GPU, else one per --worker-cpus cores)",
    )
    translate.add_argument(
        "--ray-address",
        default=None,
        help="ray: the cluster to join, e.g. 10.0.0.5:6379 (default: $RAY_ADDRESS, else Ray starts here)",
    )
    translate.add_argument(
        "--worker-cpus",
        type=int,
        default=None,
        help="ray: CPU cores per model actor (default: those of the smallest node: one actor per node)",
    )
    translate.add_argument(
        "--source-lang",
        default=None,
        help="multilingual models: the source language code, e.g. arz_Arab (Egyptian) for NLLB "
        "(default: the preset's, arb_Arab / ar)",
    )
    translate.add_argument("--token-budget", type=int, default=UnitOptions.token_budget)
    translate.add_argument(
        "--glossary",
        type=Path,
        default=None,
        help="a TSV of Arabic terms and their English renderings (default: models/glossary.tsv if there)",
    )
    translate.add_argument("--encoding", default=None, help="input encoding, when detection is not enough")
    translate.set_defaults(run=_translate)

    random_model = commands.add_parser(
        "random-model", help="write a model with random weights and a real configuration"
    )
    random_model.add_argument("--size", choices=tuple(SIZES), default="tiny")
    random_model.add_argument("--family", choices=tuple(FAMILY_WRITERS), default="marian")
    random_model.add_argument("--seed", type=int, default=0)
    random_model.add_argument("folder", type=Path)
    random_model.set_defaults(run=_random_model)

    models = commands.add_parser("models", help="list or download the model presets in models/")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    models_commands.add_parser("list", help="presets, and where each one's weights are").set_defaults(
        run=_models_list
    )
    fetch = models_commands.add_parser("download", help="fetch presets into models/<name>/")
    fetch.add_argument("names", nargs="*", default=[DEFAULT_PRESET], metavar="NAME")
    fetch.set_defaults(run=_models_download)

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
    export.set_defaults(run=_export)

    take_back = commands.add_parser("import-review", help="take an XLIFF or TSV edited elsewhere back in")
    _from_option(take_back)
    take_back.add_argument("file", type=Path, metavar="FILE")
    take_back.set_defaults(run=_import_review)

    bench = commands.add_parser("bench", help="forced-length speed comparison, written to BENCHMARKS.md")
    add_bench_arguments(bench)
    bench.set_defaults(run=run_bench)

    args = parser.parse_args(argv)
    try:
        return args.run(args, parser)
    except (InputError, EngineUnavailable) as error:  # what a command did not handle itself: say what
        print(f"error: {error}", file=sys.stderr)
        return 2


def _from_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=Path("output"),
        help="the folder `translate` wrote, where the review database lives (default: output)",
    )


def _review_store(folder: Path) -> ReviewStore:
    if not (folder / DATABASE).is_file():
        raise InputError(str(folder), "no review database here: translate into this folder first")
    return ReviewStore(folder)


def _review(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.review.app import serve

    _review_store(args.source)
    serve(args.source, args.host, args.port)
    return 0


def _export(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    store = _review_store(args.source)
    names = args.transcripts or store.transcripts()
    unknown = sorted(set(names) - set(store.transcripts()))
    if unknown:
        raise InputError(str(args.source / DATABASE), f"no transcript named {', '.join(unknown)}")
    written = export(store, names, args.format, args.out or args.source / "exports")
    for name, path in written.items():
        print(f"{name} -> {path}" if path else f"{name}: no times, so no {args.format} file")
    return 0


def _import_review(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    report = import_review(_review_store(args.source), args.file)
    print(report.format())
    return 1 if report.conflicts or report.unknown else 0


def _decoding_options(args: argparse.Namespace, preset: Preset | None) -> DecodingOptions:
    """The preset's defaults (a hub id or folder without one gets the model's own), then the flags."""
    options = DecodingOptions(batch_size=args.batch_size, device=args.device, compute_type=args.compute_type)
    if preset is not None:
        options = replace(
            options,
            beam=preset.beam or None,
            max_positions=preset.max_positions,
            family=preset.family,
            source_lang=preset.source_lang or None,
            target_lang=preset.target_lang or None,
            alignment_layer=preset.alignment_layer,
            alignment_heads=preset.alignment_heads,
        )
    return replace(
        options,
        beam=args.beam or options.beam,
        source_lang=args.source_lang or options.source_lang,
    )


def _translate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    formats = [name.strip() for name in args.formats.split(",") if name.strip()]
    unknown = sorted(set(formats) - set(WRITERS))
    if unknown:
        parser.error(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(WRITERS)}")
    sizes = (args.beam, args.batch_size, args.workers, args.worker_cpus)
    if any(size is not None and size < 1 for size in sizes) or args.token_budget < 8:
        parser.error(
            "--beam, --batch-size, --workers and --worker-cpus must be at least 1, --token-budget at least 8"
        )
    started = time.perf_counter()
    summary = Summary()
    shared_glossary = _shared_glossary(args.glossary)  # before the model loads: a bad file fails fast
    paths = find_transcripts(args.paths)
    if not paths:
        print(
            f"error: no transcripts ({', '.join(READERS)}) found in {' '.join(map(str, args.paths))}",
            file=sys.stderr,
        )
        return 2
    transcripts = _read_all(paths, args.encoding, args.out, summary)
    if not transcripts:
        print(summary.format())
        return 1

    engine = EngineOptions(workers=args.workers, address=args.ray_address, worker_cpus=args.worker_cpus)
    with ExitStack() as running:
        try:
            choice = resolve(args.model)
            options = _decoding_options(args, choice.preset)
            backend = running.enter_context(
                open_engine(args.engine, args.backend, choice.source, options, engine)
            )
        except (ModelNotAvailable, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        with output_lock(args.out):  # nothing is written to the output folder before this
            translator = CachedTranslator(backend, TranslationCache(args.out))
            _translate_all(args, transcripts, translator, formats, shared_glossary, summary)
    summary.seconds = time.perf_counter() - started
    cached, translated = translator.counts.cached, translator.counts.translated
    if cached:
        summary.notes.append(f"{cached} of {cached + translated} units came from the translation cache")
    print(summary.format())
    return 1 if summary.failures else 0


def _translate_all(
    args: argparse.Namespace,
    transcripts: list[Transcript],
    translator: CachedTranslator,
    formats: list[str],
    shared_glossary: list[Term],
    summary: Summary,
) -> None:
    """Units, translation, alignment, the output files and the review database, transcript by transcript."""
    from tqdm import tqdm

    store = ReviewStore(args.out)
    unit_options = UnitOptions(token_budget=args.token_budget)
    planned: list[tuple[Transcript, tuple[Unit, ...]]] = [
        (transcript, build_units(transcript, translator.count_tokens, unit_options))
        for transcript in transcripts
    ]
    total = sum(len(model_inputs(units)) for _, units in planned)  # what the model gets
    with tqdm(total=total, unit="unit", desc="translating", file=sys.stderr, dynamic_ncols=True) as bar:
        for aligned in translate_archive(planned, translator, bar.update):
            transcript = aligned.transcript
            written = write_outputs(aligned, args.out, formats)
            try:
                terms = glossary_for(transcript.source, shared_glossary)
            except InputError as error:
                summary.failures.append(str(error))
                terms = shared_glossary
            kept = store.sync(aligned, terms)
            if kept:
                summary.notes.append(f"{transcript.name}: {kept} sentence(s) keep their reviewed English")
            summary.add(aligned)
            if len(written) < len(formats):
                summary.notes.append(f"{transcript.name}: no times in the input, so no subtitle files")
            tqdm.write(f"{transcript.source} -> {output_folder(args.out, transcript)}", file=sys.stderr)


def _shared_glossary(path: Path | None) -> list[Term]:
    if path is None:
        default = models_folder() / "glossary.tsv"
        return read_glossary(default) if default.is_file() else []
    if not path.is_file():
        raise InputError(str(path), "no such glossary file")
    return read_glossary(path)


def _read_all(paths: list[Path], encoding: str | None, out: Path, summary: Summary) -> list[Transcript]:
    """Every readable transcript; a file that fails is reported and the others go on."""
    transcripts: list[Transcript] = []
    folders: dict[Path, str] = {}
    for path in paths:
        try:
            transcript = read_transcript(path, encoding)
            folder = output_folder(out, transcript)
            if folder in folders:
                raise InputError(
                    str(path), f"writes to the same output folder as {folders[folder]}; rename one"
                )
        except InputError as error:
            summary.failures.append(str(error))
            print(f"error: {error}", file=sys.stderr)
            continue
        folders[folder] = str(path)
        transcripts.append(transcript)
        summary.notes.extend(transcript.warnings)
    return transcripts


def _models_list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    print(f"Presets in {models_folder()}:")
    for preset in presets().values():
        found = where(preset) or f"not downloaded: python -m pipeline models download {preset.name}"
        print(f"  {preset.name:<24} {preset.model:<36} {preset.family:<7} ~{preset.download_mb} MB  {found}")
    return 0


def _models_download(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.backends.hf import hub_reachable

    known = presets()
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown preset(s) {', '.join(unknown)}; `python -m pipeline models list` shows them")
    if not hub_reachable():
        print(
            "error: the Hugging Face hub cannot be reached from this machine, so nothing can be downloaded.\n"
            "On a machine with network access run "
            f"`python -m pipeline models download {' '.join(args.names)}`\n"
            f"and copy the folders it writes under models/ to {models_folder()} here.",
            file=sys.stderr,
        )
        return 2
    for name in args.names:
        print(f"{name}: {download(known[name])}")
    return 0


def _random_model(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    folder = write_random_model(args.folder, args.size, args.seed, args.family)
    print(f"Wrote a {args.size} {args.family} model with random weights to {folder}")
    return 0
