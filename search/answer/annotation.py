"""Annotation planning: how many in-domain sentences a target score takes, and with which recipe.

``resweep plan NAME --target 0.80`` inverts the learning curves of :mod:`search.answer.curves`: per
question cell (the transfer strategy by default) and for the floor, the curve through the cell's
best configuration at each swept size — a power law ``a - b n^-c`` from three sizes up, else
linear in log n — is solved for the size at which it reaches the target.

What a plan guarantees
----------------------

* **A band, not a number.** A bootstrap over seeds and configurations: every draw resamples the
  seeds and the cell's configurations (by key: the same recipe at every size), with replacement,
  once for the whole curve — a seed's in-domain subsets are nested across sizes, and a
  configuration the search happened not to try is missing at every size, which shifts a curve
  rather than bending it (resampling each size on its own bent the curves and left every band
  open above on the ground-truth tables). Each draw re-selects the cell's best per size (its best
  confirmed configuration, as :mod:`search.answer.decision` represents a cell: the winner's curse),
  refits the curve and solves it again; the band is the draws' central 95%. A size with one seed
  has no spread to resample: its configurations get the size's pooled seed noise (the
  decision's, else its prior 0.01) as a normal jitter. What the bootstrap cannot see is a curve
  whose shape changes beyond the swept sizes: from three sizes the band is often open above.
* **"Not within 10x the pool"**: a curve that flattens below the target, or reaches it only
  beyond ten times the in-domain training pool, is unreachable; a band's high end beyond that is
  open (None).
* **The recipe at that size** follows the decision's rules on the curves' draws: P(best) per
  cell at the planned size, ``winner`` / ``equivalent`` / ``undetermined`` at the sweep's
  margin and confidence; the configuration is the decided cell's best at the nearest swept size.
* **Answers in sentences** where the pool is known (a sweep's training pool, a table's ``--pool``
  or its provenance); sizes stay in the boards' unit (fractions or counts) in ``size*`` fields.
* **Three sizes spanning a factor 2 or more**, else no plan: :class:`~trainables.errors.ResweepError`
  says which sizes to add (``resweep extend NAME --sizes ...``).

Held-out check (``bench/search_correctness.py``): leave each ground-truth pair's largest size out,
plan for the score each strategy reached there, and count how often that size lies in the band.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from trainables.errors import ResweepError

from ..sizes import size_text
from .decision import DEFAULT_CONFIDENCE, DEFAULT_MARGIN, FLOOR_CELL, PRIOR_NOISE, Decision
from .leaderboard import FLOOR_ARCHITECTURE, Entry, SizeBoard

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "BAND",
    "DRAWS",
    "POOL_LIMIT",
    "AnnotationPlan",
    "CellPlan",
    "Curve",
    "fit_curve",
    "plan_annotation",
    "plan_from_boards",
    "table_pool",
]

BAND = 0.95  # the band's coverage, as every interval in resweep
DRAWS = 200  # bootstrap draws: the band's ends move by about 1% of their size between seeds
POOL_LIMIT = 10.0  # beyond ten times the pool a curve is extrapolated too far to plan with
MIN_SIZES = 3  # a power law has three parameters
MIN_SPAN = 2.0  # the largest swept size over the smallest: less, and the curve's bend is unseen
STEP_SENTENCES = 100  # "the expected gain per 100 more sentences"
FIT_RESIDUAL = 0.02  # a power law must pass this close to four or more points (search.answer.curves')
CONFIRMED = 2  # seeds a configuration needs to represent its cell (search.answer.decision's min_seeds)


def _power_law(n: Any, a: float, b: float, c: float) -> Any:
    return a - b * n ** (-c)  # rises, flattens towards a (search.answer.curves' shape)


@dataclass(frozen=True)
class Curve:
    """A learning curve through points ``(xs, ys)`` (xs ascending, the boards' unit): a power law
    fitted on ``xs / scale`` (``params``: a, b, c), or linear in log n between the points and
    along the end segments beyond them (``params`` None)."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    method: str  # "power-law fit" | "log-n interpolation" | "nearest"
    params: tuple[float, float, float] | None = None
    scale: float = 1.0

    def value(self, x: Any) -> Any:
        """The curve's score at ``x`` (a number or an array), unclipped."""
        import numpy as np

        x = np.asarray(x, dtype=float)
        if self.params is not None:
            return _power_law(x / self.scale, *self.params)
        if len(self.xs) == 1:
            return np.full_like(x, self.ys[0])
        logs = np.log(np.asarray(self.xs))
        ys = np.asarray(self.ys)
        lx = np.log(x)
        inside = np.interp(lx, logs, ys)
        # Beyond the points along the end segment where it rises; flat where it does not (a
        # falling curve says nothing about the score of less, or more, data).
        first = max(0.0, (ys[1] - ys[0]) / (logs[1] - logs[0]))
        last = max(0.0, (ys[-1] - ys[-2]) / (logs[-1] - logs[-2]))
        low = ys[0] + first * (lx - logs[0])
        high = ys[-1] + last * (lx - logs[-1])
        return np.where(lx < logs[0], low, np.where(lx > logs[-1], high, inside))

    @property
    def asymptote(self) -> float:
        """The score the curve approaches with unlimited data (inf: it never flattens)."""
        if self.params is not None:
            return float(self.params[0])
        if len(self.xs) > 1 and self.ys[-1] > self.ys[-2]:
            return math.inf
        return float(max(self.ys))

    def size_for(self, target: float, limit: float) -> float:
        """The smallest size at which the curve reaches ``target``; inf when it does not up to
        ``limit`` (it flattens below, or reaches it only beyond)."""
        import numpy as np

        if self.params is not None:
            a, b, c = self.params
            if target >= a:
                return math.inf
            size = self.scale * (b / (a - target)) ** (1.0 / c)
            return size if size <= limit else math.inf
        # Piecewise linear in log n: the first crossing on a fine grid, then linear in log n.
        grid = np.geomspace(self.xs[0] / 1000, limit, 4000)
        values = self.value(grid)
        hits = np.nonzero(values >= target)[0]
        if not len(hits):
            return math.inf
        i = int(hits[0])
        if i == 0:
            return float(grid[0])
        lo, hi = math.log(grid[i - 1]), math.log(grid[i])
        v0, v1 = float(values[i - 1]), float(values[i])
        return float(math.exp(lo + (hi - lo) * (target - v0) / (v1 - v0)))


def fit_curve(xs: Sequence[float], ys: Sequence[float]) -> Curve:
    """The learning curve through ``(xs, ys)`` (xs ascending): a power law from three points up
    when it rises and flattens (b > 0, c > 0) and passes within 0.02 (root mean square) of the
    points; else linear in log n (one point: that point's score everywhere)."""
    xs_t, ys_t = tuple(float(x) for x in xs), tuple(float(y) for y in ys)
    scale = xs_t[-1]
    if len(xs_t) >= MIN_SIZES:
        fitted = _fit_power_law(xs_t, ys_t, scale)
        if fitted is not None:
            return Curve(xs_t, ys_t, "power-law fit", fitted, scale)
    return Curve(xs_t, ys_t, "nearest" if len(xs_t) == 1 else "log-n interpolation")


# The exponents searched: a curve that bends within the swept range (c ~ 0.05-2 on the tables)
# up to one that is flat after its first point; refined around the best.
_EXPONENTS = (0.005, 4.0, 240)


def _fit_power_law(
    xs: Sequence[float], ys: Sequence[float], scale: float
) -> tuple[float, float, float] | None:
    """Least squares for ``y = a - b (x/scale)^-c``: for a fixed c the model is linear in (a, b),
    so the fit is a one-dimensional search over c (variable projection), robust where an iterative
    fit from a starting guess wanders off, and ~100x faster (the bootstrap refits hundreds of
    times). None when no rising curve (b > 0) passes within :data:`FIT_RESIDUAL` of the points."""
    import numpy as np

    x = np.asarray(xs) / scale
    y = np.asarray(ys)
    logs = np.log(x)

    def solve(exponents: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        z = np.exp(-exponents[:, None] * logs[None, :])  # (G, n): x^-c
        zc = z - z.mean(axis=1, keepdims=True)
        slope = (zc * (y - y.mean())).sum(axis=1) / np.maximum((zc * zc).sum(axis=1), 1e-300)
        a = y.mean() - slope * z.mean(axis=1)
        rss = ((y[None, :] - a[:, None] - slope[:, None] * z) ** 2).sum(axis=1)
        rss = np.where(slope < 0, rss, np.inf)  # b = -slope must be > 0: the curve rises
        return a, -slope, rss

    lo, hi, count = _EXPONENTS
    exponents = np.geomspace(lo, hi, count)
    with np.errstate(over="ignore", invalid="ignore"):
        a, b, rss = solve(exponents)
        i = int(np.argmin(rss))
        if not np.isfinite(rss[i]):
            return None
        fine = np.geomspace(exponents[max(0, i - 1)], exponents[min(count - 1, i + 1)], 41)
        a, b, rss = solve(fine)
        j = int(np.argmin(rss))
    if not np.isfinite(rss[j]) or math.sqrt(rss[j] / len(ys)) >= FIT_RESIDUAL:
        return None
    return float(a[j]), float(b[j]), float(fine[j])


# ---- the evidence of one cell ----------------------------------------------------------------


@dataclass
class _SizeEvidence:
    """One cell's finished configurations at one swept size, as a (configurations x seeds) matrix
    over the cell's seeds (nan where a configuration lacks a seed), with each configuration's
    index among the cell's configurations of every size (its key without the size)."""

    size: float
    entries: list[Entry]
    scores: Any  # np.ndarray (K, S): the cell's seeds as columns
    keys: Any  # np.ndarray (K,) int: index into the cell's configuration keys
    confirmed: Any  # np.ndarray (K,) bool: at least CONFIRMED seeds
    noise: float | None  # jitter for a one-seed size (None: seeds to resample)

    @property
    def best(self) -> Entry:
        """The cell's representative: its best confirmed configuration where it has any."""
        confirmed = [e for e in self.entries if e.n_seeds >= CONFIRMED]
        return max(confirmed or self.entries, key=lambda e: (e.mean, e.n_seeds))


def _evidence(by_size: Mapping[float, Sequence[Entry]], noise: Mapping[float, float]) -> list[_SizeEvidence]:
    """A cell's evidence per swept size (ascending), on the cell's common seeds and keys."""
    import numpy as np

    seeds = sorted({s for entries in by_size.values() for e in entries for s in e.scores})
    keys = sorted({_key_without_size(e.key) for entries in by_size.values() for e in entries})
    out = []
    for size in sorted(by_size):
        entries = list(by_size[size])
        scores = np.full((len(entries), len(seeds)), np.nan)
        for k, entry in enumerate(entries):
            for s, value in entry.scores.items():
                scores[k, seeds.index(s)] = value
        own_seeds = {s for e in entries for s in e.scores}
        out.append(
            _SizeEvidence(
                size,
                entries,
                scores,
                np.asarray([keys.index(_key_without_size(e.key)) for e in entries]),
                np.asarray([e.n_seeds >= CONFIRMED for e in entries]),
                noise[size] if len(own_seeds) < 2 else None,
            )
        )
    return out


def _key_without_size(key: str) -> str:
    """A configuration's key without its in-domain size: the same recipe at every size."""
    try:
        config = json.loads(key)
    except ValueError:
        return key
    if isinstance(config, dict):
        config.pop("in_domain_size", None)
        config.pop("in_domain_pct", None)
    return json.dumps(config, sort_keys=True, default=str)


def _bootstrap(evidence: Sequence[_SizeEvidence], draws: int, rng: np.random.Generator) -> Any:
    """(draws, sizes): the cell's best score per swept size in each bootstrap draw. A draw
    resamples the seeds and the configurations (by key) once, the same at every size: a seed's
    subsets are nested across sizes, and a configuration the search happened not to try is
    missing from the whole curve, which shifts the curve rather than bending it. Per size, each
    configuration's mean over the drawn seeds it has; the cell's best among its drawn confirmed
    configurations where it has any, else among all it has (else the point itself)."""
    import numpy as np

    n_seeds = evidence[0].scores.shape[1]
    n_keys = 1 + max(int(ev.keys.max()) for ev in evidence)
    seed_weights = np.stack(
        [np.bincount(rng.integers(n_seeds, size=n_seeds), minlength=n_seeds) for _ in range(draws)]
    )
    key_weights = np.stack(
        [np.bincount(rng.integers(n_keys, size=n_keys), minlength=n_keys) for _ in range(draws)]
    )
    out = np.empty((draws, len(evidence)))
    for i, ev in enumerate(evidence):
        present = ~np.isnan(ev.scores)  # (K, S)
        total = seed_weights @ np.where(present, ev.scores, 0.0).T  # (D, K)
        count = seed_weights @ present.T.astype(float)  # (D, K)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = total / count
        if ev.noise is not None:
            means = means + rng.normal(0.0, ev.noise, size=means.shape)
        drawn = (key_weights[:, ev.keys] > 0) & (count > 0)  # (D, K)
        confirmed = drawn & ev.confirmed[None, :]
        pool = np.where(confirmed.any(axis=1, keepdims=True), confirmed, drawn)
        best = np.where(pool, means, -np.inf).max(axis=1)
        out[:, i] = np.where(np.isfinite(best), best, ev.best.mean)
    return out


@dataclass
class CellPlan:
    """One cell's answer: the size where its curve reaches the target, with the band."""

    cell: str
    size: float | None  # the boards' unit; None: not within 10x the pool
    low: float | None  # the band (None at ``high``: beyond 10x the pool)
    high: float | None
    curve: Curve
    points: list[Entry]  # the cell's best per swept size (the curve's points)
    note: str = ""  # why unreachable, or "reached within the swept sizes"
    gain: float | None = None  # expected score gain for 100 more sentences at today's size
    gain_low: float | None = None
    gain_high: float | None = None
    supported: bool = True  # has three sizes spanning a factor 2
    draws: list[Curve] = field(default_factory=list, repr=False)

    @property
    def reachable(self) -> bool:
        return self.size is not None

    @property
    def floor(self) -> bool:
        return self.cell == FLOOR_CELL


@dataclass
class AnnotationPlan:
    """The answer to "how many sentences for ``target``, and with which recipe"."""

    target: float
    metric: str
    sizes: list[float]  # the swept sizes
    unit: str  # "fraction" (of the pool) | "count"
    pool: int | None  # in-domain training sentences a fraction refers to (None: unknown)
    cells: list[CellPlan]
    margin: float
    confidence: float
    decision: Decision | None = None  # over the recipes' curves at the planned size
    recipe: Entry | None = None  # the decided cell's best at the nearest swept size
    recipe_size: float | None = None  # that swept size
    message: str | None = None  # one line when no curve reaches the target
    draws: int = DRAWS
    name: str | None = None

    # ---- units -----------------------------------------------------------------------------

    @property
    def today(self) -> float:
        """Today's size: the largest swept (the whole pool, for a sweep in fractions)."""
        return self.sizes[-1]

    @property
    def limit(self) -> float:
        """Ten times the pool, in the boards' unit (counts without a pool: the largest size)."""
        if self.unit == "fraction":
            return POOL_LIMIT
        return POOL_LIMIT * (self.pool or self.today)

    def sentences(self, size: float | None, rounding: Any = round) -> int | None:
        """A size in sentences (None: unknown pool, or no size)."""
        if size is None or math.isinf(size):
            return None
        if self.unit == "count":
            return int(rounding(size))
        return None if self.pool is None else int(rounding(size * self.pool))

    def size_words(self, size: float | None) -> str:
        """A size as a user reads it: sentences where they are known, else a share of the pool."""
        sentences = self.sentences(size)
        if sentences is not None:
            return f"{sentences:,} sentences"
        if size is None:
            return "-"
        return f"{size * 100:.3g}% of the pool"

    def _short(self, size: float) -> str:
        """A band's end: sentences (``12,345``) or a share of the pool (``171%``)."""
        sentences = self.sentences(size)
        return f"{sentences:,}" if sentences is not None else f"{size * 100:.3g}%"

    @property
    def step(self) -> float | None:
        """100 sentences in the boards' unit (None: a fraction of an unknown pool)."""
        if self.unit == "count":
            return float(STEP_SENTENCES)
        return None if self.pool is None else STEP_SENTENCES / self.pool

    @property
    def planned(self) -> CellPlan | None:
        """The recipe cell whose curve reaches the target first (the floor aside)."""
        reachable = [c for c in self.cells if c.reachable and not c.floor]
        return min(reachable, key=lambda c: c.size or 0.0) if reachable else None

    # ---- output ------------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """``--json``: ``{"target", "metric", "per_strategy": [{"cell", "sentences", "low",
        "high", "reachable", ...}], "recommended": {...}}``; sizes in the boards' unit beside."""
        per = []
        for c in self.cells:
            per.append(
                {
                    "cell": c.cell,
                    "sentences": self.sentences(c.size, math.ceil),
                    "low": self.sentences(c.low, math.floor),
                    "high": self.sentences(c.high, math.ceil),
                    "reachable": c.reachable,
                    "size": c.size,
                    "size_low": c.low,
                    "size_high": c.high,
                    "asymptote": None if math.isinf(c.curve.asymptote) else c.curve.asymptote,
                    "method": c.curve.method,
                    "note": c.note or None,
                    "gain_per_100": c.gain,
                    "gain_low": c.gain_low,
                    "gain_high": c.gain_high,
                }
            )
        document: dict[str, Any] = {
            "target": self.target,
            "metric": self.metric,
            "unit": self.unit,
            "pool": self.pool,
            "swept": list(self.sizes),
            "today": {"size": self.today, "sentences": self.sentences(self.today)},
            "band": BAND,
            "limit": {"size": self.limit, "sentences": self.sentences(self.limit)},
            "per_strategy": per,
            "recommended": self._recommended_dict(),
            "message": self.message,
        }
        return document

    def _recommended_dict(self) -> dict[str, Any] | None:
        planned, decision = self.planned, self.decision
        if planned is None or decision is None or planned.size is None:
            return None
        cell = self.cell_plan(str(decision.cell))
        document: dict[str, Any] = {
            "cell": decision.cell,
            "size": planned.size,
            "sentences": self.sentences(planned.size, math.ceil),
            "more_sentences": None,
            "verdict": decision.verdict,
            "p_best": dict(decision.p_best),
            "decision": decision.as_dict(),
            "configuration": None if self.recipe is None else self.recipe.label,
            "config": None if self.recipe is None else self.recipe.as_dict(),
            "from_size": self.recipe_size,
            "gain_per_100": None if cell is None else cell.gain,
        }
        more = self.sentences(planned.size, math.ceil)
        today = self.sentences(self.today)
        if more is not None and today is not None:
            document["more_sentences"] = max(0, more - today)
        return document

    def cell_plan(self, cell: str) -> CellPlan | None:
        return next((c for c in self.cells if c.cell == cell), None)

    def lines(self) -> list[str]:
        """The plan as a user reads it: a table per cell, then the recommendation."""
        swept = ", ".join(size_text(s) for s in self.sizes)
        if self.pool:
            pool = f"pool {self.pool:,} sentences"
        elif self.unit == "count":  # already sentences; "10x the pool" reads as 10x the largest size
            pool = "pool unknown: 10x the pool taken as 10x the largest size"
        else:
            pool = "pool unknown: give --pool to answer in sentences"
        out = [f"annotation plan: {self.metric} {self.target:g} (swept {swept}; {pool})"]
        step = "+100 sentences" if self.step is not None else "+100 sentences (needs --pool)"
        header = ["strategy", "sentences", f"{BAND:.0%} band", "asymptote", "method", f"{step} at today's"]
        rows = []
        for c in self.cells:
            if not c.supported:
                band = "-"
            elif c.low is None:  # even the band's low end lies beyond: so does all of it
                band = "beyond 10x pool"
            else:
                band = (
                    f"[{self._short(c.low)}, {'beyond 10x pool' if c.high is None else self._short(c.high)}]"
                )
            asymptote = c.curve.asymptote
            gain = "-"
            if c.gain is not None:
                gain = f"{c.gain:+.4f}"
                if c.gain_low is not None and c.gain_high is not None:
                    gain += f" [{c.gain_low:+.4f}, {c.gain_high:+.4f}]"
            rows.append(
                [
                    c.cell + (" (tfidf-linear)" if c.floor else ""),
                    self.size_words(c.size) if c.reachable else c.note or "not within 10x the pool",
                    band,
                    # A score cannot pass 1: a fit aiming above it has not begun to flatten.
                    "none" if math.isinf(asymptote) else "above 1" if asymptote > 1 else f"{asymptote:.4f}",
                    c.curve.method if c.supported else "too few sizes",
                    gain,
                ]
            )
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        out.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
        out.append("  ".join("-" * w for w in widths))
        for r in rows:
            out.append("  ".join(str(v).ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
        if self.message:
            out.append(self.message)
        out.extend(self._recommendation_lines())
        return out

    def _recommendation_lines(self) -> list[str]:
        planned, decision = self.planned, self.decision
        if planned is None or decision is None or planned.size is None:
            return []
        today = self.sentences(self.today)
        more = self.sentences(planned.size, math.ceil)
        extra = ""
        if more is not None and today is not None:
            extra = (
                f" ({more - today:,} more than today's {today:,})"
                if more > today
                else f" (within today's {today:,}: no annotation needed)"
            )
        lines = [
            f"plan: {planned.cell} reaches {self.target:g} first, at about "
            f"{self.size_words(planned.size)}{extra}",
            f"recipe there: {decision.verdict_text()}",
        ]
        if self.recipe is not None and self.recipe_size is not None:
            lines.append(
                f"  configuration: {self.recipe.label} (best of {decision.cell} at "
                f"{size_text(self.recipe_size)}, the nearest swept size; {self.recipe.mean:.4f} over "
                f"{self.recipe.n_seeds} seed{'s' if self.recipe.n_seeds != 1 else ''})"
            )
        floor = next((c for c in self.cells if c.floor and c.size is not None), None)
        if floor is not None and floor.size is not None and floor.size < (planned.size or 0.0):
            lines.append(
                f"  the floor (tfidf-linear) gets there sooner, at about {self.size_words(floor.size)}:"
                " `resweep train --floor` trains it"
            )
        chosen = self.cell_plan(str(decision.cell))
        if chosen is not None and chosen.gain is not None:
            at = self.size_words(self.today)
            band = (
                ""
                if chosen.gain_low is None or chosen.gain_high is None
                else f" (band {chosen.gain_low:+.4f} to {chosen.gain_high:+.4f})"
            )
            lines.append(
                f"expected gain per 100 more sentences at today's {at}: {chosen.gain:+.4f} {self.metric}"
                f" for {chosen.cell}{band}"
            )
        return lines

    def figure(self) -> Any:
        """The learning-curve picture: per cell its curve and band, its swept points, the floor,
        the target as a line and where each curve crosses it."""
        return _figure(self)

    def png(self) -> bytes:
        """:meth:`figure` as PNG bytes."""
        import io

        import matplotlib.pyplot as plt

        figure = self.figure()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        plt.close(figure)
        return buffer.getvalue()


# ---- the plan ----------------------------------------------------------------------------------


def _cells(boards: Sequence[SizeBoard]) -> dict[str, dict[float, list[Entry]]]:
    """Per cell (the floor as ``floor``): per swept size its finished configurations."""
    cells: dict[str, dict[float, list[Entry]]] = {}
    for board in boards:
        for cell, entries in board.decision_cells().items():
            if cell != FLOOR_CELL:
                cells.setdefault(cell, {})[board.size] = list(entries)
        # The floor: the sweep's floor runs; a table has no roles, so its tfidf-linear runs.
        floor = [e for e in board.entries if e.floor_run] or [
            e for e in board.entries if e.describe.get("architecture") == FLOOR_ARCHITECTURE
        ]
        if floor:
            cells.setdefault(FLOOR_CELL, {})[board.size] = floor
    return cells


def _unit(sizes: Sequence[float]) -> str:
    if all(s <= 1.0 for s in sizes):
        return "fraction"
    if any(s <= 1.0 for s in sizes):
        raise ResweepError(
            f"the sizes here mix fractions and counts ({', '.join(f'{s:g}' for s in sizes)}): "
            "a size cannot be placed on one axis"
        )
    return "count"


def _size_arg(size: float) -> str:
    """A size as ``--sizes`` takes it: a fraction with its point (``1.0`` is all, ``1`` one
    sentence), a count as an integer."""
    if size > 1:
        return f"{round(size)}"
    return "1.0" if size == 1 else f"{size:g}"


def _suggest_sizes(sizes: Sequence[float], unit: str) -> list[float]:
    """The swept sizes plus what a plan needs: three sizes spanning a factor 10 below the largest
    (a tenth and about a third of it, as the shipped configs sweep)."""
    top = max(sizes)
    wanted = [top / 10, top / 3] if unit == "count" else [round(top / 10, 4), round(top * 0.3, 4)]
    if unit == "count":
        wanted = [float(round(w)) for w in wanted]
    out = sorted(set(sizes) | {w for w in wanted if w > 0})
    return out


def _check_support(sizes: Sequence[float], unit: str, name: str | None) -> None:
    """Three sizes spanning a factor 2, or an error that says what to add."""
    span = max(sizes) / min(sizes)
    if len(sizes) >= MIN_SIZES and span >= MIN_SPAN:
        return
    have = ", ".join(size_text(s) for s in sizes)
    why = (
        f"results at {len(sizes)} size{'s' if len(sizes) != 1 else ''} ({have})"
        if len(sizes) < MIN_SIZES
        else f"sizes {have} all within a factor {MIN_SPAN:g}"
    )
    suggestion = ",".join(_size_arg(s) for s in _suggest_sizes(sizes, unit))
    fix = (
        f"`resweep extend {name} --sizes {suggestion}`"
        if name is not None
        else f"a table with results at sizes like {suggestion}"
    )
    raise ResweepError(
        f"cannot support a plan: {why}; a learning curve needs {MIN_SIZES} sizes or more spanning a "
        f"factor {MIN_SPAN:g} or more — add sizes: {fix}"
    )


def _plan_cell(
    cell: str,
    evidence: list[_SizeEvidence],
    target: float,
    limit: float,
    today: float,
    step: float | None,
    draws: int,
    rng: np.random.Generator,
) -> CellPlan:
    import numpy as np

    xs = [e.size for e in evidence]
    points = [e.best for e in evidence]
    curve = fit_curve(xs, [p.mean for p in points])
    supported = len(xs) >= MIN_SIZES and xs[-1] / xs[0] >= MIN_SPAN
    curves = []
    for ys in _bootstrap(evidence, draws, rng):
        curves.append(fit_curve(xs, ys))
    plan = CellPlan(cell, None, None, None, curve, points, supported=supported, draws=curves)
    if step is not None:
        gains = np.asarray([float(c.value(today + step) - c.value(today)) for c in curves])
        plan.gain = float(curve.value(today + step) - curve.value(today))
        plan.gain_low, plan.gain_high = (float(np.quantile(gains, q)) for q in _band_quantiles())
    if not supported:
        plan.note = f"fewer than {MIN_SIZES} sizes spanning a factor {MIN_SPAN:g}"
        return plan
    size = curve.size_for(target, limit)
    sizes = np.asarray([c.size_for(target, limit) for c in curves])
    low_q, high_q = _band_quantiles()
    low = float(np.quantile(sizes, low_q, method="inverted_cdf"))
    high = float(np.quantile(sizes, high_q, method="inverted_cdf"))
    plan.low = None if math.isinf(low) else low
    plan.high = None if math.isinf(high) else high
    if math.isinf(size):
        asymptote = curve.asymptote
        plan.note = (
            f"flattens at {asymptote:.4f}, below the target"
            if asymptote <= target
            else "not within 10x the pool"
        )
        return plan
    plan.size = size
    if size <= today:
        plan.note = "reached within the swept sizes"
    return plan


def _band_quantiles() -> tuple[float, float]:
    return (1 - BAND) / 2, 1 - (1 - BAND) / 2


def _decide_at(cells: Sequence[CellPlan], size: float, margin: float, confidence: float) -> Decision:
    """The decision's rules on the curves' draws at ``size``: P(best) per cell (the share of
    draws in which its curve is highest there), ``winner`` at ``confidence``, ``equivalent``
    when every curve is within ``margin`` of the highest in ``confidence`` of the draws."""
    import numpy as np

    order = [c.cell for c in cells]
    values = np.asarray([[float(d.value(size)) for d in c.draws] for c in cells]).T  # (D, C)
    top = values.argmax(axis=1)
    p_best = {order[i]: float(np.mean(top == i)) for i in range(len(order))}
    ranked = dict(sorted(p_best.items(), key=lambda kv: -kv[1]))
    leader = next(iter(ranked))
    li = order.index(leader)
    decision = Decision(size, "undetermined", leader, ranked, margin, confidence)
    decision.best = {c.cell: c.points[-1] for c in cells}
    if len(order) == 1:
        decision.verdict = "winner"
        decision.reason = "the only recipe with a curve"
        decision.contenders = [leader]
        return decision
    others = np.delete(values, li, axis=1).max(axis=1)
    decision.lead = float(np.median(values[:, li] - others))
    spread = values.max(axis=1) - values.min(axis=1)
    decision.p_equivalent = float(np.mean(spread <= margin))
    total = 0.0
    for cell, p in ranked.items():
        decision.contenders.append(cell)
        total += p
        if total >= confidence - 1e-12:
            break
    if p_best[leader] >= confidence:
        decision.verdict = "winner"
        decision.contenders = [leader]
    elif decision.p_equivalent >= confidence:
        decision.verdict = "equivalent"
        decision.contenders = list(ranked)
    else:
        if len(decision.contenders) == 1:
            decision.contenders.append(next(c for c in ranked if c != leader))
        decision.reason = f"P(best) {p_best[leader]:.2f} < {confidence:g} on the curves there"
        # Without a winner, the cell to act on is the one whose curve is highest there (as the
        # decision acts on the best evidence, not on a wide posterior's lead).
        decision.cell = max(cells, key=lambda c: float(c.curve.value(size))).cell
        if decision.cell not in decision.contenders:
            decision.contenders.append(decision.cell)
    return decision


def plan_from_boards(
    boards: Sequence[SizeBoard],
    target: float,
    *,
    pool: int | None = None,
    name: str | None = None,
    margin: float | None = None,
    confidence: float | None = None,
    draws: int = DRAWS,
    seed: int = 0,
) -> AnnotationPlan:
    """The plan for ``target`` (the boards' metric, 0..1) from leaderboards
    (:func:`search.answer.leaderboard.build_leaderboard`). ``pool``: in-domain training sentences a
    fraction refers to (answers in sentences); ``name``: the sweep, named in the command that
    would add sizes; ``margin``, ``confidence``: the recipe's decision (default: the boards'
    own, else 0.01 and 0.95); ``draws``, ``seed``: the bootstrap's."""
    import numpy as np

    if not boards or not any(b.entries for b in boards):
        raise ResweepError("nothing to plan from: no finished configuration at any size")
    if not (isinstance(target, int | float) and math.isfinite(target) and 0 < target <= 1):
        raise ResweepError(
            f"target: expected a score above 0 and at most 1, in the metric's units (0.80), got {target!r}"
        )
    if draws < 20:
        raise ResweepError(f"draws: expected 20 or more, got {draws}")
    boards = [b for b in boards if b.entries]
    sizes = [b.size for b in boards]
    unit = _unit(sizes)
    _check_support(sizes, unit, name)
    first = next((b.decision for b in boards if b.decision is not None), None)
    margin = margin if margin is not None else first.margin if first is not None else DEFAULT_MARGIN
    confidence = (
        confidence
        if confidence is not None
        else first.confidence
        if first is not None
        else DEFAULT_CONFIDENCE
    )
    plan = AnnotationPlan(
        target, boards[0].metric, sizes, unit, pool, [], margin, confidence, draws=draws, name=name
    )
    noise = {b.size: (b.decision.sigma if b.decision and b.decision.sigma else PRIOR_NOISE) for b in boards}
    rng = np.random.default_rng(seed)
    for cell, by_size in sorted(_cells(boards).items(), key=lambda kv: (kv[0] == FLOOR_CELL, kv[0])):
        evidence = _evidence(by_size, noise)
        plan.cells.append(_plan_cell(cell, evidence, target, plan.limit, plan.today, plan.step, draws, rng))
    plan.cells.sort(
        key=lambda c: (c.floor, not c.reachable, c.size or 0.0, -min(c.curve.asymptote, 10.0), c.cell)
    )
    planned = plan.planned
    if planned is None or planned.size is None:
        plan.message = _unreachable_message(plan)
        return plan
    recipes = [c for c in plan.cells if not c.floor and c.supported]
    plan.decision = _decide_at(recipes, planned.size, margin, confidence)
    plan.decision.extend_name = name
    # The configuration to train: the decided cell's best at the nearest swept size (in log n).
    chosen = str(plan.decision.cell)
    having = [b for b in boards if chosen in b.decision_cells()]
    source = min(having, key=lambda b: (abs(math.log(b.size) - math.log(planned.size or 1.0)), -b.size))
    plan.recipe_size = source.size
    best = source.decision.best.get(chosen) if source.decision is not None else None
    plan.recipe = (
        best or _evidence({source.size: source.decision_cells()[chosen]}, {source.size: 0.0})[0].best
    )
    return plan


def _unreachable_message(plan: AnnotationPlan) -> str:
    recipes = [c for c in plan.cells if not c.floor and c.supported] or plan.cells
    highest = max(recipes, key=lambda c: min(c.curve.asymptote, 10.0))
    asymptote = highest.curve.asymptote
    if all(c.curve.asymptote <= plan.target for c in recipes):
        return (
            f"target {plan.target:g} is above what any curve approaches (the highest: {highest.cell}, "
            f"{asymptote:.4f}): no amount of in-domain data is likely to reach it with these recipes"
        )
    limit = plan.size_words(plan.limit)
    return f"no strategy reaches {plan.target:g} within 10x the pool ({limit}): the curves rise too slowly"


# ---- the picture -------------------------------------------------------------------------------

TARGET_COLOR = "#ff0000"  # pure red: no cell's colour (tab10 without its red), easy to find
CELL_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


def _figure(plan: AnnotationPlan) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    in_sentences = plan.unit == "count" or plan.pool is not None
    factor = float(plan.pool) if plan.unit == "fraction" and plan.pool else 1.0
    reach = [c.size for c in plan.cells if c.size is not None] + [
        c.high for c in plan.cells if c.high is not None
    ]
    right = min(plan.limit, max([plan.today * 1.5, *(1.3 * r for r in reach)]))
    grid = np.geomspace(plan.sizes[0] / 1.5, right, 200)
    figure, axes = plt.subplots(figsize=(7.2, 4.6))
    recipes = [c for c in plan.cells if not c.floor]
    for i, c in enumerate(sorted(recipes, key=lambda c: c.cell)):
        color = CELL_COLORS[i % len(CELL_COLORS)]
        _draw_cell(axes, c, grid, factor, color, c.cell, "-")
    for c in plan.cells:
        if c.floor:
            _draw_cell(axes, c, grid, factor, "grey", "floor (tfidf-linear)", "--")
    axes.set_xlim(grid[0] * factor, grid[-1] * factor)
    for i, size in enumerate(plan.sizes):
        axes.axvline(
            size * factor, color="black", alpha=0.15, linewidth=1, label="swept sizes" if i == 0 else None
        )
    axes.axhline(
        plan.target, color=TARGET_COLOR, linewidth=1.6, label=f"target {plan.target:g}", gid="target"
    )
    planned = plan.planned
    if planned is not None and planned.size is not None:
        axes.axvline(planned.size * factor, color=TARGET_COLOR, linestyle=":", linewidth=1.2)
    axes.set_xscale("log")
    axes.set_xlabel(
        "in-domain sentences (log scale)" if in_sentences else "in-domain size (share of the pool, log scale)"
    )
    axes.set_ylabel(f"{plan.metric} (best configuration)")
    axes.set_title(
        f"Annotation plan: {plan.metric} {plan.target:g} (bands: {BAND:.0%}, bootstrap over seeds "
        "and configurations)",
        fontsize="medium",
    )
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small", loc="lower right")
    return figure


def _draw_cell(axes: Any, c: CellPlan, grid: Any, factor: float, color: str, label: str, style: str) -> None:
    import numpy as np

    axes.plot(grid * factor, np.clip(c.curve.value(grid), 0, 1), style, color=color, label=label)
    if c.draws:
        values = np.asarray([np.clip(d.value(grid), 0, 1) for d in c.draws])
        low, high = (np.quantile(values, q, axis=0) for q in _band_quantiles())
        axes.fill_between(grid * factor, low, high, color=color, alpha=0.15, linewidth=0)
    xs = np.asarray(c.curve.xs) * factor
    errors = [0.0 if p.interval is None else (p.interval[1] - p.interval[0]) / 2 for p in c.points]
    axes.errorbar(xs, [p.mean for p in c.points], yerr=errors, fmt="o", color=color, capsize=3)
    if c.size is not None:
        low = c.size if c.low is None else c.low
        high = grid[-1] if c.high is None else min(c.high, grid[-1])  # open: to the edge
        axes.errorbar(
            [c.size * factor],
            [c.curve.value(c.size)],
            xerr=[[max(0.0, (c.size - low) * factor)], [max(0.0, (high - c.size) * factor)]],
            fmt="D",
            color=color,
            capsize=4,
            markersize=6,
        )


# ---- the entry point -----------------------------------------------------------------------------


def table_pool(path: str) -> int | None:
    """The in-domain training pool a result table's fractions refer to, where the table says: a
    ``resweep.*`` key of a Parquet file's metadata holding ``pool`` (or ``in_domain_pool``), or an
    ``in_domain_pool`` column with one value. None where it does not."""
    if str(path).endswith(".parquet"):
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
        except (OSError, ValueError):
            return None
        for key, raw in (schema.metadata or {}).items():
            if not key.startswith(b"resweep"):
                continue
            try:
                meta = json.loads(raw)
            except ValueError:
                continue
            for name in ("pool", "in_domain_pool"):
                if isinstance(meta, Mapping) and isinstance(meta.get(name), int | float) and meta[name] > 0:
                    return int(meta[name])
        if "in_domain_pool" in schema.names:
            values = set(pq.read_table(path, columns=["in_domain_pool"]).column(0).to_pylist())
            return int(values.pop()) if len(values) == 1 and values != {None} else None
        return None
    import csv

    try:
        with open(path, newline="") as handle:
            values = {row.get("in_domain_pool") for row in csv.DictReader(handle)}
    except OSError:
        return None
    values.discard(None)
    values.discard("")
    if len(values) == 1:
        try:
            return int(float(values.pop() or 0)) or None
        except ValueError:
            return None
    return None


def plan_annotation(
    name: str | None = None,
    *,
    target: float,
    storage: str = "results",
    table: str | None = None,
    metric: str | None = None,
    pool: int | None = None,
    margin: float | None = None,
    confidence: float | None = None,
    draws: int = DRAWS,
    seed: int = 0,
) -> AnnotationPlan:
    """The Python entry point: ``plan_annotation("demo", target=0.8)`` or
    ``plan_annotation(table="runs.parquet", target=0.8, pool=7200, metric="dev_f1_weighted")``.

    ``pool``: the in-domain training sentences size 1.0 means (default: the sweep's training
    pool; a table's from its metadata, else unknown and the plan answers in shares of it)."""
    from .leaderboard import leaderboard

    boards = leaderboard(
        name, storage=storage, table=table, metric=metric, margin=margin, confidence=confidence
    )
    if pool is None and table is not None:
        pool = table_pool(table)
    if pool is None and table is None and name is not None and any(b.size <= 1 for b in boards):
        from ..plan import load_saved_sweep, train_pool

        pool = train_pool(load_saved_sweep(storage, name)[0])
    extend_name = (
        None if table is not None else name if storage == "results" else f"{name} --storage {storage}"
    )
    return plan_from_boards(
        boards,
        target,
        pool=pool,
        name=extend_name,
        margin=margin,
        confidence=confidence,
        draws=draws,
        seed=seed,
    )
