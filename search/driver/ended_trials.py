"""Tune lets go of a trial once the trial has ended and its row is in the results store.

Tune's controller keeps every trial of an experiment as a live object to the experiment's end
(its configs in three copies, its resource request, storage context, last result and metadata)
and the JSON form of each it writes into every save of the experiment state: the driver's memory
and each save grow with every trial. resweep needs neither for a trial that ended cleanly and has
its row: the results store holds its scores and its searcher was told. So within
:func:`forget_stored_trials` the controller drops such a trial, at the end of the step in which it
was stopped, from its trial list and status sets, from the trial forms it saves, and from Tune's
per-trial console callback (which keeps every trial it saw); the sweep's callback first folds it
into its progress counts (:meth:`search.driver.progress.ProgressView.forget`) and keeps its row
for the next save, which writes the rows let go since the last one into the experiment's folder
(:attr:`search.paths.SweepPaths.tune_rows`) before the experiment state that no longer holds
them reaches storage: a lost results store still gets every row back on ``resweep resume``. The
folder Tune made for such a trial in its driver staging folder (empty: resweep turns Tune's
per-trial logs off) is removed between two of Tune's uploads of that folder, each of which copied
every folder there.

A resume restores what the saved state still holds: running trials (from their checkpoints) and
failed ones (run again); a state that holds no trial at all restores the searcher alone. A trial
that failed stays whole, as does any trial of an experiment started without this (a Ray whose
``tune.run`` does not build its controller under that name is left as it is).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from .swapped import swapped

__all__ = ["forget_stored_trials", "forgetful_controller", "stored"]

# Trials whose rows are stored, each with what to call before it goes (None: not forgetting).
_PENDING: list[tuple[Any, Callable[[Any], None]]] | None = None


def stored(trial: Any, on_forget: Callable[[Any], None]) -> None:
    """The trial's row is in the results store: the controller may let it go once it has ended
    (``on_forget(trial)`` is called just before)."""
    if _PENDING is not None:
        _PENDING.append((trial, on_forget))


def forgetful_controller(base: type) -> type:
    """A subclass of Tune's controller that, after each step, drops the trials :func:`stored`
    named that are terminated and hold no trial process, their saved form with them."""

    class _ForgetfulController(base):
        _unstaged: list[str] | None = None  # staging folders of trials let go, to remove

        def step(self) -> None:
            super().step()
            self._forget_stored()

        def checkpoint(self, force: bool = False, wait: bool = False) -> None:
            self._remove_staging_folders(force)
            super().checkpoint(force=force, wait=wait)

        def _remove_staging_folders(self, force: bool) -> None:
            """Remove the (empty) folders Tune made on the driver for the trials let go, between
            two of its uploads of the staging folder: each upload copies every folder there, so
            in object storage each save costs requests for every trial the experiment ever ran.
            An upload that is running is waited for when Tune would wait for it anyway (a forced
            save), else the folders wait for the next save. A folder with anything in it stays."""
            if not self._unstaged:
                return
            syncer = getattr(getattr(self, "_storage", None), "syncer", None)
            running = getattr(syncer, "_sync_process", None)
            if running is not None and getattr(running, "is_running", True):
                if not force or syncer is None:
                    return
                try:
                    syncer.wait()
                except Exception:  # reported as Tune's own wait would have (it sees none now)
                    logging.getLogger("ray.tune.execution.experiment_state").error(
                        "Saving experiment state to storage failed with exception: ", exc_info=True
                    )
            for folder in self._unstaged:
                with contextlib.suppress(OSError):
                    os.rmdir(folder)
            self._unstaged = []

        def _forget_stored(self) -> None:
            if not _PENDING:
                return
            waiting, gone = [], set()
            for trial, on_forget in _PENDING:
                if trial in gone or (trial.status == "TERMINATED" and trial not in self._stopped_trials):
                    continue  # named twice, or let go already: counted once
                busy = trial in self._trial_to_actor or trial in self._live_trials
                if trial.status != "TERMINATED" or busy:
                    if trial.status != "ERROR":
                        waiting.append((trial, on_forget))  # not over yet, or its process not let go
                    continue  # an error: Tune keeps it, a resume runs it again
                on_forget(trial)
                gone.add(trial)
                staging = getattr(getattr(trial, "storage", None), "trial_driver_staging_path", None)
                if staging:
                    if self._unstaged is None:
                        self._unstaged = []
                    self._unstaged.append(staging)
                self._stopped_trials.discard(trial)
                self._trials_to_cache.discard(trial)  # its form is saved no more
                self._trial_metadata.pop(trial.trial_id, None)
            _PENDING[:] = waiting
            if gone:  # Tune's list is in the order trials came: keep it so
                self._trials[:] = [t for t in self._trials if t not in gone]
                self._unhold(gone)

        def _restore_trials(self, experiment_state: dict[str, Any]) -> list[Any]:
            # Tune takes the run's staging folder from the first saved trial; a state whose
            # every trial was let go has none, and the run gets a staging folder of its own.
            if not experiment_state.get("trial_data"):
                return []
            return list(super()._restore_trials(experiment_state))

        def _unhold(self, gone: set[Any]) -> None:
            """Tune's own per-trial console callback (added to every experiment, printing or not)
            keys what it last printed by trial object, for every trial: it lets go of these."""
            from ray.tune.progress_reporter import TrialProgressCallback

            for callback in getattr(self._callbacks, "_callbacks", ()):
                if not isinstance(callback, TrialProgressCallback):
                    continue
                for name in ("_last_print", "_last_print_iteration", "_last_result_str"):
                    held = getattr(callback, name, None)
                    if isinstance(held, dict):
                        for trial in gone:
                            held.pop(trial, None)
                completed = getattr(callback, "_completed_trials", None)
                if isinstance(completed, set):
                    completed.difference_update(gone)

    return _ForgetfulController


@contextlib.contextmanager
def forget_stored_trials() -> Iterator[None]:
    """Within: each Tune experiment started lets go of its trials once they ended and
    :func:`stored` named them."""
    global _PENDING
    with swapped("ray.tune.tune", "TuneController", forgetful_controller) as forgetting:
        _PENDING = [] if forgetting else None
        try:
            yield
        finally:
            _PENDING = None
