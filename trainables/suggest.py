"""What a search space asks a trial for: the part of ``optuna.Trial`` that architectures and
imbalance techniques use to state their search dimensions (``search_dimensions``), so that
neither they nor the spaces need Optuna itself (a grid or a test can stand in)."""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Suggester"]


class Suggester(Protocol):
    """The part of ``optuna.Trial`` a space uses (a grid or a test can stand in for it)."""

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int: ...
