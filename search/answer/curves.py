"""Learning curves: a strategy's score at a size nobody swept, and the configuration to train there.

Each strategy's best configuration per swept size is a point of its learning curve; from three
sizes up a power law ``a - b n^-c`` is fitted (it must rise, flatten and stay in [0, 1]), else the
curve is interpolated in log n, and one size gives the nearest value. :func:`recommend` names the
configuration ``resweep train --size N`` trains; :func:`query_size` is ``resweep leaderboard --size N``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trainables.errors import ResweepError

from ..sizes import size_text
from .leaderboard import Entry, SizeBoard, most_confirmed

__all__ = ["CurveEstimate", "Recommendation", "estimate_at", "floor_estimate", "query_size", "recommend"]


@dataclass
class CurveEstimate:
    """A strategy's estimated score at an unswept size, from its best configuration per size."""

    strategy: str  # or "floor": the classical floor's curve, beside the strategies'
    estimate: float
    low: float | None  # a 95% band (None: one seed everywhere, no spread to propagate)
    high: float | None
    method: str  # "power-law fit" | "log-n interpolation" | "nearest"
    # Where the band's seed spread comes from: "seeds" (each point's own), "pooled" (a one-seed
    # point borrows the median spread of the sweep's configurations with several), "none".
    band: str = "seeds"


def _power_law(n: Any, a: float, b: float, c: float) -> Any:
    return a - b * n ** (-c)  # the usual learning-curve shape: rises, flattens towards a


# The power law's exponent c is searched on a grid (log-spaced; then refined by a parabola through
# the best grid point and its neighbours): for a fixed c the model is linear in a and b, so every
# c costs one least-squares line, and many curves (a bootstrap's draws) are fitted at once.
_EXPONENTS = (0.01, 8.0, 400)


def _power_law_fits(xs: Sequence[float], ys: Any) -> tuple[Any, Any, Any, Any]:
    """Least-squares fits of ``a - b n^-c`` to each row of ``ys`` (D, P) at points ``xs`` (P):
    arrays a, b, c (D) and the root-mean-square residual (D)."""
    import numpy as np

    n = np.asarray(xs, dtype=float)
    y = np.atleast_2d(np.asarray(ys, dtype=float))  # (D, P)
    log_c = np.linspace(math.log(_EXPONENTS[0]), math.log(_EXPONENTS[1]), _EXPONENTS[2])

    def sse(logs: Any) -> tuple[Any, Any, Any]:
        """Per draw and exponent (D, C): the residual sum of squares, slope and intercept."""
        x = n[None, :] ** (-np.exp(logs))[:, None]  # (C, P)
        x_c = x - x.mean(axis=1, keepdims=True)
        y_c = y - y.mean(axis=1, keepdims=True)
        sxx = (x_c**2).sum(axis=1)  # (C,)
        sxy = y_c @ x_c.T  # (D, C)
        slope = sxy / sxx
        intercept = y.mean(axis=1, keepdims=True) - slope * x.mean(axis=1)[None, :]
        return (y_c**2).sum(axis=1, keepdims=True) - sxy**2 / sxx, slope, intercept

    grid_sse, _, _ = sse(log_c)
    k = np.clip(grid_sse.argmin(axis=1), 1, len(log_c) - 2)  # (D,)
    left, mid, right = (grid_sse[np.arange(len(k)), k + d] for d in (-1, 0, 1))
    curvature = left - 2 * mid + right
    step = log_c[1] - log_c[0]
    shift = np.where(curvature > 0, 0.5 * (left - right) / np.where(curvature > 0, curvature, 1), 0.0)
    best = log_c[k] + np.clip(shift, -1, 1) * step  # (D,)
    x = n[None, :] ** (-np.exp(best))[:, None]  # (D, P)
    x_c = x - x.mean(axis=1, keepdims=True)
    slope = (x_c * (y - y.mean(axis=1, keepdims=True))).sum(axis=1) / (x_c**2).sum(axis=1)
    intercept = y.mean(axis=1) - slope * x.mean(axis=1)
    residual = np.sqrt(np.mean((intercept[:, None] + slope[:, None] * x - y) ** 2, axis=1))
    return intercept, -slope, np.exp(best), residual


def _curve_values(xs: Sequence[float], ys: Any, x: float) -> tuple[Any, list[str]]:
    """:func:`_curve_value` for many curves at once: each row of ``ys`` (D, P) at ``xs``."""
    import numpy as np

    y = np.atleast_2d(np.asarray(ys, dtype=float))
    values = np.full(len(y), np.nan)
    methods = [""] * len(y)
    if len(xs) >= 3:
        a, b, c, residual = _power_law_fits(xs, y)
        at = a - b * x ** (-c)
        good = (b > 0) & (c > 0) & (at >= 0.0) & (at <= 1.0) & (residual < 0.02)
        values[good] = at[good]
        for i in np.flatnonzero(good):
            methods[i] = "power-law fit"
    logs = np.log(np.array(xs, dtype=float))
    for i in np.flatnonzero(np.isnan(values)):
        row = y[i]
        if len(xs) == 1:
            values[i], methods[i] = float(row[0]), "nearest"
        elif x < xs[0] or x > xs[-1]:
            lo, hi = (0, 1) if x < xs[0] else (len(xs) - 2, len(xs) - 1)
            slope = (row[hi] - row[lo]) / (logs[hi] - logs[lo])
            values[i] = min(1.0, max(0.0, row[hi] + slope * (math.log(x) - logs[hi])))
            methods[i] = "log-n extrapolation"
        else:
            values[i], methods[i] = float(np.interp(math.log(x), logs, row)), "log-n interpolation"
    return values, methods


def _curve_value(xs: Sequence[float], ys: Sequence[float], x: float) -> tuple[float, str]:
    """Score at ``x`` from points (xs ascending, in training-set units): a power-law fit from three
    points up (three determine its three parameters; with more, it must fit within 0.02) when it
    rises and flattens and stays in [0, 1], else linear in log n — outside the points, along the
    line through the two nearest. Held-out checks on the ground-truth tables (each size predicted
    from the other three, 8 sizes): power law from three points 0.019 mean absolute error, from
    four only 0.022 (the rule before), the nearest point's score outside the range 5x worse."""
    values, methods = _curve_values(xs, [list(ys)], x)
    return float(values[0]), methods[0]


def estimate_at(boards: Sequence[SizeBoard], size: float) -> list[CurveEstimate]:
    """Per transfer strategy: its score at ``size`` from its best finished configuration at each
    swept size (stopped trials and the floor run are no strategy's best), with a band from a
    parametric bootstrap over the seeds' spread (see :class:`CurveEstimate`)."""
    strategies = sorted({s for board in boards for s in board.best_per_strategy()})
    pooled = _pooled_spread(boards)
    estimates = []
    for strategy in strategies:
        points = [
            (b.size, b.best_per_strategy()[strategy]) for b in boards if strategy in b.best_per_strategy()
        ]
        estimates.append(_estimate(strategy, points, size, pooled))
    return sorted(estimates, key=lambda e: -e.estimate)


def floor_estimate(boards: Sequence[SizeBoard], size: float) -> CurveEstimate | None:
    """The floor's (``tfidf-linear``) score at ``size``, from its best run at each swept size, as
    :func:`estimate_at` does for a strategy; None where the floor was never run."""
    points = [(b.size, b.floor) for b in boards if b.floor is not None]
    if not points:
        return None
    return _estimate("floor", points, size, _pooled_spread(boards))


def _pooled_spread(boards: Sequence[SizeBoard]) -> float | None:
    """The median seed standard deviation of the boards' configurations with two seeds or more:
    what a one-seed point's spread is taken to be (None: no configuration has two seeds)."""
    spreads = sorted(std for b in boards for e in b.entries if (std := e.std) is not None)
    return spreads[len(spreads) // 2] if spreads else None


def _estimate(
    name: str, points: Sequence[tuple[float, Entry]], size: float, pooled: float | None
) -> CurveEstimate:
    import numpy as np

    xs = [p[0] for p in points]
    ys = [p[1].mean for p in points]
    value, method = _curve_value(xs, ys, size)
    own = all(e.n_seeds >= 2 and e.std is not None for _, e in points)
    if not own and pooled is None:
        return CurveEstimate(name, value, None, None, method, band="none")
    errors = [
        (e.std if e.n_seeds >= 2 and e.std is not None else pooled or 0.0) / math.sqrt(e.n_seeds)
        for _, e in points
    ]
    rng = np.random.default_rng(0)
    draws, _ = _curve_values(xs, rng.normal(ys, errors, size=(200, len(ys))), size)
    low, high = float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))
    return CurveEstimate(name, value, low, high, method, band="seeds" if own else "pooled")


@dataclass
class Recommendation:
    """What to train for in-domain size :attr:`size`: :attr:`entry`, a configuration of the board
    :attr:`source` — the size's own board, or, at an unswept size, the nearest swept size's best
    configuration of the strategy the learning curves put first there (:attr:`estimate`)."""

    size: float
    entry: Entry
    source: SizeBoard
    estimate: CurveEstimate | None = None

    @property
    def swept(self) -> bool:
        return self.estimate is None

    def describe(self) -> str:
        """One line: what is recommended and on what evidence."""
        entry = self.entry
        seeds = f"{entry.n_seeds} seed{'s' if entry.n_seeds != 1 else ''}"
        if self.swept:
            where = size_text(self.source.size)
            return f"{entry.label} (#{entry.rank} at size {where}, {entry.mean:.4f} over {seeds})"
        assert self.estimate is not None
        return (
            f"{entry.label}: strategy {self.estimate.strategy} is estimated best at size"
            f" {size_text(self.size)} "
            f"({self.estimate.estimate:.4f}, {self.estimate.method}); its best configuration at "
            f"{size_text(self.source.size)}, the nearest swept size (mean {entry.mean:.4f} over {seeds})"
        )


def recommend(boards: Sequence[SizeBoard], size: float) -> Recommendation:
    """The configuration to train for ``size`` (in the boards' unit; see :func:`query_size`):
    a swept size's :attr:`SizeBoard.recommended`; at an unswept size, the strategy
    :func:`estimate_at` ranks first, and that strategy's most-confirmed best configuration at the
    nearest swept size (in log n). ``LookupError`` without a finished configuration."""
    for board in boards:
        if abs(board.size - size) < 1e-9:
            if board.recommended is None:
                raise LookupError(f"in-domain size {size_text(size)}: no finished configuration to recommend")
            return Recommendation(size, board.recommended, board)
    estimates = estimate_at(boards, size)
    if not estimates:
        raise LookupError("no finished configuration at any size: nothing to recommend")
    first = estimates[0]
    having = [b for b in boards if first.strategy in b.best_per_strategy()]
    source = min(having, key=lambda b: (abs(math.log(b.size) - math.log(size)), -b.size))
    own = [e for e in source._candidates() if str(e.describe.get("strategy")) == first.strategy]
    entry = most_confirmed(own)
    assert entry is not None
    return Recommendation(size, entry, source, first)


def query_size(
    boards: Sequence[SizeBoard],
    query: float | int,
    *,
    pool: int | None = None,
    pool_of: Any = None,
) -> dict[str, Any]:
    """What "size ``query``" means on these boards, as ``resweep leaderboard --size`` answers it:
    ``size`` in the boards' unit (a fraction of the in-domain training pool, or a count; a query in
    the other unit is converted with ``pool``, the pool's size, or ``pool_of()`` when not given),
    ``swept``, ``pool``; ``board`` at a swept size, else ``nearest`` boards, curve ``estimates``
    and a ``warning`` outside the swept range. ``ValueError`` when the units cannot be squared."""
    swept = [b.size for b in boards]
    fractions = all(s <= 1.0 for s in swept)
    if not fractions and any(s <= 1.0 for s in swept):
        raise ResweepError(
            f"the sizes here mix fractions and counts ({', '.join(f'{s:g}' for s in swept)}): "
            "a size cannot be placed on one axis"
        )
    a_fraction = isinstance(query, float)
    if a_fraction != fractions and not (fractions and query == 1):  # the other unit: convert
        if not pool and pool_of is not None:
            pool = pool_of()
        if not pool:
            given, here = ("a fraction", "counts") if a_fraction else ("a count", "fractions")
            raise ResweepError(
                f"size {query:g} is {given} but the sizes here are {here}; give the pool (`--pool`: "
                "the number of in-domain training sentences a fraction refers to)"
            )
        if not a_fraction and query > pool:
            raise ResweepError(
                f"size {query:g} is more than the {pool:,} in-domain training sentences of the pool "
                f"(--pool, or the sweep's): give a count up to {pool:,}, or the right --pool"
            )
        if a_fraction and round(query * pool) < 1:
            raise ResweepError(f"size {query:g} of a pool of {pool:,} sentences is less than one sentence")
        query = round(query * pool) if a_fraction else query / pool
    value = float(query)
    exact = [b for b in boards if abs(b.size - value) < 1e-9]
    answer: dict[str, Any] = {"size": value, "swept": swept}
    if pool:
        answer["pool"] = pool
    if exact:
        answer["board"] = exact[0]
        return answer
    below = [b for b in boards if b.size < value]
    above = [b for b in boards if b.size > value]
    answer["nearest"] = ([below[-1]] if below else []) + ([above[0]] if above else [])
    if not below or not above:
        answer["warning"] = (
            f"size {value:g} lies outside the swept range [{swept[0]:g}, {swept[-1]:g}]: the estimates "
            "extrapolate"
        )
    answer["estimates"] = estimate_at(boards, value)
    answer["floor_estimate"] = floor_estimate(boards, value)
    return answer
