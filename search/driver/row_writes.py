"""The sweep callback's writes of result rows, off Tune's loop.

Tune runs its callbacks on the one thread that also starts trials, hands out proposals and takes
results. A row is a file in the results store: on a local disk a few milliseconds, in object
storage a request (tens of milliseconds to a server, more under load) — time in which no trial
starts and no result is taken. :class:`RowWriter` writes the rows in a few threads instead (the
storage requests release the GIL) and runs what must follow a stored row (the trial's checkpoints
may go, Tune may let the trial go, the trackers hear of it) back on Tune's thread, when the
callback next :meth:`~RowWriter.settle` s: at each step of Tune's loop, and, waiting for every
write, before Tune's experiment state is saved and when the experiment ends. So a saved state
never says a trial ended whose row is not stored yet, as when the write was made in line.

A row that cannot be written fails the sweep as it did in line, at the next settle; two rows of
one trial (an error, then the run Tune retries) are written in the order they came.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ..results import ResultsStore

__all__ = ["RowWriter"]

WRITERS = 8  # rows written at once (in object storage: requests in flight)


class RowWriter:
    """Writes rows to ``store`` in the background; see the module."""

    def __init__(self, store: ResultsStore, writers: int = WRITERS):
        self.store = store
        self._pool = ThreadPoolExecutor(max_workers=writers, thread_name_prefix="resweep-rows")
        # in the order written: (the write, trial name, what follows it on Tune's thread)
        self._pending: list[tuple[Future[Any], str, Callable[[], None]]] = []

    def write(self, row: Mapping[str, Any], then: Callable[[], None]) -> None:
        """Write ``row``; ``then()`` runs at the first :meth:`settle` after it is stored."""
        name = row["trial_name"]
        earlier = [write for write, pending_name, _ in self._pending if pending_name == name]
        futures.wait(earlier)  # the trial's earlier row lands first (a failure of it is raised at settle)
        self._pending.append((self._pool.submit(self.store.add, dict(row)), name, then))

    def settle(self, wait: bool = False) -> None:
        """Run what follows each stored row (``wait``: every pending one, waiting for its write),
        in the order the rows were written; a write that failed raises here."""
        while self._pending:
            done, _, then = self._pending[0]
            if not wait and not done.done():
                return
            done.result()  # raises the write's error
            self._pending.pop(0)
            then()

    def __len__(self) -> int:
        """Rows written whose follow-up has not run yet."""
        return len(self._pending)

    def close(self) -> None:
        """Wait for every write and stop the threads (what follows a row: see :meth:`settle`)."""
        try:
            self.settle(wait=True)
        finally:
            self._pool.shutdown(wait=True)
