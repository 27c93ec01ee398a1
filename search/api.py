"""The Python API: one function per user operation, the same ones the ``resweep`` command calls.

Every ``resweep`` command parses its arguments, calls one function here and prints what it
returns; nothing else. ::

    from search.api import leaderboard, plan, sweep

    sweep("configs/demo.yaml", dry_run=True)          # the plan and its cost, no Ray
    answer = leaderboard("demo")                      # or leaderboard(table="paper.csv")
    print("\\n".join(answer.decision_lines()))
    plan("demo", target=0.80).lines()

- :func:`sweep` (``resweep sweep CONFIG``): a :class:`SweepOutcome`, or with ``dry_run`` a
  :class:`DryRun`;
- :func:`resume` (``resweep resume NAME``): a :class:`SweepOutcome`;
- :func:`extend` (``resweep extend NAME``): an :class:`Extension`;
- :func:`status` (``resweep status NAME``): a :class:`SweepStatus`;
- :func:`leaderboard` (``resweep leaderboard``): a :class:`Leaderboard`, the boards and decisions;
- :func:`plan` (``resweep plan``): a :class:`search.answer.annotation.AnnotationPlan`;
- :func:`report` (``resweep report``): the :class:`search.answer.report.ReportFiles` written;
- :func:`train` (``resweep train NAME``): a :class:`search.models.train.TrainedModel`;
- :func:`predict` (``resweep predict``): a :class:`search.models.predict.PredictSummary`.

Mistakes (a bad value, a change a sweep cannot take) raise
:class:`trainables.errors.ResweepError`, one line saying what and where (files and storage: an
``OSError`` such as ``FileNotFoundError`` for a sweep that is not there); a sweep stopped by Ctrl-C raises
:class:`search.driver.sweep.SweepInterrupted`. Importing this module imports nothing heavy (no Ray,
no torch): each function imports what it needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trainables.errors import ResweepError
from trainables.report_keys import score_key

if TYPE_CHECKING:
    from cluster.storage import Location

    from .answer.annotation import AnnotationPlan
    from .answer.curves import Recommendation
    from .answer.decision import Decision
    from .answer.leaderboard import SizeBoard
    from .answer.report import ReportFiles
    from .config import SweepConfig
    from .driver.estimate import SizeEstimate
    from .driver.progress import SizeStatus
    from .models.predict import PredictSummary
    from .models.train import Recipe, TrainedModel
    from .plan import SweepPlan

__all__ = [
    "DryRun",
    "Extension",
    "Leaderboard",
    "SweepOutcome",
    "SweepStatus",
    "check_source",
    "extend",
    "leaderboard",
    "plan",
    "predict",
    "report",
    "resume",
    "status",
    "sweep",
    "train",
]

TABLE_SUFFIXES = (".csv", ".parquet")


# Sweeps -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DryRun:
    """What :func:`sweep` would run (``dry_run=True``): the plan per size and its cost."""

    config: SweepConfig
    plan: SweepPlan
    estimates: list[SizeEstimate]  # per size: trials, phase-1 artifacts, encoder work
    folder: Location  # where the sweep would write


@dataclass(frozen=True)
class SweepOutcome:
    """A sweep that ran to its end (:func:`sweep`, :func:`resume`, :func:`extend`)."""

    config: SweepConfig
    results: Any  # the results store as a pyarrow table
    boards: list[SizeBoard]  # the leaderboard per swept size, over finished trials
    storage: Location  # the storage folder the sweep lies in
    note: str | None = None  # a line under the answer where it would mislead (the synthetic corpus)

    def decision_lines(self) -> list[str]:
        """The answer first: one line per size (:func:`search.answer.leaderboard.decision_lines`)."""
        from .answer.leaderboard import decision_lines

        return decision_lines(self.boards)


@dataclass(frozen=True)
class Extension:
    """What :func:`extend` changed: the extended config, the changes (``key: [old, new]``), and
    either the preview (``dry_run``: per size, trials ended and at most how many more) or the
    outcome of running them."""

    config: SweepConfig
    changes: dict[str, list[Any]]
    preview: list[tuple[float | int, int, int]] | None = None
    outcome: SweepOutcome | None = None

    def change_line(self) -> str:
        """``sweep NAME: budget 4 -> 8; seeds 0 -> 0,1``."""
        return f"sweep {self.config.name}: " + "; ".join(
            f"{key} {_shown(old)} -> {_shown(new)}" for key, (old, new) in self.changes.items()
        )


@dataclass(frozen=True)
class SweepStatus:
    """Where a stored sweep stands (:func:`status`): per size, trials ended, finished, pruned,
    failed and the best single run; and the phase-1 artifacts being built now."""

    config: SweepConfig
    folder: Location
    metric: str  # the selection metric, e.g. dev_f1_weighted
    sizes: list[SizeStatus]
    building: list[str] = field(default_factory=list)


def _shown(value: Any) -> str:
    return (
        ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        if isinstance(value, list)
        else str(value)
    )


def _with_tracking(config: SweepConfig, tracking: str | None) -> SweepConfig:
    """The config with ``tracking`` (``--tracking``'s text) over its ``tracking:`` section; a
    tracker whose package is missing is an error here, before anything runs."""
    from .tracking import check_installed, tracking_option

    if tracking is not None:
        config = replace(config, tracking=tracking_option(tracking, config.tracking))
    check_installed(config.tracking)
    return config


def _run(
    config: SweepConfig,
    *,
    resume: bool,
    address: str | None,
    verbose: int,
    dashboard: str | None,
    rebuild_studies: bool = False,
    trial_function: Any = None,
) -> SweepOutcome:
    """Run, resume or extend (:func:`search.driver.sweep.run_sweep`), then the sweep's leaderboard."""
    import optuna

    from .answer.leaderboard import corpus_note
    from .answer.leaderboard import leaderboard as boards_of
    from .driver.sweep import run_sweep
    from .plan import SweepPaths

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per study created
    results = run_sweep(
        config,
        address=address,
        resume=resume,
        verbose=verbose,
        dashboard=dashboard,
        rebuild_studies=rebuild_studies,
        trial_function=trial_function,
    )
    paths = SweepPaths.of(config.storage, config.name)
    boards = boards_of(config.name, storage=str(paths.storage))
    return SweepOutcome(
        config, results, boards, paths.storage, corpus_note(str(config.data.in_domain), boards)
    )


def sweep(
    config: str | Path | SweepConfig,
    *,
    name: str | None = None,
    storage: str | None = None,
    address: str | None = None,
    dry_run: bool = False,
    tracking: str | None = None,
    verbose: int = 1,
    dashboard: str | None = None,
    trial_function: Any = None,
) -> SweepOutcome | DryRun:
    """Run the sweep a config describes (a YAML file, or a parsed
    :class:`search.config.SweepConfig`) and return its outcome; with ``dry_run``, only plan it
    (no Ray, nothing written) and return the plan and its cost.

    ``name``, ``storage``: over the config's (each checked as the config's is). ``address``: a
    Ray cluster (default ``$RAY_ADDRESS``, else a local Ray). ``tracking``: trackers over the
    config's ``tracking:`` section (``"mlflow,tensorboard"``, ``"off"``). ``verbose``: 0 silent,
    1 the progress view, 2 also Tune's tables. ``dashboard``: the host the local Ray's dashboard
    binds to. ``trial_function`` replaces the trial (see :func:`search.driver.sweep.run_sweep`)."""
    from .config import SweepConfig, check_name, check_storage, load_sweep_config

    loaded = config if isinstance(config, SweepConfig) else load_sweep_config(config)
    # The config's rules for name: and storage: hold for the options that replace them.
    options: tuple[tuple[str, str | None, Callable[[str], object]], ...] = (
        ("--name", name, check_name),
        ("--storage", storage, check_storage),
    )
    for option, value, check in options:
        if value is not None:
            try:
                check(value)
            except ValueError as err:
                raise ResweepError(f"{option}: {err}") from None
    if name is not None:
        loaded = replace(loaded, name=name)
    if storage is not None:
        loaded = replace(loaded, storage=storage)
    loaded = _with_tracking(loaded, tracking)
    if dry_run:
        from .driver.estimate import estimate_sweep
        from .driver.preflight import check_inputs
        from .plan import SweepPaths, plan_sweep

        planned = plan_sweep(loaded)
        check_inputs(loaded, planned)
        estimates = estimate_sweep(loaded, planned)
        return DryRun(loaded, planned, estimates, SweepPaths.of(loaded.storage, loaded.name).root)
    return _run(
        loaded,
        resume=False,
        address=address,
        verbose=verbose,
        dashboard=dashboard,
        trial_function=trial_function,
    )


def resume(
    name: str,
    *,
    storage: str = "results",
    address: str | None = None,
    tracking: str | None = None,
    verbose: int = 1,
    dashboard: str | None = None,
    rebuild_studies: bool = False,
    trial_function: Any = None,
) -> SweepOutcome:
    """Continue the interrupted sweep ``name`` under ``storage`` from its checkpoints, rerunning
    nothing that ended. ``rebuild_studies``: move a damaged ``optuna.db`` aside and rebuild the
    studies from the results store. The other options as :func:`sweep`'s."""
    from .plan import load_saved_sweep

    config, _ = load_saved_sweep(storage, name)
    return _run(
        _with_tracking(config, tracking),
        resume=True,
        address=address,
        verbose=verbose,
        dashboard=dashboard,
        rebuild_studies=rebuild_studies,
        trial_function=trial_function,
    )


def extend(
    name: str,
    *,
    storage: str = "results",
    budget: int | None = None,
    sizes: Sequence[float | int] | None = None,
    seeds: Sequence[int] | None = None,
    confirm_top_k: int | None = None,
    space: str | None = None,
    tracking: str | None = None,
    dry_run: bool = False,
    address: str | None = None,
    verbose: int = 1,
    dashboard: str | None = None,
    announce: Callable[[str], None] | None = None,
    trial_function: Any = None,
) -> Extension:
    """Grow the sweep ``name`` (:func:`search.driver.extend.extend_config`: a larger ``budget``, the new
    full lists of ``sizes`` and ``seeds``, more ``confirm_top_k``, a wider ``space``) and run only
    what the change adds; with ``dry_run``, run nothing and return the preview per size.

    ``announce`` is called with :meth:`Extension.change_line` before anything runs. Another live
    driver of the sweep is refused (:class:`search.lock.SweepBusy`) before any work. The other
    options as :func:`sweep`'s."""
    from .driver.extend import extend_config, extension_preview
    from .lock import check_free
    from .plan import load_saved_sweep

    config, paths = load_saved_sweep(storage, name)
    if not dry_run:
        check_free(paths.root, config.name)  # another live driver: refused before any work
    rows = paths.results.read().to_pylist()
    extended = extend_config(
        config, rows, budget=budget, sizes=sizes, seeds=seeds, confirm_top_k=confirm_top_k, space=space
    )
    extended = _with_tracking(extended, tracking)
    extension = Extension(extended, extended.extensions[-1]["changes"])
    if announce is not None:
        announce(extension.change_line())
    if dry_run:
        return replace(extension, preview=extension_preview(extended, rows))
    outcome = _run(
        extended,
        resume=True,
        address=address,
        verbose=verbose,
        dashboard=dashboard,
        trial_function=trial_function,
    )
    return replace(extension, outcome=outcome)


def status(name: str, *, storage: str = "results") -> SweepStatus:
    """Where the stored sweep ``name`` stands, from its results store (no Ray)."""
    from trainables.artifacts import build_progress, describe_build

    from .driver.progress import sweep_status

    config, paths, sizes = sweep_status(storage, name)
    building = [describe_build(record) for record in build_progress(paths.artifacts)]
    return SweepStatus(config, paths.root, score_key("dev", config.search.selection_metric), sizes, building)


# Answers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaderboard:
    """The answer :func:`leaderboard` gives: the boards per swept size with their decisions, and
    at a size nobody swept (``size``), each strategy's estimate and the configuration to train."""

    boards: list[SizeBoard]  # every swept size's board, ranked
    shown: list[SizeBoard]  # the boards that answer: all, the size's own, or its nearest swept ones
    metric: str  # the ranking column
    epsilon: float
    answer: dict[str, Any] = field(default_factory=dict)  # search.answer.curves.query_size's, with size
    recommendation: Recommendation | None = None  # at an unswept size: what `train --size` trains
    note: str | None = None  # a line under the answer where it would mislead (the synthetic corpus)

    @property
    def decisions(self) -> list[Decision]:
        """The decision of every shown size that has one."""
        return [b.decision for b in self.shown if b.decision is not None]

    @property
    def warning(self) -> str | None:
        """A warning about the ``size`` asked for (beyond the swept sizes, ...)."""
        return self.answer.get("warning")

    def decision_lines(self) -> list[str]:
        """The answer first: one line per shown size (:func:`search.answer.leaderboard.decision_lines`)."""
        from .answer.leaderboard import decision_lines

        return decision_lines(self.shown)

    def summary_rows(self) -> list[dict[str, Any]]:
        """One row per configuration and shown size (``--csv``)."""
        from .answer.leaderboard import summary_rows

        return summary_rows(self.shown)

    def as_dict(self) -> dict[str, Any]:
        """The machine-readable answer (``resweep leaderboard --json``)."""
        from .answer.leaderboard import decisions, summary_rows

        document: dict[str, Any] = {
            "metric": self.metric,
            "epsilon": self.epsilon,
            "decisions": decisions(self.shown),
            "sizes": summary_rows(self.shown),
        }
        for key in ("size", "pool", "warning"):
            if key in self.answer:
                document[key] = self.answer[key]
        if "estimates" in self.answer:
            document["estimates"] = [e.__dict__ for e in self.answer["estimates"]]
            floor = self.answer.get("floor_estimate")
            document["floor_estimate"] = floor.__dict__ if floor is not None else None
            document["recommended"] = self.answer["estimates"][0].strategy
            chosen = self.recommendation
            assert chosen is not None
            document["recommended_config"] = {**chosen.entry.as_dict(), "from_size": chosen.source.size}
        return document


def check_source(name: str | None, table: str | None) -> None:
    """A leaderboard, plan or report names a sweep or a table, not both."""
    if name is None and table is None:
        raise ResweepError("name a sweep, or give --from-table FILE.csv")
    if name is not None and table is not None:
        raise ResweepError(f"both a sweep ({name}) and --from-table {table} given: name one of them")


def _source(name: str | None, table: str | None) -> tuple[str | None, str | None]:
    """``(name, table)``: a ``name`` that is an existing ``.csv`` or ``.parquet`` file is a table."""
    if (
        table is None
        and name is not None
        and Path(name).suffix.lower() in TABLE_SUFFIXES
        and Path(name).is_file()
    ):
        return None, name
    check_source(name, table)
    return name, table


def leaderboard(
    name: str | None = None,
    *,
    table: str | None = None,
    storage: str = "results",
    metric: str | None = None,
    epsilon: float = 0.0,
    margin: float | None = None,
    confidence: float | None = None,
    size: float | int | None = None,
    pool: int | None = None,
    nearest: bool = False,
) -> Leaderboard:
    """The leaderboard of the sweep ``name`` under ``storage``, or of a result ``table`` (a CSV
    or Parquet file in the results store's columns; a ``name`` that is such a file is one).

    ``metric``: the ranking column (default: the sweep's dev metric; a table's ``accuracy``).
    ``epsilon``: the cheapest configuration this close to rank 1 is named. ``margin``,
    ``confidence``: the decision's (default: the sweep's ``decision:`` section, else 0.01 and
    0.95). ``size``: the size to answer for, a fraction or a count; at an unswept size the answer
    is each strategy's learning-curve estimate (:func:`search.answer.curves.query_size`), ``pool`` the
    sentences a fraction refers to, and ``nearest`` also shows the nearest swept sizes' boards."""
    from .answer.curves import query_size, recommend
    from .answer.leaderboard import corpus_note
    from .answer.leaderboard import leaderboard as boards_of
    from .plan import load_saved_sweep, train_pool

    name, table = _source(name, table)
    boards = boards_of(
        name,
        storage=storage,
        table=table,
        metric=metric,
        epsilon=epsilon,
        margin=margin,
        confidence=confidence,
    )
    if not boards:
        if table is not None:
            raise ResweepError(f"{table}: no row has a score to rank by ({metric or 'accuracy'})")
        raise ResweepError(f"sweep {name!r}: no scored trials yet")
    answer: dict[str, Any] = {}
    shown = boards
    recommendation = None
    if size is not None:

        def pool_of() -> int | None:
            if table is not None or name is None:
                return None
            return train_pool(load_saved_sweep(storage, name)[0])

        answer = query_size(boards, size, pool=pool, pool_of=pool_of)
        shown = [answer["board"]] if "board" in answer else answer["nearest"]
        if "board" not in answer and not nearest:
            shown = []  # an unswept size: the estimate is the answer; its neighbours on request
        if "estimates" in answer:
            recommendation = recommend(boards, answer["size"])
    note = None
    if table is None and shown:
        assert name is not None
        note = corpus_note(str(load_saved_sweep(storage, name)[0].data.in_domain), shown)
    return Leaderboard(boards, shown, boards[0].metric, epsilon, answer, recommendation, note)


def plan(
    name: str | None = None,
    *,
    target: float,
    table: str | None = None,
    storage: str = "results",
    metric: str | None = None,
    margin: float | None = None,
    confidence: float | None = None,
    pool: int | None = None,
    plot: str | Path | None = None,
) -> AnnotationPlan:
    """Annotation planning (:func:`search.answer.annotation.plan_annotation`): per strategy, the
    in-domain sentences it needs to reach ``target``, with a band, and the recipe to use there;
    of the sweep ``name`` or a result ``table``. ``pool``: the sentences size 1.0 means (default:
    the sweep's pool, a table's metadata). ``plot``: write the learning-curve picture there
    (a ``.png``, checked before any work)."""
    from .answer.annotation import plan_annotation

    name, table = _source(name, table)
    where = _check_plot(plot, name, table, storage)
    planned = plan_annotation(
        name,
        target=target,
        storage=storage,
        table=table,
        metric=metric,
        pool=pool,
        margin=margin,
        confidence=confidence,
    )
    if where is not None:
        from cluster.storage import Location

        Location.parse(where).write_bytes(planned.png())  # a temporary name, then renamed
    return planned


def _check_plot(plot: str | Path | None, name: str | None, table: str | None, storage: str) -> Path | None:
    """``--plot FILE.png``, checked before any work: a PNG file that overwrites no input, no sweep."""
    if plot is None:
        return None
    from .outputs import check_output
    from .plan import SweepPaths

    path = Path(plot)
    if path.suffix.lower() != ".png":
        raise ResweepError(f"--plot {plot}: expected a file name ending in .png")
    reads: list[tuple[str, Any]] = [("the --from-table file", table)]
    if name is not None:
        paths = SweepPaths.of(storage, name)
        reads += [
            (f"the folder of sweep {name!r}", paths.root),
            (f"the storage folder of sweep {name!r}", paths.storage),
        ]
    check_output(path, "--plot", reads=reads, kind="file")
    return path


def _report_folder(name: str | None, table: str | None, storage: str, out: str | Path | None) -> Path:
    """Where the report goes (``out``, else beside the table or in the sweep's ``report/``),
    checked before any work (:func:`search.outputs.check_output`): never a sweep or storage
    folder, the table, or a model folder."""
    from .outputs import check_output
    from .plan import SweepPaths

    if table is not None:
        folder = Path(out or Path(table).with_suffix("").name + "-report")
        check_output(folder, "--out", reads=[("the --from-table file", table)], kind="folder")
        return folder
    assert name is not None
    paths = SweepPaths.of(storage, name)
    # In an object store, the report goes to a local folder: it is read in a browser.
    local = paths.root.local
    own = None if local is None else local / "report"  # the report's own place in the sweep
    folder = Path(out) if out else (own or Path(f"{name}-report"))
    reads = [
        (f"the folder of sweep {name!r}", paths.root),
        (f"the storage folder of sweep {name!r}", paths.storage),
    ]
    check_output(folder, "--out", reads=reads, kind="folder", own=own)
    return folder


def report(
    name: str | None = None,
    *,
    table: str | None = None,
    storage: str = "results",
    out: str | Path | None = None,
    metric: str | None = None,
    epsilon: float = 0.0,
    margin: float | None = None,
    confidence: float | None = None,
    top: int = 10,
    target: float | None = None,
    pool: int | None = None,
) -> ReportFiles:
    """Write the Markdown + HTML report with its plots (:func:`search.answer.report.write_report`) of
    the sweep ``name`` or a result ``table`` into ``out`` (default: the sweep's ``report/``, or
    ``TABLE-report`` beside the working folder). ``top``: rows per size in the tables;
    ``target``: add the annotation plan for this score (:func:`plan`). The rest as
    :func:`leaderboard`'s."""
    from .answer.annotation import plan_annotation
    from .answer.leaderboard import leaderboard as boards_of
    from .answer.leaderboard import read_table
    from .answer.report import write_report
    from .plan import load_saved_sweep

    name, table = _source(name, table)
    folder = _report_folder(name, table, storage, out)
    boards = boards_of(
        name,
        storage=storage,
        table=table,
        metric=metric,
        epsilon=epsilon,
        margin=margin,
        confidence=confidence,
    )
    if table is not None:
        rows, title = read_table(table), f"resweep report: {Path(table).name}"
    else:
        assert name is not None
        _, paths = load_saved_sweep(storage, name)
        rows, title = paths.results.read().to_pylist(), f"resweep report: sweep {name}"
    planned = None
    if target is not None:  # the annotation plan, from the same boards
        planned = plan_annotation(
            name,
            target=target,
            storage=storage,
            table=table,
            metric=metric,
            pool=pool,
            margin=margin,
            confidence=confidence,
        )
    return write_report(boards, rows, folder, title=title, top=top, plan=planned)


# Models -----------------------------------------------------------------------------------------


def train(
    name: str,
    *,
    out: str | Path,
    storage: str = "results",
    size: float | int | None = None,
    rank: int | None = None,
    config: str | Path | Mapping[str, Any] | None = None,
    floor: bool = False,
    seed: int | None = None,
    pool: int | None = None,
    device: str | None = None,
    overwrite: bool = False,
    threads: int | None = None,
    tracking: str | None = None,
    on_recipe: Callable[[Recipe], None] | None = None,
    report: Callable[[dict[str, Any], Path | None], None] | None = None,
) -> TrainedModel:
    """Train the recipe of the sweep ``name`` on the whole training pool and write the model
    folder ``out`` (:func:`search.models.train.train_model`); then hand it to the sweep's trackers
    (``tracking`` over its saved ones), what they made in :attr:`TrainedModel.registered`.

    The recipe (:func:`search.models.train.choose_recipe`): the recommended configuration of ``size``
    (default the whole pool; an unswept size gets what :func:`leaderboard` recommends there), or
    the ``rank``-th, an explicit ``config``, or the ``floor``. ``on_recipe`` sees it before
    training starts, ``report`` every epoch's metrics. ``out`` is checked before any work; an
    existing model folder is replaced only with ``overwrite``. ``threads``: CPU threads for torch
    and BLAS (default: the cores free now)."""
    from cluster.threads import limit_threads

    from .models.train import check_model_out, choose_recipe, train_model
    from .plan import load_saved_sweep
    from .tracking import register_model, tracking_option

    # Before any work: out must not replace the sweep, its data, or what resweep did not write.
    check_model_out(name, out, storage=storage, overwrite=overwrite, config=config)
    limit_threads(threads)
    recipe = choose_recipe(
        name, storage=storage, size=size, rank=rank, config=config, seed=seed, pool=pool, floor=floor
    )
    if on_recipe is not None:
        on_recipe(recipe)
    trained = train_model(
        name, out=out, storage=storage, overwrite=overwrite, device=device, report=report, recipe=recipe
    )
    settings = load_saved_sweep(storage, name)[0].tracking
    if tracking is not None:
        settings = tracking_option(tracking, settings)
    if settings.on:
        scores = {
            f"{split}_{k}": v for split, values in trained.scores.items() for k, v in (values or {}).items()
        }
        label = trained.recipe.evidence.get("label") or "the given config"
        trained.registered.extend(register_model(name, storage, trained.folder, label, scores, settings))
    return trained


def predict(
    model: str | Path,
    inputs: str | Path,
    *,
    format: str | None = None,
    out: str | None = None,
    out_format: str | None = None,
    batch_size: int | None = None,
    top_k: int = 3,
    progress: bool | None = None,
    device: str | None = None,
    threads: int | None = None,
) -> PredictSummary:
    """Predict every sentence of the file ``inputs`` (any format resweep reads; labels optional,
    scored when given) with the model folder ``model`` (:func:`search.models.predict.predict_file`);
    write the rows to ``out`` (``.jsonl``, ``.csv`` or ``.parquet``) unless None — they are in
    the summary's ``predictions`` either way. ``progress``: a progress bar (default: on a
    terminal); ``threads`` as :func:`train`'s."""
    from cluster.threads import limit_threads

    from .models.predict import predict_file

    limit_threads(threads)
    return predict_file(
        model,
        inputs,
        format=format,
        out=out,
        out_format=out_format,
        batch_size=batch_size,
        top_k=top_k,
        progress=progress,
        device=device,
    )
