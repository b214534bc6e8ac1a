"""The runtime's commands: `translate`, `align` and `models`. Their arguments become plain values (a
`pipeline.run.Job` or `AlignJob`), and `pipeline.run` does the work."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pipeline.backends import BACKENDS, LLM_BACKEND
from pipeline.backends.llm import API_KEY_VARIABLE
from pipeline.engines import ENGINES, ClusterOptions
from pipeline.models import DEFAULT_ALIGNER, DEFAULT_PRESET
from pipeline.settings import PROMPT, LLMOptions, Placement
from pipeline.subtitles import add_options as add_subtitle_options
from pipeline.subtitles import rules_from
from pipeline.units import UnitOptions
from pipeline.writers import WRITERS

Subcommands = Any  # argparse's _SubParsersAction, which it does not export


def register(commands: Subcommands) -> None:
    translate = commands.add_parser("translate", help="translate and align transcripts")
    translate.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="transcript files or folders")
    translate.add_argument(
        "--model",
        default=DEFAULT_PRESET,
        help=f"preset name, hub id or local folder (default: {DEFAULT_PRESET})",
    )
    translate.add_argument(
        "--aligner",
        default=None,
        help="the model whose attention aligns the English (preset name, hub id or folder), self (the "
        "translating model's own) or none (spans by length, no word links); default: self for a model "
        f"whose attention is trained for alignment, else {DEFAULT_ALIGNER}",
    )
    translate.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    translate.add_argument("--beam", type=int, default=None, help="beam size (default: the model's own)")
    translate.add_argument(
        "--backend",
        choices=(*BACKENDS, LLM_BACKEND),
        default="ct2",
        help="ct2 (CTranslate2, default), hf (transformers) or openai (a large language model on an "
        "OpenAI-compatible server: llama.cpp, vLLM, Ollama, LM Studio, a hosted API; see --llm-url)",
    )
    translate.add_argument(
        "--compute-type", default=None, help="ct2 only: int8 (CPU default), float16, float32"
    )
    translate.add_argument("--device", choices=("auto", "cpu", "cuda"), default=Placement.device)
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
    translate.add_argument(
        "--replace",
        action="store_true",
        help="a transcript named like one already in --out but read from another file replaces it, "
        "reviews included (without it, that file is refused)",
    )
    translate.add_argument(
        "--media",
        type=Path,
        default=None,
        metavar="FILE",
        help="the audio or video recording of the one transcript given, for the review app's player "
        "(default: a media file with the transcript's name beside it)",
    )
    add_subtitle_options(translate)
    llm = translate.add_argument_group(
        "--backend openai", f"the API key, if the server needs one, is read from ${API_KEY_VARIABLE}"
    )
    llm.add_argument(
        "--llm-url", default=LLMOptions.url, help=f"the API's base URL (default: {LLMOptions.url})"
    )
    llm.add_argument("--llm-model", default=None, help="the model's name (default: the server's only model)")
    llm.add_argument(
        "--llm-window",
        type=int,
        default=LLMOptions.window,
        help=f"units per request (default: {LLMOptions.window})",
    )
    llm.add_argument(
        "--llm-context",
        type=int,
        default=LLMOptions.context,
        help=f"units sent before and after each window as context (default: {LLMOptions.context})",
    )
    llm.add_argument(
        "--llm-timeout",
        type=float,
        default=LLMOptions.timeout,
        help=f"seconds to wait for one reply (default: {LLMOptions.timeout:g})",
    )
    llm.add_argument(
        "--prompt",
        type=Path,
        default=None,
        help=f"the instructions sent to the model (default: the versioned {PROMPT.name} of this package)",
    )
    translate.set_defaults(run=_translate)

    align = commands.add_parser(
        "align",
        help="align English from elsewhere (a translator, another system) to its Arabic, for review",
        description="Pairs English that came from elsewhere with its Arabic transcript and writes what "
        "translate writes (output files, manifest, review database), so a reviewer checks it the same way.",
    )
    align.add_argument(
        "arabic",
        type=Path,
        metavar="ARABIC_FILE",
        help="the Arabic transcript (any input format), or a bilingual .tsv with an English column",
    )
    align.add_argument(
        "english",
        type=Path,
        nargs="?",
        metavar="ENGLISH_FILE",
        help="English subtitles (.srt, .vtt; matched to the Arabic cues by time) or a .txt with one line "
        "per Arabic segment; leave out for a bilingual .tsv",
    )
    align.add_argument("--out", type=Path, default=Path("output"), help="output folder (default: output)")
    align.add_argument(
        "--aligner",
        default=DEFAULT_ALIGNER,
        help="the model the English is forced through (preset name, hub id or folder; "
        f"default: {DEFAULT_ALIGNER})",
    )
    align.add_argument(
        "--backend",
        choices=tuple(BACKENDS),
        default="ct2",
        help="ct2 (CTranslate2, default) or hf (transformers)",
    )
    align.add_argument("--device", choices=("auto", "cpu", "cuda"), default=Placement.device)
    align.add_argument(
        "--formats", default=",".join(WRITERS), help=f"comma-separated, from {','.join(WRITERS)}"
    )
    align.add_argument(
        "--glossary",
        type=Path,
        default=None,
        help="a TSV of Arabic terms and their English renderings (default: models/glossary.tsv if there)",
    )
    align.add_argument(
        "--replace",
        action="store_true",
        help="a transcript named like one already in --out but read from another file replaces it",
    )
    add_subtitle_options(align)
    align.set_defaults(run=_align)

    models = commands.add_parser("models", help="list or download the model presets in models/")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    models_commands.add_parser("list", help="presets, and where each one's weights are").set_defaults(
        run=_models_list
    )
    fetch = models_commands.add_parser("download", help="fetch presets into models/<name>/")
    # By default the default translator and the aligner its English needs.
    fetch.add_argument("names", nargs="*", default=[DEFAULT_PRESET, DEFAULT_ALIGNER], metavar="NAME")
    fetch.set_defaults(run=_models_download)


def _translate(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.run import Job, translate

    formats = _formats(args.formats, parser)
    sizes = (args.beam, args.batch_size, args.workers, args.worker_cpus)
    if args.llm_window < 1 or args.llm_context < 0 or not args.llm_timeout > 0:
        parser.error("--llm-window must be at least 1, --llm-context at least 0, --llm-timeout above 0")
    if any(size is not None and size < 1 for size in sizes) or args.token_budget < 8:
        parser.error(
            "--beam, --batch-size, --workers and --worker-cpus must be at least 1, --token-budget at least 8"
        )
    job = Job(
        paths=tuple(args.paths),
        out=args.out,
        model=args.model,
        source_lang=args.source_lang,
        aligner=args.aligner,
        backend=args.backend,
        engine=args.engine,
        beam=args.beam,
        placement=Placement(
            device=args.device,
            compute_type=args.compute_type,
            workers=args.workers,
            batch_size=args.batch_size,
        ),
        cluster=ClusterOptions(address=args.ray_address, worker_cpus=args.worker_cpus),
        formats=formats,
        units=UnitOptions(token_budget=args.token_budget),
        glossary=args.glossary,
        encoding=args.encoding,
        replace=args.replace,
        media=args.media,
        subtitles=rules_from(args, parser),
        llm=LLMOptions(
            url=args.llm_url,
            model=args.llm_model,
            window=args.llm_window,
            context=args.llm_context,
            prompt=args.prompt or PROMPT,
            timeout=args.llm_timeout,
            workers=args.workers or LLMOptions.workers,
        ),
    )
    summary = translate(job)
    print(summary.format())
    return 1 if summary.failures else 0


def _align(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.run import AlignJob, align_english

    if args.aligner in ("self", "none"):
        parser.error(
            f"align forces the English through a model: --aligner names one (default {DEFAULT_ALIGNER})"
        )
    job = AlignJob(
        arabic=args.arabic,
        english=args.english,
        out=args.out,
        aligner=args.aligner,
        backend=args.backend,
        placement=Placement(device=args.device),
        formats=_formats(args.formats, parser),
        glossary=args.glossary,
        replace=args.replace,
        subtitles=rules_from(args, parser),
    )
    summary = align_english(job)
    print(summary.format())
    return 1 if summary.failures else 0


def _formats(value: str, parser: argparse.ArgumentParser) -> tuple[str, ...]:
    formats = tuple(name.strip() for name in value.split(",") if name.strip())
    unknown = sorted(set(formats) - set(WRITERS))
    if unknown:
        parser.error(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(WRITERS)}")
    return formats


def _models_list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.models import models_folder, presets, where

    print(f"Presets in {models_folder()}:")
    for preset in presets().values():
        found = where(preset) or f"not downloaded: .venv/bin/python -m pipeline models download {preset.name}"
        family = preset.family or ""
        print(f"  {preset.name:<24} {preset.model:<36} {family:<7} ~{preset.download_mb} MB  {found}")
    return 0


def _models_download(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from pipeline.models import download, hub_reachable, models_folder, presets

    known = presets()
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(
            f"unknown preset(s) {', '.join(unknown)}; `.venv/bin/python -m pipeline models list` shows them"
        )
    if not hub_reachable():
        print(
            "error: the Hugging Face hub cannot be reached from this machine, so nothing can be downloaded.\n"
            "On a machine with network access run "
            f"`.venv/bin/python -m pipeline models download {' '.join(args.names)}`\n"
            f"and copy the folders it writes under models/ to {models_folder()} here.",
            file=sys.stderr,
        )
        return 2
    for name in args.names:
        print(f"{name}: {download(known[name])}")
    return 0
