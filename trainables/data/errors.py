"""Located errors for bad data: every message names the file, the line or record, and the problem."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ResweepError

__all__ = ["DataError", "Problem"]


@dataclass(frozen=True)
class Problem:
    """One problem found in a data file.

    ``line`` is 1-based; ``record`` is the record id when the problem belongs to one record.
    """

    path: str
    message: str
    line: int | None = None
    record: str | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.record is not None:
            where += f": record {self.record!r}"
        return f"{where}: {self.message}"


class DataError(ResweepError):
    """Raised for malformed or inconsistent data. ``str()`` is one located line per problem."""

    def __init__(self, problems: list[Problem] | Problem):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        if not self.problems:
            raise ResweepError("DataError needs at least one problem")
        first = str(self.problems[0])
        more = len(self.problems) - 1
        super().__init__(first if more == 0 else f"{first} (and {more} more problem(s))")

    @classmethod
    def at(
        cls, path: str | Path, message: str, *, line: int | None = None, record: str | None = None
    ) -> DataError:
        return cls(Problem(str(path), message, line=line, record=record))
