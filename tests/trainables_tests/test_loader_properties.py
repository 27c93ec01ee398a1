"""Every loader, fed mutated valid files and random bytes: it returns records that keep the record
rules, or raises resweep's own DataError — never another exception, never a bad record."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainables.data.errors import DataError
from trainables.data.formats import FORMATS
from trainables.data.loading import parse_file
from trainables.data.records import Record, records_to_table, table_to_records

FIXTURES = Path(__file__).parent / "fixtures"
FILES = {
    "semeval": FIXTURES / "semeval_train.txt",
    "tacred": FIXTURES / "tacred.json",
    "fewrel": FIXTURES / "fewrel.json",
    "jsonl": FIXTURES / "records.jsonl",
}
SUFFIX = {"semeval": ".txt", "tacred": ".json", "fewrel": ".json", "jsonl": ".jsonl", "parquet": ".parquet"}


def _valid(name: str) -> bytes:
    if name in FILES:
        return FILES[name].read_bytes()
    records = [
        Record("p1", ("Ann", "founded", "ACME"), 0, 1, 2, 3, "founded", "x", "train", "PERSON", "ORG"),
        Record("p2", ("Bob", "left", "Oslo"), 0, 1, 2, 3, "no_relation", "x", "train"),
    ]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.parquet"
        pq.write_table(records_to_table(records), path)
        return path.read_bytes()


VALID = {name: _valid(name) for name in FORMATS.names()}


@st.composite
def mutated(draw: st.DrawFn, name: str) -> bytes:
    """A valid file of format ``name`` with a few random edits: cut, insert, overwrite, repeat."""
    data = bytearray(VALID[name])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["cut", "insert", "overwrite", "repeat"]))
        at = draw(st.integers(0, len(data)))
        if kind == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "overwrite" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "repeat":
            data[at:at] = data[max(0, at - 80) : at]
    return bytes(data)


def _check(name: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"train{SUFFIX[name]}"
        path.write_bytes(content)
        try:
            table = parse_file(path, name, dataset="d", split="train", cache=False)
        except DataError as err:
            assert str(err).strip(), "an error with nothing to say"
            return
    records = table_to_records(table)
    assert records
    ids = [r.id for r in records]
    assert len(set(ids)) == len(ids)
    for record in records:
        n = len(record.tokens)
        assert n > 0 and all(isinstance(t, str) for t in record.tokens)
        assert 0 <= record.head_start < record.head_end <= n
        assert 0 <= record.tail_start < record.tail_end <= n
        assert record.head_end <= record.tail_start or record.tail_end <= record.head_start
        assert isinstance(record.label, str) and record.label.strip()


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("name", FORMATS.names())
@SETTINGS
@given(data=st.data())
def test_a_mutated_file_gives_good_records_or_a_data_error(name: str, data: st.DataObject) -> None:
    _check(name, data.draw(mutated(name)))


@pytest.mark.parametrize("name", FORMATS.names())
@SETTINGS
@given(content=st.binary(max_size=400))
def test_random_bytes_give_a_data_error_or_good_records(name: str, content: bytes) -> None:
    _check(name, content)
