"""Parse one data file into a record table: format detection, record checks, Parquet cache.

A parsed file is cached as Parquet under ``<cache dir>/parsed/`` keyed by the sha256 of its bytes,
the format (and its parser version), the schema version, and the dataset/split names it was
parsed under. A second load of an unchanged file reads the Parquet; a changed file gets a new key
and is re-parsed. Nothing is cached for a file with problems, and cache files appear atomically
(written under a temporary name, then renamed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from cluster.storage import atomic_file, cache_dir

from ..errors import ResweepError
from .errors import DataError, Problem
from .formats import Located, detect_format, get_format
from .formats._base import labels_required
from .records import SCHEMA_VERSION, records_to_table

__all__ = [
    "ON_INVALID",
    "atomic_write_parquet",
    "cache_dir",
    "check_records",
    "parse_file",
    "skipped_problems",
]

MAX_PROBLEMS = 50  # per file; past this, one more line says how many were left out
ON_INVALID = ("error", "skip")
_SKIPPED_KEY = b"resweep.skipped"
# Bump when :func:`check_records` refuses more: a file cached before must be checked again.
CHECKS_VERSION = 2


def skipped_problems(table: pa.Table) -> list[str]:
    """The problems of the records left out of ``table`` by ``on_invalid="skip"``."""
    raw = (table.schema.metadata or {}).get(_SKIPPED_KEY)
    return json.loads(raw) if raw else []


def atomic_write_parquet(table: pa.Table, target: Path) -> None:
    """Write ``table`` to ``target`` so that readers see the whole file or none of it."""
    with atomic_file(target) as temporary:
        pq.write_table(table, temporary)


def _span_problem(name: str, start: int, end: int, tokens: tuple[str, ...]) -> str | None:
    length = len(tokens)
    if start >= end:
        return f"{name} span [{start}, {end}) is empty"
    if start < 0 or end > length:
        return f"{name} span [{start}, {end}) is outside the sentence ({length} tokens)"
    mention = "".join(tokens[start:end])
    # A no-break space, a zero-width space: a span that shows nothing marks no entity.
    if not any(ch.isprintable() and not ch.isspace() for ch in mention):
        return f"{name} mention {mention!r} at [{start}, {end}) is only whitespace"
    return None


def check_records(path: Path, located: Iterable[Located | Problem]) -> tuple[list[Located], list[Problem]]:
    """Check each record: tokens, spans inside the sentence, head/tail disjoint, label, unique id.

    Returns the good records and the problems (the parser's own and those found here).
    """
    kept: list[Located] = []
    problems: list[Problem] = []
    seen: dict[str, int | None] = {}
    for item in located:
        if isinstance(item, Problem):
            problems.append(item)
            continue
        record, line = item.record, item.line
        before = len(problems)

        def problem(message: str, record_id: str = record.id, line: int | None = line) -> None:
            problems.append(Problem(str(path), message, line=line, record=record_id))

        length = len(record.tokens)
        if length == 0:
            problem("sentence has no tokens")
        for name, (start, end) in (("head", record.head), ("tail", record.tail)):
            message = _span_problem(name, start, end, record.tokens)
            if message:
                problem(message)
        if record.head_start < record.tail_end and record.tail_start < record.head_end:
            problem(
                f"head span [{record.head_start}, {record.head_end}) and tail span "
                f"[{record.tail_start}, {record.tail_end}) overlap"
            )
        if not record.label.strip() and labels_required():
            problem("empty relation label")
        if record.id in seen:
            first = seen[record.id]
            problem(f"duplicate id {record.id!r}" + (f" (first on line {first})" if first else ""))
        else:
            seen[record.id] = line
        if len(problems) == before:
            kept.append(item)
    return kept, problems


def _file_digest(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def parse_file(
    path: str | Path,
    format: str | None = None,
    *,
    dataset: str,
    split: str,
    cache: bool = True,
    on_invalid: str = "error",
) -> pa.Table:
    """Parse ``path`` (format detected when None) into a table with the record schema.

    With ``on_invalid="error"`` any bad record raises :class:`DataError` listing every problem
    found (located: file, line or record id). With ``"skip"`` bad records are left out and their
    problems are kept in the table's metadata (see :func:`skipped_problems`).
    """
    if on_invalid not in ON_INVALID:
        raise ResweepError(f"on_invalid must be one of {', '.join(ON_INVALID)}, got {on_invalid!r}")
    path = Path(path)
    if not path.is_file():
        raise DataError.at(path, "no such file" if not path.exists() else "not a file")
    format = format or detect_format(path)
    parser = get_format(format)
    cache = cache and labels_required()  # a read without labels is not the dataset's parse
    key = hashlib.sha256(
        f"{_file_digest(path)}|{format}|{parser.version}|{SCHEMA_VERSION}|{dataset}|{split}|{on_invalid}"
        f"|{CHECKS_VERSION}".encode()
    ).hexdigest()[:32]
    cached = cache_dir() / "parsed" / f"{key}.parquet"
    if cache and cached.is_file():
        try:
            return pq.read_table(cached)
        except (pa.ArrowInvalid, OSError):
            cached.unlink(missing_ok=True)  # unreadable cache entry: parse again

    located, problems = check_records(path, parser.parse(path, dataset=dataset, split=split))
    if problems and on_invalid == "error":
        if len(problems) > MAX_PROBLEMS:
            left_out = len(problems) - MAX_PROBLEMS
            problems = [*problems[:MAX_PROBLEMS], Problem(str(path), f"{left_out} more problem(s) not shown")]
        raise DataError(problems)
    if not located:
        raise DataError.at(path, "no valid records")
    table = records_to_table(item.record for item in located)
    if problems:
        metadata = dict(table.schema.metadata or {})
        metadata[_SKIPPED_KEY] = json.dumps([str(p) for p in problems]).encode()
        table = table.replace_schema_metadata(metadata)
    if cache:
        atomic_write_parquet(table, cached)
    return table
