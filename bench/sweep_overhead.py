"""Benchmark: what resweep's sweep machinery costs on top of the trials themselves.

    .venv/bin/python bench/sweep_overhead.py [--trials 100] [--train-trials 10] [--storage URI]
                                             [--trackers mlflow,tensorboard,wandb] [--no-confirm]
    .venv/bin/python bench/sweep_overhead.py --smoke   # 4 + 4 trials, no confirmation: does it run?

1. ``--trials`` stand-in trials that sleep 1 s and report once, through the real sweep (its Tune
   experiment, the per-size searcher over OptunaSearch on an SQLite study, ConcurrencyLimiter,
   the results-store callback), 2 concurrent, inline executor. Ray's start is not counted.
   (1b) The anchor, in the same run: as many trials of the same stand-in through a bare Tune
   ``Tuner`` with ``OptunaSearch``'s defaults over the same space, 2 at once (``--no-bare``: skip).
2. The same number of evaluations in a plain in-process Optuna loop, sequentially.
3. ``--train-trials`` trials that each fit a one-worker Ray Train job whose loop sleeps 1 s.
4. With ``--storage URI`` (e.g. ``s3://bucket/bench?endpoint_override=127.0.0.1:9000&scheme=http``),
   (1) again with the sweep stored there, beside (1) on the local disk: what object storage costs.
5. With ``--trackers``, (1) again with each experiment tracker on (local MLflow store, TensorBoard
   files, W&B offline), side by side with (1) untracked before and after them (the two untracked
   runs show the noise): the extra wall time per trial and the ratio to the untracked wall time.

Overhead share = 1 - (summed in-trial time) / (wall time x concurrent slots), counting every trial
that ran (the ``demo`` space adds confirmation runs of its top configurations, ``--no-confirm``
leaves them out). Goal for (1): <= 10%. ``--smoke`` runs (1), (2) and (3) with 4 trials each (one
per question cell, the fewest a sweep takes) and no confirmation: a minute or two, Ray's start
included.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

SLEEP = 1.0
# What a stand-in trial reports once, with the keys a trial reports.
REPORT = {
    "selected_dev_f1_weighted": 0.5,
    "dev_f1_weighted": 0.5,
    "selected_epoch": 1,
    "epochs_done": 1,
    "final_stage_epochs": 1,
    "training_done": True,  # as a real trial says it ran to its end (the searcher reads it)
}


TRIAL_LOG = "RS_BENCH_TRIAL_LOG"  # environment: a file each stand-in trial appends "start end" to


def sleeping_trial(config: dict[str, Any], runtime: Any, contexts: Any) -> None:
    """Stands in for a trial: one second of 'work', one report with the keys a trial reports."""
    bare_sleeping_trial(config)


def bare_sleeping_trial(config: dict[str, Any]) -> None:
    """The same stand-in as a plain Tune function trainable (the bare Tune anchor)."""
    from ray import tune

    started = time.time()
    time.sleep(SLEEP)
    tune.report(dict(REPORT))
    log = os.environ.get(TRIAL_LOG)
    if log:
        with open(log, "a") as handle:  # one short line per trial: appends do not interleave
            handle.write(f"{started} {time.time()}\n")


def where_the_time_goes(log: Path, began: float, ended: float, slots: int = 2) -> str:
    """The sweep's wall time split: before its first trial starts (parsing, checks, studies, the
    first trial process), after its last trial ends (compaction, the answer), and between (each
    slot's gaps from one trial's end to its next trial's start, and slots left idle)."""
    spans = sorted(tuple(map(float, line.split())) for line in log.read_text().splitlines() if line)
    first, last = spans[0][0], max(end for _, end in spans)
    busy = sum(end - start for start, end in spans)
    steady = 1 - busy / ((last - first) * slots)
    per_trial = ((last - first) * slots - busy) / len(spans) * 1000
    # Each trial after the first ones starts in the slot that freed first: its gap is the wait.
    free = sorted(end for _, end in spans[:slots])
    gaps = []
    for start, end in spans[slots:]:
        gaps.append(max(0.0, start - free.pop(0)) * 1000)
        free = sorted([*free, end])
    gaps.sort()
    slow = [gap for gap in gaps if gap > 500]

    def at(q: float) -> float:
        return gaps[min(len(gaps) - 1, int(q * len(gaps)))] if gaps else 0.0

    return (
        f"  of which: {first - began:.1f} s before the first trial starts, {ended - last:.1f} s after the "
        f"last ends; between them overhead share {steady:.1%} ({per_trial:.0f} ms of slot time per trial: "
        "gaps between trials, and slots idle while a confirmation round waits for its last run); "
        f"a slot's gap between two trials: p50 {at(0.5):.0f} ms, p90 {at(0.9):.0f} ms, max {at(1.0):.0f} ms; "
        f"{len(slow)} gaps over 0.5 s ({sum(slow) / 1000:.1f} s of slot time: "
        "a slot idle on a round, or a trial waiting for a new trial process)"
    )


def bare_tune(trials: int, trial_log: Path, scratch: Path) -> None:
    """(1b) The anchor: as many stand-in trials as the sweep ran, through a bare ``tune.Tuner``
    with ``OptunaSearch`` (its defaults: TPE, an in-memory study) over the demo space, 2 at once,
    trial processes reused, Tune's default loggers: what a user would run instead of resweep."""
    import functools

    from ray import tune
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.optuna import OptunaSearch

    from spaces import define_by_run

    trial_log.unlink(missing_ok=True)
    began = time.time()
    started = time.perf_counter()
    searcher = OptunaSearch(
        space=functools.partial(define_by_run, space="demo"), metric="selected_dev_f1_weighted", mode="max"
    )
    tuner = tune.Tuner(
        tune.with_resources(bare_sleeping_trial, {"cpu": 1}),
        tune_config=tune.TuneConfig(
            search_alg=ConcurrencyLimiter(searcher, max_concurrent=2), num_samples=trials, reuse_actors=True
        ),
        run_config=tune.RunConfig(name="bare", storage_path=str(scratch / "bare"), verbose=0),
    )
    grid = tuner.fit()
    wall = time.perf_counter() - started
    assert not grid.errors, grid.errors
    share = 1 - len(grid) * SLEEP / (wall * 2)
    print(
        f"{len(grid)} trials x {SLEEP:g} s through a bare Tune Tuner with OptunaSearch (the anchor), "
        f"2 concurrent: {wall:.1f} s wall; overhead share {share:.1%}"
    )
    if trial_log.is_file():
        print(where_the_time_goes(trial_log, began, time.time()))


def train_sleeping_trial(config: dict[str, Any], runtime: Any, contexts: Any) -> None:
    """A trial that fits a one-worker Ray Train job whose loop sleeps one second."""
    import ray.train
    from ray.train.torch import TorchTrainer
    from ray.tune.integration.ray_train import TuneReportCallback

    def worker() -> None:
        time.sleep(SLEEP)
        ray.train.report(dict(REPORT))

    TorchTrainer(
        worker,
        scaling_config=ray.train.ScalingConfig(num_workers=1),
        run_config=ray.train.RunConfig(storage_path=runtime.train_storage, callbacks=[TuneReportCallback()]),
    ).fit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--train-trials", type=int, default=10)
    parser.add_argument("--storage", help="also run (1) with the sweep stored here (an object-store URI)")
    parser.add_argument("--trackers", help="also run (1) with each of these trackers on (comma-separated)")
    parser.add_argument("--no-plain", action="store_true", help="skip (2), the plain Optuna loop")
    parser.add_argument("--no-bare", action="store_true", help="skip (1b), bare Tune with OptunaSearch")
    parser.add_argument(
        "--no-confirm", action="store_true", help="search trials only (search.confirm_top_k 0)"
    )
    parser.add_argument("--smoke", action="store_true", help="4 + 4 trials, no confirmation: check it runs")
    args = parser.parse_args()
    if args.smoke:
        # 4: one trial per question cell (the demo space's four strategies), the fewest a sweep takes.
        args.trials, args.train_trials, args.no_confirm = 4, 4, True
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")

    import optuna

    from cluster.connect import connect
    from search.config import parse_sweep_config
    from search.driver.sweep import run_sweep
    from spaces import get_space

    with tempfile.TemporaryDirectory(prefix="rs-sweep-bench-", dir="/tmp") as scratch:

        def config(name: str, budget: int, executor: str, storage: str = "", tracking: str = "") -> Any:
            return parse_sweep_config(
                {
                    "name": name,
                    "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1]},
                    "search": {
                        "space": "demo",
                        "budget": budget,
                        "max_concurrent": 2,
                        "scheduler": "fifo",
                        "floor": False,
                        **({"confirm_top_k": 0} if args.no_confirm else {}),
                    },
                    "resources": {"cpus": 1, "executor": executor},
                    "storage": storage or str(Path(scratch) / "results"),
                    "tracking": [tracking] if tracking else None,
                }
            )

        trial_log = Path(scratch) / "trials.log"
        os.environ[TRIAL_LOG] = str(trial_log)  # before Ray starts: its workers take this environment
        started = time.perf_counter()
        connect(None)
        print(f"ray.init: {time.perf_counter() - started:.1f} s (not counted)")

        def inline_sweep(storage: str = "", tracking: str = "") -> tuple[float, int]:
            trial_log.unlink(missing_ok=True)
            began = time.time()
            started = time.perf_counter()
            name = f"inline-{time.time_ns()}"
            rows = run_sweep(
                config(name, args.trials, "inline", storage, tracking),
                verbose=0,
                trial_function=sleeping_trial,
            )
            wall = time.perf_counter() - started
            ended = time.time()
            # Every row is a trial that slept: the searches and the demo space's confirmation runs.
            share = 1 - rows.num_rows * SLEEP / (wall * 2)
            print(
                f"{args.trials} search trials (+ {rows.num_rows - args.trials} confirmation runs) "
                f"x {SLEEP:g} s through the sweep, 2 concurrent, inline, storage "
                f"{'object store' if storage else 'local disk'}, tracking {tracking or 'off'}: "
                f"{wall:.1f} s wall; overhead share {share:.1%}"
            )
            if trial_log.is_file():
                print(where_the_time_goes(trial_log, began, ended))
            return wall, rows.num_rows

        local_wall, trials = inline_sweep()
        if args.storage:
            remote_wall, _ = inline_sweep(args.storage)
            print(f"object store / local disk wall time: {remote_wall / local_wall:.2f}x")

        if args.trackers:
            walls = {tracker: inline_sweep(tracking=tracker)[0] for tracker in args.trackers.split(",")}
            again, trials = inline_sweep()
            untracked = (local_wall + again) / 2
            noise = abs(again - local_wall) / trials * 1000
            print(f"untracked: {local_wall:.1f} s and {again:.1f} s ({noise:.0f} ms/trial apart: noise)")
            for tracker, wall in walls.items():
                extra = (wall - untracked) / trials * 1000
                print(
                    f"tracking {tracker}: {wall / untracked:.3f}x the untracked wall time, "
                    f"{extra:+.0f} ms wall per trial ({trials} trials, 2 at once)"
                )

        if not args.no_bare:
            bare_tune(trials, trial_log, Path(scratch))

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        space = get_space("demo")
        study = optuna.create_study(direction="maximize")
        started = time.perf_counter()

        def objective(trial: optuna.Trial) -> float:
            space.suggest(trial)
            time.sleep(SLEEP)
            return 0.5

        if not args.no_plain:
            study.optimize(objective, n_trials=args.trials)
            plain = time.perf_counter() - started
            print(
                f"{args.trials} evaluations in a plain in-process Optuna loop, sequential: {plain:.1f} s "
                f"wall; overhead share {1 - args.trials * SLEEP / plain:.1%}"
            )

        if args.train_trials:
            started = time.perf_counter()
            rows = run_sweep(
                config("train", args.train_trials, "train"), verbose=0, trial_function=train_sleeping_trial
            )
            wall = time.perf_counter() - started
            # As in (1), every row is a trial that slept, the confirmation runs included.
            share = 1 - rows.num_rows * SLEEP / (wall * 2)
            print(
                f"{args.train_trials} search trials (+ {rows.num_rows - args.train_trials} confirmation runs)"
                f" through the Ray Train executor, 2 concurrent: {wall:.1f} s; overhead share {share:.1%}"
                f" ({wall * 2 / rows.num_rows:.1f} s per trial slot)"
            )


if __name__ == "__main__":
    main()
