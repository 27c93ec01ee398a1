"""How an in-domain size reads: one way in every output (boards, decisions, status, progress,
reports, messages); JSON keeps the number. And the name of a size's studies, progress and
tracker files (:func:`size_key`)."""

from __future__ import annotations

__all__ = ["size_key", "size_text"]


def size_key(size: float | int) -> str:
    """``0.1`` -> ``id0.1``, ``3000`` -> ``id3000`` (study and progress names of a size)."""
    return f"id{size:g}" if isinstance(size, float) else f"id{size}"


def size_text(size: float | int) -> str:
    """How a size reads to a user, the one way everywhere: a fraction of the training pool as a
    percentage (``0.1`` -> ``10%``, ``1.0`` -> ``100%``, ``0.111111`` -> ``11.11%``), a count as
    sentences (``300`` -> ``300 sentences``). Counts come back from the results store as floats:
    a size above 1 is a count (a count of 1 is refused when a sweep is configured). JSON keeps
    the number."""
    value = float(size)
    if value > 1:
        return f"{value:.0f} sentences"
    return f"{round(value * 100, 2):g}%"
