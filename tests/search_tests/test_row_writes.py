"""The sweep callback's row writes off Tune's loop (search.driver.row_writes)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from search.driver.row_writes import RowWriter
from search.results import ResultsStore


def _row(name: str, status: str = "finished") -> dict[str, Any]:
    return {"sweep": "w", "trial_name": name, "status": status}


class GatedStore(ResultsStore):
    """A store whose writes of the rows named in ``gates`` wait until their gate opens."""

    def __init__(self, folder: Path):
        super().__init__(folder)
        self.gates: dict[str, threading.Event] = {}

    def add(self, row: Any) -> Any:
        gate = self.gates.get(f"{row['trial_name']}:{row['status']}")
        if gate is not None:
            assert gate.wait(30)
        return super().add(row)


def test_a_write_returns_before_the_row_is_stored_and_what_follows_runs_after(tmp_path: Path) -> None:
    store = GatedStore(tmp_path)
    store.gates["a:finished"] = gate = threading.Event()
    followed: list[str] = []
    writer = RowWriter(store)
    writer.write(_row("a"), then=lambda: followed.append("a"))
    writer.write(_row("b"), then=lambda: followed.append("b"))
    assert store.get("a") is None  # the caller (Tune's loop) did not wait for it
    writer.settle()
    assert followed == []  # a is not stored: nothing follows, b's neither (in the order written)
    gate.set()
    writer.settle(wait=True)
    assert followed == ["a", "b"] and len(writer) == 0
    assert store.get("a") is not None and store.get("b") is not None
    writer.close()


def test_two_rows_of_one_trial_land_in_the_order_written(tmp_path: Path) -> None:
    # An error row held up in its write, then the row of the run Tune retried: the second wins.
    store = GatedStore(tmp_path)
    store.gates["t:error"] = gate = threading.Event()
    writer = RowWriter(store)
    writer.write(_row("t", "error"), then=lambda: None)
    threading.Timer(0.3, gate.set).start()
    writer.write(_row("t", "finished"), then=lambda: None)
    writer.close()
    row = store.get("t")
    assert row is not None and row["status"] == "finished"


def test_a_row_that_cannot_be_written_fails_at_the_next_settle(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    followed: list[str] = []
    writer = RowWriter(store)
    writer.write({"sweep": "w", "trial_name": "bad", "status": 3.5}, then=lambda: followed.append("bad"))
    with pytest.raises((TypeError, ValueError)):  # pyarrow's: a float is no status
        writer.settle(wait=True)
    assert followed == [] and store.get("bad") is None
    with pytest.raises((TypeError, ValueError)):
        writer.close()
