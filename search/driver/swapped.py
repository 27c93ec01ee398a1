"""One name of a Ray module swapped for a sweep's experiment, and put back after.

resweep changes three of Tune's decisions for the length of ``tuner.fit()`` (how Ray tags the
run's callbacks, how many idle trial processes Tune keeps, when Tune lets go of an ended trial).
Ray has no setting for any of them, so each swaps one module-level name that Tune looks up when
the experiment starts. :func:`swapped` is that swap, in one place: scoped to a ``with`` block,
restored however the block ends, and a no-op on a Ray that lacks the module or the name (a later
version that builds things another way runs as Tune's own).
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["swapped"]


@contextlib.contextmanager
def swapped(module: str, name: str, replacement: Callable[[Any], Any]) -> Iterator[bool]:
    """Within: ``module.name`` is ``replacement(original)``. Yields whether it was swapped (False
    where Ray has no such module or name)."""
    try:
        owner = importlib.import_module(module)
    except ImportError:  # a Ray without the module (every one named is in the pinned Ray)
        yield False
        return
    original = getattr(owner, name, None)
    if original is None:
        yield False
        return
    setattr(owner, name, replacement(original))
    try:
        yield True
    finally:
        setattr(owner, name, original)
