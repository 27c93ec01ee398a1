"""The decision per in-domain size: which question cell is best, and how sure that is.

A board's ranks are evidence; a user acts on a *decision*: for every question cell (by default a
transfer strategy) the probability that it is the best, and one verdict.

* ``winner``: one cell is best with probability >= ``confidence``.
* ``equivalent``: every cell's best lies within ``± margin`` of the leader's, with probability
  >= ``confidence``: any of them will do.
* ``undetermined``: neither. :attr:`Decision.settle` says which cells are still in contention and
  how many seeds their best configurations would need.

The model (chosen with ``bench/search_correctness.py``'s planted effects and held-out truth)
-------------------------------------------------------------------------------------------

Scores of one size are a randomised block design: every run of a seed trains on the same
in-domain subset, so seeds are blocks. Each run's score is taken as

    score(configuration k, seed s) = mu_k + u_s + noise,    noise ~ N(0, sigma^2)

fitted by least squares over every finished run of the size (:func:`fit_blocks`). The seed
effects ``u_s`` carry the pairing: a hard subset lowers every configuration that saw it, so a
difference between two configurations that shared seeds is measured without it. ``sigma`` is
pooled over all configurations (one noise level per size), so a configuration confirmed with 3
seeds borrows the degrees of freedom of the others, and a weak prior (noise 0.01 of the metric,
the order measured on real tables, worth one degree of freedom) keeps it finite where nothing has
two seeds.

The posterior of every ``mu_k`` is drawn (``draws`` times: sigma from its scaled inverse
chi-square, then each mean), with the configuration means shrunk towards the size's mean by an
empirical-Bayes normal prior (their spread estimated by moments). In every draw each cell's best
is *re-selected* (the max of its configurations' drawn means), so a cell whose best was picked
out of many one-seed runs carries the uncertainty of that pick: the winner's curse. P(best) of a
cell is the share of draws in which it has the highest best.

The shrinkage makes a ``winner`` harder to claim, as it should, but it would make ``equivalent``
easier: pulling every mean towards one center assumes the closeness that verdict asserts. On the
fine-tuned thesis table (48 configurations, a flat landscape, 3 seeds) the shrunk posterior gave
P 0.94 that all four strategies lie within 0.01 where the observed bests were 0.014 apart. So the
probability of equivalence is taken from the same draws without the prior (each mean around its
observed value with its own sampling variance), as an equivalence test (TOST) would.

On large tables, configurations that cannot be their cell's best in any draw (nine posterior
standard deviations apart) are left out of the draws: they change no cell's best
(:func:`_cell_bests`).

One-seed configurations never decide alone: a cell with configurations of at least
``min_seeds`` seeds is represented by those only (its one-seed runs lost to them on the search
seed); a cell may *win* only on such configurations, and ``equivalent`` needs every cell to have
one. A cell with none keeps all its runs in the comparison, so it can still stand in the way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from ..config import DEFAULT_CONFIDENCE, DEFAULT_MARGIN, DecisionSettings  # the config's decision: section
from ..sizes import size_text

if TYPE_CHECKING:
    import numpy as np

    from .leaderboard import Entry

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_MARGIN",
    "FLOOR_CELL",
    "VERDICTS",
    "BlockFit",
    "Decision",
    "DecisionSettings",
    "confirmation_round",
    "confirmation_targets",
    "decide",
    "fit_blocks",
    "interim_confidence",
]

VERDICTS = ("winner", "equivalent", "undetermined")
FLOOR_CELL = "floor"  # the classical floor's runs (role ``floor``) compete as a cell of their own
POWER = 0.8  # what the seed estimate in ``settle`` aims for
# Sequential confirmation (bench/planted_effects.py measured both on the ground-truth tables):
# an interim look spends this share of the error rate, so that three looks together stay near
# it; a question whose seed estimate exceeds this many times the cap stops getting seeds.
INTERIM_SHARE = 0.4
FUTILITY = 2.0
# The prior's seed noise (standard deviation, metric units), worth one degree of freedom: the
# pooled residual noise of the ground-truth tables (bench/ground_truth) is 0.006-0.023 of F1.
PRIOR_NOISE = 0.01


@dataclass
class BlockFit:
    """The seed-blocked fit of one size's runs: per configuration its seed-adjusted mean and seed
    count, per seed its effect, and the pooled residual sum of squares with its degrees of freedom."""

    means: list[float]
    counts: list[int]
    seed_effects: dict[int, float]
    rss: float
    df: int

    @property
    def sigma(self) -> float | None:
        """The pooled noise standard deviation (None without residual degrees of freedom)."""
        return math.sqrt(self.rss / self.df) if self.df > 0 else None


def fit_blocks(scores: Sequence[Mapping[int, float]], iterations: int = 50) -> BlockFit:
    """Least squares for ``score = mu_k + u_s`` (effects summing to 0 over the runs) by
    alternating means, over the configurations' ``{seed: score}``; exact for balanced designs,
    converged to 1e-12 for unbalanced ones.

    Vectorised over the runs (configuration, seed, value); every sum is taken run by run in the
    configurations' order (``np.bincount`` adds its weights in order), as a loop over the dicts
    would."""
    import numpy as np

    sizes = [len(s) for s in scores]
    if not all(sizes):
        raise ZeroDivisionError("fit_blocks: a configuration without scores")
    k = len(scores)
    seeds = sorted({seed for s in scores for seed in s})
    position = {seed: i for i, seed in enumerate(seeds)}
    config = np.repeat(np.arange(k), sizes)  # per run: its configuration
    seed = np.fromiter((position[key] for s in scores for key in s), dtype=np.intp, count=len(config))
    value = np.fromiter((v for s in scores for v in s.values()), dtype=float, count=len(config))
    n = np.asarray(sizes, dtype=float)
    mu = np.bincount(config, weights=value, minlength=k) / n
    u = np.zeros(len(seeds))
    if len(seeds) > 1:
        per_seed = np.bincount(seed, minlength=len(seeds))
        runs = np.zeros(len(seeds), dtype=np.intp)  # sums over seeds, in seed order
        for _ in range(iterations):
            new_u = np.bincount(seed, weights=value - mu[config], minlength=len(seeds)) / per_seed
            weighted = np.bincount(runs, weights=new_u * per_seed, minlength=1)[0]
            new_u = new_u - weighted / float(per_seed.sum())
            new_mu = np.bincount(config, weights=value - new_u[seed], minlength=k) / n
            change = float(np.max(np.abs(new_mu - mu))) if k else 0.0
            mu, u = new_mu, new_u
            if change < 1e-12:
                break
    residual = value - mu[config] - u[seed]
    rss = float(np.bincount(np.zeros(len(value), dtype=np.intp), weights=residual**2, minlength=1)[0])
    # Seeds seen by one configuration only fit its runs exactly: they add a parameter, no information.
    shared = int(np.count_nonzero(np.bincount(seed, minlength=len(seeds)) > 1))
    df = len(value) - k - max(0, shared - 1)
    return BlockFit(mu.tolist(), sizes, dict(zip(seeds, u.tolist(), strict=True)), rss, max(0, df))


@dataclass
class Decision:
    """One size's answer. ``cell``: the winner, or the leading cell when there is none."""

    size: float
    verdict: str
    cell: str | None
    p_best: dict[str, float]
    margin: float
    confidence: float
    contenders: list[str] = field(default_factory=list)  # the smallest set holding the best at `confidence`
    # The probability that every cell lies within the margin of the leader; None where it was not
    # assessed (a winner was found, or a cell has no confirmed configuration: equivalence cannot be
    # the verdict).
    p_equivalent: float | None = None
    best: dict[str, Any] = field(default_factory=dict)  # cell -> its best Entry (most confirmed first)
    seeds_needed: dict[str, int] = field(default_factory=dict)  # contender -> seeds its best would need
    reason: str = ""  # why not `winner`, in words
    sigma: float | None = None  # the pooled seed noise the verdict rests on
    lead: float | None = None  # posterior median of the leader's best minus its best rival's
    extend_name: str | None = None  # the sweep, for the settle command

    @property
    def settle(self) -> str | None:
        """What would settle an undetermined answer: the ``resweep extend`` command (or, for a
        table, the seeds to run), None otherwise."""
        if self.verdict != "undetermined" or not self.seeds_needed:
            return None
        seeds = max(self.seeds_needed.values())
        listed = ",".join(str(s) for s in range(seeds))
        if self.extend_name:
            return f"resweep extend {self.extend_name} --seeds {listed}"
        cells = ", ".join(f"{c} ({n} seeds)" for c, n in self.seeds_needed.items())
        return f"run the best configurations of {cells}"

    def line(self) -> str:
        """The one line a user reads first: ``10%: local wins (P(best) 0.97; next: mixed 0.02)``."""
        return f"{size_text(self.size)}: {self.verdict_text()}"

    def verdict_text(self) -> str:
        """:meth:`line` without its size."""
        return self._text().split(": ", 1)[1]

    def _text(self) -> str:
        size = size_text(self.size)
        ranked = sorted(self.p_best.items(), key=lambda kv: -kv[1])
        if not ranked:
            return f"{size}: no finished configuration"
        if self.verdict == "winner":
            nxt = f"; next: {ranked[1][0]} {ranked[1][1]:.2f}" if len(ranked) > 1 else ""
            # Surely best, by less than a difference worth acting on: say so.
            small = self.lead is not None and self.lead < self.margin
            by = f" by about {self.lead:.3f}, less than the margin {self.margin:g}" if small else ""
            return f"{size}: {self.cell} wins{by} (P(best) {self.p_best[str(self.cell)]:.2f}{nxt})"
        if self.verdict == "equivalent":
            names = _join([c for c, _ in ranked])
            return f"{size}: {names} equivalent within {self.margin:g} (P {self.p_equivalent:.2f})"
        names = _join(self.contenders or [c for c, _ in ranked[:2]])
        shares = ", ".join(f"{c} {p:.2f}" for c, p in ranked if c in self.contenders)
        text = f"{size}: undetermined between {names} (P(best) {shares}; {self.reason})"
        settle = self.settle
        return text + (f" — {settle}" if settle else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "verdict": self.verdict,
            "cell": self.cell,
            "p_best": dict(self.p_best),
            "margin": self.margin,
            "confidence": self.confidence,
            "settle": self.settle,
            "contenders": list(self.contenders),
            "p_equivalent": self.p_equivalent,
            "seeds_needed": dict(self.seeds_needed),
            "reason": self.reason,
            "sigma": self.sigma,
            "lead": self.lead,
        }


def _join(names: Sequence[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# Pruning (see _cell_bests): a configuration is left out of the draws where even PRUNE_Z posterior
# standard deviations above its highest location stay below what its cell's pool surely reaches
# (a normal draw beyond 9 standard deviations: p ~ 1e-19, never seen in 10^8 draws). Only tables
# of at least PRUNE_MIN_DRAWS normal draws (draws x configurations) are pruned: below that the
# draws take milliseconds, and they stay those of every configuration, bit for bit.
PRUNE_Z = 9.0
PRUNE_MIN_DRAWS = 1_000_000
CHUNK = 1 << 18  # normal draws made and reduced at a time (a few MiB)


def _cell_bests(
    fit: BlockFit,
    pools: Sequence[np.ndarray],
    settings: DecisionSettings,
    rng: np.random.Generator,
    *,
    shrink: bool = True,
) -> np.ndarray:  # (draws, cells)
    """Posterior draws of every cell's best (see the module docstring): each configuration's mean
    drawn (sigma from its scaled inverse chi-square, then the mean, shrunk towards the size's
    mean unless ``shrink`` is False), and per draw the max over each cell's ``pools``
    (configuration indices).

    Configurations that cannot be their cell's best in any draw (outside every pool, or below the
    pool's bound: :data:`PRUNE_Z`) are not drawn where that saves work; where none is left out,
    the draws are those of every configuration, in their order."""
    import numpy as np

    means = np.asarray(fit.means)
    counts = np.asarray(fit.counts, dtype=float)
    prior_scale = PRIOR_NOISE
    nu0 = 1.0
    # sigma^2 | data ~ (nu0 s0^2 + RSS) / chi2(nu0 + df)
    sigma2 = (nu0 * prior_scale**2 + fit.rss) / rng.chisquare(nu0 + fit.df, size=settings.draws)
    noise2 = (nu0 * prior_scale**2 + fit.rss) / (nu0 + fit.df)  # its point estimate
    # Empirical-Bayes spread of the true means (over every configuration, pruned or not):
    # var(observed means) - mean sampling variance.
    if shrink and len(means) >= 3:
        tau2 = max(float(np.var(means, ddof=1)) - float(np.mean(noise2 / counts)), 1e-12)
    else:
        tau2 = math.inf
    center = float(np.mean(means))
    prior_precision = 0.0 if math.isinf(tau2) else 1.0 / tau2
    prior_weighted = 0.0 if math.isinf(tau2) else center / tau2
    columns = np.arange(len(means))
    if settings.draws * len(means) >= PRUNE_MIN_DRAWS:
        columns = _unprunable(means, counts, pools, sigma2, prior_precision, prior_weighted)
    position = np.full(len(means), -1)
    position[columns] = np.arange(len(columns))
    pools = [position[pool][position[pool] >= 0] for pool in pools]  # among the drawn, in order
    # Each cell's pool as a slice where it is one run of drawn columns (a view, no copy).
    picks = [slice(int(p[0]), int(p[-1]) + 1) if len(p) and p[-1] - p[0] == len(p) - 1 else p for p in pools]
    counts, weighted = counts[columns], counts[columns] * means[columns]
    best = np.empty((settings.draws, len(pools)))
    step = max(1, CHUNK // max(1, len(columns)))
    for start in range(0, settings.draws, step):
        # The draws of rows start..stop: the same numbers, in the same order, as all at once.
        s2 = sigma2[start : start + step, None]
        precision = counts / s2
        precision += prior_precision
        location = weighted / s2
        location += prior_weighted
        location /= precision
        noise = rng.standard_normal((len(s2), len(columns)))
        noise /= np.sqrt(precision, out=precision)
        location += noise
        for c, pick in enumerate(picks):
            best[start : start + step, c] = location[:, pick].max(axis=1)
    return best


def _unprunable(
    means: np.ndarray,
    counts: np.ndarray,
    pools: Sequence[np.ndarray],
    sigma2: np.ndarray,
    prior_precision: float,
    prior_weighted: float,
) -> np.ndarray:
    """The configurations (sorted indices) that may be their cell's best in some draw: those in a
    pool whose highest location plus :data:`PRUNE_Z` standard deviations reaches the pool's
    surest best (the highest of its lowest locations less as many standard deviations). A
    location is the precision-weighted mix of the configuration's mean and the prior's center, so
    it moves monotonically from one to the other as sigma^2 grows: over the draws it lies between
    its values at the smallest and the largest sigma^2 drawn; its standard deviation is largest at
    the largest."""
    import numpy as np

    ends = []
    for s2 in (float(sigma2.min()), float(sigma2.max())):
        precision = counts / s2 + prior_precision
        ends.append((counts * means / s2 + prior_weighted) / precision)
    low, high = np.minimum(*ends), np.maximum(*ends)
    spread = PRUNE_Z / np.sqrt(counts / float(sigma2.max()) + prior_precision)
    upper, lower = high + spread, low - spread
    kept = []
    for pool in pools:
        surest = float(lower[pool].max())
        # 1e-9: rounding in the bounds must never prune a configuration that ties the bound.
        kept.append(pool[upper[pool] >= surest - 1e-9])
    return np.unique(np.concatenate(kept)) if kept else np.arange(0)


def decide(
    cells: Mapping[str, Sequence[Entry]],
    settings: DecisionSettings | None = None,
    *,
    size: float = 0.0,
    name: str | None = None,
) -> Decision:
    """The decision over ``cells`` (cell -> its finished configurations, best first by mean; the
    floor, where it ran, as the cell :data:`FLOOR_CELL`). ``name``: the sweep, for the settle
    command."""
    import numpy as np

    settings = settings or DecisionSettings()
    cells = {c: [e for e in entries if e.scores] for c, entries in cells.items()}
    cells = {c: entries for c, entries in cells.items() if entries}
    decision = Decision(
        size, "undetermined", None, {}, settings.margin, settings.confidence, extend_name=name
    )
    if not cells:
        decision.reason = "no finished configuration"
        return decision
    order = list(cells)
    entries = [e for c in order for e in cells[c]]
    owner = np.repeat(np.arange(len(order)), [len(cells[c]) for c in order])
    fit = fit_blocks([e.scores for e in entries])
    decision.sigma = fit.sigma
    rng = np.random.default_rng(settings.seed)
    n_cells = len(order)
    confirmed = np.asarray([e.n_seeds >= settings.min_seeds for e in entries])
    pools = []
    for c in range(n_cells):
        mine = owner == c
        # A cell is represented by its confirmed configurations where it has any: its one-seed
        # runs lost to them on the search seed, and one seed never decides alone.
        pools.append(np.flatnonzero(mine & confirmed if (mine & confirmed).any() else mine))
    best = _cell_bests(fit, pools, settings, rng)  # (D, C): each cell's re-selected best
    top = best.argmax(axis=1)
    p_best = {order[c]: float(np.mean(top == c)) for c in range(n_cells)}
    decision.p_best = dict(sorted(p_best.items(), key=lambda kv: -kv[1]))
    leader = max(order, key=lambda c: (p_best[c], -order.index(c)))
    li = order.index(leader)
    decision.best = {c: _most_confirmed_best(cells[c], settings.min_seeds) for c in order}
    # Contenders: the fewest cells, most probable first, that hold the best at `confidence`.
    total = 0.0
    for name, p in decision.p_best.items():
        decision.contenders.append(name)
        total += p
        if total >= settings.confidence - 1e-12:
            break
    # Winner: the most probable cell beats every rival's best in `confidence` of the draws (each
    # cell through its confirmed configurations where it has any).
    others = np.delete(best, li, axis=1)
    p_win = float(np.mean(best[:, li] > others.max(axis=1))) if n_cells > 1 else 1.0
    decision.lead = float(np.median(best[:, li] - others.max(axis=1))) if n_cells > 1 else None
    every_confirmed = all(any(e.n_seeds >= settings.min_seeds for e in cells[c]) for c in order)
    has_confirmed = any(e.n_seeds >= settings.min_seeds for e in cells[leader])
    won = n_cells > 1 and has_confirmed and p_win >= settings.confidence
    if n_cells == 1:
        decision.p_equivalent = 1.0
    elif every_confirmed and not won:
        # Equivalence from the unshrunk posterior (see the module docstring): a prior that pulls
        # every mean towards the size's mean would assume the closeness the verdict asserts.
        # Drawn only where the verdict could be `equivalent` (a second set of draws).
        flat = _cell_bests(fit, pools, settings, np.random.default_rng([settings.seed, 1]), shrink=False)
        spread = flat.max(axis=1) - flat.min(axis=1)
        decision.p_equivalent = float(np.mean(spread <= settings.margin))
    decision.cell = leader
    if won:
        decision.verdict = "winner"
        decision.contenders = [leader]
    elif n_cells == 1 and has_confirmed:
        decision.verdict = "winner"  # nothing to compare with: the only cell that ran
        decision.reason = "the only cell with finished configurations"
    elif decision.p_equivalent is not None and n_cells > 1 and decision.p_equivalent >= settings.confidence:
        decision.verdict = "equivalent"
        decision.contenders = list(decision.p_best)
    else:
        if not has_confirmed:
            decision.reason = f"{leader}'s best has fewer than {settings.min_seeds} seeds"
        elif len(decision.contenders) == 1 and not every_confirmed:
            decision.reason = "a rival cell has no confirmed configuration"
        else:
            decision.reason = f"P(best) {p_win:.2f} < {settings.confidence:g}"
        if len(decision.contenders) == 1 and n_cells > 1:
            # The leader is clear but not confirmed (or a rival is not): the runner-up joins it.
            decision.contenders.append(next(c for c in decision.p_best if c != leader))
        # Without a winner, the cell to act on is the one whose best scores highest among the
        # cells with a confirmed best (a wide posterior can lead P(best) without leading on the
        # evidence, and one seed does not decide alone).
        decision.cell = max(
            order,
            key=lambda c: (decision.best[c].n_seeds >= settings.min_seeds, decision.best[c].mean, p_best[c]),
        )
        if decision.cell not in decision.contenders:
            decision.contenders.append(decision.cell)
        decision.seeds_needed = _seeds_needed(decision, fit, best, order, settings)
    return decision


def _most_confirmed_best(entries: Sequence[Entry], min_seeds: int) -> Entry:
    """The configuration a cell is represented by: its best among those with ``min_seeds`` seeds
    or more where it has any (a one-seed lucky run does not displace a confirmed one), else its
    best."""
    confirmed = [e for e in entries if e.n_seeds >= min_seeds]
    return max(confirmed or entries, key=lambda e: (e.mean, e.n_seeds))


def _seeds_needed(
    decision: Decision, fit: BlockFit, best: np.ndarray, order: list[str], settings: DecisionSettings
) -> dict[str, int]:
    """Seeds each contender's best would need for a paired difference as large as the one now
    seen (at least the margin) to be told apart at ``confidence`` with power :data:`POWER`:
    n = 2 sigma^2 (z_conf + z_power)^2 / gap^2, between the seeds it has + 1 and 20."""
    from statistics import NormalDist

    import numpy as np

    sigma = fit.sigma if fit.sigma is not None else PRIOR_NOISE
    z = NormalDist().inv_cdf(settings.confidence) + NormalDist().inv_cdf(POWER)
    leader = order.index(str(decision.cell))
    needed: dict[str, int] = {}
    for cell in decision.contenders:
        c = order.index(cell)
        if c == leader:
            continue
        gap = max(abs(float(np.median(best[:, leader] - best[:, c]))), settings.margin)
        n = math.ceil(2 * sigma**2 * z**2 / gap**2)
        for name in (cell, str(decision.cell)):
            have = decision.best[name].n_seeds
            needed[name] = max(needed.get(name, 0), min(20, max(n, have + 1)))
    return needed


def interim_confidence(confidence: float) -> float:
    """The confidence a verdict needs at a sequential confirmation's interim look: every look is
    another chance for noise to cross the line, so an interim look spends :data:`INTERIM_SHARE`
    of the error rate (0.98 for 0.95) and only the last look, at the cap, the whole of it."""
    return 1.0 - INTERIM_SHARE * (1.0 - confidence)


def confirmation_targets(
    decision: Decision, max_seeds: int, futility: float | None = FUTILITY
) -> dict[str, Any]:
    """Sequential confirmation's next step: per cell still in contention, the configuration that
    should get one more seed — its best (:attr:`Decision.best`) while it has fewer than
    ``max_seeds`` seeds. Empty once the verdict is reached (``winner`` or ``equivalent``), every
    contender's best is at the cap, or (``futility``) the seeds the verdict would need
    (:attr:`Decision.seeds_needed`) exceed ``futility`` times the cap: cells that are clearly
    out stop getting seeds, and so does a question the cap cannot settle.

    Where the cell that leads the decision is not yet confirmed, its best one-seed configuration
    is the one that gets the seed: that is what the verdict waits for."""
    if decision.verdict != "undetermined":
        return {}
    needed = max(decision.seeds_needed.values(), default=0)
    if futility is not None and needed > futility * max_seeds:
        return {}
    targets: dict[str, Any] = {}
    for cell in decision.contenders:
        entry = decision.best.get(cell)
        if entry is not None and entry.n_seeds < max_seeds:
            targets[cell] = entry
    return targets


def confirmation_round(
    cells: Mapping[str, Sequence[Entry]],
    settings: DecisionSettings,
    max_seeds: int,
    *,
    size: float = 0.0,
    futility: float | None = FUTILITY,
) -> dict[str, Any]:
    """One round of sequential confirmation over a size's ``cells``: the decision at the interim
    confidence (:func:`interim_confidence`), then its :func:`confirmation_targets`. The verdict a
    user reads is made at ``settings.confidence`` once the rounds end."""
    interim = replace(settings, confidence=interim_confidence(settings.confidence))
    return confirmation_targets(decide(cells, interim, size=size), max_seeds, futility)
