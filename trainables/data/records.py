"""The record: one relation-extraction example, and its Arrow schema.

Span convention (used everywhere in resweep): a span is a pair of 0-based *token* offsets
``[start, end)`` into ``tokens`` — start inclusive, end exclusive, as in Python slicing, so the
mention is ``tokens[start:end]`` and its length is ``end - start >= 1``. The *head* is the first
argument of the relation (SemEval ``e1``, TACRED ``subj``, FewRel ``h``), the *tail* the second.
Directional labels such as ``Cause-Effect(e2,e1)`` keep their own direction in the label string.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

__all__ = [
    "RECORD_SCHEMA",
    "SCHEMA_VERSION",
    "SPLITS",
    "Record",
    "records_to_table",
    "table_to_records",
]

# Bump when the schema or a parser's output changes: it is part of every parse-cache key.
SCHEMA_VERSION = 1

# Canonical split names; loaders map `val`/`valid`/`validation` to `dev`.
SPLITS = ("train", "dev", "test")

RECORD_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("tokens", pa.list_(pa.string()), nullable=False),
        pa.field("head_start", pa.int32(), nullable=False),
        pa.field("head_end", pa.int32(), nullable=False),
        pa.field("tail_start", pa.int32(), nullable=False),
        pa.field("tail_end", pa.int32(), nullable=False),
        pa.field("head_type", pa.string(), nullable=True),
        pa.field("tail_type", pa.string(), nullable=True),
        pa.field("label", pa.string(), nullable=False),
        pa.field("dataset", pa.string(), nullable=False),
        pa.field("split", pa.string(), nullable=False),
    ],
    metadata={"resweep.schema_version": str(SCHEMA_VERSION)},
)


@dataclass(frozen=True)
class Record:
    """One RE example. Spans are ``[start, end)`` token offsets (see the module docstring)."""

    id: str
    tokens: tuple[str, ...]
    head_start: int
    head_end: int
    tail_start: int
    tail_end: int
    label: str
    dataset: str
    split: str
    head_type: str | None = None
    tail_type: str | None = None

    @property
    def head(self) -> tuple[int, int]:
        return (self.head_start, self.head_end)

    @property
    def tail(self) -> tuple[int, int]:
        return (self.tail_start, self.tail_end)

    @property
    def head_text(self) -> str:
        return " ".join(self.tokens[self.head_start : self.head_end])

    @property
    def tail_text(self) -> str:
        return " ".join(self.tokens[self.tail_start : self.tail_end])

    @classmethod
    def of_spans(
        cls,
        id: str,
        tokens: Sequence[str],
        head: tuple[int, int],
        tail: tuple[int, int],
        label: str,
        *,
        dataset: str,
        split: str,
        head_type: str | None = None,
        tail_type: str | None = None,
    ) -> Record:
        """A record from ``[start, end)`` spans (how parsers and generators find them)."""
        return cls(
            id, tuple(tokens), head[0], head[1], tail[0], tail[1], label, dataset, split, head_type, tail_type
        )

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Record:
        return cls(
            id=row["id"],
            tokens=tuple(row["tokens"]),
            head_start=int(row["head_start"]),
            head_end=int(row["head_end"]),
            tail_start=int(row["tail_start"]),
            tail_end=int(row["tail_end"]),
            label=row["label"],
            dataset=row["dataset"],
            split=row["split"],
            head_type=row.get("head_type"),
            tail_type=row.get("tail_type"),
        )


def records_to_table(records: Iterable[Record]) -> pa.Table:
    """Build a table with :data:`RECORD_SCHEMA` from records."""
    # Field by field (dataclasses.asdict deep-copies every token: 10x slower on a trial's cold start)
    columns: dict[str, list[Any]] = {name: [] for name in RECORD_SCHEMA.names}
    for record in records:
        for name in RECORD_SCHEMA.names:
            value = getattr(record, name)
            columns[name].append(list(value) if name == "tokens" else value)
    return pa.Table.from_pydict(columns, schema=RECORD_SCHEMA)


def table_to_records(table: pa.Table) -> list[Record]:
    """The inverse of :func:`records_to_table`."""
    return [Record.from_row(row) for row in table.to_pylist()]
