"""Named search spaces, one module per study, each with a smoke twin (``<name>-smoke``).

``SPACES`` maps names to space classes; :func:`get_space` understands the ``-smoke`` suffix;
:func:`define_by_run` is what Ray Tune's ``OptunaSearch`` calls (a module-level function, so it
pickles: bind the space with ``functools.partial``).
"""

from __future__ import annotations

from typing import Any

from trainables.registry import Registry

from ._base import BaseSpace, Suggester
from .demo import DemoSpace
from .full import FullSpace
from .thesis import ThesisSpace

__all__ = ["SPACES", "BaseSpace", "Suggester", "define_by_run", "get_space", "random_draws", "space_names"]

SPACES: Registry[type[BaseSpace]] = Registry("search space")
for _space in (DemoSpace, ThesisSpace, FullSpace):
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


def define_by_run(trial: Suggester, space: str) -> dict[str, Any]:
    return get_space(space).suggest(trial)


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
