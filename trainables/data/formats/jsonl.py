"""JSON lines: one record per line, in any shape :mod:`._mapping` accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from ..errors import Problem
from ._base import BaseFormat, Located, json_problem, read_text
from ._mapping import FieldError, record_from_mapping


class JsonlFormat(BaseFormat):
    name = "jsonl"

    def parse(self, path: Path, *, dataset: str, split: str) -> Iterator[Located | Problem]:
        for number, line in enumerate(read_text(path).split("\n"), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                problem = json_problem(err, line, "line")
                yield Problem(str(path), f"{problem} (column {err.colno})", line=number)
                continue
            default_id = f"{split}-{number}"
            try:
                record = record_from_mapping(obj, default_id=default_id, dataset=dataset, split=split)
            except FieldError as err:
                record_id = str(obj.get("id", default_id)) if isinstance(obj, dict) else default_id
                yield Problem(str(path), str(err), line=number, record=record_id)
                continue
            yield Located(record, number)

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        first = next((line for line in head.splitlines() if line.strip()), b"")
        if not first.lstrip().startswith(b"{"):
            return False
        try:
            obj = json.loads(first)
        except ValueError:
            return False  # a pretty-printed or truncated document: not one object per line
        keys = {"tokens", "token", "text", "label", "relation"}
        return isinstance(obj, dict) and bool(keys & obj.keys())
