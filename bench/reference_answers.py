"""Reference answers for the search-correctness benchmark, and how every answer is scored.

A benchmark that a trivial answer passes measures nothing, so resweep's answer per size is
scored beside answers that took no search at all (always one strategy; a strategy drawn
uniformly), beside the thesis's design (every configuration with one seed, the best run's
strategy), and beside today's leaderboard rule (the best mean among the configurations with the
most seeds; its tie flags, a paired t-test at 5%, say whether it names a winner). Every answer is
one (cell, configuration) per size, scored by :func:`score` against the same truths
(:class:`ground_truth_tables.Truth`).

:func:`one_seed_false_winners` is the issue's item 5: how often the thesis's design, drawn
from the tables' seeds, names a strategy that is not right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ground_truth_tables import CELLS, SEEDS, SizeTable

OLD_ALPHA = 0.05  # today's tie rule: a paired t-test at 5% (search.answer.leaderboard before the decision)


def score(
    table: SizeTable,
    answer: str,
    cell: str | None,
    config: str | None,
    *,
    claims: bool,
    claimed: str | None = None,
    verdict: str | None = None,
    epochs: int | None = None,
) -> dict[str, Any]:
    """One answer at one size, scored: its cell right in-sample (seeds 0-2, what the replays
    saw), on the held-out seeds' dev and on their test; its configuration's regret. ``cell``
    None: no answer, never right. ``claims``: whether this answer ever names a winner;
    ``claimed``: the cell it names as the winner here (None: no winner claimed, the answer is
    then only the leading cell). ``epochs``: what it cost (None: nothing was run)."""
    held = table.held_out
    return {
        "pair": table.pair,
        "size": table.size,
        "answer": answer,
        "cell": cell,
        "config": config,
        "verdict": verdict,
        "claims": claims,
        "claimed": claimed,
        "in_sample": float(cell in table.truth.right_dev),
        "held_out_dev": None if held is None else float(cell in held.right_dev),
        "held_out_test": None if held is None else float(cell in held.right_test),
        "wrong_claim": None if held is None or claimed is None else claimed not in held.right_dev,
        # An equivalent verdict says every cell's best lies within the margin of the best one's:
        # false where the held-out seeds put a cell outside it.
        "wrong_equivalence": None
        if held is None or verdict != "equivalent"
        else set(held.right_dev) != set(held.best),
        "regret": None if config is None else table.truth.regret(config),
        "test_regret": None if held is None or config is None else held.test_regret(config),
        "epochs": epochs,
        "exhaustive_epochs": table.exhaustive_epochs,
    }


def constant_answers(table: SizeTable) -> list[dict[str, Any]]:
    """Always the same strategy, with its best configuration on the seeds the replays see (its
    regret is the least a user of that constant answer loses)."""
    return [score(table, f"always {cell}", cell, table.truth.best.get(cell), claims=False) for cell in CELLS]


def uniform_random(table: SizeTable) -> dict[str, Any]:
    """A strategy drawn uniformly, as its expected score: the constant answers' mean."""
    constants = constant_answers(table)
    expected = dict(constants[0], answer="uniform random", cell=None, config=None)
    for key in ("in_sample", "held_out_dev", "held_out_test", "regret", "test_regret"):
        values = [c[key] for c in constants]
        expected[key] = None if None in values else sum(values) / len(values)
    return expected


def one_seed_study(table: SizeTable, seed: int) -> dict[str, Any]:
    """The thesis's design: every configuration once, with ``seed``; the best run's strategy. It
    always names a winner, and costs that seed's share of the exhaustive table."""
    runs = [run for (_, s), run in table.runs.items() if s == seed]
    best = max(runs, key=lambda run: (run.dev, run.config_id))
    cell = table.cell_of(best.config_id)
    return score(
        table,
        f"one-seed study, seed {seed}",
        cell,
        best.config_id,
        claims=True,
        claimed=cell,
        epochs=sum(run.epochs for run in runs),
    )


def reference_answers(table: SizeTable) -> list[dict[str, Any]]:
    """Every reference answer at ``table``'s size."""
    return [
        *constant_answers(table),
        uniform_random(table),
        *(one_seed_study(table, seed) for seed in SEEDS),
    ]


# ---- today's rule (before the decision) ----------------------------------------------------


def _ranked(entries: Sequence[Any]) -> list[Any]:
    return sorted(entries, key=lambda e: (-e.mean, -e.n_seeds, e.key))


def old_recommendation(entries: Sequence[Any]) -> Any:
    """Today's recommendation: the best mean among the configurations with the most seeds (a
    one-seed lucky run does not displace a confirmed one). None without entries."""
    if not entries:
        return None
    most = max(e.n_seeds for e in entries)
    return _ranked([e for e in entries if e.n_seeds == most])[0]


def _paired_p(differences: Sequence[float]) -> float:
    """Two-sided p of the one-sample t-test of paired differences; where every seed agrees
    exactly there is no spread: 0 for a non-zero difference, 1 for none."""
    from scipy import stats

    if all(d == differences[0] for d in differences):
        return 0.0 if differences[0] != 0.0 else 1.0
    return float(stats.ttest_1samp(differences, 0.0).pvalue)


def _old_separable(winner: Any, other: Any) -> bool:
    """Today's rule: a paired t-test over the seeds both ran, else non-overlapping 95%
    intervals, else (a one-seed row) any gap separates."""
    shared = sorted(set(winner.scores) & set(other.scores))
    if len(shared) >= 2:
        return _paired_p([winner.scores[s] - other.scores[s] for s in shared]) < OLD_ALPHA
    a, b = winner.interval, other.interval
    if a is not None and b is not None:
        return bool(a[0] > b[1])
    return bool(winner.mean > other.mean)


def old_tie_rule(entries: Sequence[Any]) -> str | None:
    """Today's tie flags read at the level of strategies: the rank-1 configuration's cell is
    named the winner when every other cell's best configuration is separable from it."""
    ranked = _ranked(entries)
    if not ranked:
        return None
    winner = ranked[0]
    best: dict[str, Any] = {}
    for entry in ranked:
        best.setdefault(entry.cell, entry)
    rivals = [e for cell, e in best.items() if cell != winner.cell]
    return str(winner.cell) if all(_old_separable(winner, e) for e in rivals) else None


# ---- item 5: what the thesis's design would have said --------------------------------------


def one_seed_false_winners(table: SizeTable, draws: int = 4000, rng_seed: int = 0) -> dict[str, Any]:
    """How often a one-seed-per-configuration study names a strategy outside the right set: per
    draw every configuration gets one of the size's seeds (held-out ones included) at random, its
    best run's strategy is the answer; the truth is every seed's means (:attr:`SizeTable.every_seed`)."""
    import numpy as np

    truth = table.every_seed
    assert truth is not None
    configs = sorted(truth.dev)
    dev = np.asarray([[truth.dev[c][s] for s in truth.seeds] for c in configs])  # (K, S)
    rng = np.random.default_rng(rng_seed)
    picked = rng.integers(len(truth.seeds), size=(draws, len(configs)))  # (D, K)
    winners = dev[np.arange(len(configs))[None, :], picked].argmax(axis=1)  # (D,)
    cells = [truth.cell_of[configs[k]] for k in winners]
    return {
        "pair": table.pair,
        "size": table.size,
        "seeds": list(truth.seeds),
        "draws": draws,
        "right_dev": sorted(truth.right_dev),
        "right_test": sorted(truth.right_test),
        "false_dev": 100.0 * sum(c not in truth.right_dev for c in cells) / draws,
        "false_test": 100.0 * sum(c not in truth.right_test for c in cells) / draws,
    }


def best_constant(
    answers: Sequence[Mapping[str, Any]], key: str
) -> tuple[str | None, list[tuple[str, float]]]:
    """The constant answer right most often on ``key`` (``held_out_dev`` or ``held_out_test``)
    over the sizes that have it, and the (pair, size) where it is wrong: the non-trivial ones."""
    constants = [a for a in answers if a["answer"].startswith("always ") and a[key] is not None]
    if not constants:
        return None, []
    hits = {cell: sum(a[key] for a in constants if a["cell"] == cell) for cell in CELLS}
    chosen = max(CELLS, key=lambda cell: hits[cell])  # ties: the first in the space's order
    wrong = [(a["pair"], a["size"]) for a in constants if a["cell"] == chosen and not a[key]]
    return chosen, wrong
