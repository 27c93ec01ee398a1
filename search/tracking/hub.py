"""The tracking thread: the sweep's callback hands events over, trackers get them off Tune's loop.

Every tracker has a thread and a queue of its own, so a slow one (a W&B run start, a far MLflow
server) never holds up Tune or another tracker. The callback's calls only enqueue. A tracker that
raises is dropped with one warning line; :meth:`TrackingHub.close` waits at most
``tracking.timeout`` seconds in all, then leaves what is unsent behind with one warning: the
results store, not a tracker, is the truth about the sweep.

What each tracker has logged is kept in ``<sweep>/tracking/logged.json`` (written atomically): a
resume or an extension does not log an ended trial twice, and logs the ended trials a tracker has
not seen (tracking turned on later, or a crash between a row and its tracker run).
"""

from __future__ import annotations

import json
import queue
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cluster.storage import atomic_file
from trainables.metrics import STORED_METRICS
from trainables.report_keys import score_key, selected_key

from ..sizes import size_key
from ._base import TRACKERS, BaseTracker, TrackingSection, TrialInfo, check_installed

__all__ = ["TrackingHub", "final_scores", "warn"]

_STOP = object()


def warn(message: str) -> None:
    print(f"resweep: warning: tracking: {message}", file=sys.stderr, flush=True)


def final_scores(source: Mapping[str, Any]) -> dict[str, float]:
    """The selected epoch's scores of a trial's last report (``selected_*`` keys), as numbers."""
    return {
        key: float(value)
        for key, value in source.items()
        if key.startswith("selected_") and isinstance(value, (int, float)) and not isinstance(value, bool)
    }


class _Worker:
    """One tracker on its own thread; dropped (one warning) at its first error."""

    def __init__(self, tracker: BaseTracker, hub: TrackingHub):
        self.tracker = tracker
        self.hub = hub
        self.queue: queue.Queue[Any] = queue.Queue()
        self.failed = False
        self.thread = threading.Thread(target=self._serve, name=f"resweep-{tracker.name}", daemon=True)

    def _serve(self) -> None:
        while True:
            item = self.queue.get()
            if item is _STOP:
                return
            if self.failed:
                continue
            method, args = item
            try:
                method(self, *args)
            except Exception as err:
                self.failed = True
                text = " ".join(str(err).split())[:300]
                warn(
                    f"{self.tracker.name} failed ({type(err).__name__}: {text}); the sweep goes on "
                    "without it (the results store has every trial)"
                )

    def on_open(self, resuming: bool, backlog: list[tuple[TrialInfo, str, dict[str, float]]]) -> None:
        self.tracker.open(resuming)
        done = set(self.hub.seen(self.tracker.name, "trials"))
        for info, status, final in backlog:
            if info.key not in done:
                self.on_ended(info, status, final)

    def on_epoch(self, trial: TrialInfo, step: int, metrics: dict[str, float]) -> None:
        if trial.key not in self.hub.seen(self.tracker.name, "trials"):  # an ended trial's replay: no
            self.tracker.epoch(trial, step, metrics)

    def on_ended(self, trial: TrialInfo, status: str, final: dict[str, float]) -> None:
        if trial.key in self.hub.seen(self.tracker.name, "trials"):
            return
        self.tracker.ended(trial, status, final)
        self.hub.mark(self.tracker.name, "trials", trial.key)
        self._sizes()

    def on_close(self, complete: bool) -> None:
        self._sizes(final=complete)
        self.tracker.close(complete)

    def _sizes(self, final: bool = False) -> None:
        """Log the leaderboard and plots of each size that has just got its last row (``final``:
        of every size with rows; the sweep is over, a cell that ran out of proposals included).
        A size grown by an extension is logged again when it is done again."""
        done = set(self.hub.seen(self.tracker.name, "sizes"))
        for size, rows in sorted(self.hub.done_sizes(final).items()):
            if f"{size}@{rows}" not in done:
                self.tracker.size_done(size, self.hub.files(size, rows))
                self.hub.mark(self.tracker.name, "sizes", f"{size}@{rows}")


class TrackingHub:
    """The trackers of one sweep run. ``sizes_done(final)`` says which sizes have all their rows,
    and how many (``final``: the sweep is over; every size with rows);
    ``size_files(size, folder)`` writes a size's leaderboard and the report's plots into
    ``folder`` and returns them by artifact path."""

    def __init__(
        self,
        settings: TrackingSection,
        sweep: str,
        folder: Path,
        *,
        sizes_done: Callable[[bool], dict[str, int]] = lambda final: {},
        size_files: Callable[[str, Path], dict[str, Path]] | None = None,
    ):
        check_installed(settings)
        classes = [TRACKERS.get(name) for name in settings.trackers]
        self.settings = settings
        self.folder = folder
        self.sizes_done = sizes_done
        self.ended_count = 0  # trials handed over as ended: what the answer of done_sizes may change with
        self._done: dict[tuple[int, bool], dict[str, int]] = {}
        self.size_files = size_files
        self.workers = [_Worker(cls(settings, sweep, folder), self) for cls in classes]
        self.state_file = folder / "tracking" / "logged.json"
        self.lock = threading.Lock()
        self.logged: dict[str, dict[str, list[str]]] = {}  # tracker -> {trials: [...], sizes: [...]}
        self._files: dict[str, dict[str, Path]] = {}  # size@rows -> its files by artifact path
        self._seen: dict[tuple[str, str], set[str]] = {}  # (tracker, kind) -> the keys in `logged`

    # The callback's side: enqueue only -----------------------------------------------------

    def start(self, resuming: bool, prior: list[dict[str, Any]]) -> None:
        """Open every tracker (on its thread), then log the ended trials it has not seen."""
        try:
            self.logged = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            self.logged = {}
        self._seen.clear()
        backlog = [(row_info(row), row["status"], row_final(row)) for row in prior]
        for worker in self.workers:
            worker.thread.start()
            worker.queue.put((_Worker.on_open, (resuming, backlog)))

    def epoch(self, trial: TrialInfo, step: int, metrics: Mapping[str, float]) -> None:
        for worker in self.workers:
            worker.queue.put((_Worker.on_epoch, (trial, step, dict(metrics))))

    def ended(self, trial: TrialInfo, status: str, final: Mapping[str, float]) -> None:
        self.ended_count += 1
        for worker in self.workers:
            worker.queue.put((_Worker.on_ended, (trial, status, dict(final))))

    def close(self, complete: bool) -> None:
        """Let every tracker finish, within ``timeout`` seconds in all."""
        for worker in self.workers:
            worker.queue.put((_Worker.on_close, (complete,)))
            worker.queue.put(_STOP)
        deadline = time.monotonic() + self.settings.timeout
        for worker in self.workers:
            worker.thread.join(max(0.0, deadline - time.monotonic()))
            if worker.thread.is_alive():
                warn(
                    f"{worker.tracker.name} had not finished after {self.settings.timeout:g} s "
                    f"({worker.queue.qsize()} event(s) unsent); left behind (the results store has "
                    "every trial)"
                )

    # The trackers' side (tracking threads) ---------------------------------------------------

    def seen(self, tracker: str, kind: str) -> set[str]:
        """What ``tracker`` has logged of ``kind`` (a set: asked once per epoch of every trial)."""
        with self.lock:
            if (tracker, kind) not in self._seen:
                self._seen[tracker, kind] = set(self.logged.setdefault(tracker, {}).setdefault(kind, []))
            return self._seen[tracker, kind]

    def mark(self, tracker: str, kind: str, key: str) -> None:
        self.seen(tracker, kind)  # the set exists before it grows
        with self.lock:
            self._seen[tracker, kind].add(key)
            self.logged.setdefault(tracker, {}).setdefault(kind, []).append(key)
            with atomic_file(self.state_file) as temporary:
                temporary.write_text(json.dumps(self.logged, indent=1))

    def done_sizes(self, final: bool) -> dict[str, int]:
        """``sizes_done(final)``, asked once for every tracker: it reads the results store, and
        its answer changes only when another trial ends."""
        key = (self.ended_count, final)
        with self.lock:
            if key not in self._done:
                self._done = {key: self.sizes_done(final)}
            return self._done[key]

    def files(self, size: str, rows: int) -> dict[str, Path]:
        """A size's leaderboard and the report's plots (at ``rows`` rows), made once for every tracker."""
        key = f"{size}@{rows}"
        with self.lock:
            if key not in self._files:
                folder = self.folder / "tracking" / "files" / key
                self._files[key] = self.size_files(size, folder) if self.size_files else {}
            return self._files[key]


def row_info(row: Mapping[str, Any]) -> TrialInfo:
    """A results-store row's trial, as trackers name it."""
    size = row["in_domain_size"]
    return TrialInfo(
        key=row["trial_name"],
        sweep=row["sweep"],
        size=size_key(size) if size is not None else "unknown",
        cell=row.get("cell"),
        role=row.get("role"),
        seed=row.get("seed"),
        params=json.loads(row["config"]) if row.get("config") else {},
    )


def row_final(row: Mapping[str, Any]) -> dict[str, float]:
    """A row's selected-epoch scores under the names a live trial reports them by."""
    try:
        last = json.loads(row.get("last_report") or "{}")
    except ValueError:
        last = {}
    final = final_scores(last)
    if not final:
        final = {
            selected_key(key if key.startswith("dev_") else score_key("test", key)): float(row[key])
            for key in row
            if (key.startswith("dev_") or key in STORED_METRICS) and isinstance(row[key], (int, float))
        }
    return final
