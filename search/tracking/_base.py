"""What every tracker is told, and the ``tracking:`` section of a sweep config.

A tracker sees the sweep through five calls, made in order on the tracking thread (never on
Tune's): :meth:`BaseTracker.open` once, then per trial :meth:`~BaseTracker.epoch` for each report
and :meth:`~BaseTracker.ended` once, :meth:`~BaseTracker.size_done` when a size has every row it
will have, and :meth:`~BaseTracker.close`. A trial is known by its results-store name (stable
across resumes), so a tracker that names its runs after it continues the same run on a resume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trainables.errors import ResweepError

from ..registries import chosen_names

__all__ = ["TRACKER_NAMES", "BaseTracker", "TrackerMissing", "TrackingSection", "TrialInfo"]

TRACKER_NAMES = ("mlflow", "wandb", "tensorboard")
INSTALL_HINT = "pip install 'resweep[tracking]'"
# Tracking URI schemes MLflow has stores for (a database URL may name its driver: postgresql+psycopg).
MLFLOW_SCHEMES = (
    "file",
    "http",
    "https",
    "sqlite",
    "postgresql",
    "mysql",
    "mssql",
    "databricks",
    "databricks-uc",
)
MAX_TIMEOUT = 86_400.0  # tracking.timeout: a day at most (the end of a sweep waits this long)


class TrackerMissing(ResweepError):
    """A tracker was asked for whose package is not installed."""


@dataclass(frozen=True)
class TrackingSection:
    """The ``tracking:`` section: which experiment trackers see the sweep (none by default).

    ``trackers``: any of ``mlflow``, ``wandb``, ``tensorboard``. ``mlflow_uri``: a tracking URI
    (``http://host:5000``, ``sqlite:///path.db``, ``databricks``); empty: a local store in the
    sweep's folder (``<sweep>/mlflow/mlflow.db`` and its artifacts beside it).
    ``mlflow_experiment``/``wandb_project``: default the sweep's name / ``resweep``.
    ``wandb_mode``: ``offline`` (run files under ``<sweep>/wandb/``; ``wandb sync`` uploads them)
    or ``online``. ``timeout``: the seconds the end of a sweep waits for trackers to finish
    sending; what is left then is dropped with one warning (the results store has it all).
    """

    trackers: tuple[str, ...] = ()
    mlflow_uri: str = ""
    mlflow_experiment: str = ""
    wandb_mode: str = "offline"
    wandb_project: str = "resweep"
    wandb_entity: str = ""
    timeout: float = 30.0

    @property
    def on(self) -> bool:
        return bool(self.trackers)

    def document(self) -> dict[str, Any]:
        """The section as ``sweep.yaml`` holds it (only what differs from the defaults)."""
        default = TrackingSection()
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in self.__dict__.items()
            if value != getattr(default, key)
        }


def parse_tracking(raw: Any, fail: Any) -> TrackingSection:
    """The ``tracking:`` section from YAML: a list of trackers, ``off``, or a mapping of the keys
    of :class:`TrackingSection`; ``fail(path, message)`` makes the located error."""
    if raw is None or raw is False or raw == "off":
        return TrackingSection()
    if isinstance(raw, (str, list, tuple)):
        raw = {"trackers": raw}
    if not isinstance(raw, Mapping):
        raise fail("tracking", f"expected a list of trackers ({', '.join(TRACKER_NAMES)}) or a mapping")
    names = list(TrackingSection.__dataclass_fields__)
    for key in raw:
        if key not in names:
            raise fail(f"tracking.{key}", f"unknown key; valid keys of tracking: {', '.join(names)}")
    trackers = chosen_names(
        raw.get("trackers", ()),
        TRACKER_NAMES,
        path="tracking.trackers",
        fail=fail,
        kind="tracker",
        kinds="trackers",
        expected="a list of tracker names",
    )
    for key in ("mlflow_uri", "mlflow_experiment", "wandb_project", "wandb_entity"):
        if not isinstance(raw.get(key, ""), str):
            raise fail(f"tracking.{key}", f"expected text, got {raw[key]!r}")
    uri = raw.get("mlflow_uri", "")
    scheme = (
        uri.split("://", 1)[0].split("+", 1)[0].lower()
        if "://" in uri or uri.startswith("databricks")
        else ""
    )
    if scheme and scheme not in MLFLOW_SCHEMES:  # MLflow would fail on it at the sweep's start (after Ray)
        raise fail(
            "tracking.mlflow_uri",
            f"unknown scheme {scheme!r} in {uri!r}; MLflow takes a folder, "
            + ", ".join(f"{s}://" for s in MLFLOW_SCHEMES if not s.startswith("databricks"))
            + " or databricks",
        )
    if raw.get("wandb_mode", "offline") not in ("offline", "online"):
        raise fail("tracking.wandb_mode", f"expected offline or online, got {raw['wandb_mode']!r}")
    timeout = raw.get("timeout", TrackingSection.timeout)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout <= MAX_TIMEOUT  # .inf (or 1e300) would wait for ever at the sweep's end
    ):
        raise fail(
            "tracking.timeout",
            f"expected a number of seconds above 0 and at most {MAX_TIMEOUT:g}, got {timeout!r}",
        )
    return TrackingSection(**{**raw, "trackers": tuple(trackers), "timeout": float(timeout)})


def tracking_option(text: str, base: TrackingSection) -> TrackingSection:
    """``--tracking mlflow,tensorboard`` (or ``off``) over the config's section: the trackers
    change, their settings stay; ``mlflow=URI`` also sets the tracking URI, ``wandb=online`` the
    W&B mode."""
    from dataclasses import replace

    if text.strip() in ("off", "none", ""):
        return replace(base, trackers=())
    settings: dict[str, Any] = {}
    names = []
    for item in (part.strip() for part in text.split(",")):
        name, _, value = item.partition("=")
        names.append(name)
        if value and name == "mlflow":
            settings["mlflow_uri"] = value
        elif value and name == "wandb":
            settings["wandb_mode"] = value
        elif value:
            raise ResweepError(f"--tracking: {name} takes no value (got {item!r})")

    def fail(path: str, message: str) -> ResweepError:
        return ResweepError(f"--tracking: {message}")

    document = {**base.document(), **settings, "trackers": names}
    return parse_tracking(document, fail)


@dataclass(frozen=True)
class TrialInfo:
    """A trial as trackers name it: ``key`` is its results-store name; ``params`` its flat config."""

    key: str
    sweep: str
    size: str  # the size's key: id0.1, id3000
    cell: str | None
    role: str | None
    seed: int | None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def tags(self) -> dict[str, str]:
        """The tags every tracker puts on the trial's run."""
        tags = {"resweep.sweep": self.sweep, "resweep.trial": self.key, "resweep.size": self.size}
        for name, value in (("cell", self.cell), ("role", self.role), ("seed", self.seed)):
            if value is not None:
                tags[f"resweep.{name}"] = str(value)
        return tags


class BaseTracker:
    """One experiment tracker. ``__init__`` stores its settings; nothing is imported or
    contacted before :meth:`open` (which runs on the tracking thread)."""

    name = "base"
    package = ""  # the import that must work for this tracker

    def __init__(self, settings: TrackingSection, sweep: str, folder: Path):
        self.settings = settings
        self.sweep = sweep
        self.folder = folder  # the sweep's own folder (a local mirror for one in object storage)

    @classmethod
    def check_installed(cls) -> None:
        """Raise :class:`TrackerMissing` (one line, how to install) when the package is absent."""
        import importlib.util

        if importlib.util.find_spec(cls.package) is None:
            raise TrackerMissing(f"tracking: {cls.name} needs the {cls.package} package: {INSTALL_HINT}")

    def open(self, resuming: bool) -> None:
        """Connect; find or make the sweep's own run (or folder)."""

    def epoch(self, trial: TrialInfo, step: int, metrics: Mapping[str, float]) -> None:
        """One report of a trial (``step``: its epochs done)."""
        raise NotImplementedError

    def ended(self, trial: TrialInfo, status: str, final: Mapping[str, float]) -> None:
        """The trial ended (finished, stopped, error) with its selected epoch's scores."""
        raise NotImplementedError

    def size_done(self, size: str, files: Mapping[str, Path]) -> None:
        """A size has all its rows: its leaderboard and the report's plots (artifact path -> file)."""

    def close(self, complete: bool) -> None:
        """The sweep's run ends (``complete``: every size has its rows; else interrupted)."""
