"""What a sweep is, without Ray: its folder layout, plan per size, and trial names.

``resweep status``, ``leaderboard`` and ``sweep --dry-run`` read sweeps through this module and
start in a fraction of a second; :mod:`search.driver.sweep` runs them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import yaml

from spaces import cell_label, get_space
from trainables.report_keys import score_key

if TYPE_CHECKING:
    from .answer.sequential import Sequential
from trainables.config import TrialSpec
from trainables.errors import ResweepError

from .config import SweepConfig, question_cells, size_key
from .paths import SweepPaths, load_saved_sweep, sweep_names  # re-exported: they were defined here
from .registries import GRID
from .sizes import InDomainSize

__all__ = [
    "CELL_KEY",
    "ROLE_KEY",
    "SweepPaths",
    "SweepPlan",
    "configuration_key",
    "context_of",
    "load_saved_sweep",
    "plan_sweep",
    "remaining_work",
    "slot_key",
    "sweep_document",
    "sweep_names",
    "trial_config",
    "trial_label",
    "trial_name",
    "write_sweep_config",
]


def trial_label(config: Mapping[str, Any]) -> str:
    """``{architecture}_{strategy}_{imbalance}_id{size}_ood{ood}_s{seed}`` (STYLE's run names)."""
    size = size_key(config.get("in_domain_size", 1.0))
    return (
        f"{config.get('architecture')}_{config.get('strategy')}_{config.get('imbalance')}"
        f"_{size}_ood{float(config.get('ood_pct') or 0):g}_s{config.get('seed', 0)}"
    )


@functools.lru_cache(maxsize=8192)
def _parsed(canonical: str) -> TrialSpec:
    return TrialSpec.from_config(json.loads(canonical))


def trial_spec(config: Mapping[str, Any]) -> TrialSpec:
    """The driver's one parsing boundary: a flat trial config parsed and validated into a typed
    :class:`TrialSpec` once (the plan, the expected counts, configuration keys, trial names and
    the study sync ask again for the same configurations; they get the same object)."""
    return _parsed(json.dumps(dict(config), sort_keys=True, default=str))


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
    """What tells configurations of size ``key`` apart, the seed aside: the identity the results
    store records (``config_key``) and the leaderboard groups by."""
    return trial_spec(trial_config(proposal, contexts[key])).configuration_key()


def trial_name(config: Mapping[str, Any], trial_id: str) -> str:
    """Stable: the compositional label, the config hash (seed included) and Tune's trial id."""
    return f"{trial_label(config)}_{trial_spec(config).key()[:8]}_{trial_id}"


def context_of(
    tune_config: Mapping[str, Any], contexts: Mapping[str, Mapping[str, Any]]
) -> Mapping[str, Any]:
    """The fixed context of a trial's size (the searcher stamps ``in_domain_size`` on it)."""
    return contexts[size_key(tune_config["in_domain_size"])]


ROLE_KEY = "resweep_role"  # stamped on Tune configs: search | confirm | floor (not trial keys)
CELL_KEY = "resweep_cell"  # the question cell of a proposal (its label)


def slot_key(key: str, cell: str) -> str:
    """One size's one question cell (``id0.1/local``): a study, a budget, ASHA rungs of its own."""
    return f"{key}/{cell}"


@dataclass(frozen=True)
class SweepPlan:
    """What a sweep will run, per size key (``id0.1``) and question cell (``local``): sizes,
    budgets, the fixed context of each size, the confirmation runs and the floor."""

    sizes: dict[str, float | int]
    budgets: dict[str, int]  # search trials per size: the sum of its cells' budgets
    contexts: dict[str, dict[str, Any]]
    grids: dict[str, list[dict[str, Any]]] | None  # a grid search's trial configs, per slot
    metric: str
    search_seed: int
    confirm_seeds: tuple[int, ...]  # the other seeds the top configurations run again with
    top_k: int  # per cell
    axes: tuple[str, ...] = ("strategy",)
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)  # label -> axis values
    cell_budgets: dict[str, int] = field(default_factory=dict)  # slot -> search trials
    floor: dict[str, Any] | None = None  # the floor's configuration (None: no floor)
    # Sequential confirmation (search.confirm_max_seeds): the seeds after confirm_seeds a
    # contender's best may get, and the decision's margin and confidence.
    extra_seeds: tuple[int, ...] = ()
    max_seeds: int = 0
    margin: float = 0.01
    confidence: float = 0.95

    @property
    def slots(self) -> dict[str, tuple[str, str]]:
        """slot -> (size key, cell label), sizes first."""
        return {slot_key(key, cell): (key, cell) for key in self.sizes for cell in self.cells}

    @property
    def floor_seeds(self) -> tuple[int, ...]:
        return (self.search_seed, *self.confirm_seeds) if self.floor is not None else ()

    @property
    def confirmations(self) -> int:
        """At most this many confirmation runs per size (every cell's, the rounds included)."""
        return self.top_k * len(self.confirm_seeds) * len(self.cells) + self.round_cap

    @property
    def round_cap(self) -> int:
        """At most this many runs of a size's sequential confirmation: a seed after the fixed ones
        for one configuration of every cell."""
        return len(self.extra_seeds) * len(self.cells)

    def sequential(self, key: str, rows: list[dict[str, Any]]) -> Sequential | None:
        """Size ``key``'s sequential confirmation as its rows leave it: every finished search and
        confirmation run, and the rounds' runs already made (None: the sweep confirms a fixed
        number of seeds)."""
        from .answer.sequential import Sequential

        if not self.extra_seeds:
            return None
        sequential = Sequential(
            size=self.sizes[key],
            seeds=(self.search_seed, *self.confirm_seeds, *self.extra_seeds),
            max_seeds=self.max_seeds,
            cap=self.round_cap,
            margin=self.margin,
            confidence=self.confidence,
        )
        for role in ("search", "confirm", "floor"):
            for r in self.rows_of(key, rows, role):
                if role == "confirm" and int(r["seed"]) in self.extra_seeds:
                    sequential.proposed += 1
                if r["status"] == "finished" and r[self.metric] is not None:
                    config = json.loads(r["config"])
                    if role == "floor":  # competes as the cell "floor" (search.answer.decision.FLOOR_CELL)
                        sequential.record("floor", "floor", {}, int(r["seed"]), float(r[self.metric]))
                        continue
                    name = configuration_key(key, config, contexts=self.contexts)
                    sequential.record(self.cell(r), name, config, int(r["seed"]), float(r[self.metric]))
        return sequential

    def planned(self, key: str) -> int:
        """Search trials, at most the confirmation runs and the floor runs of size ``key``."""
        return self.budgets[key] + self.confirmations + len(self.floor_seeds)

    def role(self, row: Mapping[str, Any]) -> str:
        """A row's role; rows written before roles existed: by seed."""
        return str(row.get("role") or ("search" if row["seed"] == self.search_seed else "confirm"))

    def cell(self, row: Mapping[str, Any]) -> str:
        """A row's question cell (rows written before cells existed: from its configuration)."""
        if row.get("cell"):
            return str(row["cell"])
        config = json.loads(row["config"]) if row.get("config") else row
        return cell_label({axis: config.get(axis) for axis in self.axes})

    def rows_of(self, key: str, rows: list[dict[str, Any]], role: str) -> list[dict[str, Any]]:
        size = InDomainSize.of(self.sizes[key])
        return [r for r in rows if size.matches(r["in_domain_size"]) and self.role(r) == role]

    def configuration_of(self, key: str, row: Mapping[str, Any]) -> str:
        """The configuration a stored run of size ``key`` belongs to: its ``config_key``, or
        (a row without one) :func:`configuration_key` of its config."""
        stored = row.get("config_key")
        return stored or configuration_key(key, json.loads(row["config"]), contexts=self.contexts)

    def target(self, key: str, rows: list[dict[str, Any]]) -> int:
        """The trials size ``key`` will have ended: :meth:`planned` while its search runs, then
        :meth:`expected` (a search with fewer scored configurations than ``top_k`` confirms fewer)."""
        searched = len(self.rows_of(key, rows, "search"))
        if searched < self.search_budget(key, rows):
            return self.planned(key) + self.search_budget(key, rows) - self.budgets[key]
        return self.expected(key, rows)

    def search_budget(self, key: str, rows: list[dict[str, Any]]) -> int:
        """Search trials size ``key`` ends with: each cell's share, or the trials it already has
        where that is more (a space widened by an extension has more cells, so smaller shares)."""
        searched = self.rows_of(key, rows, "search")
        return sum(
            max(self.cell_budgets[slot_key(key, cell)], sum(1 for r in searched if self.cell(r) == cell))
            for cell in self.cells
        )

    def expected(self, key: str, rows: list[dict[str, Any]]) -> int:
        """The trials size ``key`` ends with, given its rows: its search budget, a confirmation run
        per other seed for each cell's top configurations that finished (as the searcher ranks
        them), the confirmation runs already made (a grown search may have a new top, a sequential
        round its seeds), the next sequential round where the answer is still open, and the floor
        runs."""
        confirming: set[tuple[str, str, int]] = set()
        for r in self.rows_of(key, rows, "confirm"):
            name = self.configuration_of(key, r)
            confirming.add((self.cell(r), name, int(r["seed"])))
        made = set(confirming)
        best: dict[str, dict[str, float]] = {}
        for r in self.rows_of(key, rows, "search"):
            if r["status"] == "finished" and r[self.metric] is not None:
                name = self.configuration_of(key, r)
                mine = best.setdefault(self.cell(r), {})
                mine[name] = max(float(r[self.metric]), mine.get(name, float("-inf")))
        for cell, scores in best.items():
            for name in sorted(scores, key=lambda n: (-scores[n], n))[: self.top_k]:  # as the searcher
                confirming.update((cell, name, seed) for seed in self.confirm_seeds)
        searched = len(self.rows_of(key, rows, "search")) >= self.search_budget(key, rows)
        rounds = self._next_round(key, rows) if searched and confirming <= made else 0
        return self.search_budget(key, rows) + len(confirming) + rounds + len(self.floor_seeds)

    def _next_round(self, key: str, rows: list[dict[str, Any]]) -> int:
        """The runs of the size's next sequential round that its rows call for (its search and
        fixed confirmation have ended; 0: the answer, or the cap, is reached)."""
        sequential = self.sequential(key, rows)
        return 0 if sequential is None else len(sequential.next_round())


def _shares(total: int, cells: list[str]) -> dict[str, int]:
    """``total`` split as evenly as it goes; the first cells take the remainder."""
    base, extra = divmod(total, len(cells))
    return {cell: base + (1 if i < extra else 0) for i, cell in enumerate(cells)}


def plan_sweep(config: SweepConfig) -> SweepPlan:
    """Sizes, cells, budgets (a grid caps them) and the context each size's trials run under."""
    from spaces import floor_config

    space = get_space(config.search.space)
    grid = space.grid() if config.search.searcher == GRID else None
    if config.search.searcher == GRID and grid is None:
        raise ResweepError(f"search space {config.search.space!r} has no grid; use searcher tpe or random")
    cells = {cell_label(c): c for c in question_cells(config.search)}
    sizes = {size_key(size): size for size in config.data.sizes}
    shares = _shares(config.search.budget, list(cells))
    grids = None
    if grid is not None:
        per_cell = {
            label: [dict(g) for g in grid if all(g.get(a) == v for a, v in values.items())]
            for label, values in cells.items()
        }
        shares = {label: min(len(per_cell[label]), share) for label, share in shares.items()}
        grids = {slot_key(key, label): per_cell[label][: shares[label]] for key in sizes for label in cells}
    contexts = {
        key: {k: v for k, v in config.trial_context(size, config.data.seeds[0]).items() if v is not None}
        for key, size in sizes.items()
    }
    return SweepPlan(
        sizes=sizes,
        budgets=dict.fromkeys(sizes, sum(shares.values())),
        contexts=contexts,
        grids=grids,
        metric=score_key("dev", config.search.selection_metric),
        search_seed=config.data.seeds[0],
        confirm_seeds=tuple(config.data.seeds[1:]),
        top_k=config.search.confirm_top_k,
        axes=tuple(config.search.question),
        cells=cells,
        cell_budgets={slot_key(key, label): shares[label] for key in sizes for label in cells},
        floor=floor_config(smoke=space.smoke) if config.search.floor else None,
        extra_seeds=_extra_seeds(config),
        max_seeds=config.search.confirm_max_seeds,
        margin=config.decision.margin,
        confidence=config.decision.confidence,
    )


def _extra_seeds(config: SweepConfig) -> tuple[int, ...]:
    """The seeds sequential confirmation may add after ``data.seeds`` (none: it confirms a fixed
    number of seeds, or nothing at all with ``confirm_top_k`` 0)."""
    seeds, most = config.data.seeds, config.search.confirm_max_seeds
    if not config.search.confirm_top_k or most <= len(seeds):
        return ()
    return tuple(range(max(seeds) + 1, max(seeds) + 1 + most - len(seeds)))


def remaining_work(plan: SweepPlan, slot: str, rows: list[dict[str, Any]]) -> int | list[dict[str, Any]]:
    """What one slot's search still has to run given the rows already stored: a number of trials
    to propose, or (grid) the grid points whose configuration has no row yet."""
    key, cell = plan.slots[slot]
    mine = [r for r in plan.rows_of(key, rows, "search") if plan.cell(r) == cell]
    if plan.grids is None:
        return max(0, plan.cell_budgets[slot] - len(mine))
    done = {trial_spec(json.loads(r["config"])).key() for r in mine}
    context = plan.contexts[key]
    return [g for g in plan.grids[slot] if trial_spec(trial_config(g, context)).key() not in done]


def write_sweep_config(config: SweepConfig, paths: SweepPaths) -> None:
    paths.config.write_text(yaml.safe_dump(sweep_document(config), sort_keys=False))


def sweep_document(config: SweepConfig) -> dict[str, Any]:
    """The config as the YAML document ``sweep.yaml`` holds (parses back to ``config``)."""
    document: dict[str, Any] = {
        "name": config.name,
        "data": {
            **asdict(config.data),
            "sizes": list(config.data.sizes),
            "seeds": list(config.data.seeds),
            "label_mapping": dict(config.data.label_mapping),
        },
        "search": {**asdict(config.search), "question": list(config.search.question)},
        "resources": asdict(config.resources),
        "encoder": config.encoder,
        "storage": config.storage,
        "trial": dict(config.trial),
        "decision": asdict(config.decision),
    }
    if config.extensions:
        document["extensions"] = [dict(e) for e in config.extensions]
    if config.tracking.document():  # the trackers a resume goes on logging to (what differs from off)
        document["tracking"] = config.tracking.document()
    return document


def train_pool(config: SweepConfig) -> int:
    """The in-domain training sentences a sweep's size 1.0 means (what its fractions refer to):
    the train split less the dev (and test) carved from it, with the search's seed."""
    from trainables.data.datasets import load_dataset
    from trainables.data.regimes import Regime, sample_regime

    data = config.data
    in_domain = load_dataset(data.in_domain, format=data.in_domain_format, root=data.in_domain_root)
    return int(sample_regime(in_domain, Regime(1.0, 0.0, 0.0, data.seeds[0])).counts()["train"])


def with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """A row's trial config with every default it ran with (what a wider space may ask about)."""
    return {**trial_spec(config).to_config(), **config}
