"""Dataset file formats, registered by the names users pass as ``--format``."""

from __future__ import annotations

from pathlib import Path

from ...registry import Registry
from ..errors import DataError
from ._base import BaseFormat, Located
from .fewrel import FewRelFormat
from .jsonl import JsonlFormat
from .parquet import ParquetFormat
from .semeval import SemEvalFormat
from .tacred import TacredFormat

__all__ = ["FORMATS", "BaseFormat", "Located", "detect_format", "get_format"]

FORMATS: Registry[type[BaseFormat]] = Registry("format")
for _format in (SemEvalFormat, TacredFormat, FewRelFormat, JsonlFormat, ParquetFormat):
    FORMATS.register(_format.name, _format)

# Sniffing order matters: FewRel is the fallback for a JSON object that is not one record per line.
_SNIFF_ORDER = ("parquet", "semeval", "tacred", "jsonl")


def get_format(name: str) -> BaseFormat:
    return FORMATS.get(name)()


def detect_format(path: Path) -> str:
    """Guess a file's format from its first bytes; raise a located error when nothing fits."""
    with open(path, "rb") as handle:
        head = handle.read(1 << 16)
    if head.startswith(b"\x1f\x8b"):
        raise DataError.at(path, "is gzip-compressed; decompress it first (gunzip)")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError.at(path, "is UTF-16 text; re-save it as UTF-8")
    head = head.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 BOM (Excel, Notepad): the text follows
    if not head.strip():
        raise DataError.at(path, "file is empty")
    for name in _SNIFF_ORDER:
        if FORMATS.get(name).sniff(path, head):
            return name
    if head.lstrip().startswith(b"{"):
        return "fewrel"
    raise DataError.at(path, f"cannot tell the format; pass --format (one of: {', '.join(FORMATS.names())})")
