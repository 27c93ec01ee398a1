"""What every tracker is told, the tracker registry, and the ``tracking:`` section of a sweep config.

A tracker sees the sweep through five calls, made in order on the tracking thread (never on
Tune's): :meth:`BaseTracker.open` once, then per trial :meth:`~BaseTracker.epoch` for each report
and :meth:`~BaseTracker.ended` once, :meth:`~BaseTracker.size_done` when a size has every row it
will have, and :meth:`~BaseTracker.close`. A trial is known by its results-store name (stable
across resumes), so a tracker that names its runs after it continues the same run on a resume.

A tracker owns its settings: a small frozen dataclass beside it in its module
(:attr:`BaseTracker.settings_class`), whose field names are the keys of the ``tracking:`` section
(prefixed with the tracker's name: ``mlflow_uri``) and whose ``__post_init__`` refuses a bad value
with :class:`SettingError`. :data:`TRACKERS` is the one list of trackers (names are its keys);
adding one is its module plus one registry line in :mod:`search.tracking`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, ClassVar

from trainables.errors import ResweepError
from trainables.registry import Registry

from ..registries import chosen_names

__all__ = [
    "TRACKERS",
    "BaseTracker",
    "NoTrackerSettings",
    "SettingError",
    "TrackerMissing",
    "TrackingSection",
    "TrialInfo",
    "check_installed",
    "parse_tracking",
    "text_setting",
    "tracker_names",
    "tracking_option",
]

INSTALL_HINT = "pip install 'resweep[tracking]'"
MAX_TIMEOUT = 86_400.0  # tracking.timeout: a day at most (the end of a sweep waits this long)
DEFAULT_TIMEOUT = 30.0


class TrackerMissing(ResweepError):
    """A tracker was asked for whose package is not installed."""


class SettingError(ResweepError):
    """A bad value of one tracker setting; ``key`` says which (a config error is located there)."""

    def __init__(self, key: str, message: str):
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def text_setting(key: str, value: object) -> str:
    """``value`` when it is text; else :class:`SettingError` for ``key``."""
    if not isinstance(value, str):
        raise SettingError(key, f"expected text, got {value!r}")
    return value


@dataclass(frozen=True)
class NoTrackerSettings:
    """The settings of a tracker that has none beyond the shared ``trackers`` and ``timeout``."""


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
    contacted before :meth:`open` (which runs on the tracking thread).

    ``section`` is the whole ``tracking:`` section; :attr:`settings` this tracker's own typed
    settings in it (an instance of :attr:`settings_class`)."""

    name: ClassVar[str] = "base"
    package: ClassVar[str] = ""  # the import that must work for this tracker
    settings_class: ClassVar[type] = NoTrackerSettings
    # The setting `--tracking NAME=VALUE` sets (mlflow=URI, wandb=online); None: NAME takes no value.
    option_setting: ClassVar[str | None] = None

    def __init__(self, section: TrackingSection, sweep: str, folder: Path):
        self.section = section
        self.settings: Any = section.settings_of(type(self))
        self.sweep = sweep
        self.folder = folder  # the sweep's own folder (a local mirror for one in object storage)

    @classmethod
    def check_installed(cls) -> None:
        """Raise :class:`TrackerMissing` (one line, how to install) when the package is absent."""
        import importlib.util

        if importlib.util.find_spec(cls.package) is None:
            raise TrackerMissing(f"tracking: {cls.name} needs the {cls.package} package: {INSTALL_HINT}")

    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """The ``tracking:`` keys this tracker owns: its settings class's field names."""
        return tuple(f.name for f in fields(cls.settings_class))

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


# name -> tracker class, lazily imported ("module:Class"); the entries are in search.tracking.
TRACKERS: Registry[type[BaseTracker]] = Registry("tracker")


def check_installed(tracking: TrackingSection) -> None:
    """Raise :class:`TrackerMissing` (one line: what to install) for a tracker without its package."""
    for name in tracking.trackers:
        TRACKERS.get(name).check_installed()


def tracker_names() -> tuple[str, ...]:
    """Every tracker a config may name, in the registry's order."""
    return tuple(TRACKERS.names())


def _settings_classes() -> dict[str, type]:
    """Every registered tracker's settings class (imports the tracker modules; they import their
    packages only when a tracker opens)."""
    return {name: TRACKERS.get(name).settings_class for name in TRACKERS.names()}


@dataclass(frozen=True, init=False)
class TrackingSection:
    """The ``tracking:`` section: which experiment trackers see the sweep (none by default).

    ``trackers``: names out of :data:`TRACKERS` (``mlflow``, ``wandb``, ``tensorboard``).
    ``timeout``: the seconds the end of a sweep waits for trackers to finish sending; what is left
    then is dropped with one warning (the results store has it all). ``settings``: tracker name ->
    its settings (every registered tracker's, defaults where not given). Built from the flat keys a
    config holds too: ``TrackingSection(trackers=("mlflow",), mlflow_uri="http://host:5000")``;
    a flat key reads back as an attribute (``section.mlflow_uri``). What each key means is
    documented on the tracker's settings class (:class:`~search.tracking.mlflow_tracker.MlflowSettings`,
    :class:`~search.tracking.wandb_tracker.WandbSettings`).
    """

    trackers: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        trackers: tuple[str, ...] = (),
        timeout: float = DEFAULT_TIMEOUT,
        settings: Mapping[str, Any] | None = None,
        **flat: Any,
    ):
        given = dict(settings or {})
        classes = _settings_classes()
        owned = {key for cls in classes.values() for key in (f.name for f in fields(cls))}
        unknown = sorted(set(flat) - owned)
        if unknown:
            raise TypeError(f"TrackingSection: unknown setting(s) {', '.join(unknown)}")
        built: dict[str, Any] = {}
        for name, cls in classes.items():
            if name in given:
                built[name] = given.pop(name)
            else:
                names = {f.name for f in fields(cls)}
                built[name] = cls(**{key: value for key, value in flat.items() if key in names})
        built.update(given)  # a tracker that is not registered (tests' stand-ins) keeps its own
        object.__setattr__(self, "trackers", tuple(trackers))
        object.__setattr__(self, "timeout", timeout)
        object.__setattr__(self, "settings", built)

    def __hash__(self) -> int:  # the settings are frozen dataclasses: hashable as pairs
        return hash((self.trackers, self.timeout, tuple(sorted(self.settings.items()))))

    def __getattr__(self, key: str) -> Any:
        """A tracker's setting by its flat key (``mlflow_uri``)."""
        if key.startswith("_") or key in ("trackers", "timeout", "settings"):
            raise AttributeError(key)  # not built yet (unpickling) or a dunder lookup
        for settings in self.__dict__.get("settings", {}).values():
            if is_dataclass(settings) and key in {f.name for f in fields(settings)}:
                return getattr(settings, key)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    @classmethod
    def valid_keys(cls) -> list[str]:
        """The keys of the section: ``trackers``, each tracker's settings, ``timeout``."""
        return ["trackers", *(f.name for s in _settings_classes().values() for f in fields(s)), "timeout"]

    @property
    def on(self) -> bool:
        return bool(self.trackers)

    def settings_of(self, tracker: type[BaseTracker]) -> Any:
        """``tracker``'s typed settings here (its defaults when the section has none for it)."""
        found = self.settings.get(tracker.name)
        return found if found is not None else tracker.settings_class()

    def document(self) -> dict[str, Any]:
        """The section as ``sweep.yaml`` holds it (only what differs from the defaults)."""
        document: dict[str, Any] = {"trackers": list(self.trackers)} if self.trackers else {}
        for settings in self.settings.values():
            default = type(settings)()
            for f in fields(settings):
                if getattr(settings, f.name) != getattr(default, f.name):
                    document[f.name] = getattr(settings, f.name)
        if self.timeout != DEFAULT_TIMEOUT:
            document["timeout"] = self.timeout
        return document


def parse_tracking(raw: Any, fail: Any) -> TrackingSection:
    """The ``tracking:`` section from YAML: a list of trackers, ``off``, or a mapping of
    ``trackers``, ``timeout`` and the trackers' settings; ``fail(path, message)`` makes the
    located error. Each tracker's settings class checks its own keys."""
    if raw is None or raw is False or raw == "off":
        return TrackingSection()
    if isinstance(raw, (str, list, tuple)):
        raw = {"trackers": raw}
    names = tracker_names()
    if not isinstance(raw, Mapping):
        raise fail("tracking", f"expected a list of trackers ({', '.join(names)}) or a mapping")
    valid = TrackingSection.valid_keys()
    for key in raw:
        if key not in valid:
            raise fail(f"tracking.{key}", f"unknown key; valid keys of tracking: {', '.join(valid)}")
    trackers = chosen_names(
        raw.get("trackers", ()),
        names,
        path="tracking.trackers",
        fail=fail,
        kind="tracker",
        kinds="trackers",
        expected="a list of tracker names",
    )
    settings: dict[str, Any] = {}
    for name, cls in _settings_classes().items():  # every tracker's keys are checked, on or not
        own = {f.name for f in fields(cls)}
        try:
            settings[name] = cls(**{key: value for key, value in raw.items() if key in own})
        except SettingError as err:
            raise fail(f"tracking.{err.key}", err.message) from None
    timeout = raw.get("timeout", DEFAULT_TIMEOUT)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or not 0 < timeout <= MAX_TIMEOUT  # .inf (or 1e300) would wait for ever at the sweep's end
    ):
        raise fail(
            "tracking.timeout",
            f"expected a number of seconds above 0 and at most {MAX_TIMEOUT:g}, got {timeout!r}",
        )
    return TrackingSection(trackers=tuple(trackers), timeout=float(timeout), settings=settings)


def tracking_option(text: str, base: TrackingSection) -> TrackingSection:
    """``--tracking mlflow,tensorboard`` (or ``off``) over the config's section: the trackers
    change, their settings stay; ``NAME=VALUE`` also sets the tracker's
    :attr:`~BaseTracker.option_setting` (``mlflow=URI``: the tracking URI, ``wandb=online``: the
    W&B mode)."""
    from dataclasses import replace

    if text.strip() in ("off", "none", ""):
        return replace(base, trackers=())
    settings: dict[str, Any] = {}
    names = []
    for item in (part.strip() for part in text.split(",")):
        name, _, value = item.partition("=")
        names.append(name)
        if not value or name not in TRACKERS:  # an unknown name: parse_tracking says which are known
            continue
        setting = TRACKERS.get(name).option_setting
        if setting is None:
            raise ResweepError(f"--tracking: {name} takes no value (got {item!r})")
        settings[setting] = value

    def fail(path: str, message: str) -> ResweepError:
        return ResweepError(f"--tracking: {message}")

    document = {**base.document(), **settings, "trackers": names}
    return parse_tracking(document, fail)
