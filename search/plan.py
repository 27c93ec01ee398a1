"""What a sweep is, without Ray: its folder layout, plan per size, and trial names.

``resweep status``, ``leaderboard`` and ``sweep --dry-run`` read sweeps through this module and
start in a fraction of a second; :mod:`search.sweep` runs them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from cluster.storage import Location, local_mirror
from spaces import get_space
from trainables.config import TrialSpec

from .config import SweepConfig, parse_sweep_text, size_key
from .results import ResultsStore

__all__ = [
    "SweepPaths",
    "SweepPlan",
    "configuration_key",
    "context_of",
    "load_saved_sweep",
    "plan_sweep",
    "remaining_work",
    "trial_config",
    "trial_label",
    "trial_name",
    "write_sweep_config",
]


@dataclass(frozen=True)
class SweepPaths:
    """Where a sweep's parts live, under ``<storage>/<name>`` (a folder or an object-store URI)."""

    root: Location

    @classmethod
    def of(cls, storage: str | Path | Location, name: str) -> SweepPaths:
        return cls(Location.parse(storage) / name)

    @property
    def storage(self) -> Location:
        return self.root.parent

    @property
    def config(self) -> Location:
        return self.root / "sweep.yaml"

    @property
    def studies(self) -> Path:
        """The SQLite file of the sweep's Optuna studies (unless ``search.study_storage`` names a
        database). SQLite needs a filesystem with locks: with object storage it is a local working
        copy, saved into the Tune experiment with the searcher's state (see :mod:`search.sweep`)."""
        local = self.root.local
        return (local if local is not None else local_mirror(self.root, "studies")) / "optuna.db"

    @property
    def tune(self) -> Location:
        """The Tune experiment holding every size's trials."""
        return self.root / "tune" / "trials"

    @property
    def train(self) -> Location:
        return self.root / "train"

    @property
    def artifacts(self) -> Location:
        return self.root / "artifacts"

    @property
    def results(self) -> ResultsStore:
        return ResultsStore(self.root)


def trial_label(config: Mapping[str, Any]) -> str:
    """``{architecture}_{strategy}_{imbalance}_id{size}_ood{ood}_s{seed}`` (STYLE's run names)."""
    size = config.get("in_domain_size", 1.0)
    return (
        f"{config.get('architecture')}_{config.get('strategy')}_{config.get('imbalance')}"
        f"_id{size:g}_ood{float(config.get('ood_pct') or 0):g}_s{config.get('seed', 0)}"
    )


def trial_config(tune_config: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's flat config: the space's proposal under the sweep's fixed context."""
    valid = set(TrialSpec.valid_keys())
    # Define-by-run spaces return the whole flat trial config as constants; the raw Optuna
    # parameter names beside them (e.g. "two-phase.learning_rate") are not trial keys. The
    # sweep's context (datasets, size, seed, encoder, its fixed `trial:` keys) wins, except for
    # the seed of a confirmation run (a top configuration again, with another seed).
    merged = {**{k: v for k, v in tune_config.items() if k in valid}, **context}
    if "seed" in tune_config:
        merged["seed"] = tune_config["seed"]
    return merged


def configuration_key(
    key: str, proposal: Mapping[str, Any], *, contexts: Mapping[str, Mapping[str, Any]]
) -> str:
    """What tells configurations of size ``key`` apart, the seed aside (the leaderboard's groups)."""
    return TrialSpec.from_config({**trial_config(proposal, contexts[key]), "seed": 0}).key()


def trial_name(config: Mapping[str, Any], trial_id: str) -> str:
    """Stable: the compositional label, the config hash (seed included) and Tune's trial id."""
    return f"{trial_label(config)}_{TrialSpec.from_config(config).key()[:8]}_{trial_id}"


def context_of(
    tune_config: Mapping[str, Any], contexts: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any]:
    """The fixed context of a trial's size (the searcher stamps ``in_domain_size`` on it)."""
    return contexts[size_key(tune_config["in_domain_size"])]


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will run, per size key (``id0.1``): its size, budget and fixed context."""

    sizes: dict[str, float | int]
    budgets: dict[str, int]
    contexts: dict[str, dict[str, Any]]
    grids: dict[str, list[dict[str, Any]]] | None  # the trial configs of a grid search, per size
    metric: str
    search_seed: int
    confirm_seeds: tuple[int, ...]  # the other seeds the top configurations run again with
    top_k: int

    @property
    def confirmations(self) -> int:
        """At most this many confirmation runs per size."""
        return self.top_k * len(self.confirm_seeds)

    def planned(self, key: str) -> int:
        """Search trials plus at most the confirmation runs of size ``key``."""
        return self.budgets[key] + self.confirmations

    def target(self, key: str, rows: list[dict[str, Any]]) -> int:
        """The trials size ``key`` will have ended: :meth:`planned` while its search runs, then
        :meth:`expected` (a search with fewer scored configurations than ``top_k`` confirms fewer)."""
        searched = sum(
            1 for r in rows if r["in_domain_size"] == float(self.sizes[key]) and r["seed"] == self.search_seed
        )
        return self.planned(key) if searched < self.budgets[key] else self.expected(key, rows)

    def expected(self, key: str, rows: list[dict[str, Any]]) -> int:
        """The trials size ``key`` ends with, given its rows: its search budget plus a
        confirmation run per other seed for each of its top configurations that scored."""
        from .results import SCORED

        searched = {
            configuration_key(key, json.loads(r["config"]), contexts=self.contexts)
            for r in rows
            if r["in_domain_size"] == float(self.sizes[key])
            and r["seed"] == self.search_seed
            and r["status"] in SCORED
            and r[self.metric] is not None
        }
        return self.budgets[key] + min(self.top_k, len(searched)) * len(self.confirm_seeds)


def plan_sweep(config: SweepConfig) -> SweepPlan:
    """Sizes, budgets (a grid caps them) and the context each size's trials run under."""
    space = get_space(config.search.space)
    grid = space.grid() if config.search.searcher == "grid" else None
    if config.search.searcher == "grid" and grid is None:
        raise ValueError(f"search space {config.search.space!r} has no grid; use searcher tpe or random")
    budget = min(len(grid), config.search.budget) if grid is not None else config.search.budget
    sizes = {size_key(size): size for size in config.data.sizes}
    contexts = {
        key: {k: v for k, v in config.trial_context(size, config.data.seeds[0]).items() if v is not None}
        for key, size in sizes.items()
    }
    return SweepPlan(
        sizes=sizes,
        budgets=dict.fromkeys(sizes, budget),
        contexts=contexts,
        grids=None if grid is None else {key: [dict(g) for g in grid[:budget]] for key in sizes},
        metric=f"dev_{config.search.selection_metric}",
        search_seed=config.data.seeds[0],
        confirm_seeds=tuple(config.data.seeds[1:]),
        top_k=config.search.confirm_top_k,
    )


def remaining_work(plan: SweepPlan, key: str, rows: list[dict[str, Any]]) -> int | list[dict[str, Any]]:
    """What a size's search still has to run given the rows already stored: a number of trials
    to propose, or (grid) the grid points whose configuration has no row yet."""
    mine = [
        r for r in rows if r["in_domain_size"] == float(plan.sizes[key]) and r["seed"] == plan.search_seed
    ]
    if plan.grids is None:
        return max(0, plan.budgets[key] - len(mine))
    done = {TrialSpec.from_config(json.loads(r["config"])).key() for r in mine}
    context = plan.contexts[key]
    return [g for g in plan.grids[key] if TrialSpec.from_config(trial_config(g, context)).key() not in done]


def write_sweep_config(config: SweepConfig, paths: SweepPaths) -> None:
    document = {
        "name": config.name,
        "data": {
            **asdict(config.data),
            "sizes": list(config.data.sizes),
            "seeds": list(config.data.seeds),
            "label_mapping": dict(config.data.label_mapping),
        },
        "search": asdict(config.search),
        "resources": asdict(config.resources),
        "encoder": config.encoder,
        "storage": config.storage,
        "trial": dict(config.trial),
    }
    paths.config.write_text(yaml.safe_dump(document, sort_keys=False))


def load_saved_sweep(storage: str | Path, name: str) -> tuple[SweepConfig, SweepPaths]:
    paths = SweepPaths.of(storage, name)
    if not paths.config.is_file():
        raise FileNotFoundError(f"{paths.root}: no sweep named {name!r} here (no sweep.yaml)")
    config = parse_sweep_text(paths.config.read_text(), source=str(paths.config))
    # The storage given now wins over the (possibly relative) one saved with the config.
    return replace(config, storage=str(paths.storage)), paths
