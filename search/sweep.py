"""The sweep driver: Ray Tune schedules, Optuna proposes, one study and one budget per size.

Layout of a sweep under its storage folder::

    <storage>/<name>/sweep.yaml        the validated config (``resweep resume NAME`` needs nothing else)
                     optuna.db         Optuna studies, one per in-domain size (SQLite; query with Optuna)
                     tune/<size>/      Tune experiments (restorable), one per size
                     train/            Ray Train runs (multi-worker / GPU trials)
                     artifacts/        phase-1 artifacts shared by all trials and sizes
                     results/          the results store (Parquet)

The in-domain size is a context, not a hyper-parameter: each size has its own Optuna study,
searcher and budget. The space proposes the rest; the sweep fixes datasets, size, seed, encoder.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
import yaml
from ray.tune.search.optuna import OptunaSearch

from spaces import define_by_run, get_space
from trainables.config import TrialSpec

from .config import SweepConfig, load_sweep_config
from .results import ResultsStore, result_row

__all__ = ["SweepInterrupted", "SweepPaths", "run_sweep", "size_key", "sweep_trial"]


class SweepInterrupted(RuntimeError):
    """The sweep stopped before every size spent its budget (Ctrl-C, a lost driver...)."""


SCHEDULER_TIME = "final_stage_epochs"  # see trainables.loop: pre-training epochs do not count


def size_key(size: float | int) -> str:
    """``0.1`` -> ``id0.1``, ``3000`` -> ``id3000`` (folder and study names)."""
    return f"id{size:g}" if isinstance(size, float) else f"id{size}"


@dataclass(frozen=True)
class SweepPaths:
    root: Path

    @classmethod
    def of(cls, storage: str | Path, name: str) -> SweepPaths:
        return cls(Path(storage).resolve() / name)

    @property
    def config(self) -> Path:
        return self.root / "sweep.yaml"

    @property
    def studies(self) -> Path:
        return self.root / "optuna.db"

    def tune(self, size: float | int) -> Path:
        return self.root / "tune" / size_key(size)

    @property
    def train(self) -> Path:
        return self.root / "train"

    @property
    def artifacts(self) -> Path:
        return self.root / "artifacts"

    @property
    def results(self) -> ResultsStore:
        return ResultsStore(self.root)


def trial_label(config: Mapping[str, Any]) -> str:
    """``{architecture}_{strategy}_{imbalance}_id{size}_ood{ood}_s{seed}`` (STYLE's run names)."""
    size = config.get("in_domain_size", 1.0)
    return (
        f"{config.get('architecture')}_{config.get('strategy')}_{config.get('imbalance')}"
        f"_id{size:g}_ood{float(config.get('ood_pct') or 0):g}_s{config.get('seed', 0)}"
    )


# Keys Tune adds to every result itself; a replayed report must not carry them.
_TUNE_FILLED = frozenset(
    {
        "done",
        "training_iteration",
        "trial_id",
        "date",
        "timestamp",
        "time_this_iter_s",
        "time_total_s",
        "pid",
        "hostname",
        "node_ip",
        "time_since_restore",
        "iterations_since_restore",
        "experiment_tag",
        "checkpoint_dir_name",
        "should_checkpoint",
        "config",
    }
)


def trial_config(tune_config: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's flat config: the space's proposal under the sweep's fixed context."""
    valid = set(TrialSpec.valid_keys())
    proposal = tune_config.get("grid", tune_config)  # a grid trial's config arrives whole
    # Define-by-run spaces return the whole flat trial config as constants; the raw Optuna
    # parameter names beside them (e.g. "two-phase.learning_rate") are not trial keys. The
    # sweep's context (datasets, size, seed, encoder, its fixed `trial:` keys) wins.
    return {**{k: v for k, v in proposal.items() if k in valid}, **context}


def trial_name(config: Mapping[str, Any], trial_id: str) -> str:
    """Stable: the compositional label, the config hash (seed included) and Tune's trial id."""
    return f"{trial_label(config)}_{TrialSpec.from_config(config).key()[:8]}_{trial_id}"


def sweep_trial(config: dict[str, Any], runtime: Any, context: Mapping[str, Any]) -> None:
    """The Tune trainable of a sweep. A trial that already has a finished row in the results store
    (it ended after Tune last saved its own state, then the driver died) is not run again: it
    reports its stored result and returns."""
    from ray import tune

    from trainables.ray_adapter import resweep_trial

    full = trial_config(config, context)
    store = ResultsStore(Path(runtime.artifacts).parent)
    done = store.get(trial_name(full, tune.get_context().get_trial_id()))
    if done is not None and done["status"] == "finished":
        stored = json.loads(done["last_report"])
        tune.report({k: v for k, v in stored.items() if k not in _TUNE_FILLED})
        return
    resweep_trial(full, runtime)


class _ResultsCallback:
    """Tune callback: one results-store row per trial that ends (finished, stopped or errored)."""

    def __init__(
        self, sweep: str, store: ResultsStore, context: Mapping[str, Any], resources: Mapping[str, float]
    ):
        self.sweep = sweep
        self.store = store
        self.context = dict(context)
        self.resources = dict(resources)

    def _row(self, trial: Any, status: str) -> None:
        config = trial_config(trial.config, self.context)
        metrics = trial.last_result or {}
        if status == "finished" and metrics.get("selected_epoch") is None:
            status = "error"
        name = trial_name(config, trial.trial_id)
        previous = self.store.get(name)
        if previous is not None and previous["status"] == "finished":
            return  # written before a crash; the replay after resume changes nothing
        self.store.add(
            result_row(
                sweep=self.sweep,
                trial_name=name,
                status=status,
                config=config,
                metrics=metrics,
                resources=self.resources,
                finished_at=datetime.now(UTC),
            )
        )


def _tune_callback(
    sweep: str, store: ResultsStore, context: Mapping[str, Any], resources: Mapping[str, float]
) -> Any:
    from ray import tune

    class ResultsCallback(tune.Callback, _ResultsCallback):
        def __init__(self) -> None:
            tune.Callback.__init__(self)
            _ResultsCallback.__init__(self, sweep, store, context, resources)

        def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            self._row(trial, "finished")

        def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            self._row(trial, "error")

    return ResultsCallback()


def connect(address: str | None, *, num_cpus: int | None = None) -> None:
    """Join ``address`` (or ``$RAY_ADDRESS``), else start an embedded local Ray bound to 127.0.0.1."""
    import ray

    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.5")
    address = address or os.environ.get("RAY_ADDRESS")
    if address:
        ray.init(address=address, log_to_driver=False)
        return
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private local instance
    temp_dir = os.environ.get("RESWEEP_RAY_TEMP_DIR")  # where the local Ray keeps its session files
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        resources={"TRAIN_DRIVER": 64},
        log_to_driver=False,
        _temp_dir=temp_dir,
    )


def _searcher(config: SweepConfig, paths: SweepPaths, size: float | int, metric: str) -> Any:
    from ray.tune.search import ConcurrencyLimiter

    seed = config.data.seeds[0]
    sampler = (
        optuna.samplers.TPESampler(seed=seed)
        if config.search.searcher == "tpe"
        else (optuna.samplers.RandomSampler(seed=seed))
    )
    storage = optuna.storages.RDBStorage(f"sqlite:///{paths.studies}")
    searcher = ResumableOptunaSearch(
        space=functools.partial(define_by_run, space=config.search.space),
        metric=metric,
        mode="max",
        sampler=sampler,
        study_name=f"{config.name}-{size_key(size)}",
        storage=storage,
    )
    return ConcurrencyLimiter(searcher, max_concurrent=config.search.max_concurrent)


class ResumableOptunaSearch(OptunaSearch):
    """OptunaSearch that survives a driver killed between a trial's end and Tune's next save.

    Optuna already holds that trial as finished, Tune replays it after the restore, and plain
    OptunaSearch then fails with UpdateFinishedTrialError. Intermediate values are not sent at all
    (ASHA, not an Optuna pruner, stops trials), and a finished trial is not told twice.
    """

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        pass

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        try:
            super().on_trial_complete(trial_id, result, error)
        except optuna.exceptions.UpdateFinishedTrialError:
            self._ot_trials.pop(trial_id, None)


def _scheduler(config: SweepConfig, metric: str) -> Any:
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    if config.search.scheduler == "fifo":
        return FIFOScheduler()
    # max_t well above any epoch budget: ASHA must never stop a trial at its last report.
    return ASHAScheduler(
        time_attr=SCHEDULER_TIME, metric=metric, mode="max", max_t=10_000, grace_period=1, reduction_factor=2
    )


def _runtime(config: SweepConfig, paths: SweepPaths) -> tuple[Any, dict[str, float]]:
    from trainables.ray_adapter import TrialRuntime, choose_executor

    resources = config.resources
    executor = resources.executor if resources.executor != "auto" or resources.gpus == 0 else "train"
    runtime = TrialRuntime(
        str(paths.artifacts),
        str(paths.train),
        executor=executor,
        num_workers=resources.workers,
        use_gpu=resources.gpus > 0,
        cpus_per_worker=resources.cpus,
    )
    if choose_executor(runtime) == "inline":
        return runtime, {"cpu": resources.cpus}
    # The trial's driver takes a custom resource, not a CPU its own Train workers would need.
    return runtime, {"cpu": 0, "TRAIN_DRIVER": 1}


def write_sweep_config(config: SweepConfig, paths: SweepPaths) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    document = {
        "name": config.name,
        "data": {
            **asdict(config.data),
            "sizes": list(config.data.sizes),
            "seeds": list(config.data.seeds),
            "label_mapping": dict(config.data.label_mapping),
        },
        "search": asdict(config.search),
        "resources": asdict(config.resources),
        "encoder": config.encoder,
        "storage": config.storage,
        "trial": dict(config.trial),
    }
    temporary = paths.config.with_name(".sweep.yaml.tmp")
    temporary.write_text(yaml.safe_dump(document, sort_keys=False))
    os.replace(temporary, paths.config)


def load_saved_sweep(storage: str | Path, name: str) -> tuple[SweepConfig, SweepPaths]:
    paths = SweepPaths.of(storage, name)
    if not paths.config.is_file():
        raise FileNotFoundError(f"{paths.root}: no sweep named {name!r} here (no sweep.yaml)")
    # The storage given now wins over the (possibly relative) one saved with the config.
    return replace(load_sweep_config(paths.config), storage=str(paths.root.parent)), paths


def run_sweep(
    config: SweepConfig,
    *,
    address: str | None = None,
    resume: bool = False,
    verbose: int = 1,
    trial_function: Any = None,
) -> Any:
    """Run (or resume) every size's search; return the results table.

    ``trial_function(config, runtime, context)`` replaces the trial itself (benchmarks of the
    machinery use a stand-in that sleeps); it must report like a trial does.
    """
    from ray import tune

    paths = SweepPaths.of(config.storage, config.name)
    if not resume and paths.root.exists() and any(paths.root.iterdir()):
        raise FileExistsError(
            f"{paths.root}: a sweep named {config.name!r} exists; `resweep resume {config.name}` "
            "continues it, or pick another name (--name)"
        )
    write_sweep_config(config, paths)
    connect(address)
    runtime, resources = _runtime(config, paths)
    metric = f"dev_{config.search.selection_metric}"
    per_trial = {
        "cpus": config.resources.cpus,
        "gpus": config.resources.gpus,
        "workers": config.resources.workers,
    }
    space = get_space(config.search.space)
    grid = space.grid() if config.search.searcher == "grid" else None
    if config.search.searcher == "grid" and grid is None:
        raise ValueError(f"search space {config.search.space!r} has no grid; use searcher tpe or random")
    function = trial_function or (sweep_trial if grid is None else _grid_trial)
    for size in config.data.sizes:
        context = {k: v for k, v in config.trial_context(size, config.data.seeds[0]).items() if v is not None}
        trainable = tune.with_resources(
            tune.with_parameters(function, runtime=runtime, context=context), resources
        )
        experiment = paths.tune(size)
        budget = min(len(grid), config.search.budget) if grid is not None else config.search.budget
        ended = _ended(paths, size)
        if ended >= budget:
            continue  # this size is done (a resume after a later size was interrupted)
        if resume and tune.Tuner.can_restore(str(experiment)):
            tuner = tune.Tuner.restore(str(experiment), trainable=trainable, resume_errored=True)
        else:
            if experiment.exists():
                shutil.rmtree(experiment)
            tuner = tune.Tuner(
                trainable,
                param_space={"grid": tune.grid_search(grid[ended:budget])} if grid is not None else None,
                tune_config=tune.TuneConfig(
                    search_alg=None if grid is not None else _searcher(config, paths, size, metric),
                    scheduler=_scheduler(config, metric),
                    # After a crash before Tune saved its state, only what is missing runs again.
                    num_samples=1 if grid is not None else budget - ended,
                    # The searcher has its own ConcurrencyLimiter; a grid needs Tune's limit.
                    max_concurrent_trials=config.search.max_concurrent if grid is not None else None,
                    # One trial process per slot, reused: no process start and no torch import per
                    # trial (seconds each on a small machine; trials seed themselves).
                    reuse_actors=True,
                ),
                run_config=tune.RunConfig(
                    name=size_key(size),
                    storage_path=str(paths.root / "tune"),
                    callbacks=[_tune_callback(config.name, paths.results, context, per_trial)],
                    failure_config=tune.FailureConfig(max_failures=1),
                    verbose=verbose,
                ),
            )
        tuner.fit()
        # The results store, not Tune or Optuna, says what finished (an errored trial resumed by
        # Tune is already FAIL in its Optuna study). Fewer rows than the budget: interrupted.
        if _ended(paths, size) < budget:
            raise SweepInterrupted(
                f"sweep {config.name!r} stopped at size {size} with {_ended(paths, size)}/{budget} trials; "
                f"continue with `resweep resume {config.name} --storage {config.storage}`"
            )
    paths.results.compact()
    return paths.results.read()


def _ended(paths: SweepPaths, size: float | int) -> int:
    """Trials of ``size`` with a row in the results store (finished or errored)."""
    table = paths.results.read()
    return sum(1 for value in table["in_domain_size"].to_pylist() if value == float(size))


def _grid_trial(config: dict[str, Any], runtime: Any, context: Mapping[str, Any]) -> None:
    """Grid search: the configuration arrives whole under ``grid``."""
    sweep_trial(dict(config["grid"]), runtime, context)
