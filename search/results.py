"""resweep's results store: one row per finished trial, Parquet with an explicit schema.

Rows land as one small Parquet file per trial under ``<sweep>/results/parts/`` (written whole or
not at all, see :class:`cluster.storage.Location`: concurrent writers never collide and a crash
never leaves half a row); :func:`compact` folds them into ``<sweep>/results/results.parquet``.
Readers see both.
Column names reuse ``shared/reference/thesis_tables.csv`` where they mean the same thing:
``in_domain_pct``, ``architecture``, ``phase1_model``, ``phase1_finetune``, ``strategy``,
``ood_pct``, ``local_in_domain_pretrain_pct``, ``imbalance``, and the test scores ``accuracy`` and
``f1_weighted``. Dev scores at the selected epoch are ``dev_*``.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cluster.storage import Location
from trainables.config import TrialSpec
from trainables.errors import ResweepError
from trainables.metrics import STORED_METRICS
from trainables.report_keys import EPOCHS_DONE, RESUMED_FROM_EPOCH, SELECTED_EPOCH, score_key, selected_key

PARALLEL_REQUESTS = 16  # object-store requests in flight when reading or removing many parts

__all__ = ["RESULT_SCHEMA", "SCORED", "ResultsStore", "configuration_key", "result_row"]

# Rows whose scores count: trials that ran to their end, and trials the scheduler stopped early
# (their selected epoch and its dev/test scores are as real; they had fewer epochs to get there).
SCORED = ("finished", "stopped")

RESULT_SCHEMA = pa.schema(
    [
        pa.field("sweep", pa.string(), nullable=False),
        pa.field("trial_name", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),  # finished | stopped (by the scheduler) | error
        pa.field("role", pa.string()),  # search | confirm (a top configuration, another seed) | floor
        pa.field("cell", pa.string()),  # the question cell (``local``, ``local/oversampling``)
        pa.field("in_domain", pa.string()),
        pa.field("ood", pa.string()),
        pa.field("in_domain_size", pa.float64()),  # as configured: a fraction (<= 1) or a count
        pa.field("in_domain_pct", pa.float64()),  # percent of the in-domain train pool, when a fraction
        pa.field("seed", pa.int64()),
        pa.field("architecture", pa.string()),
        pa.field("phase1_model", pa.string()),
        pa.field("phase1_finetune", pa.string()),
        pa.field("strategy", pa.string()),
        pa.field("ood_pct", pa.float64()),
        pa.field("local_in_domain_pretrain_pct", pa.float64()),
        pa.field("imbalance", pa.string()),
        pa.field("learning_rate", pa.float64()),
        pa.field("config", pa.string()),  # the whole flat trial config, JSON
        pa.field("params", pa.string()),  # a search trial's proposal under the searcher's own names, JSON
        pa.field("selection_metric", pa.string()),
        *(pa.field(score_key("dev", name), pa.float64()) for name in STORED_METRICS),
        # Test, at the selected epoch, under the thesis tables' column names (no prefix).
        *(pa.field(name, pa.float64()) for name in STORED_METRICS),
        pa.field("selected_epoch", pa.int64()),
        pa.field("epochs_run", pa.int64()),
        pa.field("resumed_from_epoch", pa.int64()),  # > 0: the trial continued from a checkpoint
        pa.field("wall_seconds", pa.float64()),
        pa.field("cpus", pa.float64()),
        pa.field("gpus", pa.float64()),
        pa.field("workers", pa.int64()),
        pa.field("node", pa.string()),  # the host (name or IP)
        pa.field("node_id", pa.string()),  # Ray's node id: tells nodes apart on one host too
        pa.field("finished_at", pa.timestamp("ms", tz="UTC")),  # Parquet stores ms, not s
        pa.field("error", pa.string()),  # an errored trial: the last line of its error
        pa.field("manifest", pa.string()),  # the run that wrote the row: <sweep>/manifests/<id>.json
        pa.field("last_report", pa.string()),  # the trial's last report, JSON (for replays after a resume)
        # The configuration's identity, its seed aside (TrialSpec.configuration_key): the runs of
        # one configuration share it; the leaderboard groups by it. Filled in on read for rows an
        # older resweep wrote (version 3 stores have no such column).
        pa.field("config_key", pa.string()),
    ],
    metadata={"resweep.results_version": "4"},
)


def result_row(
    *,
    sweep: str,
    trial_name: str,
    status: str,
    config: Mapping[str, Any],
    metrics: Mapping[str, Any],
    resources: Mapping[str, float],
    finished_at: Any,
    role: str | None = None,
    cell: str | None = None,
    params: Mapping[str, Any] | None = None,
    error: str | None = None,
    manifest: str | None = None,
) -> dict[str, Any]:
    """One row from a trial's flat config and its last report (which carries ``selected_*``)."""

    def selected(key: str) -> float | None:
        value = metrics.get(selected_key(key))
        return None if value is None else float(value)

    size = config.get("in_domain_size")
    return {
        "sweep": sweep,
        "trial_name": trial_name,
        "status": status,
        "role": role,
        "cell": cell,
        "in_domain": config.get("in_domain"),
        "ood": config.get("ood"),
        "in_domain_size": None if size is None else float(size),
        "in_domain_pct": 100.0 * size if isinstance(size, float) else None,
        "seed": config.get("seed"),
        "architecture": config.get("architecture"),
        "phase1_model": config.get("phase1_model") if config.get("architecture") == "two-phase" else None,
        "phase1_finetune": config.get("phase1_finetune")
        if config.get("architecture") == "two-phase"
        else None,
        "strategy": config.get("strategy"),
        "ood_pct": float(config.get("ood_pct") or 0.0),
        "local_in_domain_pretrain_pct": float(config.get("local_in_domain_pretrain_pct") or 0.0),
        "imbalance": config.get("imbalance"),
        "learning_rate": config.get("learning_rate"),
        "config": json.dumps(dict(config), sort_keys=True, default=str),
        "config_key": configuration_key(config),
        "params": None if params is None else json.dumps(dict(params), sort_keys=True, default=str),
        "selection_metric": config.get("selection_metric"),
        # Dev scores keep their prefix; test scores take the thesis tables' bare names.
        **{score_key("dev", k): selected(score_key("dev", k)) for k in STORED_METRICS},
        **{k: selected(score_key("test", k)) for k in STORED_METRICS},
        "selected_epoch": metrics.get(SELECTED_EPOCH),
        "epochs_run": metrics.get(EPOCHS_DONE),
        "resumed_from_epoch": metrics.get(RESUMED_FROM_EPOCH),
        "wall_seconds": metrics.get("time_total_s"),
        "cpus": resources.get("cpus"),
        "gpus": resources.get("gpus"),
        "workers": int(resources.get("workers", 1)),
        "node": metrics.get("hostname") or metrics.get("node_ip"),
        "node_id": metrics.get("node_id"),
        "finished_at": finished_at,
        "error": error,
        "manifest": manifest,
        "last_report": json.dumps(
            {k: v for k, v in metrics.items() if isinstance(v, (int, float, str, bool)) or v is None},
            default=str,
        ),
    }


def configuration_key(config: Mapping[str, Any]) -> str | None:
    """The identity of a flat trial config across seeds (:meth:`TrialSpec.configuration_key`);
    None for a config that is not a trial's (a table from elsewhere, a hand-made row)."""
    seedless = {k: v for k, v in config.items() if k != "seed"}
    return _configuration_key(json.dumps(seedless, sort_keys=True, default=str))


@functools.lru_cache(maxsize=8192)
def _configuration_key(seedless: str) -> str | None:
    try:
        return TrialSpec.from_config(json.loads(seedless)).configuration_key()
    except (ResweepError, TypeError, ValueError):
        return None


def _with_configuration_keys(table: pa.Table) -> pa.Table:
    """``table`` with ``config_key`` filled in where an older resweep left it empty."""
    keys = table["config_key"]
    if keys.null_count == 0:
        return table
    configs = table["config"].to_pylist()
    filled = [
        key if key is not None or raw is None else configuration_key(json.loads(raw))
        for key, raw in zip(keys.to_pylist(), configs, strict=True)
    ]
    column = table.schema.get_field_index("config_key")
    return table.set_column(column, "config_key", pa.array(filled, pa.string()))


class ResultsStore:
    """The rows of one sweep, under ``<sweep folder>/results/`` (a local path or an object-store URI)."""

    def __init__(self, folder: str | Path | Location, name: str = "results"):
        self.folder = Location.parse(folder) / name
        self.parts = self.folder / "parts"
        self.table_path = self.folder / "results.parquet"

    def add(self, row: Mapping[str, Any]) -> Location:
        """Write one row atomically (a trial that finishes again, after a resume, replaces its row)."""
        return self.add_rows([row], part=row["trial_name"])

    def add_rows(self, rows: Sequence[Mapping[str, Any]], part: str) -> Location:
        """Write several rows as one part named ``part`` (atomically)."""
        target = self.parts / f"{part}.parquet"
        table = pa.Table.from_pylist([dict(row) for row in rows], schema=RESULT_SCHEMA)
        target.write_bytes(_parquet_bytes(table))
        return target

    @staticmethod
    def _table(where: Location, **options: Any) -> pa.Table:
        return pq.read_table(where.path, filesystem=where.filesystem, schema=RESULT_SCHEMA, **options)

    def get(self, trial_name: str) -> dict[str, Any] | None:
        """The row of ``trial_name``, or None."""
        part = self.parts / f"{trial_name}.parquet"
        if part.is_file():
            return self._table(part).to_pylist()[0]
        if self.table_path.is_file():
            table = self._table(self.table_path, filters=[("trial_name", "=", trial_name)])
            if table.num_rows:
                return table.to_pylist()[0]
        return None

    def snapshot(self) -> tuple[pa.Table, list[Location]]:
        """Every row (as :meth:`read`) and the part files they were read from (for :meth:`fold`)."""
        tables = []
        names: set[str] = set()
        parts = self.parts.children(".parquet")
        # pyarrow releases the GIL: in object storage the parts are read side by side.
        with self._requests(parts) as pool:
            for table in pool.map(self._table, parts):
                tables.append(table)
                names.update(table["trial_name"].to_pylist())
        if self.table_path.is_file():
            compacted = self._table(self.table_path)
            keep = [i for i, name in enumerate(compacted["trial_name"].to_pylist()) if name not in names]
            tables.insert(0, compacted.take(keep))
        table = pa.concat_tables(tables) if tables else RESULT_SCHEMA.empty_table()
        return _with_configuration_keys(table), parts

    def read(self) -> pa.Table:
        """Every row: the compacted table plus the parts written since (a part wins over an old row)."""
        return self.snapshot()[0]

    def compact(self) -> int:
        """Fold the parts into ``results.parquet`` (atomically); return the number of rows.

        Only the parts that were read are removed, so a row written meanwhile is never lost.
        """
        table, parts = self.snapshot()
        self.fold(table, parts)
        return table.num_rows

    def fold(self, table: pa.Table, parts: list[Location]) -> None:
        """Write ``table`` (a :meth:`snapshot`'s rows) as ``results.parquet`` (atomically), then
        remove the parts it was read from: a row written since stays in its part."""
        self.table_path.write_bytes(_parquet_bytes(table))
        with self._requests(parts) as pool:
            list(pool.map(Location.remove, parts))

    def _requests(self, parts: list[Location]) -> ThreadPoolExecutor:
        """Where each part is a request (object storage), several at once; else one at a time."""
        many = self.parts.remote and len(parts) > 1
        return ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS if many else 1)


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()
