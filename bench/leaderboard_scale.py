"""Benchmark: the leaderboard over many trial rows (goal: 10,000 rows answer in under 1 second).

    .venv/bin/python bench/leaderboard_scale.py [--rows 10000] [--smoke]

Generates rows with the results store's schema (3 sizes, configurations over 3 seeds, realistic
config JSON and last-report fields), writes them as a compacted store, then times reading the
store plus ranking every size, and the size query. Also prints the store's bytes per trial.
``--smoke``: 300 rows, to check that the script runs (seconds).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def generated_rows(n: int) -> list[dict]:
    from search.results import result_row

    rng = random.Random(0)
    strategies = ["baseline", "mixed", "global", "local"]
    rows = []
    sizes = [0.1, 0.5, 1.0]
    for i in range(n):
        size = sizes[i % 3]
        seed = (i // 3) % 3
        strategy = strategies[(i // 9) % 4]
        config = {
            "architecture": "two-phase",
            "strategy": strategy,
            "ood_pct": 0.0 if strategy == "baseline" else float(rng.choice([10, 50, 100])),
            "imbalance": rng.choice(["none", "class_weights", "oversampling"]),
            "learning_rate": round(rng.uniform(3e-4, 3e-3), 6),
            "hidden_units": rng.choice([64, 128, 256]),
            "in_domain_size": size,
            "seed": seed,
            "in_domain": "synthetic",
            "ood": "synthetic_ood",
            "encoder": "minilm",
            "selection_metric": "f1_weighted",
        }
        score = 0.5 + 0.3 * size + rng.gauss(0, 0.02)
        metrics = {
            "selected_epoch": 5,
            "epochs_done": 8,
            "time_total_s": rng.uniform(5, 60),
            "hostname": "node-1",
            **{f"selected_dev_{k}": score for k in ("accuracy", "f1_weighted", "f1_macro")},
            **{f"selected_test_{k}": score - 0.01 for k in ("accuracy", "f1_weighted", "f1_macro")},
        }
        rows.append(
            result_row(
                sweep="bench",
                trial_name=f"trial-{i:05d}",
                status="finished",
                config=config,
                metrics=metrics,
                resources={"cpus": 1, "gpus": 0, "workers": 1},
                finished_at=datetime.now(UTC),
            )
        )
        rows[-1]["config"] = json.dumps(config, sort_keys=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--smoke", action="store_true", help="300 rows: check that the script runs")
    args = parser.parse_args()
    if args.smoke:
        args.rows = 300

    import pyarrow as pa
    import pyarrow.parquet as pq

    from search.answer.curves import estimate_at
    from search.answer.leaderboard import build_leaderboard
    from search.results import RESULT_SCHEMA, SCORED, ResultsStore

    with tempfile.TemporaryDirectory(prefix="rs-board-bench-") as scratch:
        store = ResultsStore(Path(scratch))
        # The compacted table as the store writes it: one Parquet file at its Location (the
        # store's paths are Locations, local or in an object store, written whole or not at all).
        buffer = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(generated_rows(args.rows), schema=RESULT_SCHEMA), buffer)
        data = buffer.getvalue().to_pybytes()
        store.table_path.write_bytes(data)
        size = len(data)
        started = time.perf_counter()
        rows = [r for r in store.read().to_pylist() if r["status"] in SCORED]
        read = time.perf_counter() - started
        boards = build_leaderboard(rows, "dev_f1_weighted", epsilon=0.002)
        ranked = time.perf_counter() - started
        estimate_at(boards, 0.3)
        total = time.perf_counter() - started
        configurations = sum(len(b.entries) for b in boards)
        print(
            f"{args.rows:,} rows, {configurations:,} configurations: read {read * 1000:.0f} ms, "
            f"read + rank {ranked * 1000:.0f} ms, + size query {total * 1000:.0f} ms (goal < 1000 ms); "
            f"store {size / 1024:.0f} KiB = {size / args.rows:.0f} bytes per trial"
        )


if __name__ == "__main__":
    main()
