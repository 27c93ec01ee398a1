"""Parquet: the record schema directly (a ``split`` column may hold several splits), or any
columns :mod:`._mapping` accepts (for example ``text`` with inline markers and ``label``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import DataError, Problem
from ._base import BaseFormat, Located
from ._mapping import FieldError, record_from_mapping


class ParquetFormat(BaseFormat):
    name = "parquet"

    def parse(self, path: Path, *, dataset: str, split: str) -> Iterator[Located | Problem]:
        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise DataError.at(path, f"not a readable Parquet file ({err})") from None
        if table.num_rows == 0:
            raise DataError.at(path, "file is empty (0 rows)")
        if "dataset" in table.column_names:
            table = table.drop_columns(["dataset"])  # the loader names the dataset
        try:
            table.validate(full=True)  # e.g. a string column that is not UTF-8 (a damaged file)
            rows = table.to_pylist()
        except (pa.ArrowInvalid, UnicodeDecodeError) as err:
            raise DataError.at(path, f"damaged Parquet data ({str(err).splitlines()[0]})") from None
        for index, row in enumerate(rows):
            default_id = f"{split}-{index}"
            try:
                record = record_from_mapping(row, default_id=default_id, dataset=dataset, split=split)
            except FieldError as err:
                yield Problem(str(path), f"row {index}: {err}", record=str(row.get("id") or default_id))
                continue
            yield Located(record, None)

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return head.startswith(b"PAR1")
