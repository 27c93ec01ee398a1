"""Benchmark: how often resweep's own search recommends the right strategy, and at what cost.

resweep's searcher (:func:`search.searchers.make_searcher`) and scheduler
(:func:`search.schedulers.make_scheduler`) are replayed against the exhaustive ground-truth table
(``bench/ground_truth.py``: every configuration of the finite space ``ground-truth``, 3 seeds, per
epoch dev curves) as a simulated sweep: an event simulation with ``--workers`` concurrent trials,
each advancing epoch by epoch (the table's ``epoch_seconds`` as durations, so concurrency
interleaves as it would), its epochs reported to the scheduler and the searcher as a trial reports
them, stopped where the scheduler says so. Nothing is trained and no Ray cluster starts (only
``ray.tune``'s searcher and scheduler classes run).

One replay = one method x one replay seed x one dataset pair, all of the pair's complete sizes at
once (as one sweep does). Its rows make a leaderboard (:func:`search.leaderboard.build_leaderboard`)
whose recommendation per size is scored against the truth: the leaderboard of the whole table at
that size (every configuration, all 3 seeds). Figures per method:

* P: % of (replay, non-trivial size) pairs whose recommended strategy is in the true tie set (the
  strategies whose best configuration is the true winner or tied with it); non-trivial: at least
  one strategy outside that set. Also over all sizes.
* C: epochs the replay ran (search + confirmation, pre-training included) / epochs of the
  exhaustive table for those sizes (every configuration x 3 seeds), mean over replays.
* regret: true multi-seed mean of the winner - that of the recommended configuration (dev weighted
  F1, 0..1), mean and p90 over (replay, size); test regret the same on test weighted F1.

Methods: ``old`` (an emulation of resweep before the cells/transfer/ASHA-per-cell round: one TPE
study per size with Optuna's defaults and the same seed at every size, ASHA grace 1 / reduction 2
over the whole size, stopped trials ranked beside finished ones, its top 3 confirmed, rank 1 as the
answer), ``random``, ``tpe+fifo``, ``tpe+fifo-notransfer``, ``tpe+asha``, ``tpe+asha-notransfer``.

A learning-curve check follows: per held-out size, :func:`search.curves.estimate_at` from the
other sizes' true boards, against the held-out size's truth.

    .venv/bin/python bench/search_correctness.py [--tables 'bench/ground_truth/*.parquet'] \
        [--replays 50] [--budget 24] [--workers 4] [--methods old,random,...] [--default tpe+asha] \
        [--processes 2] [--json OUT]

    .venv/bin/python bench/search_correctness.py --synthetic /tmp/gt.parquet   # a fake full table

A (pair, size) is used only when every configuration the table has for it has all 3 seeds; the
configurations present are that size's finite space. A proposal the table lacks (e.g. tfidf-linear
rows not generated yet) is told to the searcher as an errored trial and counted (``missing``): it
spends budget, as a failed trial would.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import glob
import heapq
import importlib.util
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SPACE = "ground-truth"
AXIS = "strategy"
METRIC = "selected_dev_f1_weighted"  # what the sweep's searcher and ASHA compare
INTERMEDIATE = "dev_f1_weighted"  # the per-epoch dev score the studies record
BOARD_METRIC = "dev_f1_weighted"  # the rows' selected dev score
SEEDS = (0, 1, 2)
SEARCH_SEED, CONFIRM_SEEDS = 0, (1, 2)
TIME = "final_stage_epochs"
DONE = "training_done"
METHODS = ("old", "random", "tpe+fifo", "tpe+fifo-notransfer", "tpe+asha", "tpe+asha-notransfer")
EMULATED = {"old"}
SENSITIVITY_EPSILON = 0.005


def _ground_truth_module() -> Any:
    """bench/ground_truth.py (bench is not a package): its ``config_id`` and table schema."""
    name = "_resweep_bench_ground_truth"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "ground_truth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def config_id(config: Mapping[str, Any]) -> str:
    """The table's key of a space configuration (bench/ground_truth.py's own function)."""
    return str(_ground_truth_module().config_id(dict(config)))


# --------------------------------------------------------------------------------------------
# The table


@dataclass
class Run:
    """One (configuration, seed) cell of the table: what a trial of it reports."""

    config_id: str
    seed: int
    pretrain_epochs: int
    dev_curve: list[float]
    epoch_seconds: list[float]
    dev: float  # the selected epoch's dev score
    test: float | None

    @property
    def epochs(self) -> int:
        return self.pretrain_epochs + len(self.dev_curve)


@dataclass
class Truth:
    """The exhaustive leaderboard of one size (all configurations, all seeds)."""

    winner: str  # config_id
    winner_mean: float
    winner_test: float | None
    means: dict[str, float]  # config_id -> dev mean over seeds
    tests: dict[str, float]  # config_id -> test mean over seeds (where the table has test)
    tie_sets: dict[float, frozenset[str]]  # epsilon -> strategies tied with the winner
    strategies: frozenset[str]
    best_per_strategy: dict[str, float]  # strategy -> its best configuration's dev mean
    board: Any  # the SizeBoard (epsilon 0)

    def non_trivial(self, epsilon: float = 0.0) -> bool:
        return bool(self.strategies - self.tie_sets[epsilon])


@dataclass
class SizeTable:
    pair: str
    size: float
    key: str  # size key, e.g. id0.1
    configs: dict[str, dict[str, Any]]  # config_id -> space configuration
    runs: dict[tuple[str, int], Run]
    rows: list[dict[str, Any]]  # the table's rows of this size
    truth: Truth | None = None

    @property
    def exhaustive_epochs(self) -> int:
        return sum(run.epochs for run in self.runs.values())


@dataclass
class PairTables:
    pair: str
    sizes: list[SizeTable]
    skipped: list[str] = field(default_factory=list)  # "0.3: why"


def _size_key(size: float) -> str:
    from search.config import size_key

    return size_key(float(size))


def _run_of(row: Mapping[str, Any]) -> Run:
    curve = [float(v) for v in row["dev_curve"]]
    pretrain = int(row.get("pretrain_epochs") or 0)
    seconds = [float(v) for v in (row.get("epoch_seconds") or [])]
    if len(seconds) != pretrain + len(curve):  # a row without per-epoch times: spread its wall time
        total = float(row.get("wall_seconds") or (pretrain + len(curve)))
        seconds = [total / max(1, pretrain + len(curve))] * (pretrain + len(curve))
    test = row.get("f1_weighted")
    return Run(
        config_id=str(row["config_id"]),
        seed=int(row["seed"]),
        pretrain_epochs=pretrain,
        dev_curve=curve,
        epoch_seconds=seconds,
        dev=float(row["dev_f1_weighted"]),
        test=None if test is None else float(test),
    )


def load_tables(patterns: str | Sequence[str], seeds: Sequence[int] = SEEDS) -> list[PairTables]:
    """Every pair of the tables matching ``patterns``, with its complete sizes (every
    configuration present has every seed) and why the others were skipped."""
    import pyarrow.parquet as pq

    paths = sorted(
        {p for pattern in ([patterns] if isinstance(patterns, str) else patterns) for p in glob.glob(pattern)}
    )
    by_pair: dict[str, dict[float, dict[tuple[str, int], dict[str, Any]]]] = {}
    for path in paths:
        columns = [
            "pair", "in_domain_size", "seed", "config_id", "config", "architecture", "strategy",
            "ood_pct", "local_in_domain_pretrain_pct", "imbalance", "learning_rate", "dev_f1_weighted",
            "f1_weighted", "pretrain_epochs", "final_epochs", "dev_curve", "epoch_seconds", "wall_seconds",
        ]  # fmt: skip
        table = pq.read_table(path)
        table = table.select([c for c in columns if c in table.column_names])
        for row in table.to_pylist():
            cells = by_pair.setdefault(str(row["pair"]), {}).setdefault(float(row["in_domain_size"]), {})
            cells[(str(row["config_id"]), int(row["seed"]))] = row  # a cell run twice keeps its last row
    pairs = []
    for pair in sorted(by_pair):
        usable, skipped = [], []
        for size in sorted(by_pair[pair]):
            cells = by_pair[pair][size]
            configs = {cid for cid, _ in cells}
            short = {s: sum((cid, s) not in cells for cid in configs) for s in seeds}
            if any(short.values()):
                gaps = ", ".join(
                    f"seed {s} has {len(configs) - n}/{len(configs)}" for s, n in short.items() if n
                )
                skipped.append(f"{size:g} ({gaps} configurations)")
                continue
            rows = [cells[(cid, s)] for cid in sorted(configs) for s in seeds]
            st = SizeTable(
                pair=pair,
                size=size,
                key=_size_key(size),
                configs={cid: json.loads(cells[(cid, seeds[0])]["config"]) for cid in configs},
                runs={(cid, s): _run_of(cells[(cid, s)]) for cid in configs for s in seeds},
                rows=rows,
            )
            st.truth = compute_truth(st.rows)
            usable.append(st)
        pairs.append(PairTables(pair, usable, skipped))
    return pairs


def entry_config_id(key: str) -> str:
    """The table's config_id of a leaderboard entry (its ``key``: the rows' configuration JSON,
    which here is the space's configuration; anything naming the run is dropped again)."""
    return config_id(space_config({k: v for k, v in json.loads(key).items() if k not in ("role", "cell")}))


def tie_set(board: Any) -> frozenset[str]:
    """Strategies whose best configuration is the board's winner or tied with it."""
    return frozenset(s for s, e in board.best_per_strategy().items() if e.rank == 1 or e.tie)


def compute_truth(rows: Sequence[Mapping[str, Any]]) -> Truth:
    """The leaderboard of one size's whole table (every row finished), its winner and tie sets."""
    from search.leaderboard import build_leaderboard

    rows = [{**r, "status": "finished", "role": "search"} for r in rows]
    boards = {eps: build_leaderboard(rows, BOARD_METRIC, epsilon=eps) for eps in (0.0, SENSITIVITY_EPSILON)}
    assert all(len(b) == 1 for b in boards.values()), "one size at a time"
    board = boards[0.0][0]
    means = {entry_config_id(e.key): e.mean for e in board.entries}
    tests = {entry_config_id(e.key): e.test["f1_weighted"] for e in board.entries if "f1_weighted" in e.test}
    winner = entry_config_id(board.winner.key)
    return Truth(
        winner=winner,
        winner_mean=board.winner.mean,
        winner_test=tests.get(winner),
        means=means,
        tests=tests,
        tie_sets={eps: tie_set(b[0]) for eps, b in boards.items()},
        strategies=frozenset(board.best_per_strategy()),
        best_per_strategy={s: e.mean for s, e in board.best_per_strategy().items()},
        board=board,
    )


# --------------------------------------------------------------------------------------------
# The simulated sweep


def space_config(proposal: Mapping[str, Any]) -> dict[str, Any]:
    """A proposal without what the sweep stamps on it: the space's configuration."""
    from search.plan import CELL_KEY, ROLE_KEY

    return {k: v for k, v in proposal.items() if k not in ("in_domain_size", ROLE_KEY, CELL_KEY, "seed")}


def proposal_key(size_key: str, proposal: Mapping[str, Any]) -> str:
    """``config_key`` for the searcher: the table's config_id of a proposal."""
    return config_id(space_config(proposal))


class FakeTrial:
    """What resweep's and Ray's schedulers read of a Tune trial (``trial_id``, ``config``)."""

    __slots__ = ("config", "status", "trial_id")

    def __init__(self, trial_id: str, config: dict[str, Any]):
        self.trial_id = trial_id
        self.config = config
        self.status = "RUNNING"


def results_of(run: Run, size: float) -> list[dict[str, Any]]:
    """What a trial of ``run`` reports, epoch by epoch: pre-training epochs first
    (``final_stage_epochs`` 0, no in-domain score: schedulers and studies skip them), then each
    final-stage epoch with its dev score and the best so far."""
    results: list[dict[str, Any]] = [
        {TIME: 0, DONE: False, "in_domain_size": size} for _ in range(run.pretrain_epochs)
    ]
    best = -math.inf
    n = len(run.dev_curve)
    for k, value in enumerate(run.dev_curve, 1):
        best = max(best, value)
        results.append({TIME: k, INTERMEDIATE: value, METRIC: best, DONE: k == n, "in_domain_size": size})
    return results


@dataclass
class ReplayOutcome:
    rows: list[dict[str, Any]]
    epochs: dict[float, int]  # size -> epochs run
    missing: int  # proposals the table lacks (told as errors)
    stopped: int  # trials the scheduler stopped
    stopped_at_end: int  # stopped by the scheduler on their own last epoch (row "stopped", study COMPLETE)
    trials: int
    stalled: bool  # the searcher said "not now" with nothing running (a deadlock)
    sim_seconds: float
    transferred: int
    duplicates: int  # search proposals of a configuration already proposed at that size and cell


def simulate(
    searcher: Any,
    scheduler: Any,
    tables: Mapping[str, SizeTable],  # size key -> table
    workers: int,
    *,
    stopped_is_finished: bool = False,
) -> ReplayOutcome:
    """Run the sweep: ask ``searcher`` whenever a worker is free, advance running trials epoch by
    epoch in time order, tell both what Tune would tell them."""
    from ray.tune.schedulers import TrialScheduler
    from ray.tune.search import Searcher

    from search.plan import CELL_KEY, ROLE_KEY

    by_size = {t.size: t for t in tables.values()}
    heap: list[tuple[float, int, str]] = []
    live: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    epochs = dict.fromkeys(by_size, 0)
    now, counter, order = 0.0, 0, 0
    missing = stopped = stopped_at_end = trials = duplicates = 0
    proposed: set[tuple[float, Any, str, int]] = set()
    finished = stalled = False
    while True:
        while len(live) < workers and not finished:
            trial_id = f"t{counter:05d}"
            counter += 1
            proposal = searcher.suggest(trial_id)
            if proposal is None:
                break
            if proposal == Searcher.FINISHED:
                finished = True
                break
            table = by_size[float(proposal["in_domain_size"])]
            seed = int(proposal.get("seed", SEARCH_SEED))
            name = config_id(space_config(proposal))
            if proposal.get(ROLE_KEY, "search") == "search":
                slot = (table.size, proposal.get(CELL_KEY), name, seed)
                duplicates += slot in proposed
                proposed.add(slot)
            run = table.runs.get((name, seed))
            if run is None:
                missing += 1
                searcher.on_trial_complete(trial_id, None, error=True)
                continue
            trial = FakeTrial(trial_id, dict(proposal))
            scheduler.on_trial_add(None, trial)
            live[trial_id] = {"trial": trial, "run": run, "results": results_of(run, table.size), "i": 0}
            order += 1
            heapq.heappush(heap, (now + run.epoch_seconds[0], order, trial_id))
            trials += 1
        if not heap:
            stalled = not finished
            break
        now, _, trial_id = heapq.heappop(heap)
        state = live[trial_id]
        trial, run = state["trial"], state["run"]
        result = state["results"][state["i"]]
        state["i"] += 1
        epochs[float(result["in_domain_size"])] += 1
        decision = scheduler.on_trial_result(None, trial, result)
        if decision == TrialScheduler.CONTINUE:
            searcher.on_trial_result(trial_id, result)
        if decision == TrialScheduler.CONTINUE and not result[DONE]:
            heapq.heappush(heap, (now + run.epoch_seconds[state["i"]], order, trial_id))
            order += 1
            continue
        # Ended: by itself, or by the scheduler (Tune marks that result `done`, and resweep's
        # results callback writes such a row as "stopped", even on the trial's own last epoch).
        del live[trial_id]
        trial.status = "TERMINATED"
        by_scheduler = decision != TrialScheduler.CONTINUE
        stopped += by_scheduler
        stopped_at_end += by_scheduler and bool(result[DONE])
        searcher.on_trial_complete(trial_id, result)
        scheduler.on_trial_complete(None, trial, result)
        rows.append(
            _row(
                trial.config,
                result,
                run,
                "stopped" if by_scheduler and not stopped_is_finished else "finished",
            )
        )
    return ReplayOutcome(
        rows,
        epochs,
        missing,
        stopped,
        stopped_at_end,
        trials,
        stalled,
        now,
        _transferred(searcher),
        duplicates,
    )


def _row(proposal: Mapping[str, Any], result: Mapping[str, Any], run: Run, status: str) -> dict[str, Any]:
    from search.plan import CELL_KEY, ROLE_KEY

    config = space_config(proposal)
    return {
        "in_domain_size": float(proposal["in_domain_size"]),
        "seed": run.seed,
        **{k: config.get(k) for k in ("strategy", "architecture", "imbalance")},
        "ood_pct": float(config.get("ood_pct") or 0.0),
        "local_in_domain_pretrain_pct": float(config.get("local_in_domain_pretrain_pct") or 0.0),
        "config": json.dumps(config, sort_keys=True),  # as a results-store row: trial keys only
        "status": status,
        BOARD_METRIC: float(result[METRIC]),
        "role": proposal.get(ROLE_KEY, "search"),
        "cell": proposal.get(CELL_KEY) or None,
        "epochs_run": float(run.pretrain_epochs + int(result[TIME])),
    }


def _transferred(searcher: Any) -> int:
    inner = getattr(searcher, "searcher", searcher)
    return sum(len(v) for v in getattr(inner, "_transferred", {}).values())


def _shares(total: int, cells: Sequence[str]) -> dict[str, int]:
    base, extra = divmod(total, len(cells))
    return {cell: base + (1 if i < extra else 0) for i, cell in enumerate(cells)}


def new_searcher(
    kind: str, tables: Sequence[SizeTable], seed: int, budget: int, workers: int, top_k: int, transfer: bool
) -> Any:
    """resweep's own searcher for a sweep of ``tables``' sizes with the strategy as its question."""
    from search.plan import slot_key
    from search.searchers import Confirmation, make_searcher
    from spaces import axis_values

    cells = [str(c) for c in axis_values(SPACE, AXIS)]
    shares = _shares(budget, cells)
    slots = {slot_key(t.key, c): (t, c) for t in tables for c in cells}
    return make_searcher(
        kind=kind,
        space=SPACE,
        sizes={slot: t.size for slot, (t, _) in slots.items()},
        budgets={slot: shares[c] for slot, (_, c) in slots.items()},
        metric=METRIC,
        seed=seed,
        storage_url=None,
        study_prefix="replay",
        cells={slot: c for slot, (_, c) in slots.items()},
        cell_values={c: {AXIS: c} for c in cells},
        slot_size={slot: t.key for slot, (t, _) in slots.items()},
        floors={},
        max_concurrent=workers,
        confirmations={slot: Confirmation(top_k, seeds=CONFIRM_SEEDS) for slot in slots} if top_k else None,
        config_key=proposal_key,
        transfer=transfer,
        intermediate=INTERMEDIATE,
    )


# ---- the old searcher and scheduler (an emulation: their code was replaced) -----------------


class OldSearch:
    """resweep before this round, minimally: one TPE study per size (Optuna's defaults, the same
    seed at every size), sizes taking turns by the share of their budget handed out, every ended
    trial told to its study as COMPLETE with its score (a stopped one too), then per size its top
    ``top_k`` configurations by score (stopped ones included) again with the other seeds."""

    def __init__(self, tables: Sequence[SizeTable], seed: int, budget: int, top_k: int):
        import optuna

        self._sizes = {t.key: t.size for t in tables}
        self._studies = {
            key: optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
            for key in self._sizes
        }
        self._budget = dict.fromkeys(self._sizes, budget)
        self._suggested = dict.fromkeys(self._sizes, 0)
        self._confirmed = dict.fromkeys(self._sizes, 0)
        self._top_k = top_k
        self._live: dict[str, tuple[str, Any, dict[str, Any]]] = {}  # id -> (size key, trial or None, config)
        self._scored: dict[str, dict[str, tuple[float, dict[str, Any]]]] = {k: {} for k in self._sizes}
        self._queue: dict[str, list[dict[str, Any]] | None] = dict.fromkeys(self._sizes)

    def _search_live(self, key: str) -> bool:
        return any(k == key and t is not None for k, t, _ in self._live.values())

    def suggest(self, trial_id: str) -> Any:
        from ray.tune.search import Searcher

        from search.plan import ROLE_KEY
        from spaces import define_by_run

        planned = {k: self._budget[k] + self._top_k * len(CONFIRM_SEEDS) for k in self._sizes}
        order = list(self._sizes)
        share = {k: (self._suggested[k] + self._confirmed[k]) / planned[k] for k in order}
        for key in sorted(order, key=lambda k: (share[k], order.index(k))):
            stamp = {"in_domain_size": self._sizes[key]}
            if self._suggested[key] < self._budget[key]:
                trial = self._studies[key].ask()
                self._suggested[key] += 1
                config = define_by_run(trial, SPACE)
                self._live[trial_id] = (key, trial, config)
                return {**config, **stamp, ROLE_KEY: "search"}
            if self._search_live(key):
                continue
            if self._queue[key] is None:
                top = sorted(self._scored[key].values(), key=lambda item: -item[0])[: self._top_k]
                self._queue[key] = [{**c, "seed": s} for _, c in top for s in CONFIRM_SEEDS]
            queue = self._queue[key]
            if queue:
                self._confirmed[key] += 1
                self._live[trial_id] = (key, None, {})
                return {**queue.pop(0), **stamp, ROLE_KEY: "confirm"}
        done = all(
            self._suggested[k] >= self._budget[k] and self._queue[k] is not None and not self._queue[k]
            for k in order
        )
        return Searcher.FINISHED if done else None

    def on_trial_result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        pass

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        import optuna

        key, trial, config = self._live.pop(trial_id, (None, None, {}))
        if key is None or trial is None:
            return
        value = None if (error or not result) else result.get(METRIC)
        if value is None:
            self._studies[key].tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        self._studies[key].tell(trial, float(value))
        name = config_id(config)
        if name not in self._scored[key] or value > self._scored[key][name][0]:
            self._scored[key][name] = (float(value), config)


class OldScheduler:
    """One ASHA per size (grace 1, reduction 2, every strategy compared together) for search
    trials; confirmation runs to the end."""

    def __init__(self) -> None:
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

        self._make = lambda: ASHAScheduler(
            time_attr=TIME, metric=METRIC, mode="max", max_t=100, grace_period=1, reduction_factor=2
        )
        self._children: dict[Any, Any] = {}
        self._fifo = FIFOScheduler()

    def _child(self, trial: Any) -> Any:
        from search.plan import ROLE_KEY

        if trial.config.get(ROLE_KEY) != "search":
            return self._fifo
        size = trial.config["in_domain_size"]
        if size not in self._children:
            self._children[size] = self._make()
        return self._children[size]

    def on_trial_add(self, controller: Any, trial: Any) -> None:
        self._child(trial).on_trial_add(controller, trial)

    def on_trial_result(self, controller: Any, trial: Any, result: dict[str, Any]) -> str:
        return str(self._child(trial).on_trial_result(controller, trial, result))

    def on_trial_complete(self, controller: Any, trial: Any, result: dict[str, Any]) -> None:
        self._child(trial).on_trial_complete(controller, trial, result)


# ---- one replay ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    budget: int = 24
    workers: int = 4
    top_k: int = 1  # per cell (the old method confirms its top 3 per size)
    old_top_k: int = 3


def build_method(method: str, tables: Sequence[SizeTable], seed: int, settings: Settings) -> tuple[Any, Any]:
    from search.schedulers import make_scheduler

    if method == "old":
        return OldSearch(tables, seed, settings.budget, settings.old_top_k), OldScheduler()
    if method == "random":
        kind, scheduler, transfer = "random", "fifo", False
    else:
        name, _, variant = method.partition("-")
        kind, _, scheduler = name.partition("+")
        if kind != "tpe" or scheduler not in ("fifo", "asha") or variant not in ("", "notransfer"):
            raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
        transfer = variant != "notransfer"
    searcher = new_searcher(kind, tables, seed, settings.budget, settings.workers, settings.top_k, transfer)
    return searcher, make_scheduler(scheduler, METRIC)


def replay(method: str, seed: int, tables: Sequence[SizeTable], settings: Settings) -> dict[str, Any]:
    """One simulated sweep of ``tables`` (one pair's sizes) and its recommendation per size, scored."""
    import numpy as np

    from search.leaderboard import build_leaderboard

    random.seed(seed)
    np.random.seed(seed % 2**32)
    searcher, scheduler = build_method(method, tables, seed, settings)
    outcome = simulate(
        searcher, scheduler, {t.key: t for t in tables}, settings.workers, stopped_is_finished=method == "old"
    )
    boards = {b.size: b for b in build_leaderboard(outcome.rows, BOARD_METRIC, epsilon=0.0)}
    sizes = []
    for table in tables:
        truth = table.truth
        assert truth is not None
        board = boards.get(table.size)
        entry = None
        if board is not None and board.entries:
            entry = board.winner if method == "old" else getattr(board, "recommended", None) or board.winner
        record: dict[str, Any] = {
            "pair": table.pair,
            "size": table.size,
            "method": method,
            "seed": seed,
            "epochs": outcome.epochs[table.size],
            "exhaustive_epochs": table.exhaustive_epochs,
            "non_trivial": truth.non_trivial(0.0),
            "non_trivial_005": truth.non_trivial(SENSITIVITY_EPSILON),
            "recommended": None,
            "strategy": None,
            "n_seeds": None,
            "in_tie": False,
            "in_tie_005": False,
            "regret": None,
            "test_regret": None,
        }
        if entry is not None:
            cid = entry_config_id(entry.key)
            strategy = str(entry.describe.get("strategy"))
            record.update(
                recommended=cid,
                strategy=strategy,
                n_seeds=entry.n_seeds,
                in_tie=strategy in truth.tie_sets[0.0],
                in_tie_005=strategy in truth.tie_sets[SENSITIVITY_EPSILON],
                regret=truth.winner_mean - truth.means[cid],
                test_regret=(
                    truth.winner_test - truth.tests[cid]
                    if truth.winner_test is not None and cid in truth.tests
                    else None
                ),
            )
        sizes.append(record)
    return {
        "pair": tables[0].pair if tables else None,
        "method": method,
        "seed": seed,
        "sizes": sizes,
        "epochs": sum(outcome.epochs.values()),
        "exhaustive_epochs": sum(t.exhaustive_epochs for t in tables),
        "missing": outcome.missing,
        "stopped": outcome.stopped,
        "stopped_at_end": outcome.stopped_at_end,
        "trials": outcome.trials,
        "stalled": outcome.stalled,
        "sim_seconds": outcome.sim_seconds,
        "transferred": outcome.transferred,
        "duplicates": outcome.duplicates,
    }


# ---- many replays --------------------------------------------------------------------------

_POOL_PAIRS: dict[str, list[SizeTable]] = {}
_POOL_SETTINGS = Settings()


def _quiet() -> None:
    import logging
    import warnings

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("ray").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)


def _task(job: tuple[str, str, int]) -> dict[str, Any]:
    pair, method, seed = job
    return replay(method, seed, _POOL_PAIRS[pair], _POOL_SETTINGS)


def run_replays(
    pairs: Sequence[PairTables],
    methods: Sequence[str],
    replays: int,
    settings: Settings,
    processes: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every (pair, method, replay seed), with ``processes`` worker processes (fork)."""
    global _POOL_SETTINGS
    _quiet()
    _POOL_PAIRS.clear()
    _POOL_PAIRS.update({p.pair: p.sizes for p in pairs if p.sizes})
    _POOL_SETTINGS = settings
    jobs = [(pair, method, seed) for pair in _POOL_PAIRS for method in methods for seed in range(replays)]
    out: list[dict[str, Any]] = []
    if processes <= 1 or len(jobs) < 2:
        for i, job in enumerate(jobs, 1):
            out.append(_task(job))
            if progress:
                progress(i, len(jobs))
        return out
    import multiprocessing

    context = multiprocessing.get_context("fork")  # the tables are inherited, not pickled
    with context.Pool(processes, initializer=_quiet) as pool:
        for i, result in enumerate(pool.imap_unordered(_task, jobs, chunksize=4), 1):
            out.append(result)
            if progress:
                progress(i, len(jobs))
    return sorted(out, key=lambda r: (r["pair"], methods.index(r["method"]), r["seed"]))


def _p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)]


def _pct(hits: int, n: int) -> float | None:
    return 100.0 * hits / n if n else None


def summarise(replays: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The figures of a set of replays (one method; one pair or all)."""
    sizes = [s for r in replays for s in r["sizes"]]
    non_trivial = [s for s in sizes if s["non_trivial"]]
    non_trivial_005 = [s for s in sizes if s["non_trivial_005"]]
    regrets = [s["regret"] for s in sizes if s["regret"] is not None]
    nt_regrets = [s["regret"] for s in non_trivial if s["regret"] is not None]
    tests = [s["test_regret"] for s in sizes if s["test_regret"] is not None]
    costs = [100.0 * r["epochs"] / r["exhaustive_epochs"] for r in replays if r["exhaustive_epochs"]]
    return {
        "replays": len(replays),
        "size_replays": len(sizes),
        "non_trivial_size_replays": len(non_trivial),
        "non_trivial_sizes": len({(s["pair"], s["size"]) for s in non_trivial}),
        "sizes": len({(s["pair"], s["size"]) for s in sizes}),
        "P_non_trivial": _pct(sum(s["in_tie"] for s in non_trivial), len(non_trivial)),
        "P_all": _pct(sum(s["in_tie"] for s in sizes), len(sizes)),
        "P_non_trivial_eps005": _pct(sum(s["in_tie_005"] for s in non_trivial_005), len(non_trivial_005)),
        "P_all_eps005": _pct(sum(s["in_tie_005"] for s in sizes), len(sizes)),
        "non_trivial_sizes_eps005": len({(s["pair"], s["size"]) for s in non_trivial_005}),
        "C": statistics.fmean(costs) if costs else None,
        "regret_mean": statistics.fmean(regrets) if regrets else None,
        "regret_p90": _p90(regrets),
        "regret_mean_non_trivial": statistics.fmean(nt_regrets) if nt_regrets else None,
        "test_regret_mean": statistics.fmean(tests) if tests else None,
        "test_regret_p90": _p90(tests),
        "no_recommendation": sum(s["recommended"] is None for s in sizes),
        "missing_per_replay": statistics.fmean(r["missing"] for r in replays) if replays else None,
        "trials_per_replay": statistics.fmean(r["trials"] for r in replays) if replays else None,
        "stopped_per_replay": statistics.fmean(r["stopped"] for r in replays) if replays else None,
        "stopped_at_end": sum(r["stopped_at_end"] for r in replays),
        "transferred_per_replay": statistics.fmean(r["transferred"] for r in replays) if replays else None,
        "stalled": sum(bool(r["stalled"]) for r in replays),
        "duplicates_per_replay": statistics.fmean(r["duplicates"] for r in replays) if replays else None,
    }


# ---- the learning-curve check --------------------------------------------------------------


def learning_curve_check(pairs: Sequence[PairTables]) -> dict[str, Any]:
    """Per pair and held-out size: estimate_at from the other sizes' true boards vs the truth."""
    from search.curves import estimate_at

    cases: list[dict[str, Any]] = []
    for pair in pairs:
        if len(pair.sizes) < 2:
            continue
        for held in pair.sizes:
            assert held.truth is not None
            boards = [t.truth.board for t in pair.sizes if t is not held and t.truth is not None]
            estimates = estimate_at(boards, held.size)
            if not estimates:
                continue
            best = estimates[0]
            cases.append(
                {
                    "pair": pair.pair,
                    "held_out": held.size,
                    "from_sizes": [b.size for b in boards],
                    "predicted_best": best.estimate,
                    "true_best": held.truth.winner_mean,
                    "abs_error": abs(best.estimate - held.truth.winner_mean),
                    "recommended": best.strategy,
                    "method": best.method,
                    "in_tie": best.strategy in held.truth.tie_sets[0.0],
                    "tie_set": sorted(held.truth.tie_sets[0.0]),
                    "estimates": {e.strategy: e.estimate for e in estimates},
                }
            )
    return {
        "cases": cases,
        "mae": statistics.fmean(c["abs_error"] for c in cases) if cases else None,
        "in_tie_pct": _pct(sum(c["in_tie"] for c in cases), len(cases)),
    }


# ---- the report ----------------------------------------------------------------------------


def _f(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


HEADER = (
    f"{'method':<22} {'P nontriv%':>10} {'P all%':>7} {'P@.005%':>8} {'C%':>6} {'regret':>7} {'p90':>7}"
    f" {'test reg':>8} {'nontriv':>7} {'trials':>6} {'stopped':>7} {'missing':>7} {'xfer':>5} {'dup':>5}"
)


def _line(method: str, s: Mapping[str, Any]) -> str:
    label = method + (" (emulated)" if method in EMULATED else "")
    return (
        f"{label:<22} {_f(s['P_non_trivial']):>10} {_f(s['P_all']):>7} {_f(s['P_non_trivial_eps005']):>8}"
        f" {_f(s['C']):>6} {_f(s['regret_mean'], '.4f'):>7} {_f(s['regret_p90'], '.4f'):>7}"
        f" {_f(s['test_regret_mean'], '.4f'):>8} {s['non_trivial_sizes']:>7} {_f(s['trials_per_replay']):>6}"
        f" {_f(s['stopped_per_replay']):>7} {_f(s['missing_per_replay']):>7}"
        f" {_f(s['transferred_per_replay']):>5} {_f(s['duplicates_per_replay']):>5}"
    )


def report(
    pairs: Sequence[PairTables],
    results: Sequence[Mapping[str, Any]],
    methods: Sequence[str],
    default: str,
    settings: Settings,
    replays: int,
    curve: Mapping[str, Any],
    seconds: float,
) -> tuple[str, dict[str, Any]]:
    lines: list[str] = []
    figures: dict[str, Any] = {"pairs": {}, "overall": {}, "settings": vars(settings) | {"replays": replays}}
    lines.append(
        f"search correctness: {replays} replays per method and pair; budget {settings.budget} per size"
        f" ({settings.budget // 4} per strategy cell), {settings.workers} workers, confirm top"
        f" {settings.top_k} per cell with seeds {CONFIRM_SEEDS} (old: top {settings.old_top_k} per size)"
    )
    for pair in pairs:
        used = ", ".join(f"{t.size:g}" for t in pair.sizes) or "none"
        lines.append("")
        lines.append(
            f"== {pair.pair}: sizes used {used}; skipped (incomplete) {', '.join(pair.skipped) or 'none'}"
        )
        figures["pairs"][pair.pair] = {
            "sizes": [t.size for t in pair.sizes],
            "skipped": pair.skipped,
            "truth": {
                f"{t.size:g}": {
                    "configurations": len(t.configs),
                    "winner": t.truth.board.winner.label if t.truth else None,
                    "winner_mean": t.truth.winner_mean if t.truth else None,
                    "tie_set": sorted(t.truth.tie_sets[0.0]) if t.truth else None,
                    "tie_set_eps005": sorted(t.truth.tie_sets[SENSITIVITY_EPSILON]) if t.truth else None,
                    "best_per_strategy": t.truth.best_per_strategy if t.truth else None,
                    "non_trivial": t.truth.non_trivial() if t.truth else None,
                    "exhaustive_epochs": t.exhaustive_epochs,
                }
                for t in pair.sizes
            },
            "methods": {},
        }
        for t in pair.sizes:
            assert t.truth is not None
            best = ", ".join(
                f"{s} {m:.4f}" for s, m in sorted(t.truth.best_per_strategy.items(), key=lambda i: -i[1])
            )
            lines.append(
                f"   size {t.size:g}: {len(t.configs)} configurations; winner {t.truth.board.winner.label}"
                f" {t.truth.winner_mean:.4f}; tie set {{{', '.join(sorted(t.truth.tie_sets[0.0]))}}}"
                f" (eps .005: {{{', '.join(sorted(t.truth.tie_sets[SENSITIVITY_EPSILON]))}}});"
                f" {'non-trivial' if t.truth.non_trivial() else 'trivial'}; best per strategy: {best}"
            )
        if not pair.sizes:
            continue
        lines.append("   " + HEADER)
        for method in methods:
            mine = [r for r in results if r["pair"] == pair.pair and r["method"] == method]
            summary = summarise(mine)
            figures["pairs"][pair.pair]["methods"][method] = summary
            lines.append("   " + _line(method, summary))
    lines.append("")
    lines.append("== overall (every pair's used sizes)")
    lines.append("   " + HEADER)
    for method in methods:
        summary = summarise([r for r in results if r["method"] == method])
        figures["overall"][method] = summary
        lines.append("   " + _line(method, summary))
    lines.append(
        "   P: recommended strategy in the true tie set (epsilon 0; P@.005: epsilon 0.005), over"
        " (replay, non-trivial size); C: epochs run / exhaustive epochs; regret: true winner mean -"
        " recommended configuration's true mean (dev weighted F1, 0..1), over (replay, size);"
        " per replay: trials run, stopped by the scheduler, missing (proposals the table lacks, told as"
        " errors), xfer (cross-size transfers), dup (search proposals repeating a configuration"
        " already proposed at that size and cell, same seed)"
    )
    odd = [
        f"{m}: {s['stopped_at_end']} trials stopped by the scheduler on their own last epoch"
        for m, s in figures["overall"].items()
        if s["stopped_at_end"]
    ] + [f"{m}: {s['stalled']} replays stalled" for m, s in figures["overall"].items() if s["stalled"]]
    if odd:
        lines.append("   note: " + "; ".join(odd))
    lines.append("")
    lines.append("== learning-curve check (estimate_at from the other sizes' true boards)")
    for case in curve["cases"]:
        lines.append(
            f"   {case['pair']} held-out {case['held_out']:g}"
            f" from {','.join(f'{s:g}' for s in case['from_sizes'])}:"
            f" predicted best {case['predicted_best']:.4f} ({case['method']})"
            f" vs true {case['true_best']:.4f};"
            f" recommends {case['recommended']} ({'in' if case['in_tie'] else 'NOT in'} tie set"
            f" {{{', '.join(case['tie_set'])}}})"
        )
    lines.append(
        f"   learning curve: mean absolute error of the predicted best score {_f(curve['mae'], '.4f')}"
        f" over {len(curve['cases'])} held-out sizes; recommended strategy in the true tie set in"
        f" {_f(curve['in_tie_pct'])}% of them"
    )
    figures["learning_curve"] = curve
    lines.append("")
    lines.append(f"runtime {seconds:.1f} s")
    chosen = figures["overall"].get(default)
    if chosen is None:
        chosen = summarise([])
    lines.append(
        f"regret ({default}): mean {_f(chosen['regret_mean'], '.4f')}, p90 {_f(chosen['regret_p90'], '.4f')}"
        f" (dev weighted F1, 0..1); test {_f(chosen['test_regret_mean'], '.4f')}"
    )
    lines.append(
        f"overall: recommended strategy in the true tie set in {_f(chosen['P_non_trivial'])}% of replays"
        f" at {_f(chosen['C'])}% of the exhaustive cost"
    )
    figures["default"] = default
    figures["runtime_seconds"] = seconds
    return "\n".join(lines), figures


# ---- a synthetic table (tests, timing) -----------------------------------------------------


def synthetic_rows(
    pair: str = "synthetic",
    sizes: Sequence[float] = (0.1, 1.0),
    seeds: Sequence[int] = SEEDS,
    *,
    best: str = "local",
    high: float = 0.8,
    low: float = 0.5,
    epochs: int = 12,
    noise: float = 0.005,
    architectures: Iterable[str] | None = None,
    rng_seed: int = 0,
) -> list[dict[str, Any]]:
    """Rows in the table's schema over the real ``ground-truth`` grid (as it is now), with made-up
    curves: ``best``'s configurations rise to ``high``, every other to ``low`` (plus per-configuration
    offsets of a few thousandths and per-seed noise), over ``epochs`` final-stage epochs (a few
    more or less per configuration); global/local pre-train for 3 epochs."""
    from spaces import get_space

    rng = random.Random(rng_seed)
    grid = get_space(SPACE).grid() or []
    keep = set(architectures) if architectures is not None else None
    rows = []
    for size in sizes:
        for index, config in enumerate(grid):
            if keep is not None and config["architecture"] not in keep:
                continue
            cid = config_id(config)
            plateau = (
                (high if config["strategy"] == best else low) + 0.002 * (index % 5) + 0.05 * math.log10(size)
            )
            length = max(2, epochs + (index % 5) - 2)
            pretrain = 3 if config["strategy"] in ("global", "local") else 0
            for seed in seeds:
                level = plateau + rng.gauss(0.0, noise)
                curve = [
                    level * (1 - math.exp(-(k + 1) / 2.0)) + rng.gauss(0.0, noise / 2) for k in range(length)
                ]
                # early stopping as the loop does it: the last `patience` epochs did not improve
                peak = max(range(length), key=lambda k: curve[k])
                curve = curve[: min(length, peak + 1 + 5)]
                seconds = [0.1 + 0.01 * (index % 7)] * (pretrain + len(curve))
                rows.append(
                    {
                        "pair": pair,
                        "in_domain": pair,
                        "ood": pair,
                        "in_domain_size": float(size),
                        "seed": int(seed),
                        "config_id": cid,
                        "config": json.dumps(config, sort_keys=True),
                        **{k: config.get(k) for k in ("architecture", "strategy", "imbalance")},
                        "ood_pct": float(config.get("ood_pct") or 0.0),
                        "local_in_domain_pretrain_pct": float(
                            config.get("local_in_domain_pretrain_pct") or 0.0
                        ),
                        "learning_rate": float(config["learning_rate"]),
                        "selection_metric": "f1_weighted",
                        "dev_f1_weighted": max(curve),
                        "f1_weighted": max(curve) - 0.01 + rng.gauss(0.0, noise),
                        "selected_epoch": pretrain + peak + 1,
                        "pretrain_epochs": pretrain,
                        "final_epochs": len(curve),
                        "dev_curve": curve,
                        "epoch_seconds": seconds,
                        "wall_seconds": sum(seconds),
                    }
                )
    return rows


def write_synthetic(path: Path, rows: list[dict[str, Any]]) -> Path:
    _ground_truth_module().write_table(Path(path), rows, {"synthetic": True})
    return Path(path)


# ---- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=str(ROOT / "bench" / "ground_truth" / "*.parquet"))
    parser.add_argument("--replays", type=int, default=50)
    parser.add_argument("--budget", type=int, default=24, help="search trials per size (split over 4 cells)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--top-k", type=int, default=1, help="confirmed configurations per cell")
    parser.add_argument("--methods", type=lambda s: [m for m in s.split(",") if m], default=list(METHODS))
    parser.add_argument("--default", default="tpe+asha-notransfer")  # resweep's defaults
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None, help="write every figure here")
    parser.add_argument(
        "--synthetic", type=Path, default=None, help="write a synthetic full table here (4 sizes) and exit"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.methods) - set(METHODS))
    if unknown:
        parser.error(f"unknown method(s) {', '.join(unknown)}; valid: {', '.join(METHODS)}")
    if args.default not in args.methods:
        parser.error(f"--default {args.default!r} is not among --methods {','.join(args.methods)}")
    if args.synthetic is not None:
        rows = synthetic_rows("synthetic", (0.03, 0.1, 0.3, 1.0), epochs=16)
        print(f"wrote {len(rows)} rows to {write_synthetic(args.synthetic, rows)}")
        return 0
    started = time.perf_counter()
    pairs = load_tables(args.tables)
    if not pairs:
        print(f"no table matches {args.tables}", file=sys.stderr)
    settings = Settings(budget=args.budget, workers=args.workers, top_k=args.top_k)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 15 or done == total:
            last[0] = time.perf_counter()
            print(
                f"[{time.perf_counter() - started:6.1f}s] {done}/{total} replays", file=sys.stderr, flush=True
            )

    results = run_replays(pairs, args.methods, args.replays, settings, args.processes, progress)
    curve = learning_curve_check(pairs)
    text, figures = report(
        pairs,
        results,
        args.methods,
        args.default,
        settings,
        args.replays,
        curve,
        time.perf_counter() - started,
    )
    if args.json is not None:
        figures["replays"] = results
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=1, sort_keys=True, default=str))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
