"""An end-to-end smoke sweep through the real CLI on a tiny random BERT (slow: starts Ray)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from search.results import RESULT_SCHEMA

pytestmark = pytest.mark.slow

STRATEGIES = ("baseline", "global", "local", "mixed")  # sorted


def test_smoke_sweep_through_the_cli(tmp_path: Path) -> None:
    from trainables.testing import build_tiny_bert

    encoder = build_tiny_bert(tmp_path / "tiny")
    config = tmp_path / "smoke.yaml"
    config.write_text(f"""name: smoke
data:
  in_domain: synthetic
  ood: synthetic_ood
  sizes: [0.1, 0.5]          # sizes the README's extend command keeps
  seeds: [0, 1]
search:
  space: demo-smoke
  budget: 4
  max_concurrent: 2
  confirm_top_k: 1
  confirm_max_seeds: 2          # fixed confirmation: the counts below are exact
resources:
  cpus: 1
encoder: {encoder}
storage: {tmp_path / "results"}
trial:
  max_length: 40
""")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RESWEEP_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run(
        [sys.executable, "-m", "search.cli", "sweep", str(config)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "best configuration per in-domain size" in run.stdout
    # The live progress view: one line per size, the last ones saying every trial has ended.
    progress = [line for line in run.stderr.splitlines() if " ended " in line]
    assert progress and all(("10%" in line) != ("50%" in line) for line in progress)
    assert sum("ended  10/10" in line for line in progress[-3:]) == 2, progress[-3:]

    sweep = tmp_path / "results" / "smoke"
    table = pq.read_table(sweep / "results" / "results.parquet")
    assert table.schema.equals(RESULT_SCHEMA, check_metadata=False)
    # Per size: one search trial per strategy (budget 4 over 4 cells), each strategy's best again
    # with seed 1, and the floor with both seeds.
    assert table.num_rows == 20
    rows = table.to_pylist()
    assert {r["in_domain_size"] for r in rows} == {0.1, 0.5}
    # smoke trials run 2 epochs, below ASHA's first rung: every trial finishes; none fails.
    assert all(r["status"] == "finished" and 0 <= r["dev_f1_weighted"] <= 1 for r in rows)
    assert all(r["in_domain_pct"] in (10.0, 50.0) for r in rows)
    assert len({r["trial_name"] for r in rows}) == 20
    for size in (0.1, 0.5):
        mine = [r for r in rows if r["in_domain_size"] == size]
        search = [r for r in mine if r["role"] == "search"]
        again = [r for r in mine if r["role"] == "confirm"]
        floor = [r for r in mine if r["role"] == "floor"]
        assert sorted(r["cell"] for r in search) == ["baseline", "global", "local", "mixed"]
        assert all(r["cell"] == r["strategy"] and r["architecture"] == "two-phase" for r in search)
        assert sorted(r["cell"] for r in again) == sorted(r["cell"] for r in search)
        assert all(r["seed"] == 1 for r in again) and all(r["seed"] == 0 for r in search)
        # Each confirmation is its cell's search configuration, seed aside.
        for r in again:
            twin = next(s for s in search if s["cell"] == r["cell"])
            unseeded = [{k: v for k, v in json.loads(x["config"]).items() if k != "seed"} for x in (twin, r)]
            assert unseeded[0] == unseeded[1]
            assert r["finished_at"] >= twin["finished_at"]
        assert sorted(r["seed"] for r in floor) == [0, 1]
        assert all(r["architecture"] == "tfidf-linear" and r["strategy"] == "baseline" for r in floor)
    # Sizes proceed concurrently: some trial of one size ran while a trial of the other did.
    spans = [
        (r["in_domain_size"], r["finished_at"].timestamp() - r["wall_seconds"], r["finished_at"].timestamp())
        for r in rows
    ]
    assert any(a[0] != b[0] and a[1] < b[2] and b[1] < a[2] for a in spans for b in spans)
    assert (sweep / "optuna.db").is_file() and (sweep / "sweep.yaml").is_file()
    assert len(list((sweep / "artifacts").glob("phase1-*/COMPLETE"))) == 1  # one artifact for all sizes
    # Every trial ended with its row in the store: none of them left an epoch checkpoint behind.
    assert list(sweep.rglob("checkpoint_*")) == []

    # The Optuna studies are real, one per size and strategy, queryable with Optuna itself.
    import optuna

    studies = optuna.get_all_study_summaries(f"sqlite:///{sweep / 'optuna.db'}")
    cells = ("baseline", "global", "local", "mixed")
    expected = [f"smoke-id{size}/{cell}" for size in ("0.1", "0.5") for cell in cells]
    assert sorted(s.study_name for s in studies) == expected
    assert all(s.n_trials == 1 for s in studies)  # confirmation and floor runs are not the search's
    for summary in studies:
        study = optuna.load_study(study_name=summary.study_name, storage=f"sqlite:///{sweep / 'optuna.db'}")
        (trial,) = study.trials
        assert trial.state == optuna.trial.TrialState.COMPLETE and trial.user_attrs["sweep"] == "smoke"

    status = subprocess.run(
        [sys.executable, "-m", "search.cli", "status", "smoke", "--storage", str(tmp_path / "results")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert status.returncode == 0 and status.stdout.count("10/10") == 2

    # From the answer to a model: the recommended recipe for the pool (1.0, unswept: estimated
    # from 0.5), trained on all of it, then predictions for new sentences without labels.
    storage = ["--storage", str(tmp_path / "results")]
    train = subprocess.run(
        [
            sys.executable,
            "-m",
            "search.cli",
            "train",
            "smoke",
            *storage,
            "--out",
            str(tmp_path / "model"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert train.returncode == 0, train.stderr[-3000:]
    assert "(recommended at size 100% (from size 50%))" in train.stdout and "test (" in train.stdout
    sentences = tmp_path / "new.jsonl"
    sentences.write_text(
        '{"id": "a", "text": "<e1>Dario Alard</e1> works for <e2>Wenton Media</e2> ."}\n'
        '{"id": "b", "text": "<e1>Olga Pemsen</e1> , son of <e2>Jonas Drenski</e2> , met Karin ."}\n'
    )
    predict = subprocess.run(
        [sys.executable, "-m", "search.cli", "predict", str(tmp_path / "model"), str(sentences)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert predict.returncode == 0, predict.stderr[-3000:]
    rows = [json.loads(line) for line in predict.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and all(0 < r["score"] <= 1 for r in rows)
    assert "2 sentences predicted" in predict.stderr and "against the input's labels" not in predict.stderr

    # The Sweeps page's commands as written (parsed from it, so they cannot drift), on this sweep: its
    # name for `demo`, this storage, extensions as a dry run (they would run for minutes); the
    # sweep command itself ran above, with this config for configs/demo.yaml.
    (tmp_path / "new.jsonl").write_text(sentences.read_text())
    for line in _readme_commands():
        words = [w if w != "demo" else "smoke" for w in shlex.split(line)]
        if words[1] == "sweep":
            continue
        words += ["--dry-run"] if words[1] == "extend" else []
        if words[1] != "predict":
            words += ["--storage", str(tmp_path / "results")]
        if words[1] == "train":
            words += ["--quiet"]
        ran = subprocess.run(
            [sys.executable, "-m", "search.cli", *words[1:]],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert ran.returncode == 0, f"docs/guides/sweeps.md: {line}\n{ran.stderr[-3000:]}"


def _readme_commands() -> list[str]:
    """The `resweep` lines of the first code block under "# Sweeps" on the Sweeps page of the
    docs (comments dropped): the commands the README's Sweeps section listed before it moved there."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "guides" / "sweeps.md").read_text()
    block = page.split("# Sweeps\n", 1)[1].split("```", 2)[1]
    lines = [line.split("#", 1)[0].strip() for line in block.splitlines()]
    commands = []
    for line in (line for line in lines if line.startswith("resweep ")):
        # `resweep list spaces|architectures|...`: each alternative is a command of its own
        words = line.split()
        choices = next((w for w in words if "|" in w), None)
        for choice in choices.split("|") if choices else [None]:
            commands.append(" ".join(choice if w == choices else w for w in words))
    assert len(commands) >= 8, commands  # the block lost its commands: update this test with it
    return commands


def _kill_processes_under(marker: str) -> None:
    """SIGKILL every process whose command line mentions ``marker`` (the test's own Ray)."""
    import signal

    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and int(proc.name) != os.getpid():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)


def _long_trials_sweep(
    tmp_path: Path,
    name: str,
    sizes: str,
    budget: int,
    epochs: int,
    study_storage: str = "",
    storage: str = "",
    **env: str,
) -> tuple[Path, Path, dict[str, str], Path]:
    """A FIFO sweep of long tiny-BERT trials to interrupt: (config, storage, env, Ray temp dir)."""
    from trainables.testing import build_tiny_bert

    encoder = build_tiny_bert(tmp_path / "tiny")
    storage = storage or tmp_path / "results"
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"""name: {name}
data:
  in_domain: synthetic
  ood: synthetic_ood
  sizes: {sizes}
search:
  space: demo-smoke
  budget: {budget}
  scheduler: fifo
  max_concurrent: 2
  confirm_top_k: 0
  floor: false
  study_storage: "{study_storage}"
encoder: {encoder}
storage: "{storage}"
trial:
  max_length: 40
  max_epochs: {epochs}
  patience: {epochs}
""")
    ray_temp = Path("/tmp") / f"rs-{name}-{os.getpid()}"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    full_env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "RESWEEP_CACHE_DIR": str(tmp_path / "cache"),
        "RESWEEP_RAY_TEMP_DIR": str(ray_temp),
        # Trials' scratch folders: a killed sweep cannot remove them, pytest removes this one.
        "TMPDIR": str(scratch),
        **env,
    }
    return config, storage, full_env, ray_temp


def _start_sweep(
    config: Path, env: dict[str, str], *options: str, log: Path | None = None
) -> subprocess.Popen[str]:
    """``resweep sweep CONFIG`` in a process group of its own (to be killed whole). Its output goes
    to ``log`` (a process nobody reads from must not block on a full pipe), or is captured."""
    with open(log, "w") if log else contextlib.nullcontext() as out:
        return subprocess.Popen(
            [sys.executable, "-m", "search.cli", "sweep", str(config), *options],
            env=env,
            stdout=out or subprocess.PIPE,
            stderr=subprocess.STDOUT if out else subprocess.PIPE,
            text=True,
            start_new_session=True,
        )


@pytest.fixture
def postgres_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL server of its own (pgserver's bundled binaries), stopped after the test."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))  # pgserver's runtime files; unset in CI
    import pgserver

    server = pgserver.get_server(tmp_path / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


def test_sigkill_mid_sweep_then_resume(tmp_path: Path, postgres_url: str) -> None:
    import signal
    import time

    studies = postgres_url  # the Optuna study in a real PostgreSQL server, as on a cluster
    config, storage, env, ray_temp = _long_trials_sweep(
        tmp_path, "kill", "[0.2]", budget=4, epochs=40, study_storage=studies, TUNE_GLOBAL_CHECKPOINT_S="1"
    )
    sweep = storage / "kill"
    parts = sweep / "results" / "parts"
    proc = _start_sweep(config, env, "--quiet", log=tmp_path / "sweep.log")
    try:
        # Kill once one trial has finished and another is well into its epochs: its checkpoints
        # must be registered in Tune's saved state (saved every second here), not only on disk.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if _one_finished_one_checkpointed(sweep, epochs=4, of=40):
                break
            assert proc.poll() is None, "the sweep ended before it could be killed"
            time.sleep(0.2)
        else:
            pytest.fail("no trial finished within 10 minutes")
        time.sleep(2.0)  # two of Tune's state saves
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        _kill_processes_under(str(ray_temp))
    before = {r["trial_name"]: r["finished_at"] for r in _rows(parts)}
    assert 1 <= len(before) < 4
    # Mid-sweep, no trial held more than what a resume may need: its newest checkpoint and the
    # ones Tune's last two state saves name (search.driver.checkpoints), not one per epoch — plus, at the
    # kill, possibly one Tune had written to disk but not yet reported to the sweep's callback.
    assert max(_checkpoints_per_trial(sweep).values()) <= 4, _checkpoints_per_trial(sweep)

    resumed = _resume("kill", storage, env, ray_temp)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows = pq.read_table(sweep / "results" / "results.parquet").to_pylist()
    assert len(rows) == 4 and len({r["trial_name"] for r in rows}) == 4  # the budget, each trial once
    after = {r["trial_name"]: r["finished_at"] for r in rows}
    assert all(after[name] == when for name, when in before.items()), "a finished trial ran again"
    assert any((r["resumed_from_epoch"] or 0) > 0 for r in rows), (
        "no interrupted trial resumed from a checkpoint"
    )
    # Every trial ended and has its row: no epoch checkpoint is left (Tune's and Train's).
    assert list(sweep.rglob("checkpoint_*")) == [], sorted(map(str, sweep.rglob("checkpoint_*")))[:5]
    import optuna

    summaries = optuna.get_all_study_summaries(studies)  # resumed into the same PostgreSQL studies
    assert sorted(s.study_name for s in summaries) == [f"kill-id0.2/{c}" for c in STRATEGIES]
    assert all(s.n_trials >= 1 for s in summaries)
    assert not (sweep / "optuna.db").exists()


@pytest.mark.s3
def test_sweep_in_object_storage_killed_resumed_and_read_from_the_uri(
    tmp_path: Path, s3_storage: str
) -> None:
    """``storage: s3://...`` on a real S3 server: SIGKILL mid-sweep, resume from the URI, read the
    leaderboard and status from the URI. Nothing of the sweep lands on the local disk."""
    import signal
    import time

    import optuna

    from cluster.storage import Location
    from search.results import ResultsStore
    from trainables.artifacts import builds

    config, _, env, ray_temp = _long_trials_sweep(
        tmp_path, "kill", "[0.2]", budget=4, epochs=40, storage=s3_storage, TUNE_GLOBAL_CHECKPOINT_S="1"
    )
    sweep = Location.parse(s3_storage) / "kill"
    store = ResultsStore(sweep)
    trials = sweep / "tune" / "trials"
    proc = _start_sweep(config, env, "--quiet", log=tmp_path / "sweep.log")
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            # As _one_finished_one_checkpointed: a row stored, and a trial without one 4 to 20 of
            # its 40 epochs in (an ended trial's folder goes once its row is stored: not counted)
            ended = {row["trial_name"].rpartition("_")[2] for row in store.read().to_pylist()}
            running = [
                t
                for t in (trials.children() if ended else [])
                if t.name.startswith("sweep_trial_") and t.name.split("_")[2] not in ended
            ]
            mid_way = [t for t in running if 4 <= _epochs_checkpointed(_checkpoints_in(t)) <= 20]
            if mid_way:
                break
            if proc.poll() is not None:
                log = (tmp_path / "sweep.log").read_text()[-3000:]
                pytest.fail(f"the sweep ended before it could be killed: {log}")
            time.sleep(0.5)
        else:
            pytest.fail("no trial finished within 10 minutes")
        time.sleep(3.0)  # Tune saves (and uploads) its state every second here
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        _kill_processes_under(str(ray_temp))
    before = {r["trial_name"]: r["finished_at"] for r in store.read().to_pylist()}
    assert 1 <= len(before) < 4

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [sys.executable, "-m", "search.cli", *args, "--storage", s3_storage],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
            check=False,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        return run

    try:
        cli("resume", "kill", "--quiet")
    finally:
        _kill_processes_under(str(ray_temp))
    assert store.parts.children() == [] and store.table_path.is_file()  # compacted in the bucket
    rows = store.read().to_pylist()
    assert len(rows) == 4 and len({r["trial_name"] for r in rows}) == 4  # the budget, each trial once
    assert all(r["status"] == "finished" for r in rows)
    after = {r["trial_name"]: r["finished_at"] for r in rows}
    assert all(after[name] == when for name, when in before.items()), "a finished trial ran again"
    assert any((r["resumed_from_epoch"] or 0) > 0 for r in rows), "no trial resumed from a checkpoint"
    # The one phase-1 artifact every trial shares was built once, into the bucket.
    assert len(builds(sweep / "artifacts")) == 1
    # The SQLite study went to the bucket with Tune's state, and the resume carried it on.
    copy = tmp_path / "study" / "optuna.db"
    copy.parent.mkdir()
    copy.write_bytes((trials / "optuna.db").read_bytes())
    summaries = optuna.get_all_study_summaries(f"sqlite:///{copy}")
    assert sorted(s.study_name for s in summaries) == [f"kill-id0.2/{c}" for c in STRATEGIES]
    assert all(s.n_trials >= 1 for s in summaries)

    board = cli("leaderboard", "kill")
    assert "two-phase" in board.stdout and "20%" in board.stdout  # size 0.2, as sizes are written
    assert cli("status", "kill").stdout.count("4/4") == 1
    assert "kill" in cli("list", "sweeps").stdout
    cli("report", "kill")  # read from the bucket, written to a local folder (it is read in a browser)
    assert (tmp_path / "kill-report" / "report.md").is_file()
    # The test's folder (the CLI's working folder too) holds the inputs, the dataset cache, the
    # report and what the test itself put there; the sweep is in the bucket.
    assert {p.name for p in tmp_path.iterdir()} <= {
        "cache",
        "kill.yaml",
        "tiny",
        "study",
        "sweep.log",
        "kill-report",
        "tmp",
    }


def _resume(
    name: str, storage: Path, env: dict[str, str], ray_temp: Path
) -> subprocess.CompletedProcess[str]:
    """``resweep resume NAME --quiet``, then whatever Ray processes it left are stopped."""
    try:
        return subprocess.run(
            [sys.executable, "-m", "search.cli", "resume", name, "--storage", str(storage), "--quiet"],
            capture_output=True,
            text=True,
            env=env,
            timeout=900,
            check=False,
        )
    finally:
        _kill_processes_under(str(ray_temp))


def _one_finished_one_checkpointed(sweep: Path, epochs: int, of: int) -> bool:
    """Whether at least one trial's results row is written and a trial without a row (still
    running) has checkpointed ``epochs`` epochs in Tune's folder (it keeps only its newest few:
    ``checkpoint_000003`` is the 4th) and has at least half of its ``of`` epochs still to run.

    The last condition keeps the trial running until the interrupt arrives: the first two trials
    start together and run alike, so when the first one's row appears the second is at its last
    epochs too, and an interrupt then may find it finished, with nothing left to resume."""
    parts = sweep / "results" / "parts"
    ended = {row["trial_name"].rpartition("_")[2] for row in _rows(parts)} if parts.is_dir() else set()
    if not ended or not (sweep / "tune").is_dir():
        return False
    for trial in (sweep / "tune").rglob("sweep_trial_*"):
        trial_id = trial.name.split("_")[2]
        if (
            trial.is_dir()
            and trial_id not in ended
            and epochs <= _epochs_checkpointed(trial.glob("checkpoint_*")) <= of // 2
        ):
            return True
    return False


def _epochs_checkpointed(checkpoints: Iterable[Any]) -> int:
    """How many checkpoints a trial has reported, from the names of those it kept."""
    return max((int(c.name.rpartition("_")[2]) + 1 for c in checkpoints), default=0)


def _checkpoints_in(trial: Any) -> list[Any]:
    """A trial folder's checkpoints, on a disk or in object storage (a Location)."""
    return [c for c in trial.children() if c.name.startswith("checkpoint_")]


def _checkpoints_per_trial(sweep: Path) -> dict[str, int]:
    return {
        t.name: len(list(t.glob("checkpoint_*")))
        for t in (sweep / "tune").rglob("sweep_trial_*")
        if t.is_dir()
    }


def _rows(parts: Path) -> list[dict]:
    return [row for part in sorted(parts.glob("*.parquet")) for row in pq.read_table(part).to_pylist()]


def test_ctrl_c_stops_cleanly_says_how_to_resume_and_resume_finishes(tmp_path: Path) -> None:
    import signal
    import time

    config, storage, env, ray_temp = _long_trials_sweep(tmp_path, "sigint", "[0.1]", budget=4, epochs=30)
    parts = storage / "sigint" / "results" / "parts"
    proc = _start_sweep(config, env)
    try:
        deadline = time.monotonic() + 600
        # Interrupt once a trial has finished and an unfinished one has checkpoints to resume from.
        while not _one_finished_one_checkpointed(storage / "sigint", epochs=2, of=30):
            assert proc.poll() is None, "the sweep ended before Ctrl-C"
            assert time.monotonic() < deadline, "no trial finished within 10 minutes"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the foreground group
        _out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        _kill_processes_under(str(ray_temp))
    assert proc.returncode == 130, err[-3000:]
    hint = [line for line in err.splitlines() if line.startswith("resweep: interrupted:")]
    assert len(hint) == 1 and f"resweep resume sigint --storage {storage}" in hint[0]
    assert "Traceback" not in err
    # resweep's hint alone: not Tune's own `Tuner.restore(...)` beside it, nor Ray's token notice.
    assert "Tuner.restore" not in err and "Token authentication is enabled" not in err
    before = {r["trial_name"]: r["finished_at"] for r in _rows(parts)}  # every row reads whole
    assert 1 <= len(before) < 4
    assert not list((storage / "sigint").rglob("*.tmp")), "a half-written file was left"
    # What the resume hands the searcher: the trials Tune's saved state runs again, read as Tune does.
    from search.driver.sweep import _tune_restores
    from search.plan import SweepPaths

    restores = _tune_restores(SweepPaths.of(storage, "sigint").tune)
    assert restores, "the interrupted trial is not among those Tune runs again"
    assert all(c["in_domain_size"] == 0.1 and c["resweep_role"] == "search" for c in restores.values())

    resumed = _resume("sigint", storage, env, ray_temp)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows = pq.read_table(storage / "sigint" / "results" / "results.parquet").to_pylist()
    assert sorted(r["cell"] for r in rows) == ["baseline", "global", "local", "mixed"]  # one per strategy
    after = {r["trial_name"]: r["finished_at"] for r in rows}
    assert all(after[name] == when for name, when in before.items()), "a finished trial ran again"
    assert any((r["resumed_from_epoch"] or 0) > 0 for r in rows), "the interrupted trial started over"


def test_extend_an_interrupted_sweep_killed_mid_extension_then_resume(tmp_path: Path) -> None:
    """Ctrl-C, then `extend --budget 6`: the interrupted trial goes on from its checkpoint first;
    the extension is SIGKILLed once it has run a trial of its own; `resume` finishes it. Nothing
    that ended runs again, and every row from before is untouched."""
    import signal
    import time

    config, storage, env, ray_temp = _long_trials_sweep(tmp_path, "grow", "[0.1]", budget=4, epochs=30)
    sweep = storage / "grow"
    parts = sweep / "results" / "parts"
    proc = _start_sweep(config, env, "--quiet", log=tmp_path / "sweep.log")
    extend: subprocess.Popen[str] | None = None
    try:
        deadline = time.monotonic() + 600
        while not _one_finished_one_checkpointed(sweep, epochs=2, of=30):
            assert proc.poll() is None and time.monotonic() < deadline, (
                "no trial finished and another checkpointed"
            )
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=180) == 130
        _kill_processes_under(str(ray_temp))
        interrupted = {r["trial_name"]: r["finished_at"] for r in _rows(parts)}
        assert 1 <= len(interrupted) < 4

        with open(tmp_path / "extend.log", "w") as extend_log:  # the child keeps its own copy
            extend = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "search.cli",
                    "extend",
                    "grow",
                    "--budget",
                    "6",
                    "--storage",
                    str(storage),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=extend_log,
                text=True,
                start_new_session=True,
            )
        deadline = time.monotonic() + 600
        while len(_rows(parts)) < 5:  # the old budget's 4, then one trial of the extension's own
            assert extend.poll() is None, (tmp_path / "extend.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the extension ran no trial of its own within 10 minutes"
            time.sleep(0.2)
        os.killpg(extend.pid, signal.SIGKILL)
        extend.wait()
    finally:
        for running in (proc, extend):
            if running is not None and running.poll() is None:
                os.killpg(running.pid, signal.SIGKILL)
        _kill_processes_under(str(ray_temp))
    log = (tmp_path / "extend.log").read_text()
    assert "sweep grow: budget 4 -> 6" in log
    killed = {r["trial_name"]: r["finished_at"] for r in _rows(parts)}
    assert all(killed[name] == when for name, when in interrupted.items())

    resumed = _resume("grow", storage, env, ray_temp)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    rows = pq.read_table(sweep / "results" / "results.parquet").to_pylist()
    assert len(rows) == 6 and len({r["trial_name"] for r in rows}) == 6
    assert {r["cell"] for r in rows} == {"baseline", "global", "local", "mixed"}
    configs = [json.dumps(json.loads(r["config"]), sort_keys=True) for r in rows]
    assert len(set(configs)) == 6, "a configuration ran twice"
    after = {r["trial_name"]: r["finished_at"] for r in rows}
    assert all(after[name] == when for name, when in killed.items()), "a trial that ended ran again"
    assert any((r["resumed_from_epoch"] or 0) > 0 for r in rows), "the interrupted trial started over"
    saved = (sweep / "sweep.yaml").read_text()
    assert "extensions:" in saved and "budget:\n    - 4\n    - 6" in saved
