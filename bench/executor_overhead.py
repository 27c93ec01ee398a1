"""Benchmark: the fixed cost of running a trial through Ray, per executor.

    .venv/bin/python bench/executor_overhead.py [--repeats 3] [--smoke]

The same small trial (a tiny random BERT, ``bert-seqcls``, 1 epoch on 100 synthetic sentences)
runs (a) directly in this process, (b) as a Ray Tune trial with the ``inline`` executor, and
(c) as a Ray Tune trial that fits a one-worker Ray Train job. The differences to (a) are the fixed
cost of each path. Beside them, in the same run, the anchors a user would compare with: (d) a bare
Tune function trainable that imports torch and transformers (as every trial's fresh worker
process must) and reports once, and (e) the same trainable fitting Train V2's minimal one-worker
``TorchTrainer`` (a worker that imports them and reports once):
the fixed cost of Ray's own pattern, which (c) should stay within 1.3x of. Also (f) the trial
in a fresh Python process and (g) a fresh process importing torch and transformers: (f) - (g) is
what a new process pays to run this trial beyond the anchors' imports (every Train trial's workers
are new processes), printed beside the ratios with and without it. After each run the script
waits for the run's placement groups to go, and removes (and reports) any left after 30 s. Ray starts once,
before any timing (2 CPUs, no dashboard). ``--smoke``: one repeat on 20 sentences, to check that
every path runs (its timings are noise).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _cold_imports() -> None:
    """What any trial of this kind imports in its fresh Ray worker process (resweep's included):
    the anchors pay it too, so the comparison is of the machinery, not of torch's import time."""
    import torch  # noqa: F401
    import transformers  # noqa: F401


def _bare_tune(config: dict[str, Any]) -> None:
    """(d): a Tune trial that imports torch and transformers and reports once."""
    from ray import tune

    _cold_imports()
    tune.report({"done": 1})


def _report_once(config: dict[str, Any]) -> None:
    import ray.train

    _cold_imports()
    ray.train.report({"done": 1})


def _bare_train(config: dict[str, Any]) -> None:
    """(e): Ray's own pattern: a Tune function trainable fitting a one-worker TorchTrainer."""
    import ray.train
    from ray import tune
    from ray.train.torch import TorchTrainer
    from ray.tune.integration.ray_train import TuneReportCallback

    trainer = TorchTrainer(
        _report_once,
        scaling_config=ray.train.ScalingConfig(num_workers=1, resources_per_worker={"CPU": 1}),
        run_config=ray.train.RunConfig(
            name=f"bare-{tune.get_context().get_trial_id()}",
            storage_path=config["storage"],
            callbacks=[TuneReportCallback()],
        ),
    )
    trainer.fit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="one repeat on 20 sentences: check it runs")
    args = parser.parse_args()
    sentences = 20 if args.smoke else 100
    if args.smoke:
        args.repeats = 1
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")

    import ray
    from ray import tune

    from trainables.config import TrialSpec
    from trainables.ray_adapter import TrialRuntime, resweep_trial
    from trainables.testing import build_tiny_bert
    from trainables.trial import run_trial

    with tempfile.TemporaryDirectory(prefix="rs-bench-", dir="/tmp") as scratch:
        root = Path(scratch)
        encoder = str(build_tiny_bert(root / "tiny"))
        config: dict[str, Any] = {
            "in_domain": "synthetic",
            "in_domain_size": sentences,
            "encoder": encoder,
            "max_length": 40,
            "max_epochs": 1,
            "learning_rate": 1e-3,
        }
        spec = TrialSpec.from_config(config)
        run_trial(spec, report=lambda m, c: None, artifacts=root / "a")  # warm caches and imports

        def direct() -> None:
            run_trial(spec, report=lambda m, c: None, artifacts=root / "a")

        def cold(script: str) -> float:
            """Wall time of a fresh Python process running ``script`` (what every new trial
            process pays: the interpreter, imports, first calls)."""
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, env=child_env)
            return time.perf_counter() - started

        path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
        child_env = {**os.environ, "PYTHONPATH": path}
        cold_trial = (
            "from trainables.config import TrialSpec; from trainables.trial import run_trial; "
            f"run_trial(TrialSpec.from_config({config!r}), report=lambda m, c: None, "
            f"artifacts={str(root / 'a')!r})"
        )
        cold_imports = "import torch, transformers"  # what the anchors' trial processes import

        started = time.perf_counter()
        ray.init(
            address="local",  # its own, not an instance a `ray start` left running
            num_cpus=2,
            include_dashboard=False,
            resources={"TRAIN_DRIVER": 4},
            _temp_dir=str(root / "ray"),
            log_to_driver=False,
        )
        print(f"ray.init: {time.perf_counter() - started:.1f} s (not counted below)")

        def through_tune(executor: str, resources: dict[str, float], n: int) -> None:
            runtime = TrialRuntime(str(root / "a"), str(root / "train"), executor=executor)
            tuner = tune.Tuner(
                tune.with_resources(tune.with_parameters(resweep_trial, runtime=runtime), resources),
                param_space=config,
                run_config=tune.RunConfig(storage_path=str(root / "tune"), name=f"{executor}-{n}", verbose=0),
            )
            results = tuner.fit()
            assert not results.errors, results.errors

        def bare(function: Any, resources: dict[str, float], n: int) -> None:
            tuner = tune.Tuner(
                tune.with_resources(function, resources),
                param_space={"storage": str(root / "train")},
                run_config=tune.RunConfig(
                    storage_path=str(root / "tune"), name=f"{function.__name__}-{n}", verbose=0
                ),
            )
            results = tuner.fit()
            assert not results.errors, results.errors

        def settle(n: int, name: str) -> None:
            """Wait (up to 30 s) until the run's placement groups are gone. Ray's own minimal
            pattern (bare train) was seen to leave its worker group's reservation behind: with two
            CPUs, two leaked ones starved every later trial (the hang at --repeats 3). A leak is
            removed here, and said, so that every run starts on a free machine."""
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                live = [k for k, v in ray.util.placement_group_table().items() if v["state"] != "REMOVED"]
                if not live:
                    return
                time.sleep(0.2)
            from ray.util.placement_group import PlacementGroup

            for key in live:
                ray.util.remove_placement_group(PlacementGroup(ray.PlacementGroupID(bytes.fromhex(key))))
            leaks.append(f"repeat {n + 1} {name}: {len(live)} placement group(s) left after 30 s, removed")

        leaks: list[str] = []
        names = ("direct", "cold trial", "cold imports", "inline", "train", "bare tune", "bare train")
        timings: dict[str, list[float]] = {name: [] for name in names}
        for n in range(args.repeats):
            for name in names:
                started = time.perf_counter()
                if name == "direct":
                    direct()
                elif name == "cold trial":
                    cold(cold_trial)
                elif name == "cold imports":
                    cold(cold_imports)
                elif name == "inline":
                    through_tune("inline", {"cpu": 1}, n)
                elif name == "train":
                    through_tune("train", {"cpu": 0, "TRAIN_DRIVER": 1}, n)
                elif name == "bare tune":
                    bare(_bare_tune, {"cpu": 1}, n)
                else:
                    bare(_bare_train, {"cpu": 0, "TRAIN_DRIVER": 1}, n)
                timings[name].append(time.perf_counter() - started)
                print(f"  repeat {n + 1}: {name} {timings[name][-1]:.2f} s", flush=True)
                settle(n, name)
        ray.shutdown()

    base = statistics.median(timings["direct"])
    print(f"trial run directly (no Ray): {base:.2f} s (median of {args.repeats})")
    for name in ("inline", "train"):
        wall = statistics.median(timings[name])
        print(f"{name:>6} executor through Tune: {wall:.2f} s -> fixed cost {wall - base:.2f} s")
    inline = statistics.median(timings["inline"]) - base
    train = statistics.median(timings["train"]) - base
    if inline > 0:
        print(f"Train job fixed cost / inline fixed cost = {train / inline:.1f}x")
    else:  # the inline path's cost is below the noise of one direct run: no ratio to give
        print(f"Train job fixed cost / inline fixed cost = n/a (inline fixed cost {inline:.2f} s: noise)")
    # The anchors do no work: their wall time is their fixed cost.
    bare_tune = statistics.median(timings["bare tune"])
    bare_train = statistics.median(timings["bare train"])
    print(
        f"anchors: a bare Tune trial {bare_tune:.2f} s; Ray's own Tune + one-worker TorchTrainer"
        f" {bare_train:.2f} s"
    )
    print(
        f"resweep / Ray's own: inline {inline / bare_tune:.2f}x a bare Tune trial; Train job"
        f" {train / bare_train:.2f}x Ray's Tune + TorchTrainer (goal <= 1.3x:"
        f" {'met' if train <= 1.3 * bare_train else 'NOT met'})"
    )
    # Every Train trial runs in fresh worker processes (Train starts a worker group per fit), and
    # the anchors' workers only import torch and transformers. What a fresh process pays to run
    # this trial beyond those imports (the model code transformers loads on first use, first calls,
    # the trial's own work) is the trial's, whatever runs it: measured apart, without Ray.
    cold_extra = statistics.median(timings["cold trial"]) - statistics.median(timings["cold imports"])
    print(
        f"a fresh process: the trial {statistics.median(timings['cold trial']):.2f} s, importing torch and "
        f"transformers {statistics.median(timings['cold imports']):.2f} s: the trial's cold cost beyond "
        f"the anchors' imports {cold_extra:.2f} s (run warm: {base:.2f} s)"
    )
    print(
        f"without it, the machinery: inline {(inline + base - cold_extra) / bare_tune:.2f}x a bare Tune "
        f"trial; Train job {(train + base - cold_extra) / bare_train:.2f}x Ray's Tune + TorchTrainer"
    )
    for leak in leaks:
        print(f"Ray left a reservation: {leak}")


if __name__ == "__main__":
    main()
