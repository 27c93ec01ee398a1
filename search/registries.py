"""The search's extension axes by name, as users type them in a sweep config: Optuna samplers
(``search.searcher``; ``grid`` is not a sampler but a list of configurations, see
:func:`search.searchers.make_searcher`) and schedulers (``search.scheduler``). Entries are
imported on first use, so parsing a config loads neither Optuna nor Ray."""

from __future__ import annotations

from typing import Any

from trainables.registry import Registry

__all__ = ["GRID", "SAMPLERS", "SCHEDULERS", "searcher_names"]

GRID = "grid"

# name -> sampler(seed, budget) -> optuna.samplers.BaseSampler
SAMPLERS: Registry[Any] = Registry("searcher")
SAMPLERS.register("tpe", "search.searchers:tpe_sampler")
SAMPLERS.register("random", "search.searchers:random_sampler")

# name -> scheduler(metric, reduction_factor) -> ray.tune TrialScheduler
SCHEDULERS: Registry[Any] = Registry("scheduler")
SCHEDULERS.register("asha", "search.schedulers:per_cell_asha")
SCHEDULERS.register("fifo", "search.schedulers:fifo")


def searcher_names() -> tuple[str, ...]:
    """Every ``search.searcher`` value: the samplers, then ``grid``."""
    return (*SAMPLERS.names(), GRID)
