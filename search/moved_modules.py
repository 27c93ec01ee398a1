"""Module names from before ``search/`` was divided into rooms, kept importable.

A Tune experiment saved by an earlier resweep pickles its searcher, studies and callback by
their module path (``search.searchers.PerSizeSearch``, ``search.callback.SweepCallback``, ...);
resuming or extending it unpickles those names. :func:`install` (run by ``import search``) lets
each old name import as the module it became: the same module object, so a class read back is
the class of today. User code that imports the old names keeps working as well."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType

__all__ = ["MOVED", "install"]

MOVED = {
    f"search.{module}": f"search.{room}.{module}"
    for room, modules in {
        "driver": (
            "sweep",
            "searchers",
            "schedulers",
            "studies",
            "callback",
            "checkpoints",
            "progress",
            "preflight",
            "extend",
            "estimate",
        ),
        "answer": ("leaderboard", "decision", "sequential", "curves", "annotation", "report"),
        "models": ("train", "predict"),
    }.items()
    for module in modules
}


class _OldNames(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old module name and loads it as the module it moved to."""

    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module was run under its new name."""


def install() -> None:
    """Put the finder first on ``sys.meta_path``, once: an old name always means the module it
    became, never a stale file of that name that an older copy of resweep left behind."""
    if not any(isinstance(finder, _OldNames) for finder in sys.meta_path):
        sys.meta_path.insert(0, _OldNames())
