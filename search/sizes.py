"""An in-domain size, one way everywhere: :class:`InDomainSize` (a fraction of the training pool
or a count of sentences), its study and file name (:func:`size_key`) and how it reads to a user
(:func:`size_text`). JSON and the results store keep the number (float64: a count comes back as
``3000.0``); :meth:`InDomainSize.of` reads either form back to the same value."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = ["InDomainSize", "size_key", "size_text"]


@dataclass(frozen=True)
class InDomainSize:
    """A regime's ``in_domain_size``: a fraction in (0, 1] of the in-domain training pool, or a
    count of sentences (an int above 1). Its Python type carries the meaning in configs (``0.5``
    is half the pool, ``300`` is 300 sentences); the results store writes every size as float64,
    and :meth:`of` reads that back: a whole number above 1 is a count. ``1`` (one sentence) is
    refused when a sweep is configured, so ``1.0`` from the store is always the whole pool."""

    value: float | int

    @classmethod
    def of(cls, raw: Any) -> InDomainSize:
        """The size ``raw`` names: a config's ``0.1`` or ``300``, a store's ``0.1`` or ``300.0``,
        or an :class:`InDomainSize`. Anything else (a string, zero, a negative, a fractional
        count, NaN) is a ``ValueError``."""
        if isinstance(raw, InDomainSize):
            return raw
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(
                f"an in-domain size is a fraction in (0, 1] or a count of sentences, got {raw!r}"
            )
        if isinstance(raw, int):
            if raw < 1:
                raise ValueError(f"an in-domain count must be at least 1, got {raw}")
            return cls(raw)
        if math.isnan(raw) or raw <= 0 or (raw > 1 and not raw.is_integer()):
            raise ValueError(
                f"an in-domain size is a fraction in (0, 1] or a whole count of sentences, got {raw:g}"
            )
        return cls(int(raw)) if raw > 1 else cls(float(raw))

    @classmethod
    def from_key(cls, key: str) -> InDomainSize:
        """The size a :attr:`key` names (``id0.1``, ``id1``: the whole pool, ``id3000``); a
        ``ValueError`` for anything else."""
        number = float(key.removeprefix("id")) if key.startswith("id") else float("nan")
        return cls.of(number)

    @property
    def is_count(self) -> bool:
        return isinstance(self.value, int)

    @property
    def key(self) -> str:
        """``id0.1``, ``id3000``: the name of the size's studies, progress and tracker files."""
        return f"id{self.value:g}" if isinstance(self.value, float) else f"id{self.value}"

    @property
    def text(self) -> str:
        """``10%``, ``11.11%``, ``300 sentences``: how the size reads to a user."""
        if isinstance(self.value, int):
            return f"{self.value} sentences"
        return f"{round(self.value * 100, 2):g}%"

    def __float__(self) -> float:
        """The number the results store writes (``in_domain_size``, float64)."""
        return float(self.value)

    def matches(self, stored: Any) -> bool:
        """Whether a results-store row's ``in_domain_size`` is this size (None matches nothing)."""
        return stored is not None and float(stored) == float(self.value)


def size_key(size: float | int | InDomainSize) -> str:
    """``0.1`` -> ``id0.1``, ``3000`` or ``3000.0`` -> ``id3000`` (study and progress names of a
    size): :attr:`InDomainSize.key`."""
    try:
        return InDomainSize.of(size).key
    except ValueError:  # not a size a sweep accepts: named as written
        return f"id{size:g}" if isinstance(size, float) else f"id{size}"


def size_text(size: float | int | InDomainSize) -> str:
    """How a size reads to a user, the one way everywhere (:attr:`InDomainSize.text`): a fraction
    of the training pool as a percentage (``0.1`` -> ``10%``, ``1.0`` -> ``100%``, ``0.111111`` ->
    ``11.11%``), a count as sentences (``300`` or the store's ``300.0`` -> ``300 sentences``).
    JSON keeps the number."""
    try:
        return InDomainSize.of(size).text
    except ValueError:  # not a size a sweep accepts (a placeholder 0): shown as a percentage
        return f"{round(float(size) * 100, 2):g}%"
