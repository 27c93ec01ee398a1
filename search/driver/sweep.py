"""The sweep driver: Ray Tune schedules, Optuna proposes, one study and one budget per size.

Layout of a sweep under its storage folder::

    <storage>/<name>/sweep.yaml        the validated config (``resweep resume NAME`` needs nothing else)
                     optuna.db         Optuna studies, one per in-domain size (SQLite; query with Optuna)
                     tune/trials/      the Tune experiment (restorable): every size's trials
                     train/            Ray Train runs (multi-worker / GPU trials)
                                       (epoch checkpoints: only what a resume needs, see .checkpoints)
                     artifacts/        phase-1 artifacts shared by all trials and sizes
                     results/          the results store (Parquet)
                     driver.lock       the process driving the sweep now (search.lock)

``<storage>`` is a local or shared (NFS) folder, or an object store (``s3://bucket/prefix``,
``gs://...``; :mod:`cluster.storage`). Everything above is then read and written through pyarrow
there, except the SQLite studies: SQLite needs file locks, so the driver works on a local copy
and saves it into ``tune/trials/`` each time Tune saves its own state (and the searcher's), so a
resume finds the study as it was when Tune's state was saved. A database server
(``search.study_storage``) avoids the copy.

The in-domain size is a context, not a hyper-parameter: each size has its own Optuna study,
searcher, budget and ASHA brackets (:mod:`search.driver.searchers`, :mod:`search.driver.schedulers`), and all
sizes run in one Tune experiment, so they proceed concurrently and share the cluster. The space
proposes the rest; the sweep fixes datasets, size, seed, encoder.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shlex
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ray import tune
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback

from cluster.connect import connect
from cluster.storage import Location, shared_on_copy
from trainables.report_keys import selected_key

from ..config import SweepConfig, parse_sweep_text, size_key
from ..lock import check_free, sweep_lock
from ..manifest import manifest, write_manifest
from ..plan import (
    SweepPaths,
    SweepPlan,
    configuration_key,
    context_of,
    plan_sweep,
    remaining_work,
    sweep_document,
    trial_config,
    trial_name,
    write_sweep_config,
)
from ..sizes import InDomainSize, size_text

# SweepCallback is named here too: Tune experiments pickled before it moved refer to it by this module.
from .callback import ENDED_OK, SweepCallback, SweepRun, set_active
from .ended_trials import forget_stored_trials
from .preflight import check_inputs
from .progress import LatestLook
from .schedulers import make_scheduler
from .searchers import STUDY_COPY, Confirmation, Restart, Slots, StoreRuns, hand_over, make_searcher
from .studies import check_studies, sync_studies
from .usage_tags import callback_tags_from_names
from .warm_slots import keep_idle_processes

__all__ = ["SweepInterrupted", "SweepPaths", "run_sweep", "size_key", "sweep_trial"]


class SweepInterrupted(RuntimeError):
    """The sweep stopped before every size spent its budget (Ctrl-C, a lost driver...)."""


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


def sweep_trial(
    config: dict[str, Any],
    runtime: Any,
    contexts: Mapping[str, Mapping[str, Any]],
    ended: Mapping[str, str] | None = None,
) -> None:
    """The Tune trainable of a sweep. A trial that already has an ended row in the results store
    (it ended after Tune last saved its own state, then the driver died) is not run again: it
    reports its stored result and returns. ``ended`` holds those rows' last reports by trial name
    (:func:`_ended_reports`, read by the driver once): a trial asks no store of its own."""
    from trainables.ray_adapter import resweep_trial

    full = trial_config(config, context_of(config, contexts))
    done = (ended or {}).get(trial_name(full, tune.get_context().get_trial_id()))
    if done is not None:
        stored = json.loads(done)
        tune.report({k: v for k, v in stored.items() if k not in _TUNE_FILLED})
        return
    resweep_trial(full, runtime)


def _ended_reports(rows: list[dict[str, Any]], restores: Mapping[str, Any]) -> dict[str, str]:
    """The last reports of the trials Tune's saved experiment runs again (``restores``, by trial
    id) that have an ended row in the store, by trial name: all a restored experiment's trials
    may find of their own (a new experiment's trial ids are new, so none of its trials has a row)."""
    suffixes = tuple(f"_{trial_id}" for trial_id in restores)
    return {
        row["trial_name"]: row["last_report"]
        for row in rows
        if row["status"] in ENDED_OK and row["last_report"] and row["trial_name"].endswith(suffixes)
    }


def _runtime(
    config: SweepConfig, paths: SweepPaths, cluster: Mapping[str, float]
) -> tuple[Any, dict[str, float]]:
    from trainables.runtime import TrialRuntime

    resources = config.resources
    runtime = TrialRuntime(
        str(paths.artifacts),
        str(paths.train),
        executor=resources.resolved_executor,
        num_workers=resources.workers,
        use_gpu=resources.gpus > 0,
        cpus_per_worker=resources.cpus,
        gpus_per_worker=resources.gpus,
        keep_checkpoints=config.search.keep_checkpoints,
    )
    return runtime, resources.request(cluster)


def run_sweep(
    config: SweepConfig,
    *,
    address: str | None = None,
    resume: bool = False,
    verbose: int = 1,
    trial_function: Any = None,
    dashboard: str | None = None,
    rebuild_studies: bool = False,
    kind: str | None = None,
) -> Any:
    """Run, resume or (a config :func:`search.driver.extend.extend_config` grew) extend the sweep: every
    size's search in one Tune experiment; return the results.

    The results store is the truth. A resume first continues Tune's saved experiment, if there
    is one it can restore (trials cut off mid-way go on from their checkpoints; rows the store
    lost are written again from Tune's trial results). If the sweep then still lacks trials — a
    larger budget, new sizes or seeds, Tune's state gone or damaged — a new experiment runs just
    what is missing, its studies first made to agree with the store (:mod:`search.driver.studies`).

    ``verbose``: 0 silent, 1 resweep's progress view, 2 also Tune's own status tables.
    ``trial_function(config, runtime, contexts)`` replaces the trial itself (benchmarks of the
    machinery use a stand-in that sleeps); it must report like a trial does. ``dashboard``: the
    host the embedded local Ray's dashboard binds to (None: no dashboard). ``rebuild_studies``:
    move the SQLite studies aside (damaged) and rebuild them from the results store. ``kind``
    names the run in its manifest (default ``sweep``, or ``resume``; extensions say ``extend``).
    One process drives a sweep at a time (:mod:`search.lock`): while another does, a resume (or
    extension) is refused, naming it.
    """
    paths = SweepPaths.of(config.storage, config.name)
    if not resume and not paths.root.is_empty():
        raise FileExistsError(
            f"{paths.root}: a sweep named {config.name!r} exists; `resweep resume {config.name}` "
            "continues it, or pick another name (--name)"
        )
    if resume:
        check_free(paths.root, config.name)  # another live driver is named before any work
    plan = plan_sweep(config)
    datasets = check_inputs(config, plan)  # what every trial would fail on, before Ray or the folder
    _check_local_resources(config, address)  # a trial local Ray can never start: refused, not awaited
    with sweep_lock(paths.root, config.name):  # one driver at a time (search.lock)
        return _drive(
            config,
            paths,
            plan,
            datasets,
            address=address,
            resume=resume,
            verbose=verbose,
            trial_function=trial_function,
            dashboard=dashboard,
            rebuild_studies=rebuild_studies,
            kind=kind,
        )


def _check_local_resources(config: SweepConfig, address: str | None) -> None:
    """Refuse, at the ``resources:`` key, a trial the local Ray can never start (it cannot grow:
    Tune would wait for ever), before Ray starts or the sweep's folder is made. A cluster
    (``--address``, ``$RAY_ADDRESS``) is judged once joined, on its reported total
    (:meth:`cluster.resources.TrialResources.concurrency`): an autoscaler may add what it lacks."""
    import ray

    from cluster.resources import local_resources

    if address or os.environ.get("RAY_ADDRESS"):
        return
    if ray.is_initialized():
        have, where = ray.cluster_resources(), "the running Ray"
    else:
        # GPUs counted only where a trial asks for them (counting imports torch).
        have, where = local_resources(gpus=config.resources.gpus > 0), "local Ray (this machine)"
    short = config.resources.shortfall(have, where)
    if short is not None:
        raise config.error(f"resources.{short[0]}", short[1])


def _drive(
    config: SweepConfig,
    paths: SweepPaths,
    plan: SweepPlan,
    datasets: dict[str, Any],
    *,
    address: str | None,
    resume: bool,
    verbose: int,
    trial_function: Any,
    dashboard: str | None,
    rebuild_studies: bool,
    kind: str | None,
) -> Any:
    """:func:`run_sweep` once its inputs are checked and it holds the sweep's lock."""
    restorable = resume and not rebuild_studies and tune.Tuner.can_restore(*_tune_storage(paths.tune))
    if _mirrors_study(config, paths):
        _fetch_study(paths, restorable)
    check_studies(config, paths, rebuild=rebuild_studies, verbose=verbose)
    kind = kind or _run_kind(config, paths, resume)
    hub = _tracking_hub(config, paths, plan)  # a tracker's missing package: an error before Ray starts
    write_sweep_config(config, paths)
    rows = paths.results.read().to_pylist()
    if resume:
        rows = _rows_back(paths, rows, verbose)
    if not _short(plan, rows):  # nothing is missing (and so nothing in Tune's state to recover)
        return _close_ended(
            config, plan, paths, rows, hub, resume=resume, rebuild_studies=rebuild_studies, verbose=verbose
        )

    concurrency, cluster_resources = _join_cluster(config, address, dashboard, verbose)
    runtime, resources = _runtime(config, paths, cluster_resources)
    record = manifest(sweep_document(config), datasets, kind=kind, cluster=cluster_resources)
    manifest_id = write_manifest(paths.root / "manifests", record)

    def trainable(ended: Mapping[str, str] | None = None) -> Any:
        parameters: dict[str, Any] = {"runtime": runtime, "contexts": plan.contexts}
        if trial_function is None:  # a stand-in trial is not handed the stored reports
            parameters["ended"] = ended
        function = trial_function or sweep_trial
        return tune.with_resources(tune.with_parameters(function, **parameters), resources)

    run = functools.partial(
        _run_state, config, plan, paths, verbose=verbose, manifest_id=manifest_id, hub=hub
    )
    interrupted, ran = False, False
    exhausted: dict[str, tuple[int, int]] = {}
    with _tune_output(verbose):
        if hub is not None:
            hub.start(resuming=resume, prior=rows)
        try:
            if restorable:
                interrupted, rows = _continue_saved(plan, paths, trainable, rows, run, concurrency)
            if not interrupted and _short(plan, rows):
                paths.tune.remove_tree()  # what it held that ended is in the results store now
                sync_studies(config, plan, paths, rows, verbose)
                tuner, searcher = _new_tuner(config, plan, paths, trainable(), rows, verbose, concurrency)
                interrupted = _fit(tuner, run(rows, last=True), concurrency)
                exhausted = searcher.exhausted
            ran = not interrupted
        finally:
            set_active(None)
            if hub is not None:
                hub.close(complete=ran)
    return _conclude(config, plan, paths, interrupted=interrupted, exhausted=exhausted, verbose=verbose)


def _rows_back(paths: SweepPaths, rows: list[dict[str, Any]], verbose: int) -> list[dict[str, Any]]:
    """The store's rows, with those it lacks (a lost or moved store) written back from the copy
    the Tune experiment keeps of the trials it let go of (:attr:`SweepPaths.tune_rows`); the rows
    of trials Tune still holds come back from Tune's results (``SweepCallback._recover``)."""
    try:
        copied = paths.tune_rows.read().to_pylist()
    except (OSError, ValueError) as err:  # StorageError is a ValueError, ArrowInvalid too
        print(f"resweep: warning: {paths.tune_rows.folder}: cannot be read ({err})", file=sys.stderr)
        return rows
    have = {row["trial_name"] for row in rows}
    # a trial let go twice (its first let-go's save cut short by a crash) is copied twice: once here
    lost = list({row["trial_name"]: row for row in copied if row["trial_name"] not in have}.values())
    if not lost:
        return rows
    # One write for them all, folded into the store's table, where a trial's row is found by name
    # (a lost store of thousands: not a request per row)
    paths.results.add_rows(lost, part=f"rows-back-{time.time_ns()}")
    paths.results.compact()
    if verbose >= 1:
        print(
            f"resweep: {len(lost)} rows the results store lacked written back from {paths.tune_rows.folder}",
            file=sys.stderr,
        )
    return paths.results.read().to_pylist()


def _close_ended(
    config: SweepConfig,
    plan: SweepPlan,
    paths: SweepPaths,
    rows: list[dict[str, Any]],
    hub: Any,
    *,
    resume: bool,
    rebuild_studies: bool,
    verbose: int,
) -> Any:
    """A sweep with nothing missing: its studies rebuilt if asked, its store compacted, trackers
    turned on for it given its trials; its results."""
    if rebuild_studies:
        sync_studies(config, plan, paths, rows, verbose)
    paths.results.compact()
    if hub is not None:  # trackers turned on for an ended sweep: they get its trials
        hub.start(resuming=resume, prior=rows)
        hub.close(complete=True)
    return paths.results.read()


def _join_cluster(
    config: SweepConfig, address: str | None, dashboard: str | None, verbose: int
) -> tuple[int, dict[str, float]]:
    """Connect to Ray (or start a local one); (trials at once, the cluster's resources)."""
    import ray

    cluster = connect(address, dashboard=dashboard is not None, dashboard_host=dashboard or "127.0.0.1")
    concurrency, warning = config.resources.concurrency(config.search.max_concurrent, ray.cluster_resources())
    if verbose >= 1:
        print(f"resweep: {cluster.describe()}; {concurrency} trial(s) at once", file=sys.stderr)
        if warning:
            print(f"resweep: warning: {warning}", file=sys.stderr)
    return concurrency, ray.cluster_resources()


@contextlib.contextmanager
def _tune_output(verbose: int) -> Iterator[None]:
    """Tune's own console output (an experiment banner even when told to be silent) only with
    verbose >= 2; resweep's progress view replaces it. Tune's default loggers off (the
    TensorBoard one imports torch into the driver, 2 s here); CSV and JSON only where the config
    asks (:func:`_tune_loggers`). Tune's own log lines ("Wrote the latest version of all result files", its
    `Tuner.restore(...)` hint beside resweep's own) only with verbose >= 2; errors always."""
    tune_env = {"TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1"}
    if verbose < 2:
        tune_env["RAY_AIR_NEW_OUTPUT"] = "0"
    saved_env = {k: os.environ.get(k) for k in tune_env}
    os.environ.update(tune_env)
    tune_log = logging.getLogger("ray.tune")
    saved_level = tune_log.level
    if verbose < 2:
        tune_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        tune_log.setLevel(saved_level)
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _continue_saved(
    plan: SweepPlan,
    paths: SweepPaths,
    trainable: Callable[[Mapping[str, str]], Any],
    rows: list[dict[str, Any]],
    run: Callable[[list[dict[str, Any]]], SweepRun],
    concurrency: int,
) -> tuple[bool, list[dict[str, Any]]]:
    """Continue Tune's saved experiment: (whether it was interrupted, the store's rows after it).
    Saved state Tune cannot restore is left for a new experiment (a warning, nothing run)."""
    path, filesystem = _tune_storage(paths.tune)
    restores = _tune_restores(paths.tune)
    try:
        tuner = tune.Tuner.restore(
            path,
            trainable=trainable(_ended_reports(rows, restores)),
            resume_errored=True,
            storage_filesystem=filesystem,
        )
    except Exception as err:  # Tune's saved state is damaged: the results store is the truth
        print(
            f"resweep: warning: {paths.tune}: Tune's saved state cannot be restored "
            f"({type(err).__name__}: {err}); running what is missing from the results store",
            file=sys.stderr,
        )
        return False, rows
    # what ended after Tune's last save is in the store, not in the searcher it restores; what
    # Tune runs again may be newer than that searcher's state (see StoreRuns.restored)
    hand_over(replace(_store_runs(plan, rows), restored=restores))
    try:
        interrupted = _fit(tuner, run(rows), concurrency)
    finally:
        hand_over(None)
    return interrupted, paths.results.read().to_pylist()


def _conclude(
    config: SweepConfig,
    plan: SweepPlan,
    paths: SweepPaths,
    *,
    interrupted: bool,
    exhausted: Mapping[str, tuple[int, int]],
    verbose: int,
) -> Any:
    """The sweep's results once its experiments ended, or the error saying why it has none yet."""
    # The results store, not Tune or Optuna, says what ended (an errored trial resumed by Tune is
    # already FAIL in its Optuna study). Fewer rows than the budget: interrupted, or cells whose
    # every proposal repeats an ended configuration (they have nothing left to try).
    table, parts = paths.results.snapshot()  # one read of the store (a request per part in object storage)
    rows = table.to_pylist()
    short = _short(plan, rows)
    if short and interrupted:
        raise SweepInterrupted(
            f"sweep {config.name!r} stopped before its budget (ended/budget per size: {', '.join(short)}); "
            f"continue with `resweep resume {config.name} --storage {shlex.quote(config.storage)}`"
        )
    if short and not exhausted:
        raise SweepIncomplete(
            f"sweep {config.name!r} ended short of its budget (ended/budget per size: {', '.join(short)}) "
            "although nothing stopped it; its trials' rows are missing from the results store under "
            f"{paths.results.folder}"
        )
    if exhausted and verbose >= 1:
        for slot, (ran, budget) in exhausted.items():
            print(
                f"resweep: warning: {slot}: every configuration the space proposes has run "
                f"({ran} of its {budget} search trials): the rest of its budget cannot be spent",
                file=sys.stderr,
            )
    paths.results.fold(table, parts)
    if paths.tune_rows.parts.children(".parquet"):  # one file for the copies made at each save
        paths.tune_rows.compact()
    failed = _all_failed(plan, rows)
    if failed:
        raise SweepFailed(
            f"sweep {config.name!r}: every search trial failed at {failed}; remove {paths.root} "
            f"to run it again under this name once the cause is fixed"
        )
    return table


class SweepFailed(RuntimeError):
    """Every search trial of some size failed: the sweep has no answer there."""


def _all_failed(plan: SweepPlan, rows: list[dict[str, Any]]) -> str:
    """``size 0.1 (12 of 12; the first: <its error>)`` for sizes whose search trials all failed."""
    failed = []
    for key, size in plan.sizes.items():
        search = plan.rows_of(key, rows, "search")
        if search and all(r["status"] == "error" for r in search):
            first = next((r["error"] for r in search if r.get("error")), None)
            why = f"; the first: {first}" if first else ""
            failed.append(f"size {size_text(size)} ({len(search)} of {len(search)}{why})")
    return ", ".join(failed)


class SweepIncomplete(RuntimeError):
    """The sweep ran to its end, yet rows are missing (resuming would not add them)."""


def _run_kind(config: SweepConfig, paths: SweepPaths, resume: bool) -> str:
    """``sweep``, ``extend`` (the config records an extension the saved one lacks) or ``resume``."""
    if not resume:
        return "sweep"
    try:
        saved = parse_sweep_text(paths.config.read_text(), source=str(paths.config))
    except (OSError, ValueError):
        return "resume"
    return "extend" if len(config.extensions) > len(saved.extensions) else "resume"


def _short(plan: SweepPlan, rows: list[dict[str, Any]]) -> list[str]:
    """``size ended/expected`` for each size with fewer ended trials than it will have."""
    return [
        f"{plan.sizes[key]:g} {ended}/{expected}"
        for key in plan.sizes
        if (ended := _ended(rows, plan.sizes[key])) < (expected := plan.expected(key, rows))
        or any(remaining_work(plan, slot, rows) for slot, (k, _) in plan.slots.items() if k == key)
    ]


def _run_state(
    config: SweepConfig,
    plan: SweepPlan,
    paths: SweepPaths,
    rows: list[dict[str, Any]],
    verbose: int,
    manifest_id: str,
    hub: Any = None,
    last: bool = False,
) -> SweepRun:
    """What the callback of one Tune experiment needs. ``last``: no experiment follows it (a
    restored one may be followed by a new one for what is still missing: whether the sweep is
    over then takes a read of the whole store, a request per part in object storage)."""
    if last:
        complete: Callable[[], bool] = lambda: True  # noqa: E731
    else:
        complete = lambda: not _short(plan, paths.results.read().to_pylist())  # noqa: E731
    return SweepRun(
        sweep=config.name,
        store=paths.results,
        contexts=plan.contexts,
        resources={
            "cpus": config.resources.cpus,
            "gpus": config.resources.gpus,
            "workers": config.resources.workers,
        },
        budgets={key: plan.planned(key) for key in plan.sizes},
        metric=plan.metric,
        show_progress=verbose >= 1,
        prior=rows,
        complete=complete,
        manifest=manifest_id,
        builds=LatestLook(functools.partial(_builds, paths)),
        tracking=hub,
        checkpoints=None if config.search.keep_checkpoints else (paths.tune, paths.train),
        tune_rows=paths.tune_rows,
    )


def _tracking_hub(config: SweepConfig, paths: SweepPaths, plan: SweepPlan) -> Any:
    """The sweep's trackers (None when tracking is off); see :mod:`search.tracking`."""
    if not config.tracking.on:
        return None
    from ..tracking import TrackingHub, tracking_folder

    def sizes_done(final: bool = False) -> dict[str, int]:
        """The sizes with every row they will have (``final``: with any row), and their rows."""
        rows = paths.results.read().to_pylist()
        done = {}
        for key, size in plan.sizes.items():
            ended = _ended(rows, size)
            slots = [slot for slot, (k, _) in plan.slots.items() if k == key]
            if (final and ended) or (
                ended >= plan.expected(key, rows) and not any(remaining_work(plan, s, rows) for s in slots)
            ):
                done[key] = ended
        return done

    return TrackingHub(
        config.tracking,
        config.name,
        tracking_folder(paths.root),
        sizes_done=sizes_done,
        size_files=functools.partial(_size_files, config.name, str(paths.storage)),
    )


def _size_files(sweep: str, storage: str, size: str, folder: Path) -> dict[str, Path]:
    """Write size ``size``'s leaderboard (CSV) and the report's plots (all sizes so far) into
    ``folder``; return them by artifact path (``leaderboard/id0.1.csv``, ``report/...png``).
    What the trackers log once a size is done: handed to them, so that tracking imports neither
    the leaderboard nor the report."""
    from ..answer.leaderboard import leaderboard
    from ..answer.report import write_board_csv, write_report

    folder.mkdir(parents=True, exist_ok=True)
    boards = leaderboard(sweep, storage=storage)
    files: dict[str, Path] = {}
    mine = [b for b in boards if size_key(float(b.size)) == size]  # id0.1, id300 (a count's too)
    entries = [row for board in mine for row in board.summary_rows()]
    if entries:
        board_file = folder / "leaderboard" / f"{size}.csv"  # the file's name is the artifact's
        board_file.parent.mkdir(parents=True, exist_ok=True)
        with board_file.open("w", newline="") as handle:
            write_board_csv(entries, handle)
        files[f"leaderboard/{size}.csv"] = board_file
    if any(b.entries for b in boards):
        rows = SweepPaths.of(storage, sweep).results.read().to_pylist()
        report = write_report(boards, rows, folder / "report", title=f"resweep sweep {sweep}")
        for path in [report.markdown, *report.images]:
            files[f"report/{path.name}"] = path
    return files


def _builds(paths: SweepPaths) -> list[str]:
    from trainables.artifacts import build_progress, describe_build

    return [describe_build(record) for record in build_progress(paths.artifacts)]


def _fit(tuner: Any, run: SweepRun, concurrency: int) -> bool:
    """Run the experiment; True when it stopped with trials unfinished (Ctrl-C, SIGUSR1). Tune
    keeps a trial process per slot (``concurrency``) while the searcher waits on a round."""
    import signal
    import threading

    main = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGINT) if main else None
    set_active(run)
    try:
        # Ray's usage tag without importing MLflow and W&B; a trial process kept per slot; an ended
        # trial's object let go by Tune once its row is stored (the driver's memory per trial)
        with callback_tags_from_names(), keep_idle_processes(concurrency), forget_stored_trials():
            tuner.fit()
    finally:
        set_active(None)
        # Tune puts the original handler back only when a signal stopped it: its own handler still
        # installed means no signal came (and it must not stay for what runs next).
        signalled = main and signal.getsignal(signal.SIGINT) is handler
        if main and handler is not None:  # None: a handler not set from Python, left alone
            signal.signal(signal.SIGINT, handler)
    return run.unfinished > 0 or (signalled and not int(os.getenv("TUNE_DISABLE_SIGINT_HANDLER", "0")))


def _confirmations(plan: SweepPlan, rows: list[dict[str, Any]]) -> dict[str, Confirmation]:
    """Per slot, what its confirmation runs start from: the search trials that ran to their end
    and the confirmation runs already in the results store (none, unless the sweep restarts)."""
    confirmations = {}
    for slot, (key, cell) in plan.slots.items():
        search = [r for r in plan.rows_of(key, rows, "search") if plan.cell(r) == cell]
        scored = [
            (float(r[plan.metric]), json.loads(r["config"]))
            for r in search
            if r["status"] == "finished" and r[plan.metric] is not None
        ]
        done = {
            (plan.configuration_of(key, r), int(r["seed"]))
            for r in plan.rows_of(key, rows, "confirm")
            if plan.cell(r) == cell
        }
        confirmations[slot] = Confirmation(plan.top_k, plan.confirm_seeds, scored, done)
    return confirmations


def _ended_configurations(plan: SweepPlan, rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per slot, the configurations whose search run already has a row, with the score of those
    that finished: a proposal repeating one is answered from the store, never run twice."""
    ended: dict[str, dict[str, float | None]] = {}
    for slot, (key, cell) in plan.slots.items():
        mine = ended.setdefault(slot, {})
        for r in plan.rows_of(key, rows, "search"):
            if plan.cell(r) == cell:
                name = plan.configuration_of(key, r)
                finished = r["status"] == "finished" and r[plan.metric] is not None
                mine[name] = float(r[f"{plan.metric}"]) if finished else mine.get(name)
    return ended


def _store_runs(plan: SweepPlan, rows: list[dict[str, Any]]) -> StoreRuns:
    """The store's search and confirmation runs per slot and floor seeds per size, for a searcher
    Tune restores from a state saved before some of them were proposed."""
    search: dict[str, list[tuple[str, str, float | None, dict[str, Any]]]] = {}
    confirm: dict[str, list[tuple[str, str, int]]] = {}
    for slot, (key, cell) in plan.slots.items():
        search[slot], confirm[slot] = [], []
        for r in plan.rows_of(key, rows, "search") + plan.rows_of(key, rows, "confirm"):
            if plan.cell(r) != cell:
                continue
            proposal = json.loads(r["config"])
            name = plan.configuration_of(key, r)
            if plan.role(r) == "confirm":
                confirm[slot].append((r["trial_name"], name, int(r["seed"])))
            else:
                finished = r["status"] == "finished" and r[plan.metric] is not None
                score = float(r[plan.metric]) if finished else None
                search[slot].append((r["trial_name"], name, score, proposal))
    floor_seeds = {
        key: frozenset(int(r["seed"]) for r in plan.rows_of(key, rows, "floor")) for key in plan.sizes
    }
    return StoreRuns(search=search, confirm=confirm, floor_seeds=floor_seeds)


def _floors(plan: SweepPlan, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per size, the floor runs (one per seed) that have no row yet."""
    if plan.floor is None:
        return {}
    floors = {}
    for key in plan.sizes:
        done = {int(r["seed"]) for r in plan.rows_of(key, rows, "floor")}
        floors[key] = [{**plan.floor, "seed": seed} for seed in plan.floor_seeds if seed not in done]
    return floors


def _new_tuner(
    config: SweepConfig,
    plan: SweepPlan,
    paths: SweepPaths,
    trainable: Any,
    rows: list[dict[str, Any]],
    verbose: int,
    concurrency: int,
) -> tuple[Any, Any]:
    """A new Tune experiment for what the results store lacks; the tuner and its searcher."""
    remaining = {slot: remaining_work(plan, slot, rows) for slot in plan.slots}
    budgets = {slot: len(r) if isinstance(r, list) else r for slot, r in remaining.items()}
    confirmations = _confirmations(plan, rows)
    sequential = {key: s for key in plan.sizes if (s := plan.sequential(key, rows)) is not None}
    floors = _floors(plan, rows)
    stored = _store_runs(plan, rows)
    baseline = {slot: (len(stored.search[slot]), len(stored.confirm[slot])) for slot in plan.slots}
    slots = Slots(
        budgets=budgets,
        sizes={slot: plan.sizes[key] for slot, (key, _) in plan.slots.items()},
        cells={slot: cell for slot, (_, cell) in plan.slots.items()},
        slot_size={slot: key for slot, (key, _) in plan.slots.items()},
        floors=floors,
        confirmations=confirmations,
        sequential=sequential,
        config_key=functools.partial(configuration_key, contexts=plan.contexts),
    )
    searcher = make_searcher(
        kind=config.search.searcher,
        space=config.search.space,
        slots=slots,
        metric=selected_key(plan.metric),  # the trial's score: its best dev epoch, not its last
        seed=plan.search_seed,
        storage_url=config.search.study_storage or f"sqlite:///{paths.studies}",
        study_prefix=config.study_prefix,
        max_concurrent=concurrency,
        cell_values=plan.cells,
        grids={slot: r for slot, r in remaining.items() if isinstance(r, list)} if plan.grids else None,
        transfer=config.search.transfer,
        intermediate=plan.metric,
        restart=Restart(ended=_ended_configurations(plan, rows), baseline=baseline),
        study_copy_of=str(paths.root) if _mirrors_study(config, paths) else None,
    )
    storage_path, storage_filesystem = _tune_storage(paths.tune.parent)
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            # ASHA compares the best dev score so far (what a trial would be judged by if stopped now).
            scheduler=make_scheduler(config.search.scheduler, selected_key(plan.metric)),
            # Searches plus at most every confirmation and floor run; the searcher says when it is over.
            num_samples=sum(budgets.values())
            + sum(c.most for c in confirmations.values())
            + sum(max(0, s.cap - s.proposed) for s in sequential.values())
            + sum(len(f) for f in floors.values()),
            # One trial process per slot, reused: no process start and no torch import per trial
            # (seconds each on a small machine; trials seed themselves).
            reuse_actors=True,
        ),
        run_config=tune.RunConfig(
            name=paths.tune.name,
            storage_path=storage_path,
            storage_filesystem=storage_filesystem,
            callbacks=[SweepCallback(), *_tune_loggers(config)],
            failure_config=tune.FailureConfig(max_failures=1),
            verbose=1 if verbose >= 2 else 0,
        ),
    )
    return tuner, searcher.searcher  # type: ignore[attr-defined]  # the limiter's PerSlotSearch


def _tune_loggers(config: SweepConfig) -> list[Any]:
    """Tune's CSV and JSON logger callbacks where the config asks for them (``search.tune_logs``);
    the TensorBoard one never (it imports torch into the driver)."""
    return [CSVLoggerCallback(), JsonLoggerCallback()] if config.search.tune_logs else []


def _tune_restores(experiment: Location) -> dict[str, dict[str, Any]]:
    """The trials Tune's saved experiment runs again on a restore, trial id -> config: every one
    its newest ``experiment_state-*.json`` (the file Tune restores, newest by name) does not hold
    as ended (the sweep restores errored trials too). None where that file cannot be read: Tune's
    restore then fails or finds nothing to run either."""
    try:  # StorageError is a ValueError, StorageUnreachable an OSError
        states = [c for c in experiment.children(".json") if c.name.startswith("experiment_state-")]
        state = json.loads(max(states, key=lambda c: c.name).read_text()) if states else {}
        trials = [json.loads(entry[0]) for entry in state.get("trial_data", [])]
        return {
            str(trial["trial_id"]): dict(trial["config"])
            for trial in trials
            if trial.get("status") != "TERMINATED" and isinstance(trial.get("config"), dict)
        }
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OSError):
        return {}


def _tune_storage(location: Location) -> tuple[str, Any]:
    """Ray's ``storage_path`` and ``storage_filesystem`` for ``location`` (None: Ray's local disk;
    an object store's filesystem that Tune's copies of its spec share)."""
    return location.path, (shared_on_copy(location.filesystem) if location.remote else None)


def _mirrors_study(config: SweepConfig, paths: SweepPaths) -> bool:
    """Whether the sweep's Optuna studies are a local SQLite copy of a file kept in object storage."""
    return paths.root.remote and not config.search.study_storage and config.search.searcher != "grid"


def _fetch_study(paths: SweepPaths, restoring: bool) -> None:
    """Make the local SQLite copy of the studies the one saved with Tune's state (restoring), or
    none at all (a new experiment: whatever an earlier sweep of that name left here is stale)."""
    for leftover in (paths.studies, *paths.studies.parent.glob(f"{paths.studies.name}-*")):
        leftover.unlink(missing_ok=True)  # the file and its WAL journal
    saved = paths.tune / STUDY_COPY
    if restoring and saved.is_file():
        paths.studies.parent.mkdir(parents=True, exist_ok=True)
        paths.studies.write_bytes(saved.read_bytes())


def _ended(rows: list[dict[str, Any]], size: float | int) -> int:
    """Trials of ``size`` with a row in the results store (finished, stopped or errored)."""
    wanted = InDomainSize.of(size)
    return sum(1 for row in rows if wanted.matches(row["in_domain_size"]))
