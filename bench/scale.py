"""Benchmark: the sweep machinery at scale, side by side with a bare Ray Tune run on one cluster.

    .venv/bin/python bench/scale.py [--trials 1000] [--concurrency 32] [--nodes 4] [--cpus-per-node 16]
                                    [--resume-trials 1000] [--ask-trials 1000] [--leaderboard-rows 100000]
                                    [--sides bare,resweep] [--rounds 1] [--profile FILE] [--out FILE]
    .venv/bin/python bench/scale.py --smoke   # 1 node, 20 trials, 4 at once: does it run?

The defaults are the issue's sizes. On the 2-core development box (shared) a run of
``--trials 400 --cpus-per-node 8 --resume-trials 300`` takes ~9 minutes (``make bench`` runs that);
its output is kept in ``bench/results/``.

On one simulated Ray cluster (``ray.cluster_utils.Cluster``: a head with no CPUs that hosts the
drivers, ``--nodes`` worker nodes of ``--cpus-per-node`` logical CPUs), stand-in trials sleep a
uniform 0.2-1 s and report once, so the machine's own cores are not what limits the trials:

1. **resweep**: ``--trials`` trials through the real sweep (``search.driver.sweep.run_sweep``: its Tune
   experiment, one Optuna study per question cell on the sweep's SQLite storage, the
   ConcurrencyLimiter, the results-store callback, the progress view on; trackers off, no
   confirmation runs, no floor, FIFO), ``--concurrency`` at once.
2. **bare Tune**: the same number of trials of the same stand-in through ``tune.Tuner`` with
   ``OptunaSearch`` (its defaults: TPE, an in-memory study) over the same space and concurrency:
   what a user would run instead. Its own default loggers (CSV, JSON, TensorBoard) are on.
   (``--sides`` also takes ``unmemoized``: resweep with every read of its studies going to the
   database, as before this benchmark found those reads; see ``search.driver.studies.StudyStorage``;
   and ``object-store``: resweep with the sweep in S3, by default a moto server this script starts
   on 127.0.0.1 (``cluster.local_s3``; it shares the machine's cores), ``--object-store URI`` for
   another: its wall time against resweep's on the local disk, goal <= 1.15x; ``bare-object-store``
   does the same for bare Tune, the anchor: what the object store costs Tune itself.)

``--rounds N`` runs the sides N times on the same cluster in alternation (A B, B A, ...) and adds
each round's ratios and their median: two drivers run one after the other on a shared machine
differ by its drift as well (bare Tune alone took 43 to 99 s for the same 300 trials across four
runs on the 2-core box), and only the spread over rounds says how far a ratio can be trusted.

Each driver runs in its own process (Ray's start is not counted) and reports: trials/s over the
whole run and in its steady middle (10th to 90th percentile of the trial ends), the slot
efficiency (summed sleep / (wall x concurrency)), the time inside the searcher's ``suggest``
(ask) and its tells, resweep's callback (the results-store row) and progress view, and the
driver's memory (RSS) as the trials end: at the end, its peak, and its growth per trial; and
Tune's saves of its experiment state: how long they hold up the driver, and the size of the
staging folder Tune uploads whole after each (in an object store the studies' SQLite copy is in it).

3. **ask latency as a study grows**: one study of ``--ask-trials`` trials asked and told in
   process (``--concurrency`` outstanding), resweep's searcher (multivariate TPE with constant
   liar on SQLite, as the sweep builds it) beside OptunaSearch's default TPE in memory: p50/p99 of
   the ask per window of the study's size (also unmemoized, as above), and p99 as a share of the
   mean trial time (0.6 s).
4. **resume**: a sweep of ``--resume-trials`` trials whose driver is killed (SIGKILL) once half of
   them have rows, then ``run_sweep(resume=True)``: the time until its first new trial ends and
   until the sweep is complete, the rows against the budget, and whether any row is there twice.
   (The stand-in replaces ``search.driver.sweep.sweep_trial``, so a trial Tune restores reruns instead of
   replaying its stored row.)
5. **the leaderboard** over ``--leaderboard-rows`` rows (``bench/leaderboard_scale.py``).

Goals (issue 29): resweep >= 0.9x bare Tune's throughput; ask p99 < 10% of the trial time at 1,000
trials per study; driver memory flat per trial. ``--smoke``: 1 node of 8 CPUs, 20 trials, 4 at
once, a 50-trial ask study and 300 leaderboard rows: a minute or two, to check that it runs.
``--heap``: each side's driver traces its heap from its first trial's end (``tracemalloc``, which
slows it) and reports its growth per trial between a quarter of the way in and the last
``--concurrency`` trials, charged to Tune, Ray, Optuna, SQLAlchemy or resweep by the innermost
frame of each allocation, and how many Tune trial objects are alive then.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import random
import re
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MIN_SLEEP, MAX_SLEEP = 0.2, 1.0
MEAN_SLEEP = (MIN_SLEEP + MAX_SLEEP) / 2
METRIC = "selected_dev_f1_weighted"  # what the sweep's searcher optimises
SPACE = "demo"
# What a stand-in trial reports once, with the keys a trial reports (as bench/sweep_overhead.py).
REPORT = {
    "selected_dev_f1_weighted": 0.5,
    "dev_f1_weighted": 0.5,
    "selected_epoch": 1,
    "epochs_done": 1,
    "final_stage_epochs": 1,
    "training_done": True,
}


# --- the stand-in trials ---------------------------------------------------------------------


def _sleep_and_report(config: dict[str, Any]) -> None:
    from ray import tune

    slept = random.uniform(MIN_SLEEP, MAX_SLEEP)
    time.sleep(slept)
    # A score the searchers can learn from (a smooth function of the learning rate).
    lr = float(config.get("learning_rate") or 1e-3)
    score = 0.8 - 0.05 * abs(math.log10(lr / 1e-3)) + random.gauss(0, 0.01)
    tune.report({**REPORT, "selected_dev_f1_weighted": score, "dev_f1_weighted": score, "slept": slept})


def sweep_stand_in(config: dict[str, Any], runtime: Any, contexts: Any) -> None:
    """resweep's ``trial_function``: the sweep's own trial replaced by a sleep."""
    _sleep_and_report(config)


def bare_stand_in(config: dict[str, Any]) -> None:
    """The bare Tune trainable: the same sleep."""
    _sleep_and_report(config)


# --- instrumentation of a driver process (bench-only wrappers around class methods) ----------


class Meter:
    """Times calls to wrapped methods and samples the driver's RSS as trials end."""

    def __init__(self, every: int):
        self.times: dict[str, list[float]] = {}
        self.ends: list[float] = []  # perf_counter at each trial's end (the searcher's tell)
        self.slept: list[float] = []
        self.rss: list[tuple[int, int]] = []  # (trials ended, RSS KiB)
        self.every = max(1, every)
        self.heap_at: tuple[int, ...] = ()  # trials ended at which to snapshot the heap (--heap)
        self.heap: dict[int, Any] = {}  # trials ended -> (tracemalloc snapshot, trial objects alive)
        self.saves: list[tuple[int, float, int]] = []  # (trials ended, seconds, bytes staged to upload)

    def wrap_saves(self) -> None:
        """Time each save of Tune's experiment state (``TuneController.save_to_dir``, the searcher's
        state and the studies' copy included) and size the staging folder it leaves: what Tune
        uploads whole to the sweep's storage after each save."""
        from ray.tune.execution.tune_controller import TuneController

        original = TuneController.save_to_dir

        @functools.wraps(original)
        def saved(this: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(this, *args, **kwargs)
            finally:
                took = time.perf_counter() - started
                staging = Path(this._storage.experiment_driver_staging_path)
                staged = sum(p.stat().st_size for p in staging.rglob("*") if p.is_file())
                self.saves.append((len(self.ends), took, staged))

        TuneController.save_to_dir = saved  # type: ignore[method-assign]

    def wrap(self, cls: type, name: str, key: str) -> None:
        original = getattr(cls, name)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.times.setdefault(key, []).append(time.perf_counter() - started)

        setattr(cls, name, timed)

    def wrap_end(self, cls: type, name: str) -> None:
        """``cls.name(trial_id, result=..., error=...)`` is the searcher's tell: one per trial."""
        original = getattr(cls, name)

        @functools.wraps(original)
        def ended(this: Any, trial_id: str, result: dict[str, Any] | None = None, **kwargs: Any) -> Any:
            self.ends.append(time.perf_counter())
            if result and "slept" in result:
                self.slept.append(float(result["slept"]))
            if len(self.ends) % self.every == 0:
                self.rss.append((len(self.ends), rss_kib()))
            if self.heap_at and len(self.ends) == 1:  # traced from here: start-up is not growth
                import tracemalloc

                tracemalloc.start(12)
            if len(self.ends) in self.heap_at:
                self.heap[len(self.ends)] = heap_snapshot()
            started = time.perf_counter()
            try:
                return original(this, trial_id, result, **kwargs)
            finally:
                self.times.setdefault("tell", []).append(time.perf_counter() - started)

        setattr(cls, name, ended)


def _cpu_s() -> float:
    """CPU seconds this process has used, all its threads (Tune's loop, its syncer, ours)."""
    used = os.times()
    return used.user + used.system


def _machine_cpu_s() -> float:
    """CPU seconds every process on the machine has used since it booted (Linux; NaN elsewhere):
    over a side's run, what the driver, the trial processes and Ray's own cost together."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return float("nan")
    busy = sum(int(fields[i]) for i in (0, 1, 2, 5, 6))  # user, nice, system, irq, softirq
    return busy / os.sysconf("SC_CLK_TCK")


class ProcessCpu:
    """Every process's CPU on the machine over a side's run, by what the process is (Ray's trial
    workers, its raylets, GCS, the driver, ...). Sampled from ``/proc`` every half second in a
    thread, so a process that exits mid-run loses at most its last half second (Linux only)."""

    def __init__(self) -> None:
        self.tick = os.sysconf("SC_CLK_TCK")
        self.labels: dict[int, str] = {}
        self.workers_started = 0
        self.base = self._sample()
        self.last = dict(self.base)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.last.update(self._sample())

    def _sample(self) -> dict[int, float]:
        used = {}
        for entry in os.scandir("/proc") if Path("/proc").is_dir() else []:
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                if pid not in self.labels:
                    self.labels[pid] = self._label(pid)
            except OSError:
                continue
            used[pid] = (int(fields[11]) + int(fields[12])) / self.tick  # utime + stime
        return used

    @staticmethod
    def _label(pid: int) -> str:
        if pid == os.getpid():
            return "the driver"
        raw = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        argv = [a.decode(errors="replace") for a in raw if a]
        if not argv:
            return "other"
        name = os.path.basename(argv[0].split()[0])
        script = next((os.path.basename(a) for a in argv[1:] if a.endswith(".py")), None)
        if name.startswith("ray::") or script == "setup_worker.py":  # a worker, seen named or starting
            return "Ray workers"  # the trial processes (a reused one is ray::IDLE between trials)
        if name.startswith("python"):
            return script or "python"
        return name

    def stop(self) -> dict[str, float]:
        """CPU seconds by kind of process since this object was made."""
        self._stop.set()
        self._thread.join()
        self.last.update(self._sample())
        by_kind: dict[str, float] = {}
        for pid, seconds in self.last.items():
            kind = self.labels.get(pid, "other")
            by_kind[kind] = by_kind.get(kind, 0.0) + seconds - self.base.get(pid, 0.0)
        workers = [pid for pid in self.last if self.labels.get(pid) == "Ray workers"]
        self.workers_started = len([pid for pid in workers if pid not in self.base])
        return by_kind


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def heap_snapshot() -> tuple[Any, int]:
    """The driver's traced heap now (after a collection) and how many Tune trial objects live."""
    import gc
    import tracemalloc

    from ray.tune.experiment import Trial

    gc.collect()
    # type(), not isinstance: isinstance asks lazy proxies (torch's deprecated names) for __class__
    return tracemalloc.take_snapshot(), sum(type(o) is Trial for o in gc.get_objects())


# Who an allocation is charged to: the innermost frame of its traceback in one of these.
HEAP_OWNERS = (("ray/tune/", "Tune"), ("ray/", "Ray"), ("optuna/", "Optuna"), ("sqlalchemy/", "SQLAlchemy"))


def heap_owner(filename: str) -> str | None:
    if "site-packages/" in filename:
        inside = filename.split("site-packages/", 1)[1]
        return next((owner for prefix, owner in HEAP_OWNERS if inside.startswith(prefix)), None)
    return "resweep" if filename.startswith(str(ROOT)) else None


def heap_growth(first: tuple[Any, int], last: tuple[Any, int], trials: int) -> dict[str, Any]:
    """Bytes per trial the heap grew between two snapshots ``trials`` apart, by owner."""
    import tracemalloc

    keep = [tracemalloc.Filter(False, tracemalloc.__file__)]
    grown = last[0].filter_traces(keep).compare_to(first[0].filter_traces(keep), "traceback")
    owners: dict[str, float] = {}
    for stat in grown:
        owner = next((o for f in reversed(stat.traceback) if (o := heap_owner(f.filename))), "other")
        owners[owner] = owners.get(owner, 0.0) + stat.size_diff / trials
    return {"per_trial": sum(owners.values()), "owners": owners, "alive": last[1]}


def stored_files(storage: str, name: str) -> list[tuple[str, int, float]]:
    """(path, bytes, modified) of every file under ``storage``/``name``: a local folder or an
    object-store URI, read through pyarrow's filesystems as the sweep writes them."""
    import pyarrow.fs

    fs, root = pyarrow.fs.FileSystem.from_uri(storage)
    selector = pyarrow.fs.FileSelector(f"{root.rstrip('/')}/{name}", recursive=True, allow_not_found=True)
    return [
        (info.path, info.size or 0, info.mtime.timestamp() if info.mtime else 0.0)
        for info in fs.get_file_info(selector)
        if info.type == pyarrow.fs.FileType.File
    ]


def _sweep_config(name: str, trials: int, concurrency: int, storage: str) -> Any:
    from search.config import parse_sweep_config

    return parse_sweep_config(
        {
            "name": name,
            "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1]},
            "search": {
                "space": SPACE,
                "budget": trials,
                "max_concurrent": concurrency,
                "scheduler": "fifo",
                "floor": False,
                "confirm_top_k": 0,
            },
            "resources": {"cpus": 1, "executor": "inline"},
            "storage": storage,
        }
    )


def drive(args: argparse.Namespace) -> None:
    """A driver process (``--role``): run one side, write what it measured to ``--report``."""
    import ray

    ray.init(address=args.address, log_to_driver=False)
    meter = Meter(every=max(1, args.trials // 50))
    if args.heap:  # snapshots a quarter of the way in and just before the last trials end
        meter.heap_at = (args.trials // 4, max(args.trials // 4 + 1, args.trials - args.concurrency))
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    summary: dict[str, Any] = {"role": args.role, "rss_start_kib": rss_kib()}
    meter.wrap_saves()
    try:
        if args.role in ("bare", "bare-object-store"):
            import pyarrow.fs
            from ray import tune
            from ray.tune.search import ConcurrencyLimiter
            from ray.tune.search.optuna import OptunaSearch

            from spaces import define_by_run

            # as the sweep hands Tune its storage: a filesystem only for an object store
            filesystem, path = (
                pyarrow.fs.FileSystem.from_uri(args.storage)
                if "://" in args.storage
                else (None, args.storage)
            )
            meter.wrap(OptunaSearch, "suggest", "ask")
            meter.wrap_end(OptunaSearch, "on_trial_complete")
            started, cpu_started, machine_started = time.perf_counter(), _cpu_s(), _machine_cpu_s()
            processes = ProcessCpu()
            if profiler:
                profiler.enable()
            tuner = tune.Tuner(
                tune.with_resources(bare_stand_in, {"cpu": 1}),
                tune_config=tune.TuneConfig(
                    search_alg=ConcurrencyLimiter(
                        OptunaSearch(
                            space=functools.partial(define_by_run, space=SPACE), metric=METRIC, mode="max"
                        ),
                        max_concurrent=args.concurrency,
                    ),
                    num_samples=args.trials,
                    reuse_actors=True,
                ),
                run_config=tune.RunConfig(
                    name=args.name, storage_path=path, storage_filesystem=filesystem, verbose=0
                ),
            )
            grid = tuner.fit()
            summary["wall_s"] = time.perf_counter() - started
            summary["cpu_s"] = _cpu_s() - cpu_started
            summary["machine_cpu_s"] = _machine_cpu_s() - machine_started
            summary["cpu_by_process"] = processes.stop()
            summary["workers_started"] = processes.workers_started
            summary["rows"] = len(grid)
            summary["errors"] = len(grid.errors)
        else:
            from search.driver.callback import SweepCallback
            from search.driver.progress import ProgressView
            from search.driver.searchers import PerSlotSearch
            from search.driver.sweep import run_sweep
            from search.results import ResultsStore

            if args.role == "unmemoized":
                # resweep as before bench/scale.py: every study read goes to the database.
                from search.driver.studies import StudyStorage

                StudyStorage._memoizes = lambda self: False  # type: ignore[method-assign]
            meter.wrap(PerSlotSearch, "suggest", "ask")
            meter.wrap_end(PerSlotSearch, "on_trial_complete")
            meter.wrap(SweepCallback, "on_trial_complete", "callback_row")
            meter.wrap(ResultsStore, "add", "store_write")
            meter.wrap(SweepCallback, "on_step_end", "step_end")
            meter.wrap(ProgressView, "show", "progress_show")
            meter.wrap(PerSlotSearch, "save_to_dir", "searcher_save")
            meter.wrap(SweepCallback, "get_state", "callback_save")
            config = _sweep_config(args.name, args.trials, args.concurrency, args.storage)
            started, cpu_started, machine_started = time.perf_counter(), _cpu_s(), _machine_cpu_s()
            processes = ProcessCpu()
            if profiler:
                profiler.enable()
            try:
                table = run_sweep(
                    config,
                    address=args.address,
                    resume=args.role == "resume",
                    verbose=1,
                    trial_function=sweep_stand_in,
                )
            finally:
                summary["wall_s"] = time.perf_counter() - started
                summary["cpu_s"] = _cpu_s() - cpu_started
                summary["machine_cpu_s"] = _machine_cpu_s() - machine_started
                summary["cpu_by_process"] = processes.stop()
                summary["workers_started"] = processes.workers_started
            names = table["trial_name"].to_pylist()
            summary["rows"] = len(names)
            summary["unique_rows"] = len(set(names))
            summary["errors"] = sum(1 for s in table["status"].to_pylist() if s == "error")
            summary["store_bytes"] = sum(
                size
                for path, size, _ in stored_files(args.storage, f"{args.name}/results")
                if path.endswith(".parquet")
            )
        # Everything the run left in its storage (resweep: Tune's state, the studies, the results
        # store), less SQLite's write-ahead log: up to ~4 MB while the studies are open, whatever
        # the number of trials, folded into the database when the sweep's process ends. Of it,
        # Tune's newest saved experiment state (what a resume reads; rewritten whole at each save).
        kept = [f for f in stored_files(args.storage, args.name) if not f[0].endswith(("-wal", "-shm"))]
        summary["folder_bytes"] = sum(size for _, size, _ in kept)
        states = [
            f for f in kept if Path(f[0]).name.startswith("experiment_state-") and f[0].endswith(".json")
        ]
        summary["state_bytes"] = max(states, key=lambda f: f[2])[1] if states else 0
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        summary["first_end_s"] = (meter.ends[0] - started) if meter.ends else None
        summary["ends"] = [t - started for t in meter.ends]
    finally:
        ray.shutdown()
    summary.update(
        saves=meter.saves,
        times=meter.times,
        slept=meter.slept,
        rss=meter.rss,
        rss_end_kib=rss_kib(),
        rss_peak_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
    if len(meter.heap) == 2:
        (first, a), (last, b) = sorted(meter.heap.items())
        summary["heap"] = {**heap_growth(a, b, last - first), "between": [first, last]}
    Path(args.report).write_text(json.dumps(summary))


# --- the parent: the cluster, the drivers, the figures ---------------------------------------


def _child(
    args: argparse.Namespace, role: str, name: str, trials: int, report: Path, **extra: str
) -> list[str]:
    storage = args.object_store if role.endswith("object-store") else args.storage
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--role",
        role,
        "--address",
        args.address,
        "--storage",
        storage,
        "--name",
        name,
        "--trials",
        str(trials),
        "--concurrency",
        str(args.concurrency),
        "--report",
        str(report),
    ]
    for key, value in extra.items():
        command += [f"--{key}", value]
    return command + (["--heap"] if args.heap and role != "resume" else [])


def start_s3_server(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """An S3-compatible server on 127.0.0.1 (moto's, on this machine's cores) with a bucket for
    the benchmark, its credentials in the environment: the server's process and the storage URI."""
    from cluster.local_s3 import S3_CREDENTIALS, s3_bucket
    from cluster.local_s3 import start_s3_server as start

    with log.open("ab") as out:
        server, endpoint = start(out)
    os.environ.update(S3_CREDENTIALS)  # the drivers and the cluster's nodes inherit them
    return server, s3_bucket(endpoint, "bench", "sweeps")


def _run_child(command: list[str], log: Path, timeout: float) -> None:
    with log.open("ab") as out:
        done = subprocess.run(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if done.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"{command[3]} driver exited {done.returncode}:\n{tail}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def steady_rate(ends: list[float]) -> float:
    """Trials/s between the 10th and 90th percentile trial ends (start-up and tail left out)."""
    if len(ends) < 10:
        return float("nan")
    ordered = sorted(ends)
    lo, hi = len(ordered) // 10, len(ordered) * 9 // 10
    return (hi - lo) / max(1e-9, ordered[hi] - ordered[lo])


def rss_slope(rss: list[tuple[int, int]]) -> float:
    """KiB per trial: the least-squares slope of RSS over trials ended, from a quarter of the run on
    (Ray's and the libraries' start-up growth left out)."""
    points = [p for p in rss if p[0] >= rss[-1][0] / 4] if rss else []
    if len(points) < 3:
        return float("nan")
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def side(summary: dict[str, Any], concurrency: int) -> dict[str, float]:
    trials, wall = len(summary["ends"]), summary["wall_s"]
    return {
        "trials": trials,
        "wall": wall,
        "rate": trials / wall,
        "cpu": summary.get("cpu_s", float("nan")) / max(1, trials),  # the driver's, a trial
        "machine_cpu": summary.get("machine_cpu_s", float("nan")) / max(1, trials),
        "steady": steady_rate(summary["ends"]),
        "efficiency": sum(summary["slept"]) / (wall * concurrency),
        "mean_sleep": statistics.fmean(summary["slept"]) if summary["slept"] else float("nan"),
    }


def round_ratios(rounds: list[dict[str, dict[str, float]]]) -> list[str]:
    """The side-by-side ratios of each round (``side`` figures per role) and their median: on a
    machine whose speed drifts, a ratio of two drivers run one after the other is as noisy as the
    drift, and only its spread over rounds in alternation says how far to trust it."""

    def spread(values: list[float]) -> str:
        listed = ", ".join(f"{value:.2f}" for value in values)
        return f"{listed}; median {statistics.median(values):.2f}"

    lines = []
    pairs = [
        ("resweep/bare Tune trials/s", "resweep", "bare", "rate", ">= 0.9"),
        ("resweep/bare Tune driver CPU a trial", "resweep", "bare", "cpu", ""),
        ("resweep/bare Tune machine CPU a trial", "resweep", "bare", "machine_cpu", ""),
        (
            "resweep's wall time in the object store / on the local disk",
            "object-store",
            "resweep",
            "wall",
            "<= 1.15",
        ),
        (
            "bare Tune's wall time in the object store / on the local disk",
            "bare-object-store",
            "bare",
            "wall",
            "",
        ),
    ]
    for label, top, bottom, key, goal in pairs:
        if all(top in turn and bottom in turn for turn in rounds):
            ratios = [turn[top][key] / turn[bottom][key] for turn in rounds]
            median = statistics.median(ratios)
            verdict = ""
            if goal:
                met = median >= 0.9 if goal.startswith(">=") else median <= 1.15
                verdict = f" (goal {goal}x: {'met' if met else 'NOT met'} by the median)"
            lines.append(f"rounds: {label}, {len(rounds)} rounds in alternation: {spread(ratios)}{verdict}")
    return lines


def describe_side(label: str, summary: dict[str, Any], figures: dict[str, float]) -> list[str]:
    times = summary["times"]
    ask = times.get("ask", [])
    tell = times.get("tell", [])
    cores = os.cpu_count() or 1
    ends = summary["ends"] or [float("nan")]
    lines = [
        f"{label}: {figures['trials']} trials in {figures['wall']:.1f} s: {figures['rate']:.2f} trials/s "
        f"(steady {figures['steady']:.2f}); slot efficiency {figures['efficiency']:.1%} "
        f"(mean sleep {figures['mean_sleep']:.2f} s); the first trial ended {ends[0]:.1f} s in, the "
        f"last {figures['wall'] - ends[-1]:.1f} s before the run's end",
        f"  {label} driver, per trial: ask {_ms(statistics.fmean(ask) if ask else 0)} "
        f"(p50 {_ms(pct(ask, 50))}, p99 {_ms(pct(ask, 99))}, {len(ask)} calls), "
        f"tell {_ms(statistics.fmean(tell) if tell else 0)}; the driver process's CPU "
        f"{_ms(figures['cpu'])} a trial ({figures['cpu'] * figures['rate']:.0%} of a core); the "
        f"machine's CPU {_ms(figures['machine_cpu'])} a trial (every process; "
        f"{figures['machine_cpu'] * figures['rate'] / cores:.0%} of its {cores} cores)",
    ]
    by_process = sorted((summary.get("cpu_by_process") or {}).items(), key=lambda item: -item[1])
    if by_process:
        per_trial = max(1, figures["trials"])
        lines.append(
            f"  {label}, the machine's CPU a trial by process: "
            + ", ".join(f"{kind} {_ms(seconds / per_trial)}" for kind, seconds in by_process[:6])
            + f"; Ray worker processes started during the run: {summary.get('workers_started', 0)}"
        )
    if "callback_row" in times:
        row, write = times["callback_row"], times.get("store_write", [])
        step, show = times.get("step_end", []), times.get("progress_show", [])
        per_trial = max(1, figures["trials"])
        lines.append(
            f"  {label} results store: {_ms(statistics.fmean(row))} per trial in the callback "
            f"(p99 {_ms(pct(row, 99))}; the Parquet write {_ms(statistics.fmean(write) if write else 0)}); "
            f"{summary.get('store_bytes', 0) / max(1, summary['rows']):.0f} bytes per trial stored; "
            f"the callback's step end {_ms(sum(step) / per_trial)} per trial ({len(step)} steps): "
            f"the progress view {_ms(sum(show) / per_trial)}, the rows (waits, follow-ups) "
            f"{_ms((sum(step) - sum(show)) / per_trial)}"
        )
    rss = summary["rss"]
    lines.append(
        f"  {label} driver memory: RSS {summary['rss_end_kib'] / 1024:.0f} MiB at the end "
        f"(peak {summary['rss_peak_kib'] / 1024:.0f} MiB; {rss[0][1] / 1024 if rss else 0:.0f} MiB at trial "
        f"{rss[0][0] if rss else 0}); growth {rss_slope(rss):.1f} KiB per trial; Tune's saved state "
        f"{summary.get('state_bytes', 0) / max(1, figures['trials']) / 1024:.1f} KiB per trial, "
        f"{summary.get('folder_bytes', 0) / max(1, figures['trials']) / 1024:.1f} KiB per trial on disk "
        "in all"
    )
    saves = summary.get("saves") or []
    if saves:
        took = [seconds for _, seconds, _ in saves]
        (first_at, _, first_bytes), (last_at, _, last_bytes) = saves[0], saves[-1]
        lines.append(
            f"  {label}, Tune's state saves: {len(saves)} (every {figures['wall'] / len(saves):.1f} s on "
            f"average), {_ms(statistics.median(took))} p50, {_ms(max(took))} max, {sum(took):.1f} s in all "
            f"({sum(took) / figures['wall']:.1%} of the wall time); the staging folder each upload "
            f"copies whole: {first_bytes / 1024:.0f} KiB at trial {first_at}, {last_bytes / 1024:.0f} KiB "
            f"at trial {last_at} ({(last_bytes - first_bytes) / max(1, last_at - first_at):.0f} bytes "
            "more a trial)"
            + (
                f"; of a save's p50, the searcher's state {_ms(statistics.median(times['searcher_save']))}, "
                f"the callback's {_ms(statistics.median(times['callback_save']))}"
                if times.get("searcher_save") and times.get("callback_save")
                else ""
            )
        )
    heap = summary.get("heap")
    if heap:
        owners = sorted(heap["owners"].items(), key=lambda item: -item[1])
        lines.append(
            f"  {label} driver heap (tracemalloc, trials {heap['between'][0]}-{heap['between'][1]}): "
            f"{heap['per_trial'] / 1024:.1f} KiB per trial: "
            + ", ".join(f"{owner} {size / 1024:.1f}" for owner, size in owners)
            + f"; {heap['alive']} Tune trial objects alive at trial {heap['between'][1]}"
        )
    return lines


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def ask_latency(trials: int, concurrency: int, folder: Path) -> list[str]:
    """One study asked as it grows to ``trials``: at each window's start it is filled up with
    finished random trials (what TPE learns from), then asked ``WINDOW`` times with ``concurrency``
    trials outstanding (running: the constant liar counts them) and told as they end."""
    import optuna
    from ray.tune.search.optuna import OptunaSearch

    from search.driver.searchers import Slots, make_searcher
    from spaces import define_by_run

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    window = min(100, trials)
    starts = sorted({0, max(0, trials // 2 - window // 2), max(0, trials - window)})
    rng = random.Random(0)

    def finished_trials(fixed: dict[str, Any] | None) -> list[Any]:
        donor = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(trials):
            trial = donor.ask()
            define_by_run(trial, space=SPACE, fixed=fixed)
            donor.tell(trial, rng.uniform(0.4, 0.8))
        return donor.get_trials(deepcopy=False)

    tells: dict[str, list[float]] = {}  # per way of asking, the tells (one list, all windows)

    def drive_study(study: Any, suggest: Any, tell: Any, donors: list[Any], way: str) -> list[list[float]]:
        asks: list[list[float]] = []
        told = tells.setdefault(way, [])
        outstanding: list[str] = []
        used = 0
        for lo in starts:
            fill = max(0, lo - len(study.get_trials(deepcopy=False)))
            study.add_trials(donors[used : used + fill])
            used += fill
            asks.append([])
            for i in range(window):
                trial_id = f"t{lo}-{i}"
                started = time.perf_counter()
                config = suggest(trial_id)
                asks[-1].append(time.perf_counter() - started)
                assert isinstance(config, dict), config
                outstanding.append(trial_id)
                if len(outstanding) >= concurrency:
                    done = outstanding.pop(rng.randrange(len(outstanding)))
                    started = time.perf_counter()
                    tell(done, {**REPORT, METRIC: rng.uniform(0.4, 0.8)})
                    told.append(time.perf_counter() - started)
        return asks

    def resweep_asks(name: str) -> list[list[float]]:
        """resweep's: one slot's searcher as make_searcher builds it for a sweep (a question cell)."""
        slot = "id0.1/local"
        ours = make_searcher(
            slots=Slots(
                budgets={slot: trials + window * len(starts)}, sizes={slot: 0.1}, cells={slot: "local"}
            ),
            kind="tpe",
            space=SPACE,
            metric=METRIC,
            seed=0,
            storage_url=f"sqlite:///{folder / name}",
            study_prefix="ask",
            cell_values={"local": {"strategy": "local"}},
            max_concurrent=concurrency,
        )
        per_size = ours.searcher  # type: ignore[attr-defined]  # behind the ConcurrencyLimiter
        return drive_study(
            per_size._searchers[slot]._ot_study,
            per_size.suggest,
            per_size.on_trial_complete,
            finished_trials({"strategy": "local"}),
            name,
        )

    ours = resweep_asks("ask.db")
    # The same with every write going Optuna's way (resweep before its studies wrote their own
    # statements), and with every read going to the database too (StudyStorage without its
    # memory of the unfinished trials: resweep before bench/scale.py found the reads).
    from search.driver.studies import StudyStorage

    memoizes = StudyStorage._memoizes
    StudyStorage.own_writes = False
    try:
        optuna_writes = resweep_asks("ask-optuna-writes.db")
        StudyStorage._memoizes = lambda self: False  # type: ignore[method-assign]
        unmemoized = resweep_asks("ask-unmemoized.db")
    finally:
        StudyStorage._memoizes = memoizes  # type: ignore[method-assign]
        StudyStorage.own_writes = True
    bare = OptunaSearch(space=functools.partial(define_by_run, space=SPACE), metric=METRIC, mode="max")
    bare_asks = drive_study(
        bare._ot_study, bare.suggest, bare.on_trial_complete, finished_trials(None), "bare"
    )
    lines = []
    for lo, r, w, u, b in zip(starts, ours, optuna_writes, unmemoized, bare_asks, strict=True):
        lines.append(
            f"ask at {lo}-{lo + window} trials in the study ({concurrency} running): resweep (TPE "
            f"multivariate, SQLite) p50 {_ms(pct(r, 50))} p99 {_ms(pct(r, 99))} (writes Optuna's "
            f"way: p50 {_ms(pct(w, 50))} p99 {_ms(pct(w, 99))}; every read from the database too: "
            f"p50 {_ms(pct(u, 50))} p99 {_ms(pct(u, 99))}); OptunaSearch default "
            f"(TPE, in memory) p50 {_ms(pct(b, 50))} p99 {_ms(pct(b, 99))}"
        )
    mean = {way: statistics.fmean(told) if told else 0.0 for way, told in tells.items()}
    slower = mean["ask-optuna-writes.db"] / max(mean["ask.db"], 1e-9)
    lines.append(
        f"tell, mean over the study: resweep {_ms(mean['ask.db'])} (writes Optuna's way "
        f"{_ms(mean['ask-optuna-writes.db'])}: {slower:.1f}x; "
        f"every read from the database too {_ms(mean['ask-unmemoized.db'])}); OptunaSearch default "
        f"{_ms(mean['bare'])}"
    )
    last = ours[-1]
    share = pct(last, 99) / MEAN_SLEEP
    lines.append(
        f"ask p99 at {trials} trials per study: {_ms(pct(last, 99))} = {share:.1%} of the mean trial "
        f"time {MEAN_SLEEP:g} s (goal < 10%: {'met' if share < 0.10 else 'NOT met'}); "
        f"{pct(last, 99) / 30:.2%} of a 30-s phase-2 trial"
    )
    return lines


def leaderboard(rows: int) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "leaderboard_scale.py"), "--rows", str(rows)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if done.returncode != 0:
        return [f"leaderboard over {rows:,} rows: failed ({done.stderr.strip().splitlines()[-1:]})"]
    return [f"leaderboard: {line}" for line in done.stdout.splitlines() if re.match(r"^[\d,]+ rows", line)]


def resume_after_kill(args: argparse.Namespace, scratch: Path, log: Path) -> list[str]:
    """Kill a sweep's driver once half its trials have rows; time ``run_sweep(resume=True)``."""
    trials, name = args.resume_trials, "killed"
    parts = Path(args.storage) / name / "results" / "parts"
    report = scratch / "killed.json"
    with log.open("ab") as out:
        child = subprocess.Popen(
            _child(args, "resweep", name, trials, report), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + args.timeout
    try:
        while time.monotonic() < deadline and child.poll() is None:
            if parts.is_dir() and sum(1 for _ in parts.glob("*.parquet")) >= trials // 2:
                break
            time.sleep(0.05)
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
        child.wait()
    had = sum(1 for _ in parts.glob("*.parquet")) if parts.is_dir() else 0
    if child.returncode != -signal.SIGKILL:
        return [f"resume: the driver was not killed (exit {child.returncode}, {had} rows): nothing measured"]
    time.sleep(2)  # Ray notices the driver is gone and ends its trial actors
    resumed = scratch / "resumed.json"
    _run_child(_child(args, "resume", name, trials, resumed), log, args.timeout)
    r = json.loads(resumed.read_text())
    first = r["first_end_s"]
    rate = (len(r["ends"]) / r["wall_s"]) if r["wall_s"] else float("nan")
    # Trials proposed after Tune's last save of its state are unknown to the restored experiment;
    # the restored searcher counts their rows (search.driver.searchers.StoreRuns), so rows == budget.
    once = "each row once" if r["rows"] == r["unique_rows"] else "NOT each row once"
    return [
        f"resume: driver killed (SIGKILL) at {had} of {trials} rows; resume: first trial ended after "
        f"{first:.1f} s, complete after {r['wall_s']:.1f} s ({len(r['ends'])} trials run, "
        f"{rate:.2f} trials/s); {r['rows']} rows for a budget of {trials} "
        f"({r['rows'] - trials:+d}; {once}), {r['errors']} errors"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--nodes", type=int, default=4)
    parser.add_argument("--cpus-per-node", type=int, default=16)
    parser.add_argument("--resume-trials", type=int, default=1000, help="0: no resume measurement")
    parser.add_argument("--ask-trials", type=int, default=1000, help="0: no ask-latency study")
    parser.add_argument("--leaderboard-rows", type=int, default=100_000, help="0: no leaderboard")
    parser.add_argument(
        "--sides",
        default="bare,resweep",
        help="which drivers run, in this order (also: unmemoized, resweep with every study read "
        "from the database, as before this benchmark; object-store and bare-object-store, resweep and "
        "bare Tune with the sweep in S3)",
    )
    parser.add_argument(
        "--object-store",
        help="the object-store side's storage URI (default: a moto S3 server this script starts on "
        "127.0.0.1, sharing the machine's cores)",
    )
    parser.add_argument(
        "--profile",
        help="cProfile resweep's driver into this file (pstats; in an object store: FILE.object-store)",
    )
    parser.add_argument(
        "--heap",
        action="store_true",
        help="trace each driver's heap (tracemalloc; slower): its growth per trial, by library",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run the sides this many times in alternation (A B, B A, ...) and report each round's "
        "ratios and their median (the first round is reported in full)",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per driver")
    parser.add_argument("--out", type=Path, help="also write the figures here")
    parser.add_argument("--smoke", action="store_true", help="1 node, 20 trials, 4 at once: check it runs")
    # A driver process of the benchmark itself (see `drive`).
    parser.add_argument(
        "--role",
        choices=("resweep", "unmemoized", "resume", "bare", "object-store", "bare-object-store"),
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--address", help=argparse.SUPPRESS)
    parser.add_argument("--storage", help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    parser.add_argument("--report", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        drive(args)
        return
    if args.smoke:
        args.trials, args.concurrency, args.nodes, args.cpus_per_node = 20, 4, 1, 8
        args.resume_trials, args.ask_trials, args.leaderboard_rows = 20, 50, 300
        args.sides = "bare,resweep,object-store,bare-object-store"
    sides = [role for role in args.sides.split(",") if role]  # "": no throughput sides

    # As tests/cluster_tests/multinode_sweep.py: token auth with a token made for this run (nothing
    # in ~/.ray), Ray's session files in a folder of our own.
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ray.cluster_utils import Cluster

    lines = [
        f"$ {' '.join([os.path.relpath(sys.executable, ROOT), *sys.argv])}",
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start",
    ]

    def say(*new: str) -> None:
        for line in new:
            print(line, flush=True)
        lines.extend(new)

    for line in lines:
        print(line, flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rs-scale-", dir="/tmp") as folder:
        scratch = Path(folder)
        args.storage = str(scratch / "results")
        log = scratch / "drivers.log"
        s3_server = None
        if any(role.endswith("object-store") for role in sides) and not args.object_store:
            # Before the cluster: its nodes (where trials write) inherit the server's credentials.
            s3_server, args.object_store = start_s3_server(scratch / "s3.log")
        # Ray's test cluster notes its address in Ray's default temp folder whatever the head's
        # temp_dir (ray.cluster_utils): on a machine where Ray never ran, that folder is missing.
        from ray._common.utils import get_ray_address_file

        Path(get_ray_address_file(None)).parent.mkdir(parents=True, exist_ok=True)
        cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": 0,  # the head hosts the drivers only, as on a real cluster
                "resources": {"TRAIN_DRIVER": 8},
                "include_dashboard": False,
                "temp_dir": str(scratch / "ray"),
            },
        )
        try:
            for _ in range(args.nodes):
                cluster.add_node(num_cpus=args.cpus_per_node)
            cluster.wait_for_nodes()
            args.address = cluster.address
            say(
                f"cluster: {args.nodes} node(s) x {args.cpus_per_node} CPUs (+ a head with none); "
                f"{args.trials} stand-in trials of {MIN_SLEEP:g}-{MAX_SLEEP:g} s, "
                f"{args.concurrency} at once; "
                f"ready after {time.perf_counter() - started:.0f} s"
            )
            rounds: list[dict[str, Any]] = []
            for turn in range(args.rounds):
                rounds.append({})
                for role in sides if turn % 2 == 0 else sides[::-1]:  # A B, B A, A B, ...
                    report = scratch / f"{role}-{turn}.json"
                    extra = {}
                    if args.profile and turn == 0 and role in ("resweep", "object-store"):
                        extra["profile"] = args.profile + ("" if role == "resweep" else f".{role}")
                    name = f"scale-{role}" + (f"-{turn}" if turn else "")
                    _run_child(_child(args, role, name, args.trials, report, **extra), log, args.timeout)
                    rounds[-1][role] = json.loads(report.read_text())
            summaries = rounds[0]  # the first round in full; the ratios of every round below
            figures = {role: side(summary, args.concurrency) for role, summary in summaries.items()}
            labels = {
                "bare": "bare Tune",
                "resweep": "resweep",
                "unmemoized": "resweep, studies unmemoized",
                "object-store": "resweep in an object store",
                "bare-object-store": "bare Tune in an object store",
            }
            for role, label in labels.items():
                if role in summaries:
                    say(*describe_side(label, summaries[role], figures[role]))
            if "unmemoized" in figures and "bare" in figures:
                before = figures["unmemoized"]
                say(
                    f"before (studies unmemoized): {before['rate']:.2f} trials/s, ratio to bare Tune "
                    f"{before['rate'] / figures['bare']['rate']:.2f} (steady "
                    f"{before['steady'] / figures['bare']['steady']:.2f})"
                )
            if "bare" in figures and "resweep" in figures:
                bare, ours = figures["bare"], figures["resweep"]
                ratio, steady = ours["rate"] / bare["rate"], ours["steady"] / bare["steady"]
                say(
                    f"scale: resweep {ours['rate']:.2f} trials/s vs bare Tune {bare['rate']:.2f} trials/s "
                    f"(ratio {ratio:.2f}; steady {steady:.2f}; "
                    f"goal >= 0.9: {'met' if ratio >= 0.9 else 'NOT met'}); "
                    f"{args.trials} trials, {args.concurrency} at once, {args.nodes} node(s)"
                )
            where = "an S3 server on this machine" if s3_server else "the given object store"
            for driver, local_role, remote_role, goal in (
                ("resweep", "resweep", "object-store", "; goal <= 1.15x"),
                ("bare Tune", "bare", "bare-object-store", ""),
            ):
                if local_role in figures and remote_role in figures:
                    local, remote = figures[local_role], figures[remote_role]
                    say(
                        f"object store: {driver} {remote['rate']:.2f} trials/s with the sweep in {where} vs "
                        f"{local['rate']:.2f} on the local disk: wall time "
                        f"{remote['wall'] / local['wall']:.2f}x the local disk's (time a trial in the "
                        f"steady middle {local['steady'] / remote['steady']:.2f}x{goal})"
                    )
            if args.rounds > 1:
                say(*round_ratios([{r: side(x, args.concurrency) for r, x in t.items()} for t in rounds]))
                for turn, summaries_of in enumerate(rounds[1:], start=2):
                    for role, summary in summaries_of.items():
                        say(
                            *(
                                f"rounds: round {turn}, {line.strip()}"
                                for line in describe_side(role, summary, side(summary, args.concurrency))
                                if "CPU" in line
                            )
                        )
            if args.resume_trials:
                say(*resume_after_kill(args, scratch, log))
        finally:
            import ray

            ray.shutdown()
            cluster.shutdown()
            if s3_server is not None:
                s3_server.terminate()
                s3_server.wait(timeout=30)
        if args.ask_trials:
            say(*ask_latency(args.ask_trials, args.concurrency, scratch))
    if args.leaderboard_rows:
        say(*leaderboard(args.leaderboard_rows))
    say(f"total: {time.perf_counter() - started:.0f} s")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
