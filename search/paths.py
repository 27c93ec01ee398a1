"""Where a sweep lives: its folder layout (:class:`SweepPaths`), the sweeps under a storage, and
a saved sweep's config read back. Below the plan and the leaderboard, which both read sweeps
through it; ``search.plan`` re-exports every name."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from cluster.storage import Location, StorageUnreachable, local_mirror

from .config import ConfigError, SweepConfig, check_name, parse_sweep_text
from .results import ResultsStore

__all__ = ["SweepPaths", "load_saved_sweep", "sweep_names"]


@dataclass(frozen=True)
class SweepPaths:
    """Where a sweep's parts live, under ``<storage>/<name>`` (a folder or an object-store URI)."""

    root: Location

    @classmethod
    def of(cls, storage: str | Path | Location, name: str) -> SweepPaths:
        """The sweep ``name`` under ``storage``; a name that would leave the storage folder (or
        that a config could not give) is a :class:`ConfigError`, however it arrived."""
        try:
            check_name(name)
        except ValueError as err:
            raise ConfigError(f"sweep name: {err}") from None
        return cls(Location.parse(storage) / name)

    @property
    def storage(self) -> Location:
        return self.root.parent

    @property
    def config(self) -> Location:
        return self.root / "sweep.yaml"

    @property
    def studies(self) -> Path:
        """The SQLite file of the sweep's Optuna studies (unless ``search.study_storage`` names a
        database). SQLite needs a filesystem with locks: with object storage it is a local working
        copy, saved into the Tune experiment with the searcher's state (see :mod:`search.driver.sweep`)."""
        local = self.root.local
        return (local if local is not None else local_mirror(self.root, "studies")) / "optuna.db"

    @property
    def tune(self) -> Location:
        """The Tune experiment holding every size's trials."""
        return self.root / "tune" / "trials"

    @property
    def tune_rows(self) -> ResultsStore:
        """The rows of the trials the Tune experiment let go of (no longer in its saved state):
        a copy of theirs in the results store, kept with the experiment (lost-store recovery)."""
        return ResultsStore(self.tune, "ended-rows")

    @property
    def train(self) -> Location:
        return self.root / "train"

    @property
    def artifacts(self) -> Location:
        return self.root / "artifacts"

    @property
    def results(self) -> ResultsStore:
        return ResultsStore(self.root)


def load_saved_sweep(storage: str | Path, name: str) -> tuple[SweepConfig, SweepPaths]:
    paths = SweepPaths.of(storage, name)
    if not paths.config.is_file():
        raise FileNotFoundError(
            f"{paths.root}: no sweep named {name!r} here (no sweep.yaml); {_sweeps_at(paths.storage)}"
        )
    config = parse_sweep_text(paths.config.read_text(), source=str(paths.config))
    # The storage given now wins over the (possibly relative) one saved with the config.
    return replace(config, storage=str(paths.storage)), paths


def sweep_names(storage: str | Path | Location) -> list[str]:
    """The sweeps under ``storage`` (folders holding a ``sweep.yaml``), by name."""
    try:
        folders = Location.parse(storage).children()
    except StorageUnreachable:
        raise  # a store that does not answer is not an empty one
    except (OSError, ValueError):
        return []
    return sorted(f.name for f in folders if (f / "sweep.yaml").is_file())


def _sweeps_at(storage: Location) -> str:
    names = sweep_names(storage)
    if not names:
        return f"no sweep in {storage} yet (resweep sweep CONFIG starts one)"
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"sweeps in {storage}: {shown} (resweep list sweeps)"
