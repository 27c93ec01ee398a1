"""TACRED / TACREV / Re-TACRED: one JSON array of objects per split.

Keys used: ``id``, ``token`` (PTB tokens), ``subj_start``/``subj_end``/``obj_start``/``obj_end``
(inclusive), ``subj_type``/``obj_type``, ``relation``. PTB bracket codes are mapped back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ..errors import DataError, Problem
from ..records import Record
from ._base import UNLABELED, BaseFormat, Located, labels_required, read_json_document

PTB_BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_REQUIRED = ("token", "subj_start", "subj_end", "obj_start", "obj_end", "relation")


class TacredFormat(BaseFormat):
    name = "tacred"

    def parse(self, path: Path, *, dataset: str, split: str) -> Iterator[Located | Problem]:
        document = read_json_document(path)
        if not isinstance(document, list):
            raise DataError.at(path, "expected a JSON array of examples (TACRED layout)")
        for index, item in enumerate(document):
            record_id = str(item.get("id", f"{split}-{index}")) if isinstance(item, dict) else f"#{index}"
            if not isinstance(item, dict):
                yield Problem(str(path), "example is not a JSON object", record=record_id)
                continue
            if "relation" not in item and not labels_required():
                item = {**item, "relation": UNLABELED}  # a sentence to predict
            missing = [key for key in _REQUIRED if key not in item]
            if missing:
                yield Problem(str(path), f"missing key(s) {', '.join(missing)}", record=record_id)
                continue
            # Integers only: int("3"), int(0.5) and int(True) would quietly make other offsets.
            offsets = {key: item[key] for key in ("subj_start", "subj_end", "obj_start", "obj_end")}
            wrong = [f"{k}={v!r}" for k, v in offsets.items() if type(v) is not int]
            if wrong:
                yield Problem(
                    str(path), f"span offsets must be integers, got {', '.join(wrong)}", record=record_id
                )
                continue
            spans = list(offsets.values())
            relation = item["relation"]
            if relation == UNLABELED and not labels_required():
                pass
            elif not isinstance(relation, str) or not relation.strip():
                yield Problem(
                    str(path), f"`relation` must be a label (text), got {relation!r}", record=record_id
                )
                continue
            tokens = item["token"]
            if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
                yield Problem(str(path), "`token` must be a list of strings", record=record_id)
                continue
            yield Located(
                Record(
                    id=record_id,
                    tokens=tuple(PTB_BRACKETS.get(str(t), str(t)) for t in tokens),
                    head_start=spans[0],
                    head_end=spans[1] + 1,  # inclusive -> exclusive
                    tail_start=spans[2],
                    tail_end=spans[3] + 1,
                    label=relation,
                    dataset=dataset,
                    split=split,
                    head_type=item.get("subj_type"),
                    tail_type=item.get("obj_type"),
                ),
                None,
            )

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        return head.lstrip().startswith(b"[")
