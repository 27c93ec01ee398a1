"""The live progress view of a running sweep: one line per in-domain size.

    [  2:13] id0.1  ended   5/8   (pruned   1, failed  0)  running  2   best dev_f1_weighted 0.6120 \
        two-phase/local/oversampling ood10

``ended`` counts every trial of the size's budget that is over, the ones the scheduler stopped
early (pruned) and the ones that failed included. Then one line per artifact build running now,
and ``sweep over`` at the end. The view is looked at most every ``min_interval`` seconds, and a
line is written only when it changed (its time stamp says when it last did):

* on a terminal, the view is one block redrawn in place (ANSI cursor movement): a changed line
  is rewritten where it stands, an unchanged one is left alone;
* elsewhere (a pipe, a file, a CI log) the changed lines are appended, a running build's line at
  most every ``log_interval`` seconds, and the last view (``sweep over``) is written whole.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from trainables.report_keys import selected_key

from ..answer.leaderboard import configuration_label
from ..config import size_key
from ..sizes import InDomainSize

__all__ = ["LatestLook", "ProgressView", "SizeProgress", "SizeStatus", "render_progress", "sweep_status"]

BUILDING = "building "  # how a build's line starts; what follows up to ":" names the build
UP, DOWN, CLEAR_LINE, CLEAR_BELOW = "\x1b[{}A", "\x1b[{}B", "\r\x1b[2K", "\x1b[J"  # ANSI (VT100)


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


def _stamp(elapsed: float) -> str:
    minutes, seconds = divmod(int(elapsed), 60)
    return f"[{minutes:3d}:{seconds:02d}]"


def _view_lines(
    counts: Mapping[str, SizeProgress], metric: str, *, final: bool, building: Sequence[str]
) -> list[str]:
    """The view's lines without their time stamps."""
    shown = {key: _shown(key) for key in counts}
    width = max(len(k) for k in shown.values())
    lines = []
    for key, c in counts.items():
        best = "-" if c.best is None else f"{c.best:.4f}  {c.best_label}"
        lines.append(
            f"{shown[key]:<{width}}  ended {c.ended:>3}/{c.budget:<3} (pruned {c.pruned:>3}, "
            f"failed {c.failed:>2})  running {c.running:>2}   best single run {metric} {best}"
        )
    lines.extend(f"{BUILDING}{text}" for text in building)
    if final:
        lines.append("sweep over")
    return lines


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
    stamp = _stamp(elapsed)
    return "\n".join(
        f"{stamp} {line}" for line in _view_lines(counts, metric, final=final, building=building)
    )


def _identity(line: str) -> str:
    """What a line is about: its size, its build, or the line itself (``sweep over``)."""
    if line.startswith(BUILDING):
        return line.partition(":")[0]
    return line.split(" ", 1)[0]


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty()) and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class ProgressView:
    """Keeps and prints the view from Tune's trial list (the sweep's callback feeds it).

    ``budgets``: size key -> trials. ``prior``: results-store rows of trials that ended before
    this run (counted unless the run has them too). ``status_of(trial)``: the results-store status of an ended
    trial (``finished``, ``stopped`` by the scheduler, ``error``), or None when it has no row
    (Tune also marks the trials an interrupted sweep left unfinished as terminated).
    ``terminal``: redraw in place (default: whether ``stream`` is a terminal).
    """

    def __init__(
        self,
        budgets: Mapping[str, int],
        metric: str,
        status_of: Callable[[Any], str | None],
        *,
        stream: IO[str] | None = None,
        min_interval: float = 2.0,
        log_interval: float = 30.0,
        prior: Sequence[Mapping[str, Any]] = (),
        builds: Callable[[], list[str]] | None = None,
        terminal: bool | None = None,
    ):
        self.budgets = dict(budgets)
        self.prior = list(prior)
        self.builds = builds  # lines about artifact builds running now
        self.metric = metric
        self.status_of = status_of
        self.stream = stream or sys.stderr
        self.terminal = _is_terminal(self.stream) if terminal is None else terminal
        self.min_interval = min_interval
        self.log_interval = log_interval  # not on a terminal: a build's line at most this often
        self.started = time.monotonic()
        self.last_time = 0.0
        self.shown: list[str] = []  # terminal: the block's lines (no stamps), top to bottom
        self.rows: list[int] = []  # terminal: the screen rows each takes (long lines wrap)
        self.logged: dict[str, tuple[str, float]] = {}  # elsewhere: identity -> (line, when) written
        # Ended trials Tune no longer lists (search.driver.ended_trials), counted per size key; and
        # of the prior rows, those of such trials (counted there, not again from the row).
        self.folded: dict[str, SizeProgress] = {}
        self._prior_ids = {_trial_id(row) for row in self.prior}
        self._folded_prior: set[str] = set()

    def forget(self, trial: Any) -> None:
        """An ended trial leaves Tune's list: its counts stay in the view."""
        key = _size_key(trial.config.get("in_domain_size"))
        if key not in self.budgets:
            return
        self._tally(self.folded.setdefault(key, SizeProgress(0)), trial)
        if trial.trial_id in self._prior_ids:
            self._folded_prior.add(trial.trial_id)

    def counts(self, trials: Sequence[Any]) -> dict[str, SizeProgress]:
        counts = {key: SizeProgress(budget) for key, budget in self.budgets.items()}
        for key, folded in self.folded.items():
            size = counts[key]
            size.ended, size.failed, size.pruned = folded.ended, folded.failed, folded.pruned
            size.best, size.best_label = folded.best, folded.best_label
        live = {trial.trial_id for trial in trials} | self._folded_prior
        for row in self.prior:  # ended before this run (an extension, a resume after lost state)
            c = counts.get(_size_key(row["in_domain_size"]))
            if c is None or _trial_id(row) in live:
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
            self._tally(c, trial)
        return counts

    def _tally(self, c: SizeProgress, trial: Any) -> None:
        """Count an ended trial in ``c`` (one still running, or stopped without ending, not)."""
        if trial.status not in ("TERMINATED", "ERROR"):
            return
        status = "error" if trial.status == "ERROR" else self.status_of(trial)
        if status is None:
            return  # stopped without ending: an interrupted sweep (its resume continues it)
        c.ended += 1
        c.failed += status == "error"
        c.pruned += status == "stopped"
        value = (trial.last_result or {}).get(selected_key(self.metric))
        # A stopped trial's score is real but its run was cut short: it is no one's best.
        if status == "finished" and value is not None and (c.best is None or value > c.best):
            c.best, c.best_label = float(value), configuration_label(trial.config)

    def show(self, trials: Sequence[Any], *, force: bool = False, final: bool = False) -> None:
        """Write the lines that changed (``final``: the last view); look at most every
        ``min_interval`` s unless ``force``."""
        now = time.monotonic()
        if not force and now - self.last_time < self.min_interval:
            return  # Tune calls this every step of its loop: count at most every min_interval
        self.last_time = now
        counts = self.counts(trials)
        building = self.builds() if self.builds is not None and not final else []
        lines = _view_lines(counts, self.metric, final=final, building=building)
        stamp = _stamp(now - self.started)
        text = self._redraw(lines, stamp) if self.terminal else self._append(lines, stamp, now, final)
        if text:
            self.stream.write(text)
            self.stream.flush()

    def _redraw(self, lines: list[str], stamp: str) -> str:
        """ANSI text that turns the block on the screen (the cursor below it) into ``lines``."""
        if lines == self.shown:
            return ""
        columns = self._columns()
        out = [UP.format(sum(self.rows))] if self.rows else []  # to the block's first row
        rows: list[int] = []
        aligned = True  # every line above sits where it did: an unchanged one can be left alone
        for i, line in enumerate(lines):
            text = f"{stamp} {line}"
            height = max(1, math.ceil(len(text) / columns))
            if aligned and i < len(self.shown) and line == self.shown[i]:
                out.append(DOWN.format(self.rows[i]))
                rows.append(self.rows[i])
                continue
            if aligned and i < len(self.shown) and height == self.rows[i]:
                # The same rows: clear them, then write over them.
                out.append(CLEAR_LINE + (DOWN.format(1) + CLEAR_LINE) * (height - 1))
                out.append(UP.format(height - 1) if height > 1 else "")
            elif aligned:  # longer, shorter or new: everything below moves; rewrite it all
                aligned = False
                out.append("\r" + CLEAR_BELOW)
            out.append(f"{text}\n")
            rows.append(height)
        if aligned and len(self.shown) > len(lines):
            out.append("\r" + CLEAR_BELOW)  # lines gone (a build over): cleared
        self.shown, self.rows = list(lines), rows
        return "".join(out)

    def _columns(self) -> int:
        try:
            return max(20, os.get_terminal_size(self.stream.fileno()).columns)
        except (AttributeError, OSError, ValueError):  # not a real terminal (a test's fake one)
            return max(20, shutil.get_terminal_size().columns)

    def _append(self, lines: list[str], stamp: str, now: float, final: bool) -> str:
        """The lines that changed since written (``final``: every line), stamped."""
        out = []
        for line in lines:
            identity = _identity(line)
            written, when = self.logged.get(identity, ("", -math.inf))
            if not final and written == line:
                continue
            if not final and line.startswith(BUILDING) and written and now - when < self.log_interval:
                continue  # a running build's line changes every look: a log gets it now and then
            self.logged[identity] = (line, now)
            out.append(f"{stamp} {line}\n")
        return "".join(out)


class LatestLook:
    """What ``look()`` last returned, looked at again in a thread of its own at most every
    ``every`` seconds: the view's look at the running builds lists a folder of the sweep's
    storage, a request of 10-100 ms in object storage, which Tune's loop does not wait for.
    Until the first look returns, ``initial``."""

    def __init__(
        self,
        look: Callable[[], list[str]],
        every: float = 2.0,
        initial: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ):
        self._look = look
        self.every = every
        self._clock = clock
        self._latest = list(initial)
        self._asked = -math.inf
        self._running: threading.Thread | None = None

    def __call__(self) -> list[str]:
        now = self._clock()
        if (self._running is None or not self._running.is_alive()) and now - self._asked >= self.every:
            self._asked = now
            # a daemon: a look still listing when the sweep's process exits is left, it changes nothing
            self._running = threading.Thread(target=self._refresh, name="resweep-look", daemon=True)
            self._running.start()
        return self._latest

    def _refresh(self) -> None:
        try:
            self._latest = self._look()  # one assignment: the loop reads the old list or the new
        except Exception:  # a record being rewritten, storage out of reach: the next look may do
            return


def _trial_id(row: Mapping[str, Any]) -> str:
    """The Tune trial id a results-store row's trial name ends with."""
    return str(row["trial_name"]).rpartition("_")[2]


def _shown(key: str) -> str:
    """A size key as a user reads sizes everywhere (``id0.1`` -> ``10%``, ``id300`` -> ``300
    sentences``; see :func:`search.sizes.size_text`)."""
    try:
        return InDomainSize.from_key(key).text
    except ValueError:
        return key


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
    from ..plan import load_saved_sweep, plan_sweep
    from ..results import SCORED

    config, paths = load_saved_sweep(storage, name)
    rows = paths.results.read().to_pylist()
    plan = plan_sweep(config)
    sizes = []
    for key, size in plan.sizes.items():
        wanted = InDomainSize.of(size)
        mine = [r for r in rows if wanted.matches(r["in_domain_size"])]
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
