"""Benchmark: is resweep's answer per size right, how sure may it be, and at what cost.

resweep's searcher (:func:`search.driver.searchers.make_searcher`) and scheduler
(:func:`search.driver.schedulers.make_scheduler`) are replayed against the exhaustive ground-truth table
(``bench/ground_truth.py``: every configuration of the finite space ``ground-truth``, seeds 0-2,
per epoch dev curves) as a simulated sweep: an event simulation with ``--workers`` concurrent
trials, each advancing epoch by epoch (the table's ``epoch_seconds`` as durations, so concurrency
interleaves as it would), its epochs reported to the scheduler and the searcher as a trial reports
them, stopped where the scheduler says so. Nothing is trained and no Ray cluster starts (only
``ray.tune``'s searcher and scheduler classes run).

One replay = one method x one replay seed x one dataset pair, all of the pair's complete sizes at
once (as one sweep does). Its rows make a leaderboard (:func:`search.answer.leaderboard.build_leaderboard`)
whose decision per size (:mod:`search.answer.decision`) is the answer: the winner, or the leading cell
where it claims none. Today's rule (the best mean among the most-confirmed configurations; its
t-test tie flags for whether it names a winner) reads the same rows.

The benchmark can fail because the truth is held out and trivial answers are scored beside:

* Truth (:class:`ground_truth_tables.Truth`): per strategy its best configuration by dev mean; a
  strategy is *right* where its best lies within the margin (0.01) of the best strategy's best.
  The held-out truth uses only the held-out seeds (``--held-out``: seeds 3-7, never run by a
  replay), on dev and, with the configurations chosen on dev, on test; sizes without two complete
  held-out seeds have none (said so). The in-sample truth (seeds 0-2, the replays' own runs) is
  kept as the figure that could not fail.
* Answers scored alike (``reference_answers.py``): every method; today's rule on the default's
  replays; always baseline / mixed / global / local; a uniform random strategy (expected value);
  the one-seed exhaustive study (the thesis's design: every configuration with seed 0, or each
  of seeds 0-2, the best run's strategy). A held-out size is non-trivial where the best constant
  answer (the strategy right at most held-out sizes) is wrong; lift = P - that constant's P.
* Planted effects (``planted_effects.py``): the decision on sweep-shaped A/A tables built from
  each size's own means and noise, with delta in 0, 0.01, 0.02, 0.03 added to one strategy:
  false winners, wrong winners, power per seed budget (3, 5, sequential up to 5) and today's tie
  rule beside.
* What the thesis's design would have said (item 5): how often one seed per configuration,
  drawn from every seed the tables have, names a strategy outside the right set.

Figures per answer: P (% of (replay, size) answers whose strategy is right: in-sample, held-out
dev, held-out test, held-out non-trivial), lift, winner claims and how many of them are wrong
(held-out dev), regret on test (held-out test mean of the true best strategy's best
configuration minus the answer's configuration's), C (epochs run / epochs of the exhaustive
table of seeds 0-2 at the pair's sizes, mean over replays).

Methods: ``old`` (an emulation of resweep before the cells/transfer/ASHA-per-cell round: one TPE
study per size with Optuna's defaults and the same seed at every size, ASHA grace 1 / reduction 2
over the whole size, stopped trials ranked beside finished ones, its top 3 confirmed, rank 1 as the
answer), ``random``, ``tpe+fifo``, ``tpe+fifo-notransfer``, ``tpe+asha``, ``tpe+asha-notransfer``.

A learning-curve check follows: per size, :func:`search.answer.curves.estimate_at` from the other sizes'
in-sample boards, against that size's in-sample truth.

    .venv/bin/python bench/search_correctness.py [--tables 'bench/ground_truth/*.parquet'] \
        [--held-out 'bench/ground_truth/held_out/*.parquet'] [--replays 50] [--budget 24] \
        [--workers 4] [--methods old,random,...] [--default tpe+asha-notransfer] \
        [--planted-draws 100] [--processes 2] [--json OUT]

    .venv/bin/python bench/search_correctness.py --synthetic /tmp/gt.parquet   # a fake full table

A (pair, size) is replayed only when every configuration the table has for it has seeds 0-2;
the configurations present are that size's finite space. A proposal the table lacks (e.g. a seed
the table does not have) is told to the searcher as an errored trial and counted (``missing``):
it spends budget, as a failed trial would.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import heapq
import json
import math
import random
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The tables' side (runs, truth, synthetic tables) lives beside this script; bench is not a package.
BENCH = Path(__file__).resolve().parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from correctness_report import learning_curve_check, report  # noqa: E402
from ground_truth_tables import (  # noqa: E402
    AXIS,
    BOARD_METRIC,
    CONFIRM_SEEDS,
    DONE,
    INTERMEDIATE,
    MARGIN,
    METHODS,
    METRIC,
    SEARCH_SEED,
    SEEDS,
    TIME,
    PairTables,
    Run,
    SizeTable,
    attach_held_out,
    config_id,
    entry_config_id,
    load_tables,
    space_config,
    synthetic_rows,
    write_synthetic,
)
from old_search import OldScheduler, OldSearch  # noqa: E402
from planted_effects import CONFIDENCE, run_planted  # noqa: E402
from reference_answers import (  # noqa: E402
    old_recommendation,
    old_tie_rule,
    one_seed_false_winners,
    reference_answers,
    score,
)

# --------------------------------------------------------------------------------------------
# The simulated sweep


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
    from search.driver.searchers import Confirmation, Slots, make_searcher
    from search.plan import slot_key
    from spaces import axis_values

    space = tables[0].space  # the space the pair's table enumerates
    cells = [str(c) for c in axis_values(space, AXIS)]
    shares = _shares(budget, cells)
    slots = {slot_key(t.key, c): (t, c) for t in tables for c in cells}
    # Confirmation may run only the seeds the replays see: seeds 3+ are the held-out truth.
    capped: dict[str, Any] = (
        {"max_seeds": len(SEEDS)} if "max_seeds" in {f.name for f in fields(Confirmation)} else {}
    )
    return make_searcher(
        slots=Slots(
            budgets={slot: shares[c] for slot, (_, c) in slots.items()},
            sizes={slot: t.size for slot, (t, _) in slots.items()},
            cells={slot: c for slot, (_, c) in slots.items()},
            slot_size={slot: t.key for slot, (t, _) in slots.items()},
            floors={},
            confirmations={slot: Confirmation(top_k, seeds=CONFIRM_SEEDS, **capped) for slot in slots}
            if top_k
            else {},
            config_key=proposal_key,
        ),
        kind=kind,
        space=space,
        metric=METRIC,
        seed=seed,
        storage_url=None,
        study_prefix="replay",
        cell_values={c: {AXIS: c} for c in cells},
        max_concurrent=workers,
        transfer=transfer,
        intermediate=INTERMEDIATE,
    )


# ---- one replay ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    budget: int = 24
    workers: int = 4
    top_k: int = 1  # per cell (the old method confirms its top 3 per size)
    old_top_k: int = 3
    decision_draws: int = 2000  # posterior draws per decision (Monte-Carlo error on P(best) <= 0.011)


def build_method(method: str, tables: Sequence[SizeTable], seed: int, settings: Settings) -> tuple[Any, Any]:
    from search.driver.schedulers import make_scheduler

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
    """One simulated sweep of ``tables`` (one pair's sizes) and its answer per size, scored; today's
    rule on the same rows beside it."""
    import numpy as np

    from search.answer.decision import DecisionSettings
    from search.answer.leaderboard import build_leaderboard

    random.seed(seed)
    np.random.seed(seed % 2**32)
    searcher, scheduler = build_method(method, tables, seed, settings)
    outcome = simulate(
        searcher, scheduler, {t.key: t for t in tables}, settings.workers, stopped_is_finished=method == "old"
    )
    decision = DecisionSettings(
        margin=MARGIN, confidence=CONFIDENCE, draws=settings.decision_draws, seed=seed
    )
    boards = {b.size: b for b in build_leaderboard(outcome.rows, BOARD_METRIC, decision=decision)}
    sizes = []
    for table in tables:
        board = boards.get(table.size)
        epochs = outcome.epochs[table.size]
        entry = old = verdict = claimed = None
        if board is not None and board.entries:
            old = old_recommendation(board.entries)
            if method == "old":  # before the decision: rank 1, no claim either way
                entry = board.winner
            else:
                assert board.decision is not None
                entry, verdict = board.recommended, board.decision.verdict
                claimed = board.decision.cell if verdict == "winner" else None
        answer = score(
            table,
            method,
            None if entry is None else str(entry.describe.get(AXIS)),
            None if entry is None else entry_config_id(entry.key),
            claims=method != "old",
            claimed=claimed,
            verdict=verdict,
            epochs=epochs,
        )
        today = score(
            table,
            f"{method}, today's rule",
            None if old is None else str(old.describe.get(AXIS)),
            None if old is None else entry_config_id(old.key),
            claims=True,
            claimed=None if board is None else old_tie_rule(board.entries),
            epochs=epochs,
        )
        for scored in (answer, today):
            scored["seed"] = seed
        sizes.append(
            {
                "pair": table.pair,
                "size": table.size,
                "method": method,
                "seed": seed,
                "epochs": epochs,
                "n_seeds": None if entry is None else entry.n_seeds,
                "answer": answer,
                "todays_rule": today,
            }
        )
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default=str(ROOT / "bench" / "ground_truth" / "*.parquet"))
    parser.add_argument(
        "--held-out",
        default=str(ROOT / "bench" / "ground_truth" / "held_out" / "*.parquet"),
        help="tables of the held-out seeds (3-7), the truth the answers are scored against",
    )
    parser.add_argument("--replays", type=int, default=50)
    parser.add_argument("--budget", type=int, default=24, help="search trials per size (split over 4 cells)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--top-k", type=int, default=1, help="confirmed configurations per cell")
    parser.add_argument("--methods", type=lambda s: [m for m in s.split(",") if m], default=list(METHODS))
    parser.add_argument("--default", default="tpe+asha-notransfer")  # resweep's defaults
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument(
        "--planted-draws", type=int, default=100, help="planted-effect tables per (pair, size) and delta"
    )
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
    attach_held_out(pairs, args.held_out)
    settings = Settings(budget=args.budget, workers=args.workers, top_k=args.top_k)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 15 or done == total:
            last[0] = time.perf_counter()
            print(
                f"[{time.perf_counter() - started:6.1f}s] {done}/{total} replays", file=sys.stderr, flush=True
            )

    results = run_replays(pairs, args.methods, args.replays, settings, args.processes, progress)
    tables = [t for pair in pairs for t in pair.sizes]
    references = [a for t in tables for a in reference_answers(t)]
    print(
        f"[{time.perf_counter() - started:6.1f}s] planted effects:"
        f" {args.planted_draws} tables per size and delta",
        file=sys.stderr,
        flush=True,
    )
    planted = run_planted(tables, args.planted_draws)
    one_seed = [one_seed_false_winners(t) for t in tables]
    curve = learning_curve_check(pairs)
    text, figures = report(
        pairs,
        results,
        references,
        planted,
        one_seed,
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
