"""The search's extension axes by name, as users type them in a sweep config: Optuna samplers
(``search.searcher``; ``grid`` is not a sampler but a list of configurations, see
:func:`search.driver.searchers.make_searcher`) and schedulers (``search.scheduler``). Entries are
imported on first use, so parsing a config loads neither Optuna nor Ray."""

from __future__ import annotations

from typing import Any

from trainables.registry import Registry

__all__ = ["GRID", "SAMPLERS", "SCHEDULERS", "chosen_names", "searcher_names"]

GRID = "grid"

# name -> sampler(seed, budget) -> optuna.samplers.BaseSampler
SAMPLERS: Registry[Any] = Registry("searcher")
SAMPLERS.register("tpe", "search.driver.searchers:tpe_sampler")
SAMPLERS.register("random", "search.driver.searchers:random_sampler")

# name -> scheduler(metric, reduction_factor) -> ray.tune TrialScheduler
SCHEDULERS: Registry[Any] = Registry("scheduler")
SCHEDULERS.register("asha", "search.driver.schedulers:per_cell_asha")
SCHEDULERS.register("fifo", "search.driver.schedulers:fifo")


def searcher_names() -> tuple[str, ...]:
    """Every ``search.searcher`` value: the samplers, then ``grid``."""
    return (*SAMPLERS.names(), GRID)


def chosen_names(
    value: Any, allowed: tuple[str, ...], *, path: str, fail: Any, kind: str, kinds: str, expected: str
) -> tuple[str, ...]:
    """A config's list of names out of ``allowed`` (one name, or comma-separated ones, as
    well), each at most once; anything else is ``fail(path, message)``: ``expected`` says what a
    good value looks like, ``kind``/``kinds`` name one and several in the messages."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise fail(path, f"expected {expected}, got {value!r}")
    for name in value:
        if name not in allowed:
            raise fail(path, f"unknown {kind} {name!r}; {kinds}: {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise fail(path, f"{kinds} repeat: {list(value)}")
    return tuple(value)
