"""The ground-truth tables as the search-correctness benchmark reads them: runs, the true answer
per size (the tie set), and synthetic tables for tests (see ``bench/search_correctness.py``)."""

from __future__ import annotations

import glob
import importlib.util
import json
import math
import random
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SPACE = "ground-truth"
AXIS = "strategy"
METRIC = "selected_dev_f1_weighted"  # what the sweep's searcher and ASHA compare
INTERMEDIATE = "dev_f1_weighted"  # the per-epoch dev score the studies record
BOARD_METRIC = "dev_f1_weighted"  # the rows' selected dev score
SEEDS = (0, 1, 2)
SEARCH_SEED, CONFIRM_SEEDS = 0, (1, 2)
TIME = "final_stage_epochs"
DONE = "training_done"
METHODS = ("old", "random", "tpe+fifo", "tpe+fifo-notransfer", "tpe+asha", "tpe+asha-notransfer")
EMULATED = {"old"}
SENSITIVITY_EPSILON = 0.005


def _ground_truth_module() -> Any:
    """bench/ground_truth.py (bench is not a package): its ``config_id`` and table schema."""
    name = "_resweep_bench_ground_truth"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / "ground_truth.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def config_id(config: Mapping[str, Any]) -> str:
    """The table's key of a space configuration (bench/ground_truth.py's own function)."""
    return str(_ground_truth_module().config_id(dict(config)))


# --------------------------------------------------------------------------------------------
# The table


@dataclass
class Run:
    """One (configuration, seed) cell of the table: what a trial of it reports."""

    config_id: str
    seed: int
    pretrain_epochs: int
    dev_curve: list[float]
    epoch_seconds: list[float]
    dev: float  # the selected epoch's dev score
    test: float | None

    @property
    def epochs(self) -> int:
        return self.pretrain_epochs + len(self.dev_curve)


@dataclass
class Truth:
    """The exhaustive leaderboard of one size (all configurations, all seeds)."""

    winner: str  # config_id
    winner_mean: float
    winner_test: float | None
    means: dict[str, float]  # config_id -> dev mean over seeds
    tests: dict[str, float]  # config_id -> test mean over seeds (where the table has test)
    tie_sets: dict[float, frozenset[str]]  # epsilon -> strategies tied with the winner
    strategies: frozenset[str]
    best_per_strategy: dict[str, float]  # strategy -> its best configuration's dev mean
    board: Any  # the SizeBoard (epsilon 0)

    def non_trivial(self, epsilon: float = 0.0) -> bool:
        return bool(self.strategies - self.tie_sets[epsilon])


@dataclass
class SizeTable:
    pair: str
    size: float
    key: str  # size key, e.g. id0.1
    configs: dict[str, dict[str, Any]]  # config_id -> space configuration
    runs: dict[tuple[str, int], Run]
    rows: list[dict[str, Any]]  # the table's rows of this size
    truth: Truth | None = None

    @property
    def exhaustive_epochs(self) -> int:
        return sum(run.epochs for run in self.runs.values())


@dataclass
class PairTables:
    pair: str
    sizes: list[SizeTable]
    skipped: list[str] = field(default_factory=list)  # "0.3: why"


def _size_key(size: float) -> str:
    from search.config import size_key

    return size_key(float(size))


def _run_of(row: Mapping[str, Any]) -> Run:
    curve = [float(v) for v in row["dev_curve"]]
    pretrain = int(row.get("pretrain_epochs") or 0)
    seconds = [float(v) for v in (row.get("epoch_seconds") or [])]
    if len(seconds) != pretrain + len(curve):  # a row without per-epoch times: spread its wall time
        total = float(row.get("wall_seconds") or (pretrain + len(curve)))
        seconds = [total / max(1, pretrain + len(curve))] * (pretrain + len(curve))
    test = row.get("f1_weighted")
    return Run(
        config_id=str(row["config_id"]),
        seed=int(row["seed"]),
        pretrain_epochs=pretrain,
        dev_curve=curve,
        epoch_seconds=seconds,
        dev=float(row["dev_f1_weighted"]),
        test=None if test is None else float(test),
    )


def load_tables(patterns: str | Sequence[str], seeds: Sequence[int] = SEEDS) -> list[PairTables]:
    """Every pair of the tables matching ``patterns``, with its complete sizes (every
    configuration present has every seed) and why the others were skipped."""
    import pyarrow.parquet as pq

    paths = sorted(
        {p for pattern in ([patterns] if isinstance(patterns, str) else patterns) for p in glob.glob(pattern)}
    )
    by_pair: dict[str, dict[float, dict[tuple[str, int], dict[str, Any]]]] = {}
    for path in paths:
        columns = [
            "pair", "in_domain_size", "seed", "config_id", "config", "architecture", "strategy",
            "ood_pct", "local_in_domain_pretrain_pct", "imbalance", "learning_rate", "dev_f1_weighted",
            "f1_weighted", "pretrain_epochs", "final_epochs", "dev_curve", "epoch_seconds", "wall_seconds",
        ]  # fmt: skip
        table = pq.read_table(path)
        table = table.select([c for c in columns if c in table.column_names])
        for row in table.to_pylist():
            cells = by_pair.setdefault(str(row["pair"]), {}).setdefault(float(row["in_domain_size"]), {})
            cells[(str(row["config_id"]), int(row["seed"]))] = row  # a cell run twice keeps its last row
    pairs = []
    for pair in sorted(by_pair):
        usable, skipped = [], []
        for size in sorted(by_pair[pair]):
            cells = by_pair[pair][size]
            configs = {cid for cid, _ in cells}
            short = {s: sum((cid, s) not in cells for cid in configs) for s in seeds}
            if any(short.values()):
                gaps = ", ".join(
                    f"seed {s} has {len(configs) - n}/{len(configs)}" for s, n in short.items() if n
                )
                skipped.append(f"{size:g} ({gaps} configurations)")
                continue
            rows = [cells[(cid, s)] for cid in sorted(configs) for s in seeds]
            st = SizeTable(
                pair=pair,
                size=size,
                key=_size_key(size),
                configs={cid: json.loads(cells[(cid, seeds[0])]["config"]) for cid in configs},
                runs={(cid, s): _run_of(cells[(cid, s)]) for cid in configs for s in seeds},
                rows=rows,
            )
            st.truth = compute_truth(st.rows)
            usable.append(st)
        pairs.append(PairTables(pair, usable, skipped))
    return pairs


def space_config(proposal: Mapping[str, Any]) -> dict[str, Any]:
    """A proposal without what the sweep stamps on it: the space's configuration."""
    from search.plan import CELL_KEY, ROLE_KEY

    return {k: v for k, v in proposal.items() if k not in ("in_domain_size", ROLE_KEY, CELL_KEY, "seed")}


def entry_config_id(key: str) -> str:
    """The table's config_id of a leaderboard entry (its ``key``: the rows' configuration JSON,
    which here is the space's configuration; anything naming the run is dropped again)."""
    return config_id(space_config({k: v for k, v in json.loads(key).items() if k not in ("role", "cell")}))


def tie_set(board: Any) -> frozenset[str]:
    """Strategies whose best configuration is the board's winner or tied with it."""
    return frozenset(s for s, e in board.best_per_strategy().items() if e.rank == 1 or e.tie)


def compute_truth(rows: Sequence[Mapping[str, Any]]) -> Truth:
    """The leaderboard of one size's whole table (every row finished), its winner and tie sets."""
    from search.leaderboard import build_leaderboard

    rows = [{**r, "status": "finished", "role": "search"} for r in rows]
    boards = {eps: build_leaderboard(rows, BOARD_METRIC, epsilon=eps) for eps in (0.0, SENSITIVITY_EPSILON)}
    assert all(len(b) == 1 for b in boards.values()), "one size at a time"
    board = boards[0.0][0]
    means = {entry_config_id(e.key): e.mean for e in board.entries}
    tests = {entry_config_id(e.key): e.test["f1_weighted"] for e in board.entries if "f1_weighted" in e.test}
    winner = entry_config_id(board.winner.key)
    return Truth(
        winner=winner,
        winner_mean=board.winner.mean,
        winner_test=tests.get(winner),
        means=means,
        tests=tests,
        tie_sets={eps: tie_set(b[0]) for eps, b in boards.items()},
        strategies=frozenset(board.best_per_strategy()),
        best_per_strategy={s: e.mean for s, e in board.best_per_strategy().items()},
        board=board,
    )


# ---- a synthetic table (tests, timing) -----------------------------------------------------


def synthetic_rows(
    pair: str = "synthetic",
    sizes: Sequence[float] = (0.1, 1.0),
    seeds: Sequence[int] = SEEDS,
    *,
    best: str = "local",
    high: float = 0.8,
    low: float = 0.5,
    epochs: int = 12,
    noise: float = 0.005,
    architectures: Iterable[str] | None = None,
    rng_seed: int = 0,
) -> list[dict[str, Any]]:
    """Rows in the table's schema over the real ``ground-truth`` grid (as it is now), with made-up
    curves: ``best``'s configurations rise to ``high``, every other to ``low`` (plus per-configuration
    offsets of a few thousandths and per-seed noise), over ``epochs`` final-stage epochs (a few
    more or less per configuration); global/local pre-train for 3 epochs."""
    from spaces import get_space

    rng = random.Random(rng_seed)
    grid = get_space(SPACE).grid() or []
    keep = set(architectures) if architectures is not None else None
    rows = []
    for size in sizes:
        for index, config in enumerate(grid):
            if keep is not None and config["architecture"] not in keep:
                continue
            cid = config_id(config)
            plateau = (
                (high if config["strategy"] == best else low) + 0.002 * (index % 5) + 0.05 * math.log10(size)
            )
            length = max(2, epochs + (index % 5) - 2)
            pretrain = 3 if config["strategy"] in ("global", "local") else 0
            for seed in seeds:
                level = plateau + rng.gauss(0.0, noise)
                curve = [
                    level * (1 - math.exp(-(k + 1) / 2.0)) + rng.gauss(0.0, noise / 2) for k in range(length)
                ]
                # early stopping as the loop does it: the last `patience` epochs did not improve
                peak = max(range(length), key=lambda k: curve[k])
                curve = curve[: min(length, peak + 1 + 5)]
                seconds = [0.1 + 0.01 * (index % 7)] * (pretrain + len(curve))
                rows.append(
                    {
                        "pair": pair,
                        "in_domain": pair,
                        "ood": pair,
                        "in_domain_size": float(size),
                        "seed": int(seed),
                        "config_id": cid,
                        "config": json.dumps(config, sort_keys=True),
                        **{k: config.get(k) for k in ("architecture", "strategy", "imbalance")},
                        "ood_pct": float(config.get("ood_pct") or 0.0),
                        "local_in_domain_pretrain_pct": float(
                            config.get("local_in_domain_pretrain_pct") or 0.0
                        ),
                        "learning_rate": float(config["learning_rate"]),
                        "selection_metric": "f1_weighted",
                        "dev_f1_weighted": max(curve),
                        "f1_weighted": max(curve) - 0.01 + rng.gauss(0.0, noise),
                        "selected_epoch": pretrain + peak + 1,
                        "pretrain_epochs": pretrain,
                        "final_epochs": len(curve),
                        "dev_curve": curve,
                        "epoch_seconds": seconds,
                        "wall_seconds": sum(seconds),
                    }
                )
    return rows


def write_synthetic(path: Path, rows: list[dict[str, Any]]) -> Path:
    _ground_truth_module().write_table(Path(path), rows, {"synthetic": True})
    return Path(path)


# ---- main ----------------------------------------------------------------------------------
