"""The seam for dataset file formats: a format turns one file into located records."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ..errors import DataError, Problem
from ..records import Record

__all__ = [
    "UNLABELED",
    "BaseFormat",
    "Located",
    "json_problem",
    "labels_optional",
    "labels_required",
    "normalise_split",
    "read_json_document",
    "read_text",
]

UNLABELED = ""  # the label of a record read without one (inside :func:`labels_optional`)
_LABELS_OPTIONAL: ContextVar[bool] = ContextVar("labels_optional", default=False)


@contextmanager
def labels_optional() -> Iterator[None]:
    """Inside: a record without a label is read with label :data:`UNLABELED`, not refused
    (sentences to predict). Parse caches are not used for such reads."""
    token = _LABELS_OPTIONAL.set(True)
    try:
        yield
    finally:
        _LABELS_OPTIONAL.reset(token)


def labels_required() -> bool:
    """Whether a record must carry a label (everywhere but :func:`labels_optional`)."""
    return not _LABELS_OPTIONAL.get()


_SPLIT_ALIASES = {
    "train": "train",
    "dev": "dev",
    "val": "dev",
    "valid": "dev",
    "validation": "dev",
    "test": "test",
}


@dataclass(frozen=True)
class Located:
    """A parsed record and where it came from (``line`` is 1-based, None for whole-document JSON)."""

    record: Record
    line: int | None


class BaseFormat(ABC):
    """One dataset file format.

    ``version`` is part of the parse-cache key: bump it whenever the parser's output changes.
    """

    name: ClassVar[str]
    version: ClassVar[int] = 1

    @abstractmethod
    def parse(self, path: Path, *, dataset: str, split: str) -> Iterator[Located | Problem]:
        """Yield the file's records, and a located :class:`Problem` for each bad record.

        Raise :class:`DataError` when the file as a whole cannot be read (empty, wrong encoding,
        broken JSON document). ``split`` is the split of records that do not name their own.
        """

    @classmethod
    def sniff(cls, path: Path, head: bytes) -> bool:
        """Whether a file starting with ``head`` looks like this format."""
        return False


def normalise_split(name: str) -> str | None:
    return _SPLIT_ALIASES.get(name.lower())


def read_text(path: Path) -> str:
    """The file as text: UTF-8 (a BOM is allowed), line endings normalised to ``\\n``."""
    data = path.read_bytes()
    if not data.strip():
        raise DataError.at(path, "file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise DataError.at(
            path,
            f"not valid UTF-8 (byte 0x{data[err.start]:02x} at column {column}); re-save the file as UTF-8",
            line=line,
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_json_document(path: Path) -> Any:
    """A whole-file JSON document, with the line and column of a syntax error."""
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        problem = json_problem(err, text, "file")
        raise DataError.at(path, f"{problem} (column {err.colno})", line=err.lineno) from None


def json_problem(err: json.JSONDecodeError, text: str, unit: str) -> str:
    """Say "truncated" when the JSON stops before it is complete, else the parser's message."""
    if err.pos >= len(text.rstrip()) or err.msg.startswith("Unterminated string"):
        return f"JSON ends early (truncated {unit}?)"
    return f"invalid JSON: {err.msg}"
