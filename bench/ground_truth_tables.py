"""The ground-truth tables as the search-correctness benchmark reads them: runs, the true answer
per size from a set of seeds (:class:`Truth`: the main tables' seeds 0-2, and the held-out seeds
3-7 the replays never see), and synthetic tables for tests (see ``bench/search_correctness.py``)."""

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
CELLS = ("baseline", "mixed", "global", "local")  # the question's cells: the space's strategies
METRIC = "selected_dev_f1_weighted"  # what the sweep's searcher and ASHA compare
INTERMEDIATE = "dev_f1_weighted"  # the per-epoch dev score the studies record
BOARD_METRIC = "dev_f1_weighted"  # the rows' selected dev score
TEST_METRIC = "f1_weighted"  # the rows' test score at the selected epoch
SEEDS = (0, 1, 2)  # the main tables' seeds: what the replays may run
SEARCH_SEED, CONFIRM_SEEDS = 0, (1, 2)
HELD_OUT_SEEDS = (3, 4, 5, 6, 7)  # bench/ground_truth/held_out/: never run by a replay
MIN_HELD_OUT_SEEDS = 2  # fewer give no truth worth scoring against
MARGIN = 0.01  # search.answer.decision's default: a cell within it of the best cell's best is right too
TIME = "final_stage_epochs"
DONE = "training_done"
METHODS = ("old", "random", "tpe+fifo", "tpe+fifo-notransfer", "tpe+asha", "tpe+asha-notransfer")
EMULATED = {"old"}


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
    """The true answer of one size, from the runs of ``seeds`` (every configuration has each).

    Per cell its best configuration by dev mean; the *right* cells are those whose best lies
    within ``margin`` of the best cell's best, on dev, and on test with each cell's configuration
    still chosen on dev (test never selects). A recommendation is correct when its cell is right."""

    seeds: tuple[int, ...]
    dev: dict[str, dict[int, float]]  # config_id -> seed -> dev score
    test: dict[str, dict[int, float]]  # config_id -> seed -> test score
    cell_of: dict[str, str]  # config_id -> cell
    margin: float = MARGIN
    dev_mean: dict[str, float] = field(init=False)
    test_mean: dict[str, float] = field(init=False)
    best: dict[str, str] = field(init=False)  # cell -> its best configuration (dev)
    top_dev: str = field(init=False)  # the best cell on dev
    top_test: str = field(init=False)  # the best cell on test (configurations chosen on dev)
    right_dev: frozenset[str] = field(init=False)
    right_test: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.dev_mean = {c: _mean(s.values()) for c, s in self.dev.items()}
        self.test_mean = {c: _mean(s.values()) for c, s in self.test.items()}
        best: dict[str, str] = {}
        for cid in sorted(self.dev_mean, key=lambda c: -self.dev_mean[c]):
            best.setdefault(self.cell_of[cid], cid)
        self.best = best
        on_dev = {cell: self.dev_mean[cid] for cell, cid in best.items()}
        on_test = {cell: self.test_mean[cid] for cell, cid in best.items()}
        self.top_dev = max(on_dev, key=lambda c: on_dev[c])
        self.top_test = max(on_test, key=lambda c: on_test[c])
        self.right_dev = frozenset(c for c, v in on_dev.items() if v >= on_dev[self.top_dev] - self.margin)
        self.right_test = frozenset(
            c for c, v in on_test.items() if v >= on_test[self.top_test] - self.margin
        )

    @property
    def cells(self) -> list[str]:
        return sorted(self.best, key=lambda c: -self.dev_mean[self.best[c]])

    def regret(self, config: str) -> float:
        """Dev mean of the best cell's best configuration minus ``config``'s."""
        return self.dev_mean[self.best[self.top_dev]] - self.dev_mean[config]

    def test_regret(self, config: str) -> float:
        """Test mean of the best cell's (dev) best configuration minus ``config``'s."""
        return self.test_mean[self.best[self.top_dev]] - self.test_mean[config]


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values)


@dataclass
class SizeTable:
    pair: str
    size: float
    key: str  # size key, e.g. id0.1
    configs: dict[str, dict[str, Any]]  # config_id -> space configuration
    runs: dict[tuple[str, int], Run]
    rows: list[dict[str, Any]]  # the table's rows of this size
    truth: Truth  # in-sample: seeds 0-2, the runs the replays see
    board: Any  # the SizeBoard of every configuration and seed 0-2 (the learning-curve check)
    held_out: Truth | None = None  # the held-out seeds only; None: too few of them complete
    held_out_note: str = "no held-out runs"  # which held-out seeds the truth has, or why none
    every_seed: Truth | None = None  # seeds 0-2 and the complete held-out ones
    space: str = SPACE  # the finite space the table enumerates (its provenance says which)

    @property
    def exhaustive_epochs(self) -> int:
        return sum(run.epochs for run in self.runs.values())

    def cell_of(self, config: str) -> str:
        return str(self.configs[config][AXIS])


@dataclass
class PairTables:
    pair: str
    sizes: list[SizeTable]
    skipped: list[str] = field(default_factory=list)  # "0.3: why"
    space: str = SPACE


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
    test = row.get(TEST_METRIC)
    return Run(
        config_id=str(row["config_id"]),
        seed=int(row["seed"]),
        pretrain_epochs=pretrain,
        dev_curve=curve,
        epoch_seconds=seconds,
        dev=float(row[BOARD_METRIC]),
        test=None if test is None else float(test),
    )


_COLUMNS = [
    "pair", "in_domain_size", "seed", "config_id", "config", "architecture", "strategy",
    "ood_pct", "local_in_domain_pretrain_pct", "imbalance", "learning_rate", BOARD_METRIC,
    TEST_METRIC, "pretrain_epochs", "final_epochs", "dev_curve", "epoch_seconds", "wall_seconds",
]  # fmt: skip


def _read_cells(
    patterns: str | Sequence[str],
) -> dict[str, dict[float, dict[tuple[str, int], dict[str, Any]]]]:
    """pair -> size -> (config_id, seed) -> row, over every table matching ``patterns``."""
    import pyarrow.parquet as pq

    paths = _paths(patterns)
    by_pair: dict[str, dict[float, dict[tuple[str, int], dict[str, Any]]]] = {}
    for path in paths:
        table = pq.read_table(path)
        table = table.select([c for c in _COLUMNS if c in table.column_names])
        for row in table.to_pylist():
            cells = by_pair.setdefault(str(row["pair"]), {}).setdefault(float(row["in_domain_size"]), {})
            cells[(str(row["config_id"]), int(row["seed"]))] = row  # a cell run twice keeps its last row
    return by_pair


def _spaces(patterns: str | Sequence[str]) -> dict[str, str]:
    """pair -> the space its table enumerates, from the tables' provenance (``ground-truth`` when
    a table does not say)."""
    import pyarrow.parquet as pq

    found: dict[str, str] = {}
    for path in _paths(patterns):
        metadata = pq.read_schema(path).metadata or {}
        provenance = json.loads(metadata.get(b"resweep.ground_truth", b"{}"))
        for pair in set(pq.read_table(path, columns=["pair"]).column("pair").to_pylist()):
            found[str(pair)] = str(provenance.get("space", SPACE))
    return found


def _paths(patterns: str | Sequence[str]) -> list[str]:
    return sorted(
        {p for pattern in ([patterns] if isinstance(patterns, str) else patterns) for p in glob.glob(pattern)}
    )


def _truth(
    cells: Mapping[tuple[str, int], Mapping[str, Any]],
    configs: Mapping[str, Mapping[str, Any]],
    seeds: Sequence[int],
) -> Truth:
    return Truth(
        seeds=tuple(seeds),
        dev={cid: {s: float(cells[(cid, s)][BOARD_METRIC]) for s in seeds} for cid in configs},
        test={cid: {s: float(cells[(cid, s)][TEST_METRIC]) for s in seeds} for cid in configs},
        cell_of={cid: str(config[AXIS]) for cid, config in configs.items()},
    )


def load_tables(patterns: str | Sequence[str], seeds: Sequence[int] | None = SEEDS) -> list[PairTables]:
    """Every pair of the tables matching ``patterns``, with its complete sizes (every
    configuration present has every seed) and why the others were skipped. ``seeds=None``: per
    size, every seed that all its configurations have (a seed still being generated is skipped,
    and says so)."""
    from search.answer.leaderboard import build_leaderboard

    by_pair = _read_cells(patterns)
    space_of = _spaces(patterns)
    pairs = []
    wanted = seeds
    for pair in sorted(by_pair):
        usable, skipped = [], []
        for size in sorted(by_pair[pair]):
            cells = by_pair[pair][size]
            configs = {cid for cid, _ in cells}
            if wanted is None:
                present = sorted({s for _, s in cells})
                seeds = [s for s in present if all((cid, s) in cells for cid in configs)]
                partial = [s for s in present if s not in seeds]
                if partial:
                    have = {s: sum((c, s) in cells for c in configs) for s in partial}
                    gaps = ", ".join(f"seed {s} has {n}/{len(configs)}" for s, n in have.items())
                    skipped.append(f"{size:g} ({gaps} configurations)")
                if not seeds:
                    continue
            short = {s: sum((cid, s) not in cells for cid in configs) for s in seeds}
            if any(short.values()):
                gaps = ", ".join(
                    f"seed {s} has {len(configs) - n}/{len(configs)}" for s, n in short.items() if n
                )
                skipped.append(f"{size:g} ({gaps} configurations)")
                continue
            rows = [cells[(cid, s)] for cid in sorted(configs) for s in seeds]
            spaces = {cid: json.loads(cells[(cid, seeds[0])]["config"]) for cid in configs}
            (board,) = build_leaderboard(
                [{**r, "status": "finished", "role": "search"} for r in rows], BOARD_METRIC
            )
            st = SizeTable(
                pair=pair,
                size=size,
                key=_size_key(size),
                configs=spaces,
                runs={(cid, s): _run_of(cells[(cid, s)]) for cid in configs for s in seeds},
                rows=rows,
                truth=_truth(cells, spaces, seeds),
                board=board,
                space=space_of.get(pair, SPACE),
            )
            st.every_seed = st.truth
            usable.append(st)
        pairs.append(PairTables(pair, usable, skipped, space_of.get(pair, SPACE)))
    return pairs


def attach_held_out(pairs: Sequence[PairTables], patterns: str | Sequence[str]) -> None:
    """Give each size of ``pairs`` its held-out truth from the tables matching ``patterns`` (the
    held-out seeds' runs, same schema). A seed counts only where every configuration of the size
    has it (the generators run seed by seed, so the newest seed is partial while they run: it
    waits for its last configuration rather than tilt the truth towards the grid's first ones);
    a size needs :data:`MIN_HELD_OUT_SEEDS` such seeds. Seeds the replays run are never used."""
    by_pair = _read_cells(patterns)
    for pair in pairs:
        for table in pair.sizes:
            cells = by_pair.get(pair.pair, {}).get(table.size, {})
            present = sorted({s for _, s in cells} - set(SEEDS))
            have = {s: sum((cid, s) in cells for cid in table.configs) for s in present}
            complete = [s for s in present if have[s] == len(table.configs)]
            partial = "".join(
                f"; seed {s} left out ({have[s]}/{len(table.configs)} configurations)"
                for s in present
                if s not in complete
            )
            if len(complete) < MIN_HELD_OUT_SEEDS:
                seeds_text = ",".join(map(str, complete)) or "none"
                table.held_out_note = f"no held-out truth (complete held-out seeds: {seeds_text}{partial})"
                continue
            table.held_out = _truth(cells, table.configs, complete)
            table.held_out_note = f"held-out seeds {','.join(map(str, complete))}{partial}"
            main = {(str(r["config_id"]), int(r["seed"])): r for r in table.rows}
            table.every_seed = _truth({**cells, **main}, table.configs, [*SEEDS, *complete])


def space_config(proposal: Mapping[str, Any]) -> dict[str, Any]:
    """A proposal without what the sweep stamps on it: the space's configuration."""
    from search.plan import CELL_KEY, ROLE_KEY

    return {k: v for k, v in proposal.items() if k not in ("in_domain_size", ROLE_KEY, CELL_KEY, "seed")}


def entry_config_id(key: str) -> str:
    """The table's config_id of a leaderboard entry (its ``key``: the rows' configuration JSON,
    which here is the space's configuration; anything naming the run is dropped again)."""
    return config_id(space_config({k: v for k, v in json.loads(key).items() if k not in ("role", "cell")}))


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
    space: str = SPACE,
) -> list[dict[str, Any]]:
    """Rows in the table's schema over the real grid of ``space`` (as it is now), with made-up
    curves: ``best``'s configurations rise to ``high``, every other to ``low`` (plus per-configuration
    offsets of a few thousandths and per-seed noise), over ``epochs`` final-stage epochs (a few
    more or less per configuration); global/local pre-train for 3 epochs."""
    from spaces import get_space

    rng = random.Random(rng_seed)
    grid = get_space(space).grid() or []
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
                        "learning_rate": float(config.get("learning_rate") or 0.0),
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


def write_synthetic(path: Path, rows: list[dict[str, Any]], space: str = SPACE) -> Path:
    _ground_truth_module().write_table(Path(path), rows, {"synthetic": True, "space": space})
    return Path(path)
