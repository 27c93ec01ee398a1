"""Schedulers: which running trials a sweep stops early.

A sweep is one Tune experiment holding every in-domain size and question cell. ASHA must compare
a trial only with trials of its own size (a 10% trial scores below a 100% trial by nature, not by
its config) and of its own question cell (a slow-starting strategy must not be stopped by a
fast-starting one: early in training the learning rate, not the recipe, leads — short-horizon
bias). :class:`PerSlotScheduler` keeps one scheduler per slot (size and cell) and routes each trial to
its own. ASHA's first rung comes no earlier than the loop's patience and a quarter of
``max_epochs`` (:func:`grace_period`): before that, a comparison says little about the end.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

from ray.tune.schedulers import ASHAScheduler, FIFOScheduler, TrialScheduler

from trainables.report_keys import FINAL_STAGE_EPOCHS

from ..plan import CELL_KEY, ROLE_KEY

__all__ = ["SCHEDULER_TIME", "PerSlotScheduler", "grace_period", "make_scheduler"]

SCHEDULER_TIME = FINAL_STAGE_EPOCHS  # the scheduler's time: pre-training epochs do not count
GRACE_SHARE = 0.25  # of max_epochs: ASHA's first rung comes no earlier


def grace_period(config: Mapping[str, Any]) -> int:
    """ASHA's first rung for trials like ``config``: its patience, and at least a quarter of its
    ``max_epochs`` (defaults as in :class:`trainables.config.LoopConfig`)."""
    patience = int(config.get("patience", 2))
    max_epochs = int(config.get("max_epochs", 3))
    return max(1, patience, math.ceil(GRACE_SHARE * max_epochs))


def _slot_of(trial: Any) -> str:
    return f"{trial.config.get('in_domain_size')!r}/{trial.config.get(CELL_KEY, '')}"


class PerSlotScheduler(FIFOScheduler):
    """Routes each search trial to the scheduler of its in-domain size and question cell (made by
    ``make(config)`` on first use, from that trial's config).

    Confirmation runs (a top configuration again with another seed) and floor runs are never
    stopped early: a confirmation's score is averaged with the search run's, which must not be cut
    short by a comparison with trials of other configurations. Trials start in the order they were
    added (FIFO), whatever their size.
    """

    def __init__(self, make: Callable[[Mapping[str, Any]], TrialScheduler]):
        super().__init__()
        self._make = make
        self._children: dict[str, TrialScheduler] = {}
        self._to_the_end = FIFOScheduler()

    def _child(self, trial: Any) -> TrialScheduler:
        role = trial.config.get(ROLE_KEY, "confirm" if "seed" in trial.config else "search")
        if role != "search":
            return self._to_the_end
        key = _slot_of(trial)
        if key not in self._children:
            self._children[key] = self._make(trial.config)
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
        return "\n".join(f"size/cell {k}: {c.debug_string()}" for k, c in self._children.items())


PerSizeScheduler = PerSlotScheduler  # its name before slots (a Tune experiment may have pickled it)


def _asha(config: Mapping[str, Any], metric: str, reduction_factor: int) -> TrialScheduler:
    # max_t well above any epoch budget: ASHA must never stop a trial at its last report.
    return ASHAScheduler(
        time_attr=SCHEDULER_TIME,
        metric=metric,
        mode="max",
        max_t=10_000,
        grace_period=grace_period(config),
        reduction_factor=reduction_factor,
    )


def fifo(metric: str, reduction_factor: int) -> TrialScheduler:
    """``fifo``: every trial runs to its end."""
    return FIFOScheduler()


def per_cell_asha(metric: str, reduction_factor: int) -> TrialScheduler:
    """``asha``: ASHA per size and cell, final-stage epochs as time, comparing ``metric`` — the
    best dev score so far, not the last epoch's."""
    return PerSlotScheduler(functools.partial(_asha, metric=metric, reduction_factor=reduction_factor))


def make_scheduler(kind: str, metric: str, reduction_factor: int = 3) -> TrialScheduler:
    """The scheduler registered as ``kind`` (:data:`search.registries.SCHEDULERS`)."""
    from ..registries import SCHEDULERS

    scheduler: TrialScheduler = SCHEDULERS.get(kind)(metric, reduction_factor)
    return scheduler
