"""The exhaustive table: every configuration of a finite space, trained to the end, on real data.

For each dataset pair (in-domain + donor), each in-domain size and each seed, every configuration
of the space's grid (default ``ground-truth``, 63 configurations) runs as an ordinary resweep trial
(:func:`trainables.trial.run_trial`, in this process, no Ray) to the loop's own early stopping.
One row per cell keeps the selected epoch's dev and test scores and the per-epoch curves of the
final stage's dev selection metric, so early stopping can be replayed
(``bench/search_correctness.py``).

Resumable: a cell already in the table is skipped, and the table is rewritten (temporary name,
then rename) every ``--flush`` new cells, so killing the generator loses at most that many.
Cells run pair by pair, size by size (smallest first), seed by seed, so a partial table holds
whole sizes. Phase-1 features are computed once per pair (the first trial of a pair builds them
under ``--artifacts``; a few minutes with MiniLM on two CPU cores).

    python bench/ground_truth.py --data-root ../shared/data --pairs semeval-fewrel,chemprot-scierc \
        --out bench/ground_truth/table.parquet

Cost: sized before starting with ``--count`` (cells to run); measured figures are in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainables.metrics import STORED_METRICS  # noqa: E402 - after the path

SIZES = (0.03, 0.1, 0.3, 1.0)
SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Pair:
    """An in-domain dataset and its donor, as named datasets under a data root."""

    in_domain: str
    in_domain_folder: str
    ood: str
    ood_folder: str
    max_length: int

    def context(self, data_root: Path) -> dict[str, Any]:
        return {
            "in_domain": self.in_domain,
            "in_domain_root": str(data_root / self.in_domain_folder),
            "ood": self.ood,
            "ood_root": str(data_root / self.ood_folder),
            "max_length": self.max_length,
            "encoder": "minilm",
        }


PAIRS = {
    # SemEval-2010 Task 8 (19 directed labels, `Other` negative) with FewRel's Wikipedia relations.
    "semeval-fewrel": Pair("semeval2010_task8", "semeval2010_task8", "fewrel_wiki", "fewrel", 64),
    # ChemProt (13 chemical-protein relations) with SciERC's scientific-text relations.
    "chemprot-scierc": Pair("chemprot", "chemprot", "scierc", "scierc_rel_scibert", 96),
    # The thesis's own design: Wikipedia relations in-domain (FewRel's 16 validation relations
    # stand in for its non-public Wikipedia data), SemEval-2010 Task 8 as the donor. Run with
    # --space thesis: the phase-1 encoder is fine-tuned (seqcls, joined) per size and seed.
    "fewrel-semeval": Pair("fewrel_wiki", "fewrel", "semeval2010_task8", "semeval2010_task8", 64),
}

METRICS = STORED_METRICS

TABLE_SCHEMA = pa.schema(
    [
        pa.field("pair", pa.string()),
        pa.field("in_domain", pa.string()),
        pa.field("ood", pa.string()),
        pa.field("in_domain_size", pa.float64()),
        pa.field("seed", pa.int64()),
        pa.field("config_id", pa.string()),  # sha256 of the space's configuration (no size, no seed)
        pa.field("config", pa.string()),  # the space's configuration, JSON
        pa.field("architecture", pa.string()),
        pa.field("strategy", pa.string()),
        pa.field("ood_pct", pa.float64()),
        pa.field("local_in_domain_pretrain_pct", pa.float64()),
        pa.field("imbalance", pa.string()),
        pa.field("learning_rate", pa.float64()),
        pa.field("selection_metric", pa.string()),
        *[pa.field(f"dev_{m}", pa.float64()) for m in METRICS],
        *[pa.field(m, pa.float64()) for m in METRICS],  # test, at the selected epoch
        pa.field("selected_epoch", pa.int64()),  # counted over all stages, as trials report it
        pa.field("pretrain_epochs", pa.int64()),  # epochs before the final stage (global/local)
        pa.field("final_epochs", pa.int64()),
        pa.field("dev_curve", pa.list_(pa.float64())),  # final stage: dev selection metric per epoch
        pa.field("epoch_seconds", pa.list_(pa.float64())),  # every epoch, all stages
        pa.field("wall_seconds", pa.float64()),
    ]
)


def config_id(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def read_table(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist() if path.is_file() else []


def write_table(path: Path, rows: list[dict[str, Any]], provenance: dict[str, Any]) -> None:
    """The whole table, written whole or not at all (:meth:`cluster.storage.Location.write_bytes`)."""
    schema = TABLE_SCHEMA.with_metadata({"resweep.ground_truth": json.dumps(provenance, sort_keys=True)})
    table = pa.Table.from_pylist(rows, schema=schema)
    from cluster.storage import Location

    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    Location.parse(str(path)).write_bytes(sink.getvalue().to_pybytes())


def provenance(args: argparse.Namespace) -> dict[str, Any]:
    import optuna
    import sklearn
    import torch
    import transformers

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return {
        "command": "python bench/ground_truth.py " + " ".join(sys.argv[1:]),
        "commit": commit,
        "space": args.space,
        "sizes": list(args.sizes),
        "seeds": list(args.seeds),
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch threads {args.threads}",
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "optuna": optuna.__version__,
            "scikit-learn": sklearn.__version__,
            "pyarrow": pa.__version__,
        },
    }


def run_cell(config: dict[str, Any], artifacts: Path) -> dict[str, Any]:
    """Train one configuration to the end; the row's scores and curves."""
    from trainables.config import TrialSpec
    from trainables.trial import run_trial

    spec = TrialSpec.from_config(config)
    started = time.perf_counter()
    result = run_trial(spec, report=lambda metrics, checkpoint: None, artifacts=artifacts)
    wall = time.perf_counter() - started
    history = result.history
    final = history[-1]["stage"]
    final_stage = [h for h in history if h["stage"] == final]
    metric = spec.loop.selection_metric
    elapsed = [h["elapsed_seconds"] for h in history]
    best = result.best
    return {
        "selection_metric": metric,
        **{f"dev_{m}": best.get(f"dev_{m}") for m in METRICS},
        **{m: best.get(f"test_{m}") for m in METRICS},
        "selected_epoch": best.get("selected_epoch"),
        "pretrain_epochs": len(history) - len(final_stage),
        "final_epochs": len(final_stage),
        "dev_curve": [float(h[f"dev_{metric}"]) for h in final_stage],
        "epoch_seconds": [b - a for a, b in zip([0.0, *elapsed[:-1]], elapsed, strict=True)],
        "wall_seconds": wall,
    }


def cells(args: argparse.Namespace) -> list[tuple[str, float, int, dict[str, Any]]]:
    from spaces import get_space

    grid = get_space(args.space).grid()
    assert grid is not None, f"space {args.space!r} has no grid"
    return [
        (pair, size, seed, config)
        for pair in args.pairs
        for size in args.sizes
        for seed in args.seeds
        for config in grid
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-root", type=Path, required=True, help="folder holding the named datasets")
    parser.add_argument("--pairs", type=lambda s: s.split(","), default=list(PAIRS))
    parser.add_argument("--sizes", type=lambda s: [float(x) for x in s.split(",")], default=list(SIZES))
    parser.add_argument("--seeds", type=lambda s: [int(x) for x in s.split(",")], default=list(SEEDS))
    parser.add_argument("--space", default="ground-truth")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "ground_truth" / "table.parquet")
    parser.add_argument("--artifacts", type=Path, default=ROOT / "results" / "ground-truth" / "artifacts")
    parser.add_argument("--flush", type=int, default=10, help="rewrite the table every N new cells")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (run one generator per core)")
    parser.add_argument("--limit", type=int, default=None, help="stop after N new cells")
    parser.add_argument("--count", action="store_true", help="print how many cells are missing, run nothing")
    parser.add_argument(
        "--architectures", type=lambda s: set(s.split(",")), default=None, help="only these architectures"
    )
    parser.add_argument(
        "--merge",
        type=Path,
        action="append",
        default=[],
        help="fold the cells of this table (made by a second generator) into --out first; repeatable",
    )
    args = parser.parse_args(argv)
    # A phase-1 build (fine-tuning an encoder: minutes to hours) logs its epochs and its end.
    logging.basicConfig(level=logging.WARNING, format="[phase-1] %(message)s", stream=sys.stdout)
    logging.getLogger("trainables.phase1").setLevel(logging.INFO)
    unknown = sorted(set(args.pairs) - set(PAIRS))
    if unknown:
        parser.error(f"unknown pair(s) {', '.join(unknown)}; valid: {', '.join(PAIRS)}")

    import torch

    torch.set_num_threads(args.threads)
    rows = read_table(args.out)
    have = {(r["pair"], r["in_domain_size"], r["seed"], r["config_id"]) for r in rows}
    if args.merge:
        for other in args.merge:
            for row in read_table(other):
                cell = (row["pair"], row["in_domain_size"], row["seed"], row["config_id"])
                if cell not in have:
                    have.add(cell)
                    rows.append(row)
        write_table(args.out, rows, provenance(args))
        print(f"ground truth: merged {', '.join(map(str, args.merge))} into {args.out}", file=sys.stderr)
    todo = [
        (pair, size, seed, config)
        for pair, size, seed, config in cells(args)
        if (pair, size, seed, config_id(config)) not in have
        and (args.architectures is None or config["architecture"] in args.architectures)
    ]
    print(f"ground truth: {len(rows)} cells in {args.out}, {len(todo)} to run", file=sys.stderr)
    if args.count:
        return 0
    meta = provenance(args)
    new = 0
    started = time.perf_counter()
    for pair, size, seed, config in todo[: args.limit]:
        trial = {**config, **PAIRS[pair].context(args.data_root), "in_domain_size": size, "seed": seed}
        cell = run_cell(trial, args.artifacts)
        rows.append(
            {
                "pair": pair,
                "in_domain": PAIRS[pair].in_domain,
                "ood": PAIRS[pair].ood,
                "in_domain_size": size,
                "seed": seed,
                "config_id": config_id(config),
                "config": json.dumps(config, sort_keys=True),
                **{k: config.get(k) for k in ("architecture", "strategy", "imbalance")},
                "ood_pct": float(config.get("ood_pct") or 0.0),
                "local_in_domain_pretrain_pct": float(config.get("local_in_domain_pretrain_pct") or 0.0),
                "learning_rate": float(config["learning_rate"]),
                **cell,
            }
        )
        new += 1
        recipe = f"{config['architecture']}/{config['strategy']}/{config['imbalance']}"
        print(
            f"[{time.perf_counter() - started:7.0f}s] {pair} id{size:g} s{seed} {recipe}"
            f" ood{config['ood_pct']:g} lr{config['learning_rate']:g}"
            f": dev {cell['dev_f1_weighted']:.4f} epochs {cell['pretrain_epochs']}+{cell['final_epochs']}"
            f" {cell['wall_seconds']:.1f}s",
            file=sys.stderr,
            flush=True,
        )
        if new % args.flush == 0:
            write_table(args.out, rows, meta)
    write_table(args.out, rows, meta)
    print(f"ground truth: {len(rows)} cells in {args.out} ({new} new)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
