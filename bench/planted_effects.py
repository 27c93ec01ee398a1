"""Planted effects: the decision's error rates on sweep-shaped tables whose truth is known.

From a real table at one size, one strategy's configurations, with their means over every seed
the size has (:attr:`ground_truth_tables.SizeTable.every_seed`), become the true means of all four
cells: no cell is better (A/A). One cell then gets ``+delta`` on every configuration. A simulated
run scores its configuration's true mean + its seed's shared effect (the runs of a seed share an
in-domain subset) + noise, both resampled from the table's own fit at that size
(``score = configuration mean + seed effect + residual``; the residuals pooled over the size and
inflated by sqrt(n / df), since fitted residuals are smaller than the noise by that factor).

Each draw is shaped like a sweep: every configuration runs with the search seed; each cell's best
on it gets confirmation seeds. Three procedures read the same draw:

* ``fixed 3`` / ``fixed 5``: each cell's top configuration with 3 (5) seeds, then the decision;
* ``sequential``: from 3 seeds, one more seed per round for every configuration
  :func:`search.answer.decision.confirmation_round` names (the sweep's own rule: interim looks at a
  stricter confidence, a futility stop), until it names none (at most 5 seeds);
* ``oracle, 5 (10) seeds``: what no procedure can beat — each cell's truly best configuration
  known, the noise known, 5, 10 or 15 seeds each, the leading cell declared the winner when a one-sided
  z-test at 5% (Bonferroni over its rivals) separates it from every rival. Its power is the
  ceiling the noise of the tables allows at that many seeds.

Per delta: false winners (delta 0: any ``winner`` verdict), wrong winners (a ``winner`` naming
another cell than the planted one), power (a ``winner`` naming it), and the sequential
procedure's confirmation runs as a share of ``fixed 5``'s. Today's tie rule (a paired t-test at
5%, read at the level of strategies: :func:`reference_answers.old_tie_rule`) is scored beside.
The template strategy and the planted cell rotate over the draws.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ground_truth_tables import AXIS, CELLS, MARGIN, SizeTable
from reference_answers import old_tie_rule

if TYPE_CHECKING:
    import numpy as np

DELTAS = (0.0, 0.01, 0.02, 0.03)
START_SEEDS = 3  # the sweep's confirmation before the sequential rule adds any
MAX_SEEDS = 5
ORACLE_SEEDS = (5, 10, 15)
PROCEDURES = ("fixed 3", "fixed 5", "sequential", *(f"oracle, {n} seeds" for n in ORACLE_SEEDS))
OLD_PROCEDURES = ("fixed 3", "fixed 5")  # today's rule has no sequential confirmation
CONFIDENCE = 0.95


@dataclass(frozen=True)
class NoiseModel:
    """One size's runs as ``configuration mean + seed effect + noise``."""

    size: float
    means: dict[str, np.ndarray]  # strategy -> its configurations' means over every seed, (K,)
    seed_effects: np.ndarray  # (S,)
    residuals: np.ndarray  # (K * S,), at the noise's scale


def noise_model(table: SizeTable) -> NoiseModel:
    """The balanced two-way fit of every seed's dev scores at ``table``'s size."""
    import numpy as np

    truth = table.every_seed
    assert truth is not None
    configs = sorted(truth.dev)
    scores = np.asarray([[truth.dev[c][s] for s in truth.seeds] for c in configs])  # (K, S)
    k, s = scores.shape
    by_config = scores.mean(axis=1, keepdims=True)
    by_seed = scores.mean(axis=0, keepdims=True)
    residuals = scores - by_config - by_seed + scores.mean()
    return NoiseModel(
        size=table.size,
        means={
            cell: np.asarray([truth.dev_mean[c] for c in configs if truth.cell_of[c] == cell])
            for cell in CELLS
        },
        seed_effects=(by_seed - scores.mean()).ravel(),
        residuals=residuals.ravel() * math.sqrt(k * s / ((k - 1) * (s - 1))),
    )


def draw_scores(
    model: NoiseModel, template: str, rng: np.random.Generator, seeds: int = MAX_SEEDS
) -> np.ndarray:
    """One A/A table: every cell with ``template``'s true means, ``seeds`` seeds. (C, K, S)"""
    means = model.means[template]
    seed_effects = rng.choice(model.seed_effects, size=seeds)  # shared by every run of a seed
    noise = rng.choice(model.residuals, size=(len(CELLS), len(means), seeds))
    return means[None, :, None] + seed_effects[None, None, :] + noise


def _cells(scores: np.ndarray, counts: np.ndarray, size: float) -> dict[str, list[Any]]:
    """The decision's input: per cell its configurations with their first ``counts`` seeds, best
    first (seeds are shared across configurations, so the design stays blocked)."""
    from search.answer.leaderboard import Entry

    cells: dict[str, list[Any]] = {}
    for c, cell in enumerate(CELLS):
        entries = [
            Entry(
                size,
                {AXIS: cell},
                f"{cell}#{k}",
                {s: float(scores[c, k, s]) for s in range(n)},
                {},
                None,
                cell=cell,
            )
            for k, n in enumerate(counts[c])
        ]
        cells[cell] = sorted(entries, key=lambda e: -e.mean)
    return cells


def _sweep_counts(scores: np.ndarray, seeds: int) -> np.ndarray:
    """Seeds per configuration: 1 each, ``seeds`` for each cell's best on the search seed. (C, K)"""
    import numpy as np

    counts = np.ones(scores.shape[:2], dtype=int)
    counts[np.arange(len(CELLS)), scores[:, :, 0].argmax(axis=1)] = seeds
    return counts


def sequential(scores: np.ndarray, size: float, settings: Any) -> tuple[Any, int]:
    """Sequential confirmation from :data:`START_SEEDS` seeds up to :data:`MAX_SEEDS`: the final
    decision and the confirmation runs it took (runs beyond the search seed)."""
    from search.answer.decision import confirmation_round, decide

    counts = _sweep_counts(scores, START_SEEDS)
    while True:
        cells = _cells(scores, counts, size)
        targets = confirmation_round(cells, settings, MAX_SEEDS, size=size)
        if not targets:
            return decide(cells, settings, size=size), int(counts.sum() - counts.size)
        for entry in targets.values():
            cell, k = entry.key.rsplit("#", 1)
            counts[CELLS.index(cell), int(k)] += 1


def oracle(scores: np.ndarray, means: np.ndarray, sigma: float, seeds: int) -> str | None:
    """The known-truth test: the leading cell on its truly best configuration's first ``seeds``
    seeds wins when its paired mean difference to every rival exceeds z * sigma * sqrt(2 / n),
    z one-sided at 5% / (cells - 1)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - (1 - CONFIDENCE) / (len(CELLS) - 1))
    observed = scores[:, int(means.argmax()), :seeds].mean(axis=1)  # (C,)
    lead = int(observed.argmax())
    gaps = observed[lead] - observed
    gaps[lead] = math.inf
    return CELLS[lead] if (gaps > z * sigma * math.sqrt(2 / seeds)).all() else None


def _tally() -> dict[str, int]:
    return {"draws": 0, "winner": 0, "planted": 0, "wrong": 0, "equivalent": 0, "confirmation_runs": 0}


def _count(tally: dict[str, int], verdict: str, cell: str | None, planted: str, delta: float) -> None:
    tally["draws"] += 1
    tally["equivalent"] += verdict == "equivalent"
    if verdict == "winner":
        tally["winner"] += 1
        tally["planted"] += delta > 0 and cell == planted
        tally["wrong"] += delta == 0 or cell != planted


def run_planted(
    tables: Iterable[SizeTable],
    draws: int,
    deltas: Sequence[float] = DELTAS,
    decision_draws: int = 1000,
    margin: float = MARGIN,
) -> dict[str, Any]:
    """``draws`` sweep-shaped tables per (pair, size) and delta, every procedure on each (the
    same noise under every delta). Counts per procedure and delta, overall and per size."""
    import numpy as np

    from search.answer.decision import DecisionSettings, decide

    overall = {p: {d: _tally() for d in deltas} for p in PROCEDURES}
    old = {p: {d: _tally() for d in deltas} for p in OLD_PROCEDURES}
    per_size: list[dict[str, Any]] = []
    for t, table in enumerate(tables):
        model = noise_model(table)
        sigma = float(np.std(model.residuals))
        mine = {p: {d: _tally() for d in deltas} for p in PROCEDURES}
        for i in range(draws):
            rng = np.random.default_rng([t, i])
            template, planted = CELLS[i % len(CELLS)], CELLS[(i // len(CELLS)) % len(CELLS)]
            base = draw_scores(model, template, rng, max(MAX_SEEDS, *ORACLE_SEEDS))
            settings = DecisionSettings(margin=margin, confidence=CONFIDENCE, draws=decision_draws, seed=i)
            for delta in deltas:
                scores = base.copy()
                scores[CELLS.index(planted)] += delta
                for seeds, name in ((3, "fixed 3"), (5, "fixed 5")):
                    cells = _cells(scores, _sweep_counts(scores, seeds), table.size)
                    d = decide(cells, settings, size=table.size)
                    for tallies in (overall, mine):
                        _count(tallies[name][delta], d.verdict, d.cell, planted, delta)
                        tallies[name][delta]["confirmation_runs"] += len(CELLS) * (seeds - 1)
                    claimed = old_tie_rule([e for entries in cells.values() for e in entries])
                    _count(old[name][delta], "winner" if claimed else "none", claimed, planted, delta)
                    old[name][delta]["confirmation_runs"] += len(CELLS) * (seeds - 1)
                d, runs = sequential(scores, table.size, settings)
                for tallies in (overall, mine):
                    _count(tallies["sequential"][delta], d.verdict, d.cell, planted, delta)
                    tallies["sequential"][delta]["confirmation_runs"] += runs
                for n in ORACLE_SEEDS:
                    won = oracle(scores, model.means[template], sigma, n)
                    for tallies in (overall, mine):
                        name = f"oracle, {n} seeds"
                        _count(tallies[name][delta], "winner" if won else "none", won, planted, delta)
                        tallies[name][delta]["confirmation_runs"] += len(CELLS) * (n - 1)
        per_size.append(
            {
                "pair": table.pair,
                "size": table.size,
                "seeds": len(model.seed_effects),
                "sigma": sigma,
                "rates": _rates(mine),
            }
        )
    return {
        "draws_per_size": draws,
        "deltas": list(deltas),
        "max_seeds": MAX_SEEDS,
        "start_seeds": START_SEEDS,
        "rates": _rates(overall),
        "old_rule": _rates(old),
        "per_size": per_size,
    }


def _rates(
    tallies: Mapping[str, Mapping[float, Mapping[str, int]]],
) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per procedure and delta (as text, for JSON), in % of draws: false winners (delta 0 only),
    wrong winners, power (delta > 0 only), equivalent verdicts, and confirmation runs as % of
    ``fixed 5``'s."""
    fixed5 = len(CELLS) * (MAX_SEEDS - 1)
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for name, by_delta in tallies.items():
        out[name] = {}
        for delta, t in by_delta.items():
            n = max(1, t["draws"])
            out[name][f"{delta:g}"] = {
                "draws": t["draws"],
                "false_winners": 100.0 * t["winner"] / n if delta == 0 else None,
                "wrong_winners": 100.0 * t["wrong"] / n,
                "power": 100.0 * t["planted"] / n if delta > 0 else None,
                "equivalent": 100.0 * t["equivalent"] / n,
                "confirmation_pct": 100.0 * t["confirmation_runs"] / (n * fixed5),
            }
    return out
