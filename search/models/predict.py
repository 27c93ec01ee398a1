"""Predict new sentences with a model folder: read any format resweep reads (labels optional),
write JSONL, CSV or Parquet, and score against gold labels where the input has them.

Every output row: ``id``, ``label`` (the prediction), ``score`` (its probability) and ``top_k``
(the ``k`` most probable labels with their probabilities, best first). JSONL and Parquet keep
``top_k`` as a list of ``{label, score}``; CSV writes it as a JSON string.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from trainables.data.formats._base import labels_optional
from trainables.data.loading import parse_file
from trainables.errors import ResweepError
from trainables.metrics import compute_metrics
from trainables.model_folder import Predictions, RelationModel, load_model

from ..outputs import check_output

__all__ = ["OUTPUT_FORMATS", "PredictSummary", "output_bytes", "predict_file", "read_input"]

OUTPUT_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class PredictSummary:
    """What :func:`predict_file` did: how many records, where it wrote, and the metrics against
    the input's gold labels (None when the input has none)."""

    records: int
    out: str | None
    metrics: dict[str, float] | None
    predictions: Predictions
    unknown_labels: dict[str, int] = field(default_factory=dict)  # gold labels the model cannot predict
    unlabeled: int = 0  # records without a gold label


def read_input(path: str | Path, *, format: str | None = None) -> pa.Table:
    """The records of one file in any format resweep reads; a record may lack its label."""
    path = Path(path)
    if path.is_dir():
        raise ResweepError(f"{path}: a folder; give one file of sentences to predict")
    with labels_optional():
        return parse_file(path, format, dataset=path.stem, split="test", cache=False)


def output_bytes(predictions: Predictions, kind: str, top_k: int) -> bytes:
    """The predictions as a JSONL, CSV or Parquet file's bytes."""
    rows = predictions.rows(top_k)
    if kind == "jsonl":
        return "".join(json.dumps(row) + "\n" for row in rows).encode()
    if kind == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=["id", "label", "score", "top_k"], lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "top_k": json.dumps(row["top_k"])})
        return buffer.getvalue().encode()
    if kind == "parquet":
        import pyarrow.parquet as pq

        alternatives = pa.list_(pa.struct([("label", pa.string()), ("score", pa.float64())]))
        schema = pa.schema(
            [("id", pa.string()), ("label", pa.string()), ("score", pa.float64()), ("top_k", alternatives)]
        )
        table = pa.Table.from_pylist(rows, schema=schema)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return bytes(sink.getvalue().to_pybytes())
    raise ResweepError(f"unknown output format {kind!r}; use one of jsonl, csv, parquet")


def _output_kind(out: str | None, given: str | None) -> str:
    if given:
        return given
    if out is None:
        return "jsonl"
    suffix = Path(out.split("?")[0]).suffix.lower()
    if suffix not in OUTPUT_FORMATS:
        raise ResweepError(
            f"{out}: cannot tell the output format from {suffix or 'no suffix'}; name the file "
            ".jsonl, .csv or .parquet, or give the format"
        )
    return OUTPUT_FORMATS[suffix]


def _progress_bar(
    total: int, enabled: bool | None
) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """A tqdm bar on stderr (on a terminal by default), and how to close it."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="sentence", desc="predict", file=sys.stderr)
    return bar.update, bar.close


def predict_file(
    model: str | Path | RelationModel,
    input: str | Path,
    *,
    format: str | None = None,
    out: str | None = None,
    out_format: str | None = None,
    batch_size: int | None = None,
    top_k: int = 3,
    progress: bool | None = None,
    device: str | None = None,
) -> PredictSummary:
    """Predict every record of ``input`` with ``model`` (a model folder or a loaded model); write
    the rows to ``out`` (a path or object-store URI, whole or not at all) unless None."""
    from cluster.storage import Location

    if top_k < 1:
        raise ResweepError(f"top_k must be >= 1, got {top_k}")
    if out is not None:  # before any work: never over the input, the model, a sweep
        folder = model.folder if isinstance(model, RelationModel) else model
        reads = [("the input file", input), ("the model folder being read", folder)]
        check_output(out, "--out", reads=reads, kind="file")
        where = Location.parse(out)
        if where.remote:  # an object store that does not answer fails now (in time), not after the work
            where.parent.exists()
    kind = _output_kind(out, out_format)
    loaded = model if isinstance(model, RelationModel) else load_model(model, device=device)
    table = read_input(input, format=format)
    update, close = _progress_bar(table.num_rows, progress)
    try:
        predictions = loaded.predict(table, batch_size=batch_size, progress=update)
    finally:
        close()
    if out is not None:
        Location.parse(out).write_bytes(output_bytes(predictions, kind, top_k))
    gold = table["label"].to_pylist()
    labeled = [i for i, label in enumerate(gold) if label]
    metrics = None
    unknown: dict[str, int] = {}
    if labeled:
        known = set(loaded.labels)
        for i in labeled:
            if gold[i] not in known:
                unknown[gold[i]] = unknown.get(gold[i], 0) + 1
        predicted = predictions.predicted
        metrics = compute_metrics(
            [gold[i] for i in labeled],
            [predicted[i] for i in labeled],
            negative_labels=loaded.label_space.negative,
        )
    return PredictSummary(table.num_rows, out, metrics, predictions, unknown, table.num_rows - len(labeled))


def summary_lines(summary: PredictSummary) -> list[str]:
    """What ``resweep predict`` prints on stderr after the rows."""
    lines = [f"{summary.records:,} sentences predicted" + (f" -> {summary.out}" if summary.out else "")]
    if summary.metrics is not None:
        scored = summary.records - summary.unlabeled
        shown = ", ".join(f"{k} {v:.4f}" for k, v in summary.metrics.items() if isinstance(v, float))
        lines.append(f"against the input's labels ({scored:,} labeled): {shown}")
        if summary.unlabeled:
            lines.append(f"warning: {summary.unlabeled:,} sentences have no label and are not scored")
        if summary.unknown_labels:
            listed = ", ".join(f"{label} ({n})" for label, n in sorted(summary.unknown_labels.items()))
            lines.append(f"warning: labels the model cannot predict, counted as errors: {listed}")
    return lines
