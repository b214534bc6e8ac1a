"""Runs an archive, the one place the stages are wired: read -> units -> translate -> align -> write ->
review database. `translate(job)` is what `python -m pipeline translate` does; the bench calls
`open_translator` and `run_archive` itself, to time loading apart from the work. `align_english(job)`
is `python -m pipeline align`: English from elsewhere takes the model's place, and `deliver` writes
both kinds of transcript the same way. Each stage stays importable alone.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline import __version__
from pipeline.align import WORD_START, align_unit, join_units
from pipeline.arabic import has_arabic
from pipeline.backends import LLM_BACKEND, Service, Translator
from pipeline.cache import CachedTranslator, TranslationCache
from pipeline.engines import ClusterOptions, open_engine
from pipeline.errors import InputError, UserError
from pipeline.glossary import Term, glossary_for, read_glossary
from pipeline.models import (
    DEFAULT_ALIGNER,
    DEFAULT_PRESET,
    ResolvedModel,
    able_to_align,
    models_folder,
    resolve_aligner,
    resolve_model,
)
from pipeline.output import OutputFolder
from pipeline.readers import READERS, find_transcripts, read_transcript, unsearched_notes
from pipeline.records import AlignedSentence, AlignedTranscript, Transcript, Translation, Unit
from pipeline.review import media
from pipeline.review.store import ReviewStore
from pipeline.settings import DecodingOptions, LLMOptions, Placement
from pipeline.subtitles import DEFAULTS, SubtitleRules, subtitle_cues, unmet_note
from pipeline.units import UnitOptions, build_units
from pipeline.writers import SUBTITLE_FORMATS, WRITERS

EMPTY = Translation(tokens=(), logprobs=(), attention=None, truncated=False)
ALIGNER_BACKEND = "ct2"  # where the aligner of an LLM's English runs


@dataclass(frozen=True)
class Job:
    """One `translate` run, as plain values; every default is the CLI's."""

    paths: tuple[Path, ...]
    out: Path = Path("output")
    model: str = DEFAULT_PRESET  # a preset name, hub id or folder
    source_lang: str | None = None  # overrides the model's source language code
    aligner: str | None = None  # a model, "self" or "none"; None: see models.resolve_aligner
    backend: str = "ct2"
    engine: str = "local"
    beam: int | None = None  # None: the model's default
    max_new_tokens: int | None = None
    min_new_tokens: int | None = None
    placement: Placement = Placement()
    cluster: ClusterOptions = ClusterOptions()
    formats: tuple[str, ...] = tuple(WRITERS)
    units: UnitOptions = UnitOptions()
    glossary: Path | None = None  # None: models/glossary.tsv when there
    encoding: str | None = None  # None: detected
    review: bool = True  # keep the review database in step (the bench times the pipeline without it)
    replace: bool = False  # a transcript of the same name from another file replaces the one in `out`
    media: Path | None = None  # the recording of the one transcript given (pipeline.review.media)
    subtitles: SubtitleRules = DEFAULTS  # what the subtitle outputs keep
    llm: LLMOptions = LLMOptions()  # --backend openai: the server, model, windows and prompt


@dataclass
class Summary:
    """What the end-of-run screen reports."""

    files: int = 0
    segments: int = 0
    sentences: int = 0
    flagged: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verb: str = "Translated"  # what the run did, as its first line says

    def add(self, aligned: AlignedTranscript) -> None:
        self.files += 1
        self.segments += len(aligned.transcript.segments)
        self.sentences += len(aligned.sentences)
        self.flagged += sum(1 for sentence in aligned.sentences if sentence.flags)

    def fail(self, error: UserError) -> None:
        self.failures.append(str(error))
        print(f"error: {error}", file=sys.stderr)

    def format(self) -> str:
        lines = [
            f"{self.verb} {self.files} transcript(s) in {self.seconds:.1f} s: "
            f"{self.segments} segments -> {self.sentences} English sentences, "
            f"{self.flagged} flagged for review."
        ]
        lines += [f"  note: {note}" for note in self.notes]
        if self.failures:
            lines.append(f"{len(self.failures)} file(s) failed:")
            lines += [f"  {failure}" for failure in self.failures]
        return "\n".join(lines)


def translate(job: Job) -> Summary:
    """Reads every transcript (a bad file is reported and skipped), loads the model, and runs the
    archive into `job.out`. A UserError means nothing was translated."""
    started = time.perf_counter()
    summary = Summary()
    glossary = shared_glossary(job.glossary)  # before the model loads: a bad file fails fast
    paths = find_transcripts(list(job.paths))
    summary.notes.extend(unsearched_notes(list(job.paths)))
    if not paths:
        found_in = " ".join(map(str, job.paths))
        below = f" ({summary.notes[0]})" if summary.notes else ""  # e.g. they are all in a subfolder
        raise UserError(f"no transcripts ({', '.join(READERS)}) found in {found_in}{below}")
    if job.media is not None and len(paths) != 1:
        raise UserError(f"--media names the recording of one transcript; {len(paths)} were given")
    if job.media is not None:
        media.given_media(job.media)  # a missing file or unknown kind fails before the model loads
    output = OutputFolder(job.out)
    transcripts = read_all(paths, job.encoding, output, summary)
    if transcripts:
        with (
            open_translator(job, glossary) as translator,
            output.lock(),
        ):  # nothing is written before the lock
            run_archive(transcripts, translator, output, job, glossary, summary)
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass(frozen=True)
class AlignJob:
    """One `align` run, as plain values; every default is the CLI's."""

    arabic: Path
    english: Path | None = None  # None: the English column of a bilingual TSV (`arabic`)
    out: Path = Path("output")
    aligner: str = DEFAULT_ALIGNER  # a preset name, hub id or folder
    backend: str = "ct2"
    placement: Placement = Placement()
    formats: tuple[str, ...] = tuple(WRITERS)
    glossary: Path | None = None  # None: models/glossary.tsv when there
    replace: bool = False  # as Job.replace
    subtitles: SubtitleRules = DEFAULTS  # as Job.subtitles


def align_english(job: AlignJob) -> Summary:
    """English from elsewhere, aligned to its Arabic and written as `translate` writes a transcript:
    the output files, the manifest and the review database's rows. Every bad pair, and a model that
    cannot align, is a UserError before anything is written."""
    from tqdm import tqdm

    from pipeline.aligner import load_aligner
    from pipeline.given import align_given, read_given

    started = time.perf_counter()
    summary = Summary(verb="Aligned")
    glossary = shared_glossary(job.glossary)
    given = read_given(job.arabic, job.english)
    output = OutputFolder(job.out)
    output.transcript_folder(given.transcript)  # a name that gives no folder is refused now
    summary.notes.extend(given.notes)
    model = able_to_align(resolve_model(job.aligner), job.aligner)
    aligner = load_aligner(job.backend, model, job.placement)
    manifest = {
        "pipeline": __version__,
        "translator": f"given English ({given.english.name})",
        "signature": {
            "english": {"file": given.english.name, "sha256": file_sha256(given.english)},
            "aligner": json.loads(aligner.signature),
        },
        "aligner": aligner_record(model),
    }
    with output.lock():
        store = ReviewStore(output.review_database)
        store.claim(given.transcript.name, Path(given.transcript.source), job.replace)
        with tqdm(total=len(given.pairs), unit="unit", desc="aligning", file=sys.stderr) as bar:
            aligned = align_given(given, aligner, bar.update)
        deliver(aligned, output, job.formats, manifest, store, glossary, summary, job.subtitles)
    summary.seconds = time.perf_counter() - started
    return summary


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def open_translator(job: Job, glossary: Sequence[Term] = ()) -> AbstractContextManager[Translator]:
    """The model resolved once and loaded where the engine runs it, until the context ends; or, with
    `--backend openai`, the LLM server's client (see open_llm)."""
    if job.backend == LLM_BACKEND:
        return nullcontext(open_llm(job, glossary))
    model = resolve_model(job.model, job.source_lang)
    aligner = resolve_aligner(job.aligner, model)
    decoding = DecodingOptions(job.beam or model.beam, job.max_new_tokens, job.min_new_tokens)
    return open_engine(job.engine, job.backend, model, decoding, job.placement, job.cluster, aligner)


def open_llm(job: Job, glossary: Sequence[Term]) -> Translator:
    """An OpenAI-compatible server as the translator, its English aligned by `job.aligner` (default
    opus-mt-ar-en) on CTranslate2 here; the glossary's terms go into the prompts of the windows that
    hold them. Requests go out from this process, so the engine is local."""
    from pipeline.aligner import load_aligner
    from pipeline.backends.llm import LLMTranslator

    if job.engine != "local":
        raise UserError("--backend openai sends its requests from this process: use --engine local")
    name = job.aligner or DEFAULT_ALIGNER
    if name in ("self", "none"):
        raise UserError(
            f"--backend openai: an LLM has no alignment attention, so --aligner names the model that "
            f"aligns its English (default {DEFAULT_ALIGNER})"
        )
    aligner = load_aligner(
        ALIGNER_BACKEND, resolve_model(name), Placement(job.placement.device, job.placement.compute_type)
    )
    return LLMTranslator(job.llm, aligner, glossary)


def run_archive(
    transcripts: Sequence[Transcript],
    translator: Translator,
    output: OutputFolder,
    job: Job,
    glossary: Sequence[Term] = (),
    summary: Summary | None = None,
) -> Summary:
    """Units, translation (through the output folder's cache), alignment, the output files and the
    review database, transcript by transcript."""
    from tqdm import tqdm

    summary = summary if summary is not None else Summary()
    cached = CachedTranslator(translator, TranslationCache(output.cache))
    store = ReviewStore(output.review_database) if job.review else None
    if store is not None:
        transcripts = claimed(transcripts, store, job.replace, summary)
    planned = [(t, build_units(t, translator.planner.count_tokens, job.units)) for t in transcripts]
    if isinstance(translator, Service):
        translator.learn_speakers(
            {
                unit.model_words: speaker
                for transcript, units in planned
                for unit in units
                if unit.words and (speaker := transcript.segments[unit.words[0].segment].speaker)
            }
        )
    manifest = {
        "pipeline": __version__,
        "translator": translator.name,
        "signature": json.loads(translator.signature),
        "aligner": aligner_record(translator.aligned_by),
    }
    if isinstance(translator, Service):
        manifest["service"] = translator.record()
    total = sum(len(model_inputs(units)) for _, units in planned)  # what the model gets
    with tqdm(total=total, unit="unit", desc="translating", file=sys.stderr, dynamic_ncols=True) as bar:
        for aligned in translate_archive(planned, cached, bar.update):
            deliver(
                aligned, output, job.formats, manifest, store, glossary, summary, job.subtitles, job.media
            )
    if isinstance(translator, Service):
        summary.notes.extend(translator.notes())
    if cached.counts.cached:
        done = cached.counts.cached + cached.counts.translated
        summary.notes.append(f"{cached.counts.cached} of {done} units came from the translation cache")
    return summary


def deliver(
    aligned: AlignedTranscript,
    output: OutputFolder,
    formats: Sequence[str],
    manifest: Mapping[str, object],
    store: ReviewStore | None,
    glossary: Sequence[Term],
    summary: Summary,
    rules: SubtitleRules = DEFAULTS,
    media_file: Path | None = None,
) -> None:
    """An aligned transcript's output files and manifest, its rows in the review database (reviewed work
    kept) and its count in the summary, with a line on the subtitle cues that cannot keep `rules`: what
    `translate` and `align` both write, one way. Outputs that cannot be written are this transcript's
    error, not the run's. The manifest records the transcript's recording (`media_file`, else one found
    beside it; pipeline.review.media)."""
    from tqdm import tqdm

    transcript = aligned.transcript
    recording = media.for_run(Path(transcript.source), media_file, output.root, transcript.name)
    if recording is not None:
        manifest = {**manifest, "media": str(recording.resolve())}
    try:
        written = output.write(aligned, formats, manifest, rules)
    except OSError as error:  # a full disk, a read-only folder: this transcript's error
        summary.fail(InputError(transcript.source, f"its outputs cannot be written: {error}"))
        return
    if store is not None:
        try:
            terms = glossary_for(transcript.source, list(glossary))
        except InputError as error:  # the transcript's own glossary: reported, the shared one used
            summary.fail(error)
            terms = list(glossary)
        kept = store.sync(aligned, terms)
        if kept:
            summary.notes.append(f"{transcript.name}: {kept} sentence(s) keep their reviewed English")
    summary.add(aligned)
    if SUBTITLE_FORMATS & set(formats):
        note = unmet_note(transcript.name, subtitle_cues(aligned, rules))
        if note is not None:
            summary.notes.append(note)
    if len(written) < len(formats):
        summary.notes.append(f"{transcript.name}: no times in the input, so no subtitle files")
    tqdm.write(f"{transcript.source} -> {output.transcript_folder(transcript)}", file=sys.stderr)


def aligner_record(model: ResolvedModel | None) -> dict[str, str] | None:
    """The manifest's record of the model whose attention aligned the English (None: spans by length):
    the review app loads it from there to re-align a reviewer's English."""
    if model is None:
        return None
    return {"model": model.label, "folder": str(model.folder), "fingerprint": model.fingerprint}


def claimed(
    transcripts: Sequence[Transcript], store: ReviewStore, replace: bool, summary: Summary
) -> list[Transcript]:
    """The transcripts this output folder may hold: one named like a transcript from another file is
    that file's error (nothing of it is written), unless `replace`."""
    kept = []
    for transcript in transcripts:
        try:
            store.claim(transcript.name, Path(transcript.source), replace)
        except InputError as error:
            summary.fail(error)
            continue
        kept.append(transcript)
    return kept


def translate_archive(
    planned: Sequence[tuple[Transcript, Sequence[Unit]]],
    translator: CachedTranslator,
    progress: Callable[[int], None] | None = None,
) -> Iterator[AlignedTranscript]:
    """Transcript after transcript, aligned as soon as its units are back; the model works through the
    whole archive's units as one stream (see CachedTranslator.translate_many). Each unit is aligned as
    soon as its batch is back and its translation (tokens, attention) let go, so memory holds only
    the aligned sentences, whatever the length of the transcript."""
    to_model = [
        [position for position, unit in enumerate(units) if has_arabic(unit.text)] for _, units in planned
    ]
    jobs = [
        [planned[n][1][position].model_words for position in positions]
        for n, positions in enumerate(to_model)
    ]
    batches = translator.translate_many(jobs)
    for number, (transcript, units) in enumerate(planned):
        per_unit: dict[int, list[AlignedSentence]] = {
            position: align_unit(unit, passthrough(unit) if unit.text else EMPTY, transcript.segments)
            for position, unit in enumerate(units)
            if not has_arabic(unit.text)
        }
        while len(per_unit) < len(units):
            job, indices, translations = next(batches)
            assert job == number, "translations come back job after job"
            for index, translation in zip(indices, translations, strict=True):
                position = to_model[number][index]
                per_unit[position] = align_unit(units[position], translation, transcript.segments)
            if progress is not None:
                progress(len(indices))
        yield join_units(transcript, [per_unit[position] for position in range(len(units))], translator.name)


def model_inputs(units: Sequence[Unit]) -> list[tuple[str, ...]]:
    """The words of the units the model translates: those with Arabic in them."""
    return [unit.model_words for unit in units if has_arabic(unit.text)]


def passthrough(unit: Unit) -> Translation:
    """The unit's own words as the 'translation' of text without Arabic script (English, French,
    numbers), each token attending to its own word."""
    words = [(index, word) for index, word in enumerate(unit.model_words) if word]
    attention = np.zeros((len(words), len(unit.words)))
    attention[np.arange(len(words)), [index for index, _ in words]] = 1.0
    return Translation(
        tokens=tuple(WORD_START + word for _, word in words),
        logprobs=(0.0,) * len(words),
        attention=attention,
        truncated=False,
    )


def shared_glossary(path: Path | None) -> list[Term]:
    if path is None:
        default = models_folder() / "glossary.tsv"
        return read_glossary(default) if default.is_file() else []
    if not path.is_file():
        raise InputError(str(path), "no such glossary file")
    return read_glossary(path)


def read_all(
    paths: Sequence[Path], encoding: str | None, output: OutputFolder, summary: Summary
) -> list[Transcript]:
    """Every readable transcript; a file that fails is reported and the others go on."""
    transcripts: list[Transcript] = []
    folders: dict[Path, str] = {}
    for path in paths:
        try:
            transcript = read_transcript(path, encoding)
            folder = output.transcript_folder(transcript)
            if folder in folders:
                raise InputError(
                    str(path), f"writes to the same output folder as {folders[folder]}; rename one"
                )
        except InputError as error:
            summary.fail(error)
            continue
        folders[folder] = str(path)
        transcripts.append(transcript)
        summary.notes.extend(transcript.warnings)
    return transcripts
