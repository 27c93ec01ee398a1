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

from .leaderboard import Entry, SizeBoard, _most_confirmed
from .sizes import size_text

__all__ = ["CurveEstimate", "Recommendation", "estimate_at", "query_size", "recommend"]


@dataclass
class CurveEstimate:
    """A strategy's estimated score at an unswept size, from its best configuration per size."""

    strategy: str
    estimate: float
    low: float | None  # a 95% band (None: one seed per size, no spread to propagate)
    high: float | None
    method: str  # "power-law fit" | "log-n interpolation" | "nearest"


def _power_law(n: Any, a: float, b: float, c: float) -> Any:
    return a - b * n ** (-c)  # the usual learning-curve shape: rises, flattens towards a


def _curve_value(xs: Sequence[float], ys: Sequence[float], x: float) -> tuple[float, str]:
    """Score at ``x`` from points (xs ascending, in training-set units): a power-law fit from three
    points up (three determine its three parameters; with more, it must fit within 0.02) when it
    rises and flattens and stays in [0, 1], else linear in log n — outside the points, along the
    line through the two nearest. Held-out checks on the ground-truth tables (each size predicted
    from the other three, 8 sizes): power law from three points 0.019 mean absolute error, from
    four only 0.022 (the rule before), the nearest point's score outside the range 5x worse."""
    import numpy as np

    if len(xs) >= 3:
        import warnings

        from scipy.optimize import OptimizeWarning, curve_fit

        try:
            with warnings.catch_warnings():  # three points: no covariance to estimate, as expected
                warnings.simplefilter("ignore", OptimizeWarning)
                params, _ = curve_fit(
                    _power_law, np.array(xs), np.array(ys), p0=(max(ys), 1.0, 0.5), maxfev=5000
                )
            fitted = _power_law(np.array(xs), *params)
            residual = float(np.sqrt(np.mean((fitted - np.array(ys)) ** 2)))
            value = float(_power_law(x, *params))
            if params[1] > 0 and params[2] > 0 and 0.0 <= value <= 1.0 and residual < 0.02:
                return value, "power-law fit"
        except (RuntimeError, ValueError):
            pass  # did not converge: interpolate instead
    logs = np.log(np.array(xs, dtype=float))
    if len(xs) == 1:
        return float(ys[0]), "nearest"
    if x < xs[0] or x > xs[-1]:
        a, b = (0, 1) if x < xs[0] else (len(xs) - 2, len(xs) - 1)
        slope = (ys[b] - ys[a]) / (logs[b] - logs[a])
        value = ys[b] + slope * (math.log(x) - logs[b])
        return float(min(1.0, max(0.0, value))), "log-n extrapolation"
    return float(np.interp(math.log(x), logs, np.array(ys))), "log-n interpolation"


def estimate_at(boards: Sequence[SizeBoard], size: float) -> list[CurveEstimate]:
    """Per transfer strategy: its score at ``size`` from its best finished configuration at each
    swept size (stopped trials and the floor run are no strategy's best), with a band from a
    parametric bootstrap over the seeds' spread."""
    import numpy as np

    strategies = sorted({s for board in boards for s in board.best_per_strategy()})
    estimates = []
    rng = np.random.default_rng(0)
    for strategy in strategies:
        points = [
            (b.size, b.best_per_strategy()[strategy]) for b in boards if strategy in b.best_per_strategy()
        ]
        xs = [p[0] for p in points]
        ys = [p[1].mean for p in points]
        value, method = _curve_value(xs, ys, size)
        errors = [(e.std or 0.0) / math.sqrt(e.n_seeds) for _, e in points]
        low = high = None
        if all(e.n_seeds >= 2 for _, e in points):
            draws = [_curve_value(xs, list(rng.normal(ys, errors)), size)[0] for _ in range(200)]
            low, high = float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))
        estimates.append(CurveEstimate(strategy, value, low, high, method))
    return sorted(estimates, key=lambda e: -e.estimate)


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
    entry = _most_confirmed(own)
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
    return answer
