"""Searchers: what proposes a sweep's trials, one study and one budget per in-domain size.

Tune runs a sweep as one experiment so that every size's trials share the cluster at once. The
in-domain size is a context, not a hyper-parameter: :class:`PerSizeSearch` holds one searcher per
size (an Optuna study each, or a grid), asks them in turn — the size with the smallest share of
its budget handed out goes first — and stamps ``in_domain_size`` on what they propose.
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from ray.tune.search import ConcurrencyLimiter, Searcher
from ray.tune.search.optuna import OptunaSearch

from spaces import define_by_run

__all__ = [
    "Confirmation",
    "GridSearch",
    "PerSizeSearch",
    "ResumableOptunaSearch",
    "StudyStorage",
    "make_searcher",
]

SIZE_KEY = "in_domain_size"
STUDY_COPY = "optuna.db"  # the saved copy of a local SQLite study, in Tune's experiment folder


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


class _PickledState(Searcher):
    """Save and restore the whole searcher with pickle, as Tune's own searchers (OptunaSearch
    included) do, into the experiment folder the sweep itself created."""

    def get_state(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def set_state(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        import pickle

        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.__dict__, handle)

    def restore(self, checkpoint_path: str) -> None:
        import pickle

        with open(checkpoint_path, "rb") as handle:
            self.__dict__.update(pickle.load(handle))  # the sweep's own state file


class GridSearch(_PickledState):
    """Hands out a fixed list of configurations in order (a space's grid)."""

    def __init__(self, configs: Sequence[Mapping[str, Any]], metric: str, mode: str = "max"):
        super().__init__(metric=metric, mode=mode)
        self._configs = [dict(c) for c in configs]
        self._next = 0

    def suggest(self, trial_id: str) -> Any:  # a config, None (not now) or Searcher.FINISHED
        if self._next >= len(self._configs):
            return Searcher.FINISHED
        self._next += 1
        return dict(self._configs[self._next - 1])

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        pass


@dataclass
class Confirmation:
    """A size's confirmation runs: after its search, the ``top_k`` best configurations run again
    with each of ``seeds`` (the seeds other than the search's).

    ``scored`` holds (score, proposal) of search trials that ended before this searcher existed
    (a sweep restarted after a crash); ``done`` the (configuration key, seed) pairs already run.
    """

    top_k: int
    seeds: tuple[int, ...]
    scored: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    done: set[tuple[str, int]] = field(default_factory=set)
    queue: list[dict[str, Any]] | None = None  # built once every search trial of the size ended

    @property
    def most(self) -> int:
        return self.top_k * len(self.seeds)


class PerSizeSearch(_PickledState):
    """One searcher and one budget per in-domain size, behind one Tune experiment.

    ``searchers`` and ``budgets`` (search trials still to propose) are keyed alike (e.g. ``id0.1``);
    ``sizes`` maps each key to the size stamped on its proposals. A size whose searcher has nothing
    to propose right now yields its turn to the others. With ``confirmations``, a size whose search
    is over proposes its top configurations again with the other seeds (``config_key`` tells
    configurations apart, seed aside); those runs are not told to the size's study.

    ``study_copy_of``: the object-store sweep folder whose SQLite studies are a local copy on the
    driver (:attr:`search.plan.SweepPaths.studies`); the copy is saved beside the searcher's own
    state whenever Tune saves that (and uploads it with the rest).
    """

    def __init__(
        self,
        searchers: Mapping[str, Searcher],
        budgets: Mapping[str, int],
        sizes: Mapping[str, float | int],
        metric: str,
        mode: str = "max",
        *,
        confirmations: Mapping[str, Confirmation] | None = None,
        config_key: Callable[[str, Mapping[str, Any]], str] | None = None,
        study_copy_of: str | None = None,
    ):
        super().__init__(metric=metric, mode=mode)
        self._study_copy_of = study_copy_of
        self._searchers = dict(searchers)
        self._budgets = {key: budgets[key] for key in self._searchers}
        self._sizes = dict(sizes)
        self._suggested = dict.fromkeys(self._searchers, 0)
        self._owner: dict[str, str] = {}  # trial id -> size key, while the trial is live
        self._proposal: dict[str, dict[str, Any]] = {}  # live search trial id -> its proposal
        self._confirm = {key: c for key, c in (confirmations or {}).items() if c.top_k and c.seeds}
        self._confirmed = dict.fromkeys(self._searchers, 0)
        self._config_key = config_key

    def _planned(self, key: str) -> int:
        confirm = self._confirm.get(key)
        return self._budgets[key] + (confirm.most if confirm else 0)

    def _searching(self, key: str) -> bool:
        return self._suggested[key] < self._budgets[key]

    def _live_search(self, key: str) -> bool:
        return any(owner == key for trial, owner in self._owner.items() if trial in self._proposal)

    def _next_confirmation(self, key: str) -> dict[str, Any] | None:
        confirm = self._confirm.get(key)
        if confirm is None or self._live_search(key):
            return None  # no confirmation, or the ranking is not known yet
        if confirm.queue is None:
            assert self._config_key is not None
            best: dict[str, tuple[float, dict[str, Any]]] = {}
            for score, proposal in confirm.scored:
                name = self._config_key(key, proposal)
                if name not in best or score > best[name][0]:
                    best[name] = (score, proposal)
            top = sorted(best.items(), key=lambda item: -item[1][0])[: confirm.top_k]
            confirm.queue = [
                {**proposal, "seed": seed}
                for name, (_, proposal) in top
                for seed in confirm.seeds
                if (name, seed) not in confirm.done
            ]
        return confirm.queue.pop(0) if confirm.queue else None

    def _finished(self, key: str) -> bool:
        confirm = self._confirm.get(key)
        if self._searching(key) or (confirm is not None and self._live_search(key)):
            return False
        return confirm is None or (confirm.queue is not None and not confirm.queue)

    def suggest(self, trial_id: str) -> Any:  # a config, None (not now) or Searcher.FINISHED
        order = list(self._searchers)
        share = {k: (self._suggested[k] + self._confirmed[k]) / max(1, self._planned(k)) for k in order}
        for key in sorted(order, key=lambda k: (share[k], order.index(k))):
            if self._searching(key):
                config = self._searchers[key].suggest(trial_id)
                if config == Searcher.FINISHED:
                    self._budgets[key] = self._suggested[key]  # this size has no more to propose
                elif config is not None:
                    assert isinstance(config, dict)
                    self._suggested[key] += 1
                    self._owner[trial_id] = key
                    self._proposal[trial_id] = dict(config)
                    return {**config, SIZE_KEY: self._sizes[key]}
            if not self._searching(key):
                again = self._next_confirmation(key)
                if again is not None:
                    self._confirmed[key] += 1
                    self._owner[trial_id] = key
                    return {**again, SIZE_KEY: self._sizes[key]}
        if all(self._finished(k) for k in order):
            return Searcher.FINISHED
        return None

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id in self._proposal:
            self._searchers[self._owner[trial_id]].on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        key = self._owner.pop(trial_id, None)
        proposal = self._proposal.pop(trial_id, None)
        if key is None or proposal is None:
            return  # a confirmation run (or a trial this searcher never proposed)
        self._searchers[key].on_trial_complete(trial_id, result, error=error)
        confirm = self._confirm.get(key)
        score = None if (error or not result) else result.get(self.metric)
        if confirm is not None and score is not None:
            confirm.scored.append((float(score), proposal))

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # metric and mode are fixed when the sweep builds the searchers

    def save_to_dir(self, checkpoint_dir: str, session_str: str = "default") -> None:
        super().save_to_dir(checkpoint_dir, session_str)
        if self._study_copy_of is not None:
            studies = _study_copy_path(self._study_copy_of)
            if studies.is_file():
                _backup_sqlite(studies, Path(checkpoint_dir) / STUDY_COPY)


def _study_copy_path(sweep_root: str) -> Path:
    """This machine's local copy of the SQLite studies of the object-store sweep ``sweep_root``
    (computed where it is used: a resume may run on another machine than the sweep did)."""
    from cluster.storage import Location

    from .plan import SweepPaths

    return SweepPaths(Location.parse(sweep_root)).studies


def _backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included), renamed into place when whole."""
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(temporary)) as copy:
        live.backup(copy)
    os.replace(temporary, target)


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class StudyStorage(optuna.storages.RDBStorage):
    """Optuna RDB storage; for a local SQLite file, in WAL mode with ``synchronous=NORMAL``.

    ``copy_of``: the URL is the local copy of an object-store sweep's studies (see
    :class:`PerSizeSearch`); unpickled on another machine, it points at that machine's copy.

    Every proposal and result is a few commits, made in Tune's single control loop: with
    SQLite's defaults (a journal file and an fsync per commit) that was ~45 ms per trial on
    this machine's disk, ~24 ms in WAL mode. WAL with NORMAL never corrupts the file; a power
    loss may lose the last commits, which a resume replays from resweep's results store.
    """

    def __init__(self, url: str, *, copy_of: str | None = None):
        self._copy_of = copy_of
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(url)
        self._tune_sqlite()

    def _tune_sqlite(self) -> None:
        if self.url.startswith("sqlite:"):
            sqlalchemy.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.engine.dispose()  # connections made while creating the tables lack the pragmas

    def __setstate__(self, state: dict[Any, Any]) -> None:
        if state.get("_copy_of"):
            studies = _study_copy_path(state["_copy_of"])
            studies.parent.mkdir(parents=True, exist_ok=True)
            state = {**state, "url": f"sqlite:///{studies}"}
        super().__setstate__(state)
        self._tune_sqlite()


def make_searcher(
    *,
    kind: str,
    space: str,
    sizes: Mapping[str, float | int],
    budgets: Mapping[str, int],
    metric: str,
    seed: int,
    storage_url: str,
    study_prefix: str,
    grids: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    max_concurrent: int,
    confirmations: Mapping[str, Confirmation] | None = None,
    config_key: Callable[[str, Mapping[str, Any]], str] | None = None,
    study_copy_of: str | None = None,
) -> Searcher:
    """The sweep's searcher: per size an Optuna study (``tpe``/``random``) or a grid list, then
    the size's confirmation runs."""
    searchers: dict[str, Searcher] = {}
    storage = (
        StudyStorage(storage_url, copy_of=study_copy_of) if kind != "grid" else None
    )  # one connection pool for all sizes
    for key in sizes:
        if kind == "grid":
            assert grids is not None
            searchers[key] = GridSearch(grids[key], metric=metric)
            continue
        sampler = (
            optuna.samplers.TPESampler(seed=seed)
            if kind == "tpe"
            else optuna.samplers.RandomSampler(seed=seed)
        )
        searchers[key] = ResumableOptunaSearch(
            space=functools.partial(define_by_run, space=space),
            metric=metric,
            mode="max",
            sampler=sampler,
            study_name=f"{study_prefix}-{key}",
            storage=storage,
        )
    per_size = PerSizeSearch(
        searchers,
        budgets,
        sizes,
        metric=metric,
        confirmations=confirmations,
        config_key=config_key,
        study_copy_of=study_copy_of,
    )
    return ConcurrencyLimiter(per_size, max_concurrent=max_concurrent)
