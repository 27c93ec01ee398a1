"""In-domain and out-of-domain data share no record.

An OOD record that is also an in-domain record (the same tokens and the same head and tail
spans, whatever its label) would put in-domain test and dev sentences into training, or train on
one sentence under two labels. :func:`without_shared` is the one rule, applied wherever an OOD
dataset meets its in-domain one (a sweep's checks, every trial, ``resweep data regimes``):

* the same dataset — one name, or one file read as both — is refused, as is an OOD dataset whose
  training records are all in-domain ones (a copy);
* a partial overlap is left out of the OOD dataset (every split), and the caller says how many.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from ..errors import ResweepError
from .datasets import RelationDataset

__all__ = ["OverlapError", "overlap_warning", "record_keys", "without_shared"]


class OverlapError(ResweepError):
    """The OOD dataset is the in-domain one, or a copy of it."""


def record_keys(table: pa.Table) -> list[str]:
    """One key per row: the tokens and both spans (labels, ids and splits aside)."""
    tokens = pc.binary_join(table["tokens"], "\x1f").to_pylist()
    spans = zip(
        *(table[c].to_pylist() for c in ("head_start", "head_end", "tail_start", "tail_end")), strict=True
    )
    return [f"{text}\x1e{hs},{he},{ts},{te}" for text, (hs, he, ts, te) in zip(tokens, spans, strict=True)]


def _same_files(in_domain: RelationDataset, ood: RelationDataset) -> str | None:
    """A file both datasets read, if any."""
    mine = {Path(f).resolve(): f for f in in_domain.files.values()}
    return next((mine[Path(f).resolve()] for f in ood.files.values() if Path(f).resolve() in mine), None)


def without_shared(in_domain: RelationDataset, ood: RelationDataset) -> tuple[RelationDataset, int]:
    """``ood`` without the records it shares with ``in_domain`` (any split), and how many were
    left out. :class:`OverlapError` when ``ood`` is ``in_domain`` or a copy of its records."""
    shared_file = _same_files(in_domain, ood)
    if shared_file is not None:
        raise OverlapError(
            f"the out-of-domain data reads {shared_file}, a file of the in-domain data: its training "
            "records would include in-domain test and dev records; name another dataset"
        )
    seen = {key for table in in_domain.splits.values() for key in record_keys(table)}
    kept: dict[str, pa.Table] = {}
    left_out = 0
    for split, table in ood.splits.items():
        mask = pa.array([key not in seen for key in record_keys(table)], pa.bool_())
        kept[split] = table.filter(mask)
        left_out += table.num_rows - kept[split].num_rows
    if not left_out:
        return ood, 0
    if "train" in ood.splits and kept["train"].num_rows == 0:
        what = "the in-domain dataset" if ood.name == in_domain.name else "a copy of the in-domain data"
        raise OverlapError(
            f"out-of-domain dataset {ood.name!r} is {what}: all its {ood['train'].num_rows:,} training "
            "records are in-domain records (same tokens and spans); name another dataset"
        )
    filtered = RelationDataset(ood.name, kept, ood.negative_labels, ood.source, dict(ood.files), ood.skipped)
    return filtered, left_out


def overlap_warning(ood: RelationDataset, left_out: int) -> str:
    """What a caller says when :func:`without_shared` left records out."""
    return (
        f"{left_out:,} of the {len(ood):,} records of out-of-domain dataset {ood.name!r} are also "
        "in-domain records (same tokens and spans): left out of the out-of-domain data"
    )
