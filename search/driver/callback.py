"""The sweep's Tune callback: one results-store row per trial that ends, the progress view, and
the checkpoints kept."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from ray import tune

from cluster.storage import Location
from trainables.report_keys import EPOCHS_DONE, TRAINING_DONE

from ..config import size_key
from ..plan import CELL_KEY, ROLE_KEY, context_of, trial_config, trial_name, trial_spec
from ..results import SCORED, ResultsStore, result_row
from .checkpoints import CheckpointKeeper
from .ended_trials import stored
from .progress import ProgressView
from .row_writes import RowWriter

__all__ = ["ENDED_OK", "SweepCallback", "SweepRun", "drop_history", "set_active"]

ENDED_OK = SCORED  # statuses of a trial that needs no more work


@dataclass
class SweepRun:
    """What the sweep's callback needs from the run in progress (see :class:`SweepCallback`)."""

    sweep: str
    store: ResultsStore
    contexts: Mapping[str, Mapping[str, Any]]
    resources: Mapping[str, float]
    budgets: Mapping[str, int]
    metric: str
    show_progress: bool
    prior: list[dict[str, Any]] = field(default_factory=list)  # the store's rows when the run began
    unfinished: int = 0  # trials the run left unfinished (set when it ends)
    complete: Callable[[], bool] = lambda: True  # whether the sweep has all its rows now
    manifest: str | None = None  # the id of this run's manifest (search.manifest)
    builds: Callable[[], list[str]] | None = None  # the artifact builds running now, described
    tracking: Any = None  # the sweep's TrackingHub (search.tracking), when trackers are on
    # Where the trials' epoch checkpoints are (the Tune experiment's folder, the Train runs'
    # folder), deleted once no resume needs them (search.driver.checkpoints); None: every one is kept.
    checkpoints: tuple[Location, Location] | None = None
    # Where the rows of the trials Tune lets go of are copied at its next save (their saved form
    # goes with them: search.driver.ended_trials); None: not copied.
    tune_rows: ResultsStore | None = None

    @cached_property
    def prior_rows(self) -> dict[str, dict[str, Any]]:
        """:attr:`prior` by trial name. A row an earlier run stored is found here, not asked of
        the store: in object storage each ask is two requests on the driver's loop, once a trial."""
        return {row["trial_name"]: row for row in self.prior}


_ACTIVE: SweepRun | None = None  # set by run_sweep around Tuner.fit (set_active)


def set_active(run: SweepRun | None) -> None:
    """The run the callback serves from now on (None: no sweep is running)."""
    global _ACTIVE
    _ACTIVE = run


class SweepCallback(tune.Callback):
    """Writes one results-store row per trial that ends (finished, stopped or errored), feeds
    the live progress view, and has the epoch checkpoints no resume needs deleted
    (:mod:`search.driver.checkpoints`).

    Tune pickles its callbacks with the experiment and brings the same objects back on a resume,
    so this one keeps no run state in the pickle: what may differ between runs (the storage
    folder, whether to show progress) is taken from the running sweep in :meth:`setup`.
    """

    def setup(self, *args: Any, **info: Any) -> None:
        if _ACTIVE is None:
            raise RuntimeError("SweepCallback runs only inside run_sweep")
        self.run = _ACTIVE
        self.stopped: set[str] = set()  # trials the scheduler ended early
        self.recovered = False
        self.infos: dict[str, Any] = {}  # trial id -> its TrialInfo for the trackers
        self.rows: dict[str, dict[str, Any]] = {}  # trial id -> its stored row, until Tune lets it go
        self.unsaved: list[dict[str, Any]] = []  # rows of trials let go since Tune's last save
        self.writes = RowWriter(self.run.store)  # rows written off Tune's loop (search.driver.row_writes)
        self.keeper = CheckpointKeeper(*self.run.checkpoints) if self.run.checkpoints else None
        self.progress = (
            ProgressView(
                self.run.budgets,
                self.run.metric,
                self.ended_status,
                prior=self.run.prior,
                builds=self.run.builds,
            )
            if self.run.show_progress
            else None
        )

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        pass

    def get_state(self) -> dict[str, Any] | None:
        # Tune calls this while it saves its experiment state, right after writing every trial's
        # (each naming its newest checkpoint) to its staging folder and before that reaches
        # storage: the keeper's clock, and the moment the rows of the trials let go since the last
        # save (which this state no longer holds) are copied beside it. Nothing else is saved.
        writes = getattr(self, "writes", None)  # None before setup: a callback just unpickled
        if writes is not None:  # every row stored before the state that says its trial ended
            writes.settle(wait=True)
        keeper = getattr(self, "keeper", None)
        if keeper is not None:
            keeper.state_saved()
        unsaved = getattr(self, "unsaved", None)
        if unsaved and self.run.tune_rows is not None:
            self.run.tune_rows.add_rows(unsaved, part=f"{time.time_ns()}-{len(unsaved)}")
            unsaved.clear()
        return None

    def on_checkpoint(
        self, iteration: int, trials: list[Any], trial: Any, checkpoint: Any, **info: Any
    ) -> None:
        # Called before Tune registers the checkpoint: trial.checkpoint is still the one before.
        if self.keeper is not None:
            previous = trial.checkpoint.path if trial.checkpoint is not None else None
            self.keeper.reported(trial.storage.trial_dir_name, checkpoint.path, previous)

    def _config(self, trial: Any) -> dict[str, Any]:
        return trial_config(trial.config, context_of(trial.config, self.run.contexts))

    def ended_status(self, trial: Any) -> str | None:
        """The status of an ended trial's row (looked up once for trials ended before a resume)."""
        if trial.trial_id not in self.rows:
            row = self.run.prior_rows.get(trial_name(self._config(trial), trial.trial_id))
            if row is None:
                return None
            self.rows[trial.trial_id] = row
        return str(self.rows[trial.trial_id]["status"])

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict, **info: Any
    ) -> None:
        # Tune marks a result `done` itself when the scheduler stops the trial on it; a trial that
        # returns by itself ends with a result that callbacks never see.
        if result.get("done"):
            self.stopped.add(trial.trial_id)
        if self.run.tracking is not None:
            step = result.get(EPOCHS_DONE) or result.get("training_iteration") or 0
            self.run.tracking.epoch(self._info(trial), int(step), epoch_metrics(result))

    def _info(self, trial: Any) -> Any:
        """The trial as trackers name it (made once per trial)."""
        if trial.trial_id not in self.infos:
            from ..tracking import TrialInfo

            config = self._config(trial)
            self.infos[trial.trial_id] = TrialInfo(
                key=trial_name(config, trial.trial_id),
                sweep=self.run.sweep,
                size=size_key(config["in_domain_size"]),
                cell=trial.config.get(CELL_KEY),
                role=trial.config.get(ROLE_KEY),
                seed=config.get("seed"),
                params=config,
            )
        return self.infos[trial.trial_id]

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        # Stopped: the trial's last report says it had not ended by itself, or (a stand-in that does
        # not say) the scheduler stopped it. A STOP on the very epoch a trial ends is no stop.
        done = (trial.last_result or {}).get(TRAINING_DONE)
        stopped = done is False or (done is None and trial.trial_id in self.stopped)
        # Dropped now, not once the row is stored: Tune writes an ended trial's saved form once,
        # at the next save (a trial's last result, which a lost row comes back from, is kept).
        drop_history(trial)
        self._row(
            trial, "stopped" if stopped else "finished", then=functools.partial(stored, trial, self._forget)
        )

    def _forget(self, trial: Any) -> None:
        """Tune lets go of the ended trial now (search.driver.ended_trials): so does this
        callback, its counts folded into the progress view first and its row kept for the copy
        made at Tune's next save."""
        if self.progress is not None:
            self.progress.forget(trial)
        row = self.rows.pop(trial.trial_id, None)
        if row is not None and self.run.tune_rows is not None:
            self.unsaved.append(row)
        self.stopped.discard(trial.trial_id)
        self.infos.pop(trial.trial_id, None)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._row(trial, "error", error=_last_line(trial))
        drop_history(trial)

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        # With no trial left to run (the experiment's last step, or a round waiting on its last
        # run) wait for the rows: Tune lets their trials go after this step, before its final save.
        self.writes.settle(wait=all(trial.is_finished() for trial in trials))
        self._recover(trials)
        if self.progress is not None:
            self.progress.show(trials)

    def on_experiment_end(self, trials: list[Any], **info: Any) -> None:
        self._recover(trials)
        self.writes.close()  # every row stored, and what follows each done
        if self.keeper is not None:  # Tune saved its final state before this, and waited for it
            self.keeper.experiment_ended({trial.storage.trial_dir_name for trial in trials})
        self.run.unfinished = sum(not trial.is_finished() for trial in trials)
        if self.progress is not None:  # "sweep over" unless another experiment follows this one
            self.progress.show(trials, force=True, final=not self.run.unfinished and self.run.complete())

    def _recover(self, trials: list[Any]) -> None:
        """Once per run: trials a restored experiment says ended, whose rows the results store
        lost (deleted, or a store moved without them), get their rows back from Tune's results."""
        if self.recovered:
            return
        self.recovered = True
        prior = self.run.prior_rows
        for trial in trials:
            if trial.status not in ("TERMINATED", "ERROR") or not trial.last_result:
                continue
            name = trial_name(self._config(trial), trial.trial_id)
            row = prior.get(name)
            if row is not None:
                self.rows.setdefault(trial.trial_id, row)
            # its row stored: a save before this one still held it, and Tune may let it go now
            let_go = functools.partial(stored, trial, self._forget) if trial.status == "TERMINATED" else None
            if row is not None and row["status"] in ENDED_OK:
                self._ended(trial)  # ended in a run killed before its checkpoints went
            elif row is None:
                done = trial.last_result.get(TRAINING_DONE)
                ended = trial.last_result.get("timestamp")
                self._row(
                    trial,
                    "error" if trial.status == "ERROR" else "stopped" if done is False else "finished",
                    finished_at=datetime.fromtimestamp(ended, UTC) if ended else None,
                    recovered=True,
                    then=let_go,
                )
                continue
            if let_go is not None:
                let_go()

    def _row(
        self,
        trial: Any,
        status: str,
        finished_at: datetime | None = None,
        error: str | None = None,
        recovered: bool = False,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Write the trial's row (off Tune's loop); once it is stored, its checkpoints may go, the
        trackers hear of it and ``then()`` runs (at once where an earlier run stored it)."""
        config = self._config(trial)
        metrics = trial.last_result or {}
        if status in ENDED_OK and metrics.get("selected_epoch") is None:
            status = "error"
        name = trial_name(config, trial.trial_id)
        # A trial writes an ended row once a run: one found was written by an earlier run, whose
        # rows this one began with (a resumed trial that had ended before the crash).
        previous = self.run.prior_rows.get(name)
        if previous is not None and previous["status"] in ENDED_OK:
            self.rows[trial.trial_id] = previous
            self._ended(trial)
            if then is not None:
                then()
            return  # written before a crash; the replay after resume changes nothing
        row = self.rows[trial.trial_id] = result_row(
            sweep=self.run.sweep,
            trial_name=name,
            status=status,
            config=config,
            metrics=metrics,
            resources=self.run.resources,
            finished_at=finished_at or datetime.now(UTC),
            role=trial.config.get(ROLE_KEY),
            cell=trial.config.get(CELL_KEY),
            params=_searcher_params(trial.config) if trial.config.get(ROLE_KEY) == "search" else None,
            error=error if status == "error" else None,
            manifest=None if recovered else self.run.manifest,  # recovered: written by an earlier run
        )
        self.writes.write(row, then=functools.partial(self._row_stored, trial, status, metrics, then))

    def _row_stored(
        self, trial: Any, status: str, metrics: Mapping[str, Any], then: Callable[[], None] | None
    ) -> None:
        if status in ENDED_OK:
            self._ended(trial)
        if self.run.tracking is not None:
            from ..tracking import final_scores

            self.run.tracking.ended(self._info(trial), status, final_scores(metrics))
        if then is not None:
            then()

    def _ended(self, trial: Any) -> None:
        """The trial's row is in the store: its checkpoints (and Train run) can go."""
        if self.keeper is not None:
            run = f"train-{trial_spec(self._config(trial)).key()}"  # as trainables.ray_adapter names it
            self.keeper.ended(trial.storage.trial_dir_name, run)


def drop_history(trial: Any) -> None:
    """What Tune keeps of an ended trial besides its last result, dropped as the trial ends (its
    row, made of its last result, is being written): its running statistics of every numeric key
    it reported (minimum, maximum, mean and the last 5 and 10 values) and the metrics of every
    checkpoint it reported but the newest. resweep reads neither (the row holds the trial's
    scores); kept, they are most of what the driver holds per ended trial and of the trial's entry
    in each save of Tune's experiment state, and they grow with every epoch reported. A failed
    trial that a resume runs again goes on from its newest checkpoint (kept) and starts its
    statistics afresh."""
    metadata = trial.run_metadata
    # Tune's metadata forgets its saved form on each assignment: the next save writes what is left
    # (the records' change below included; nothing saves in between).
    metadata.metric_analysis = {}
    metadata.metric_n_steps = {}
    manager = metadata.checkpoint_manager
    if manager is not None and len(manager._checkpoint_results) > 1:
        newest = manager.latest_checkpoint_result
        manager._checkpoint_results = [newest] if newest is not None else []


def epoch_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """What trackers log of one report: its dev, test and stage scores and the training loss."""
    return {
        key: float(value)
        for key, value in result.items()
        if key.startswith(("dev_", "test_", "stage_dev_")) or key == "train_loss"
        if isinstance(value, (int, float)) and not isinstance(value, bool)
    }


def _last_line(trial: Any) -> str | None:
    """The last line of an errored trial's error (its exception), or None when Tune has none."""
    try:
        text = trial.get_error()
    except Exception:  # the error file is gone or unreadable: the row says "error" without why
        return None
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[-1][:500] if lines else None


def _searcher_params(tune_config: Mapping[str, Any]) -> dict[str, Any]:
    """A search trial's proposal under the names the searcher asked it by (Tune nests dotted
    names such as ``two-phase.learning_rate``; they are flattened back), for rebuilding a study."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        else:
            flat[prefix] = value

    walk("", {k: v for k, v in tune_config.items() if k not in (ROLE_KEY, CELL_KEY, "in_domain_size")})
    return flat
