"""The Ray engine: the same pipeline with the batches run by model actors on a local Ray
(`ray.init(num_cpus=2)`), byte-identical to the local engine, sharing its cache, surviving a killed actor."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import ray

from pipeline.cache import CachedTranslator, TranslationCache
from pipeline.cli import main
from pipeline.engines import ClusterOptions
from pipeline.errors import EngineUnavailable
from pipeline.readers import read_transcript
from pipeline.run import Job, open_translator, translate_archive
from pipeline.settings import Placement
from pipeline.units import UnitOptions, build_units
from tests.conftest import DATA

pytestmark = pytest.mark.slow  # Ray


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray for the module; the engine uses it as it is and leaves it running."""
    ray.init(address="local", num_cpus=2, include_dashboard=False)  # never a `ray start` left on this machine
    yield
    ray.shutdown()


def archive(folder: Path, transcripts: int = 4, segments: int = 30) -> Path:
    """Consecutive MGB-3 utterances cut into several TSV transcripts."""
    header, *rows = (DATA / "mgb3" / "segments.tsv").read_text(encoding="utf-8").splitlines()
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(transcripts):
        chunk = rows[number * segments : (number + 1) * segments]
        (folder / f"talk{number}.tsv").write_text("\n".join([header, *chunk]) + "\n", encoding="utf-8")
    return folder


def outputs(out: Path) -> dict[str, bytes]:
    """Every file the run wrote for the transcripts (their folders; not the run's own databases)."""
    return {
        str(path.relative_to(out)): path.read_bytes() for path in sorted(out.glob("*/*")) if path.is_file()
    }


def translate(source: Path, out: Path, model: Path, *extra: str) -> int:
    return main(
        ["translate", str(source), "--out", str(out), "--model", str(model), "--batch-size", "4", *extra]
    )


@pytest.mark.parametrize("backend", ["ct2", "hf"])
def test_the_ray_engine_writes_byte_identical_outputs_to_the_local_engine(tmp_path, tiny_model, backend):
    source = archive(tmp_path / "in", segments=15)
    assert translate(source, tmp_path / "local", tiny_model, "--backend", backend) == 0
    assert translate(source, tmp_path / "ray", tiny_model, "--backend", backend, "--engine", "ray") == 0
    local, on_ray = outputs(tmp_path / "local"), outputs(tmp_path / "ray")
    assert len(local) == 4 * 6  # four transcripts, every format and the manifest
    assert on_ray == local


def test_the_actors_hold_the_aligner_too_and_the_outputs_stay_byte_identical(
    tmp_path, tiny_model, tiny_aligner
):
    source = archive(tmp_path / "in", transcripts=2, segments=10)
    aligner = ["--aligner", str(tiny_aligner)]
    assert translate(source, tmp_path / "local", tiny_model, *aligner) == 0
    assert translate(source, tmp_path / "ray", tiny_model, *aligner, "--engine", "ray", "--workers", "1") == 0
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "local")


def test_a_rerun_on_ray_takes_every_unit_from_the_cache_a_local_run_filled(tmp_path, tiny_model, capsys):
    source = archive(tmp_path / "in", transcripts=2)
    assert translate(source, tmp_path / "out", tiny_model) == 0
    first = outputs(tmp_path / "out")
    capsys.readouterr()
    assert translate(source, tmp_path / "out", tiny_model, "--engine", "ray", "--workers", "1") == 0
    assert "60 of 60 units came from the translation cache" in capsys.readouterr().out
    assert outputs(tmp_path / "out") == first


def planned_archive(source: Path, translator: CachedTranslator) -> list:
    transcripts = [read_transcript(path) for path in sorted(source.iterdir())]
    return [
        (transcript, build_units(transcript, translator.planner.count_tokens, UnitOptions()))
        for transcript in transcripts
    ]


def engine(name: str, model: Path, workers: int | None = None) -> Job:
    """Greedy, two units per batch; on Ray, `workers` actors of one CPU each."""
    return Job(
        paths=(),
        model=str(model),
        engine=name,
        beam=1,
        placement=Placement(batch_size=2, workers=workers),
        cluster=ClusterOptions(worker_cpus=1),
    )


def cache_in(folder: Path) -> TranslationCache:
    folder.mkdir(parents=True, exist_ok=True)
    return TranslationCache(folder / "translations.sqlite3")


def test_a_model_actor_killed_mid_run_is_restarted_and_the_outputs_are_complete(tmp_path, tiny_model):
    source = archive(tmp_path / "in")
    with open_translator(engine("local", tiny_model)) as backend:
        translator = CachedTranslator(backend, cache_in(tmp_path / "local"))
        expected = list(translate_archive(planned_archive(source, translator), translator))

    with open_translator(engine("ray", tiny_model, workers=2)) as backend:
        translator = CachedTranslator(backend, cache_in(tmp_path / "ray"))
        victim = backend.actors[0]
        before = ray.get(victim.describe.remote()).pid
        produced = translate_archive(planned_archive(source, translator), translator)
        aligned = [next(produced)]  # the first transcript is done, the next ones' batches are in flight
        os.kill(before, signal.SIGKILL)
        aligned += list(produced)
        after = ray.get(victim.describe.remote()).pid
    assert after != before  # Ray restarted the actor, and re-sent the calls it had not answered
    assert translator.counts.translated == sum(len(t.transcript.segments) for t in aligned) == 120
    assert aligned == expected


def test_actors_that_cannot_come_back_stop_the_run_and_a_rerun_resumes_from_the_cache(tmp_path, tiny_model):
    source = archive(tmp_path / "in")
    with open_translator(engine("ray", tiny_model, workers=2)) as backend:
        translator = CachedTranslator(backend, cache_in(tmp_path / "out"))
        produced = translate_archive(planned_archive(source, translator), translator)
        next(produced)
        for actor in backend.actors:
            ray.kill(actor, no_restart=True)
        with pytest.raises(EngineUnavailable, match="run the same command again to go on from there"):
            list(produced)
    with open_translator(engine("local", tiny_model)) as backend:
        translator = CachedTranslator(backend, cache_in(tmp_path / "out"))
        list(translate_archive(planned_archive(source, translator), translator))
    assert translator.counts.cached >= 30  # at least the first transcript's units


def test_actors_that_cannot_load_the_model_say_so_before_any_work(tmp_path, tiny_model, capsys):
    """The driver resolves the model from its files; only the actors load its tokenizer and weights."""
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model, broken)
    (broken / "source.spm").write_bytes(b"not a sentencepiece model")
    source = archive(tmp_path / "in", transcripts=1)
    assert translate(source, tmp_path / "out", broken, "--engine", "ray") == 2
    error = capsys.readouterr().err
    assert "error: the model actors could not load the model" in error
    assert not (tmp_path / "out").exists()


def test_more_workers_than_the_cluster_has_cores_are_refused_before_any_work(tmp_path, tiny_model, capsys):
    source = archive(tmp_path / "in", transcripts=1)
    assert translate(source, tmp_path / "out", tiny_model, "--engine", "ray", "--workers", "3") == 2
    assert (
        "3 model actors need 6 CPU cores and 0 GPUs, and the cluster has 2 and 0" in capsys.readouterr().err
    )
    assert not (tmp_path / "out").exists()


def test_without_ray_installed_the_ray_engine_says_how_to_get_it(tmp_path, tiny_model, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    monkeypatch.delitem(sys.modules, "pipeline.engines.ray_pool", raising=False)
    source = archive(tmp_path / "in", transcripts=1)
    assert translate(source, tmp_path / "out", tiny_model, "--engine", "ray") == 2
    assert "the ray engine needs Ray: pip install '.[ray]'" in capsys.readouterr().err


def test_the_local_engine_never_imports_ray(tmp_path, tiny_model):
    source = archive(tmp_path / "in", transcripts=1, segments=3)
    program = (
        "import sys; from pipeline.cli import main; "
        f"code = main(['translate', {str(source)!r}, '--out', {str(tmp_path / 'out')!r}, "
        f"'--model', {str(tiny_model)!r}]); "
        "assert code == 0; assert 'ray' not in sys.modules, 'ray was imported'"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("how", ["--ray-address", "RAY_ADDRESS"])
def test_a_driver_process_joins_an_existing_cluster_by_address(tmp_path, tiny_model, how):
    """Another process joins this module's Ray, as `make translate ENGINE=ray` joins a `ray start --head`
    cluster; Ray's token authentication needs RAY_AUTH_MODE=token to join by address."""
    source = archive(tmp_path / "in", transcripts=2)
    assert translate(source, tmp_path / "local", tiny_model) == 0
    address = ray.get_runtime_context().gcs_address
    command = [sys.executable, "-m", "pipeline", "translate", str(source), "--out", str(tmp_path / "ray")]
    command += ["--model", str(tiny_model), "--batch-size", "4", "--engine", "ray"]
    environment = {**os.environ, "RAY_AUTH_MODE": "token"}
    if how == "RAY_ADDRESS":
        environment["RAY_ADDRESS"] = address
    else:
        command += ["--ray-address", address]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"ray: 1 model actor(s), cluster of 1 node(s) at {address}" in done.stderr
    assert outputs(tmp_path / "ray") == outputs(tmp_path / "local")


def test_an_address_where_no_cluster_answers_is_an_error_within_seconds(tmp_path, tiny_model):
    """In a process of its own: this one is already connected to the module's Ray."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, never listening: connections are refused
        source = archive(tmp_path / "in", transcripts=1)
        command = ["--engine", "ray", "--ray-address", f"127.0.0.1:{port}"]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline",
                "translate",
                str(source),
                "--model",
                str(tiny_model),
                "--out",
                str(tmp_path / "out"),
                *command,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert done.returncode == 2
    assert f"no Ray cluster answers at 127.0.0.1:{port}" in done.stderr
