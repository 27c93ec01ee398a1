"""FewRel: ``{relation: [{"tokens": [...], "h": [name, id, [[positions]]], "t": [...]}, ...]}``.

The first mention of each entity is used; its token positions must be contiguous.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DataError, Problem
from ..records import Record
from ._base import BaseFormat, Located, read_json_document


class _EntityError(ValueError):
    pass


def _span(entity: Any, which: str) -> tuple[int, int]:
    try:
        positions = list(entity[2][0])
    except (TypeError, IndexError, KeyError):
        raise _EntityError(f"`{which}` must be [name, id, [[token positions]]]") from None
    if not all(type(p) is int for p in positions):  # int("3"), int(0.5), int(True) would hide it
        raise _EntityError(f"`{which}` token positions must be integers, got {positions!r}")
    if not positions:
        raise _EntityError(f"`{which}` mention has no token positions")
    start, end = min(positions), max(positions) + 1
    if sorted(positions) != list(range(start, end)):
        raise _EntityError(f"`{which}` positions {positions} are not contiguous")
    return start, end


class FewRelFormat(BaseFormat):
    name = "fewrel"

    def parse(self, path: Path, *, dataset: str, split: str) -> Iterator[Located | Problem]:
        document = read_json_document(path)
        if not isinstance(document, dict) or not all(isinstance(v, list) for v in document.values()):
            raise DataError.at(
                path, "expected a JSON object mapping each relation to a list of examples (FewRel layout)"
            )
        for relation, examples in document.items():
            for index, item in enumerate(examples):
                record_id = f"{relation}-{index}"
                if not isinstance(item, dict) or not {"tokens", "h", "t"} <= item.keys():
                    yield Problem(str(path), "example needs `tokens`, `h` and `t`", record=record_id)
                    continue
                try:
                    head, tail = _span(item["h"], "h"), _span(item["t"], "t")
                except _EntityError as err:
                    yield Problem(str(path), str(err), record=record_id)
                    continue
                yield Located(
                    Record.of_spans(
                        record_id,
                        [str(t) for t in item["tokens"]],
                        head,
                        tail,
                        relation,
                        dataset=dataset,
                        split=split,
                    ),
                    None,
                )
