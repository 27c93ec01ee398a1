"""Schedulers: which running trials a sweep stops early.

A sweep is one Tune experiment holding every in-domain size; ASHA must compare a trial only with
trials of its own size (a 10% trial scores below a 100% trial by nature, not by its config).
:class:`PerSizeScheduler` keeps one scheduler per size and routes each trial to its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler

__all__ = ["SCHEDULER_TIME", "PerSizeScheduler", "make_scheduler"]

SCHEDULER_TIME = "final_stage_epochs"  # see trainables.loop: pre-training epochs do not count


def _size_of(trial: Any) -> str:
    return repr(trial.config.get("in_domain_size"))


class PerSizeScheduler(FIFOScheduler):
    """Routes each trial to the scheduler of its in-domain size (made by ``make`` on first use).

    Confirmation runs (a top configuration again with another seed: their config carries
    ``seed``) are never stopped early: their score is averaged with the search run's, which must
    not be cut short by a comparison with trials of other configurations. Trials start in the order
    they were added (FIFO), whatever their size.
    """

    def __init__(self, make: Callable[[], TrialScheduler]):
        super().__init__()
        self._make = make
        self._children: dict[str, TrialScheduler] = {}
        self._to_the_end = FIFOScheduler()

    def _child(self, trial: Any) -> TrialScheduler:
        if "seed" in trial.config:
            return self._to_the_end
        key = _size_of(trial)
        if key not in self._children:
            self._children[key] = self._make()
        return self._children[key]

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        return True  # the children are made with their metric and mode

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        self._child(trial).on_trial_add(tune_controller, trial)

    def on_trial_error(self, tune_controller: Any, trial: Any) -> None:
        self._child(trial).on_trial_error(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> str:
        return str(self._child(trial).on_trial_result(tune_controller, trial, result))

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict[str, Any]) -> None:
        self._child(trial).on_trial_complete(tune_controller, trial, result)

    def on_trial_remove(self, tune_controller: Any, trial: Any) -> None:
        self._child(trial).on_trial_remove(tune_controller, trial)

    def debug_string(self) -> str:
        return "\n".join(f"in_domain_size {k}: {c.debug_string()}" for k, c in self._children.items())


def make_scheduler(kind: str, metric: str) -> TrialScheduler:
    """``fifo`` (run every trial to its end) or ``asha`` (per size, epochs as time)."""
    if kind == "fifo":
        return FIFOScheduler()
    # max_t well above any epoch budget: ASHA must never stop a trial at its last report.
    return PerSizeScheduler(
        functools.partial(
            ASHAScheduler,
            time_attr=SCHEDULER_TIME,
            metric=metric,
            mode="max",
            max_t=10_000,
            grace_period=1,
            reduction_factor=2,
        )
    )
