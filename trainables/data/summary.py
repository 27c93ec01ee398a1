"""What ``resweep data info`` reports about a dataset: counts, imbalance, sentence lengths."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow.compute as pc

from .datasets import RelationDataset

__all__ = ["LENGTH_PERCENTILES", "summarise"]

LENGTH_PERCENTILES = (50, 90, 95, 99)


def summarise(dataset: RelationDataset) -> dict[str, Any]:
    """A JSON-ready summary: per split the record and label counts, the imbalance ratio (largest
    over smallest class), the negative share, and sentence-length percentiles in word tokens."""
    splits: dict[str, Any] = {}
    for split, table in dataset.splits.items():
        counts = dataset.label_counts(split)
        lengths = pc.list_value_length(table["tokens"]).to_numpy(zero_copy_only=False)
        negatives = sum(n for label, n in counts.items() if label in dataset.negative_labels)
        splits[split] = {
            "records": table.num_rows,
            "labels": len(counts),
            "label_counts": counts,
            "imbalance_ratio": round(max(counts.values()) / min(counts.values()), 2),
            "negative_share": round(negatives / table.num_rows, 4),
            "length": {
                **{f"p{q}": float(np.percentile(lengths, q)) for q in LENGTH_PERCENTILES},
                "max": int(lengths.max()),
                "mean": round(float(lengths.mean()), 1),
            },
            "skipped_invalid": len(dataset.skipped.get(split, [])),
        }
    return {
        "name": dataset.name,
        "source": dataset.source,
        "records": len(dataset),
        "labels": len(dataset.labels),
        "negative_labels": sorted(dataset.negative_labels),
        "splits": splits,
    }
