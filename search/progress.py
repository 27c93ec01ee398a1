"""The live progress view of a running sweep: one line per in-domain size.

    [  2:13] id0.1  ended   5/8   (pruned   1, failed  0)  running  2   best dev_f1_weighted 0.6120 \
        two-phase/local/oversampling ood10

``ended`` counts every trial of the size's budget that is over, the ones the scheduler stopped
early (pruned) and the ones that failed included. The view is printed when a count changes, at
most every ``min_interval`` seconds, so it reads well in a terminal and in a CI log alike.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .config import size_key
from .leaderboard import configuration_label

__all__ = ["ProgressView", "SizeProgress", "SizeStatus", "render_progress", "sweep_status"]


class SizeProgress:
    """Counts for one size: what ran, what runs, what the scheduler stopped, what failed."""

    def __init__(self, budget: int):
        self.budget = budget
        self.ended = 0
        self.running = 0
        self.pruned = 0
        self.failed = 0
        self.best: float | None = None
        self.best_label = ""

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.ended, self.running, self.pruned, self.failed, self.best)


def render_progress(
    counts: Mapping[str, SizeProgress],
    metric: str,
    elapsed: float,
    *,
    final: bool = False,
    building: Sequence[str] = (),
) -> str:
    """The view as text, one line per size (keys like ``id0.1``), then one per artifact build
    running now (``building``: its description)."""
    minutes, seconds = divmod(int(elapsed), 60)
    stamp = f"[{minutes:3d}:{seconds:02d}]"
    width = max(len(k) for k in counts)
    lines = []
    for key, c in counts.items():
        best = "-" if c.best is None else f"{c.best:.4f}  {c.best_label}"
        lines.append(
            f"{stamp} {key:<{width}}  ended {c.ended:>3}/{c.budget:<3} (pruned {c.pruned:>3}, "
            f"failed {c.failed:>2})  running {c.running:>2}   best {metric} {best}"
        )
    lines.extend(f"{stamp} building {text}" for text in building)
    if final:
        lines.append(f"{stamp} sweep over")
    return "\n".join(lines)


class ProgressView:
    """Keeps and prints the view from Tune's trial list (the sweep's callback feeds it).

    ``budgets``: size key -> trials. ``prior``: results-store rows of trials that ended before
    this run (counted unless the run has them too). ``status_of(trial)``: the results-store status of an ended
    trial (``finished``, ``stopped`` by the scheduler, ``error``), or None when it has no row
    (Tune also marks the trials an interrupted sweep left unfinished as terminated).
    """

    def __init__(
        self,
        budgets: Mapping[str, int],
        metric: str,
        status_of: Callable[[Any], str | None],
        *,
        stream: IO[str] | None = None,
        min_interval: float = 2.0,
        prior: Sequence[Mapping[str, Any]] = (),
        builds: Callable[[], list[str]] | None = None,
    ):
        self.budgets = dict(budgets)
        self.prior = list(prior)
        self.builds = builds  # lines about artifact builds running now
        self.metric = metric
        self.status_of = status_of
        self.stream = stream or sys.stderr
        self.min_interval = min_interval
        self.started = time.monotonic()
        self.last_printed: tuple[Any, ...] | None = None
        self.last_time = 0.0

    def counts(self, trials: Sequence[Any]) -> dict[str, SizeProgress]:
        counts = {key: SizeProgress(budget) for key, budget in self.budgets.items()}
        live = {trial.trial_id for trial in trials}
        for row in self.prior:  # ended before this run (an extension, a resume after lost state)
            c = counts.get(_size_key(row["in_domain_size"]))
            if c is None or row["trial_name"].rpartition("_")[2] in live:
                continue
            c.ended += 1
            c.failed += row["status"] == "error"
            c.pruned += row["status"] == "stopped"
            value = row.get(self.metric)
            if row["status"] == "finished" and value is not None and (c.best is None or value > c.best):
                c.best, c.best_label = float(value), configuration_label(json.loads(row["config"]))
        for trial in trials:
            c = counts.get(_size_key(trial.config.get("in_domain_size")))
            if c is None:
                continue
            if trial.status == "RUNNING":
                c.running += 1
            if trial.status not in ("TERMINATED", "ERROR"):
                continue
            status = "error" if trial.status == "ERROR" else self.status_of(trial)
            if status is None:
                continue  # stopped without ending: an interrupted sweep (its resume continues it)
            c.ended += 1
            c.failed += status == "error"
            c.pruned += status == "stopped"
            value = (trial.last_result or {}).get(f"selected_{self.metric}")
            # A stopped trial's score is real but its run was cut short: it is no one's best.
            if status == "finished" and value is not None and (c.best is None or value > c.best):
                c.best, c.best_label = float(value), configuration_label(trial.config)
        return counts

    def show(self, trials: Sequence[Any], *, force: bool = False, final: bool = False) -> None:
        """Print the view if a count changed (or ``force``); look at most every ``min_interval`` s."""
        now = time.monotonic()
        if not force and now - self.last_time < self.min_interval:
            return  # Tune calls this every step of its loop: count at most every min_interval
        self.last_time = now
        counts = self.counts(trials)
        building = self.builds() if self.builds is not None and not final else []
        snapshot = (*(c.as_tuple() for c in counts.values()), *building)
        if not force and snapshot == self.last_printed:
            return
        self.last_printed = snapshot
        text = render_progress(counts, self.metric, now - self.started, final=final, building=building)
        print(text, file=self.stream, flush=True)


def _size_key(size: Any) -> str:
    return size_key(size) if size is not None else "?"


@dataclass(frozen=True)
class SizeStatus:
    """Where one size of a stored sweep stands (``resweep status``)."""

    size: float | int
    ended: int  # trials over: finished, stopped (pruned) and failed
    target: int  # the size's budget, as the plan counts it now
    finished: int
    pruned: int
    failed: int
    best: float | None  # the best selection score of a scored trial


def sweep_status(storage: str | Path, name: str) -> tuple[Any, Any, list[SizeStatus]]:
    """A stored sweep's config, paths and status per in-domain size, from its results store."""
    from .plan import load_saved_sweep, plan_sweep
    from .results import SCORED

    config, paths = load_saved_sweep(storage, name)
    rows = paths.results.read().to_pylist()
    plan = plan_sweep(config)
    sizes = []
    for key, size in plan.sizes.items():
        mine = [r for r in rows if r["in_domain_size"] == float(size)]
        scores = [r[plan.metric] for r in mine if r["status"] in SCORED and r[plan.metric] is not None]
        sizes.append(
            SizeStatus(
                size=size,
                ended=len(mine),
                target=plan.target(key, rows),
                finished=sum(r["status"] == "finished" for r in mine),
                pruned=sum(r["status"] == "stopped" for r in mine),
                failed=sum(r["status"] == "error" for r in mine),
                best=max(scores, default=None),
            )
        )
    return config, paths, sizes
