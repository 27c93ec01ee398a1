"""Named search spaces, one module per study, each with a smoke twin (``<name>-smoke``).

``SPACES`` maps names to space classes; :func:`get_space` understands the ``-smoke`` suffix;
:func:`define_by_run` is what Ray Tune's ``OptunaSearch`` calls (a module-level function, so it
pickles: bind the space with ``functools.partial``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from trainables.errors import ResweepError
from trainables.registry import Registry

from ._base import BaseSpace, Suggester
from .demo import DemoSpace
from .full import FullSpace
from .ground_truth import GroundTruthSpace
from .thesis import ThesisSpace

__all__ = [
    "FLOOR",
    "SPACES",
    "BaseSpace",
    "Suggester",
    "axis_values",
    "cell_label",
    "define_by_run",
    "floor_config",
    "get_space",
    "random_draws",
    "space_names",
]

SPACES: Registry[type[BaseSpace]] = Registry("search space")
for _space in (DemoSpace, ThesisSpace, FullSpace, GroundTruthSpace):
    SPACES.register(_space.name, _space)

SMOKE_SUFFIX = "-smoke"


def space_names() -> list[str]:
    """Every space and its smoke twin."""
    return [n for name in SPACES for n in (name, name + SMOKE_SUFFIX)]


def get_space(name: str) -> BaseSpace:
    """``thesis`` or ``thesis-smoke`` (its tiny twin)."""
    smoke = name.endswith(SMOKE_SUFFIX)
    base = name.removesuffix(SMOKE_SUFFIX) if smoke else name
    if base not in SPACES:
        raise KeyError(f"unknown search space {name!r}; valid: {', '.join(space_names())}")
    return SPACES.get(base)(smoke=smoke)


class _FixedAxes:
    """An Optuna trial whose question axes are already decided: asked for one of them (by its
    config key, or a name ending in ``.<key>`` as spaces name narrower choice sets), it answers the
    cell's value without asking Optuna; everything else is asked as usual."""

    def __init__(self, trial: Suggester, fixed: Mapping[str, Any]):
        self._trial = trial
        self._fixed = fixed

    def _axis(self, name: str) -> str | None:
        last = name.rpartition(".")[2]
        return last if last in self._fixed else None

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        axis = self._axis(name)
        if axis is None:
            return self._trial.suggest_categorical(name, choices)
        value = self._fixed[axis]
        if value not in list(choices):
            raise ResweepError(f"{axis} {value!r} is not among this space's choices for {name!r}")
        return value

    def suggest_float(self, name: str, low: float, high: float, **kwargs: Any) -> float:
        return self._trial.suggest_float(name, low, high, **kwargs)

    def suggest_int(self, name: str, low: int, high: int, **kwargs: Any) -> int:
        return self._trial.suggest_int(name, low, high, **kwargs)


def define_by_run(trial: Suggester, space: str, fixed: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``space``'s proposal; ``fixed`` decides the question axes (a cell of a sweep's question)."""
    if not fixed:
        return get_space(space).suggest(trial)
    config = get_space(space).suggest(_FixedAxes(trial, fixed))
    for axis, value in fixed.items():
        if config.get(axis) != value:  # an axis set as a constant, not asked: the cell is not reachable
            raise ResweepError(
                f"space {space!r} does not let {axis} be chosen (proposed {config.get(axis)!r})"
            )
    return config


def cell_label(values: Mapping[str, Any]) -> str:
    """A question cell's name: its axis values joined by ``/`` (``local``, ``local/oversampling``)."""
    return "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values.values())


def _axis_order(axis: str) -> tuple[str, ...]:
    """The order values are listed in, where a registry gives one (else sorted)."""
    from trainables.architectures import ARCHITECTURES
    from trainables.imbalance import IMBALANCE
    from trainables.strategies import STRATEGIES

    registries: dict[str, Registry[Any]] = {
        "strategy": STRATEGIES,
        "imbalance": IMBALANCE,
        "architecture": ARCHITECTURES,
    }
    return tuple(registries[axis].names()) if axis in registries else ()


def axis_values(space: str, axis: str, *, grid: bool = False) -> list[Any]:
    """Every value ``space`` proposes for the config key ``axis`` (its grid's, or seen in 400
    seeded random draws: conditional spaces reach all their values long before that)."""
    return list(_axis_values(space, axis, grid))


@functools.lru_cache(maxsize=64)
def _axis_values(space: str, axis: str, grid: bool) -> tuple[Any, ...]:
    configs = get_space(space).grid() if grid else None
    configs = configs if configs is not None else random_draws(space, 400)
    values = {c[axis] for c in configs if axis in c}
    order = _axis_order(axis)
    return tuple(sorted(values, key=lambda v: (order.index(v) if v in order else len(order), str(v))))


def floor_config(smoke: bool = False) -> dict[str, Any]:
    """The classical floor a sweep runs at every size and seed: ``tfidf-linear`` on the in-domain
    data alone, oversampled (seconds per trial; every neural recipe must beat it)."""
    return {**FLOOR, **({"max_epochs": 3, "patience": 2} if smoke else {})}


FLOOR: dict[str, Any] = {
    "architecture": "tfidf-linear",
    "strategy": "baseline",
    "ood_pct": 0.0,
    "local_in_domain_pretrain_pct": 0.0,
    "imbalance": "oversampling",
    # Measured on SemEval-2010 Task 8 (official F1 0.58 at 10%, 0.76 at 100%): AdamW on sparse
    # n-grams overfits once the loss nears zero, so a short schedule does the regularising.
    "learning_rate": 5e-3,
    "batch_size": 16,
    "max_epochs": 5,
    "patience": 2,
}


def random_draws(space: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` configurations drawn at random from ``space`` (Optuna's RandomSampler, seeded): what
    a sweep could propose, for estimates and checks made before it starts."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    draws = []
    for _ in range(n):
        trial = study.ask()
        draws.append(define_by_run(trial, space))
        study.tell(trial, 0.0)
    return draws
