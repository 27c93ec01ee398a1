"""One JSON-like object -> a record. Shared by the ``jsonl`` and ``parquet`` formats.

Three shapes are accepted (see docs/guides/data.md, "Formats"):

* resweep: ``{"id", "tokens", "head": {"start", "end", "type"?}, "tail": {...}, "label", "split"?}``
  (spans ``[start, end)``); flat ``head_start``/``head_end``/``tail_start``/``tail_end``/
  ``head_type``/``tail_type`` columns are the same thing;
* OpenNRE: ``{"token", "h": {"pos": [start, end], "type"?}, "t": {...}, "relation"}``;
* text with inline markers: ``{"id"?, "text": "... <e1>..</e1> .. <e2>..</e2> ...", "label"}``
  (``[[ head ]]`` / ``<< tail >>`` also work), with optional ``head_type``/``tail_type``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..inline import MarkerError, parse_marked_text
from ..records import Record
from ._base import UNLABELED, labels_required, normalise_split

__all__ = ["FieldError", "record_from_mapping"]


class FieldError(ValueError):
    """A missing or ill-typed field (the caller adds file and line)."""


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(f"`{name}` must be an integer, got {value!r}")
    return value


def _span(value: Any, name: str) -> tuple[int, int]:
    if isinstance(value, Mapping):
        if "pos" in value:
            value = value["pos"]
        else:
            return _int(value.get("start"), f"{name}.start"), _int(value.get("end"), f"{name}.end")
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise FieldError(f"`{name}` must be a [start, end) pair of token offsets")
    return _int(value[0], f"{name}[0]"), _int(value[1], f"{name}[1]")


def _type(entity: Any, flat: Any) -> str | None:
    if isinstance(entity, Mapping) and entity.get("type") is not None:
        return str(entity["type"])
    return None if flat is None else str(flat)


def _label(obj: Mapping[str, Any]) -> str:
    """The label's text. An integer class id is taken as its digits (``3`` -> ``"3"``); a float,
    boolean, list or object is an error (``0.5``, ``true`` would be silently new labels)."""
    for key in ("label", "relation"):
        value = obj.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise FieldError(f"`{key}` must be a label (text, or an integer class id), got {value!r}")
        return str(value)
    if not labels_required():
        return UNLABELED
    raise FieldError("missing `label` (or `relation`)")


def record_from_mapping(obj: Any, *, default_id: str, dataset: str, split: str) -> Record:
    if not isinstance(obj, Mapping):
        raise FieldError("expected a JSON object")
    record_split = split
    if obj.get("split") is not None:
        normalised = normalise_split(str(obj["split"]))
        if normalised is None:
            raise FieldError(f"unknown split {obj['split']!r} (use train, dev or test)")
        record_split = normalised
    record_id = str(obj["id"]) if obj.get("id") is not None else default_id
    label = _label(obj)
    head_type, tail_type = obj.get("head_type"), obj.get("tail_type")

    if "text" in obj and "tokens" not in obj and "token" not in obj:
        if not isinstance(obj["text"], str):
            raise FieldError("`text` must be a string")
        try:
            parsed = parse_marked_text(obj["text"])
        except MarkerError as err:
            raise FieldError(str(err)) from None
        tokens, head, tail = parsed.tokens, parsed.head, parsed.tail
    else:
        raw_tokens = obj.get("tokens", obj.get("token"))
        if raw_tokens is None:
            raise FieldError("needs `tokens` (or `token`, or `text` with inline markers)")
        if not isinstance(raw_tokens, (list, tuple)) or not all(isinstance(t, str) for t in raw_tokens):
            raise FieldError("`tokens` must be a list of strings")
        tokens = tuple(raw_tokens)
        if "head_start" in obj:
            head = (_int(obj["head_start"], "head_start"), _int(obj.get("head_end"), "head_end"))
            tail = (_int(obj.get("tail_start"), "tail_start"), _int(obj.get("tail_end"), "tail_end"))
        else:
            head_entity, tail_entity = obj.get("head", obj.get("h")), obj.get("tail", obj.get("t"))
            if head_entity is None or tail_entity is None:
                raise FieldError("needs `head` and `tail` spans (or `h` and `t`)")
            head, tail = _span(head_entity, "head"), _span(tail_entity, "tail")
            head_type, tail_type = _type(head_entity, head_type), _type(tail_entity, tail_type)

    return Record.of_spans(
        record_id,
        tokens,
        head,
        tail,
        label,
        dataset=dataset,
        split=record_split,
        head_type=None if head_type is None else str(head_type),
        tail_type=None if tail_type is None else str(tail_type),
    )
