"""The typed configuration of one trial, and the one place a Tune config dict becomes typed.

A Tune config is flat (``{"architecture": "two-phase", "ood_pct": 50, "learning_rate": 3e-5, ...}``):
search spaces propose flat keys. :meth:`TrialSpec.from_config` splits it into the frozen sections
below and rejects unknown keys with the list of valid ones. Every field name is unique across
the data, model and loop sections. An architecture's own settings come from the dataclass it
declares (``settings_class``; resweep's own in :mod:`trainables.architectures.settings`, which
imports no torch); related architectures may share a name (``projection_size``: ``bilinear`` and
``redn``), and a trial reads the one of its architecture.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from .data.regimes import Regime
from .errors import ResweepError
from .loop_config import LoopConfig  # the loop's own settings, a section of every trial

__all__ = ["KEY_VERSION", "DataConfig", "LoopConfig", "ModelConfig", "TrialSpec"]

# Part of every trial key: bump it only when what a key means changes (version 1 hashed every
# default too, so any new setting renamed every trial).
KEY_VERSION = 2


@dataclass(frozen=True)
class DataConfig:
    """Which datasets a trial reads and its data regime (see :class:`~trainables.data.Regime`)."""

    in_domain: str = "synthetic"
    in_domain_format: str | None = None
    in_domain_root: str | None = None
    ood: str | None = None
    ood_format: str | None = None
    ood_root: str | None = None
    label_mapping: Mapping[str, str] = field(default_factory=dict)  # OOD label -> in-domain label
    in_domain_size: float | int = 1.0
    ood_pct: float = 0.0
    local_in_domain_pretrain_pct: float = 0.0
    seed: int = 0

    @property
    def regime(self) -> Regime:
        return Regime(self.in_domain_size, self.ood_pct, self.local_in_domain_pretrain_pct, self.seed)


@dataclass(frozen=True)
class ModelConfig:
    """The architecture, its encoder, the settings every architecture shares, and the typed
    settings of the architecture(s) the trial reads (``settings``: architecture name -> the
    dataclass it declares as ``settings_class``; a wrapper such as ``two-step`` reads its inner
    architecture's too). An architecture owns its settings; resweep's own architectures keep
    theirs in :mod:`trainables.architectures.settings`, which a config check can import without
    torch."""

    architecture: str = "bert-seqcls"
    encoder: str = "minilm"
    marker_style: str = "semeval"
    max_length: int = 128
    hidden_units: int = 256
    dropout: float = 0.1
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0 <= self.dropout < 1:
            raise ResweepError(f"dropout must be in [0, 1), got {self.dropout}")
        for name in ("max_length", "hidden_units"):
            if getattr(self, name) < 1:
                raise ResweepError(f"{name} must be >= 1, got {getattr(self, name)}")

    def settings_of(self, architecture: str) -> Any:
        """The typed settings of ``architecture`` in this trial (its defaults when the trial does
        not read them)."""
        found = self.settings.get(architecture)
        if found is not None:
            return found
        from .architectures import settings_class

        return settings_class(architecture)()

    @property
    def uses_phase1(self) -> bool:
        """Reads phase-1 features: the architecture's own rule
        (:meth:`~trainables.architectures.BaseArchitecture.uses_phase1`)."""
        from .architectures import ARCHITECTURES

        return ARCHITECTURES.get(self.architecture).uses_phase1(TrialSpec(model=self))


def _settings_classes() -> dict[str, type]:
    """Every registered architecture's settings class."""
    from .architectures import ARCHITECTURES, settings_class

    return {name: settings_class(name) for name in ARCHITECTURES.names()}


def _setting_owners() -> dict[str, list[str]]:
    """Flat setting name -> the architectures that declare it."""
    owners: dict[str, list[str]] = {}
    for name, settings in _settings_classes().items():
        for f in fields(settings):
            owners.setdefault(f.name, []).append(name)
    return owners


def _expected_types() -> dict[str, tuple[type, ...]]:
    """Flat key -> the Python types its value may have (from the dataclass annotations)."""
    names = {"float": (float, int), "int": (int,), "str": (str,), "bool": (bool,), "None": (type(None),)}
    allowed: dict[str, tuple[type, ...]] = {}
    for section in (DataConfig, ModelConfig, LoopConfig, TrialSpec, *_settings_classes().values()):
        for f in fields(section):
            if f.name in TrialSpec._SECTIONS or f.name == "settings":
                continue
            annotation = str(f.type)
            if annotation.startswith("Mapping"):
                allowed[f.name] = (Mapping,)
                continue
            allowed[f.name] = tuple(t for part in annotation.split("|") for t in names.get(part.strip(), ()))
    return allowed


def _check_type(key: str, value: Any, allowed_types: Mapping[str, tuple[type, ...]]) -> None:
    allowed = allowed_types.get(key)
    if not allowed:
        return
    wrong_bool = isinstance(value, bool) and bool not in allowed  # True is an int to Python, not to us
    if wrong_bool or not isinstance(value, allowed):
        names = " or ".join(sorted({t.__name__ for t in allowed}))
        raise ResweepError(f"{key}: expected {names}, got {value!r} ({type(value).__name__})")


def _model_config(config: Mapping[str, Any]) -> ModelConfig:
    """The model section of a flat config: the shared settings, and each architecture the trial
    reads gets its settings class filled from the flat keys it declares. A key only other
    architectures declare is checked by the first of them, then left out: it does not change
    this trial (nor, so, its key)."""
    from .architectures import ARCHITECTURES, settings_readers

    architecture = config.get("architecture", ModelConfig.architecture)
    ARCHITECTURES.check(architecture)  # an unknown name: the registry's error, naming the known ones
    readers = settings_readers(architecture, config)
    classes = _settings_classes()
    settings: dict[str, Any] = {}
    read: set[str] = set()
    for name in readers:
        cls = classes[name]
        names = {f.name for f in fields(cls)}
        settings[name] = cls(**{k: v for k, v in config.items() if k in names})
        read |= names
    for key, owners in _setting_owners().items():
        if key in config and key not in read:
            classes[owners[0]](**{key: config[key]})  # a bad value is an error wherever it is given
    shared = {f.name for f in fields(ModelConfig)} - {"settings"}
    return ModelConfig(**{k: v for k, v in config.items() if k in shared}, settings=settings)


@dataclass(frozen=True)
class TrialSpec:
    """One trial: data and regime, model, loop, transfer strategy and imbalance technique."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    strategy: str = "baseline"
    imbalance: str = "none"
    imbalance_params: Mapping[str, Any] = field(default_factory=dict)

    _SECTIONS = ("data", "model", "loop")

    @classmethod
    def valid_keys(cls) -> list[str]:
        keys = [f.name for f in fields(cls) if f.name not in cls._SECTIONS]
        for section in (DataConfig, ModelConfig, LoopConfig):
            keys.extend(f.name for f in fields(section) if f.name != "settings")
        keys.extend(_setting_owners())
        return keys

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TrialSpec:
        """Build from a flat dict (a Tune config); unknown keys are an error naming the valid ones."""
        unknown = sorted(set(config) - set(cls.valid_keys()))
        if unknown:
            valid = ", ".join(sorted(cls.valid_keys()))
            raise ResweepError(f"unknown trial config key(s) {', '.join(unknown)}; valid: {valid}")
        allowed = _expected_types()
        for key, value in config.items():
            _check_type(key, value, allowed)
        sections: dict[str, Any] = {"model": _model_config(config)}
        for name, section in (("data", DataConfig), ("loop", LoopConfig)):
            names = {f.name for f in fields(section)}
            sections[name] = section(**{k: v for k, v in config.items() if k in names})
        top = {k: v for k, v in config.items() if k in {"strategy", "imbalance", "imbalance_params"}}
        spec = cls(**sections, **top)
        spec.data.regime  # noqa: B018 - validates the regime now, before any work starts
        return spec

    def to_config(self) -> dict[str, Any]:
        """The flat dict :meth:`from_config` reads."""
        flat: dict[str, Any] = {}
        for name in self._SECTIONS:
            section = getattr(self, name)
            flat.update({f.name: getattr(section, f.name) for f in fields(section) if f.name != "settings"})
        for settings in self.model.settings.values():
            flat.update(asdict(settings))
        flat.update(
            strategy=self.strategy, imbalance=self.imbalance, imbalance_params=dict(self.imbalance_params)
        )
        return flat

    def configuration_key(self) -> str:
        """The configuration's identity, its seed aside: :meth:`key` with the seed at its default.
        The runs of one configuration under several seeds share it; the results store records it
        (``config_key``) and the leaderboard and the searchers group runs by it."""
        return replace(self, data=replace(self.data, seed=DataConfig.seed)).key()

    def key(self) -> str:
        """A stable name: the sha256 of what was set — the settings whose values differ from
        their defaults (sorted JSON; an int given for a float setting counts as that float) —
        and :data:`KEY_VERSION`. A new setting with a default leaves every key, and so every
        trial and run name a sweep resumes by, as it was."""
        defaults = TrialSpec(type(self.data)(), type(self.model)(), type(self.loop)()).to_config()
        for settings in self.model.settings.values():
            defaults.update(asdict(type(settings)()))
        floats = {k for k, allowed in _expected_types().items() if allowed == (float, int)}
        changed: dict[str, Any] = {}
        for name, value in self.to_config().items():
            if name in floats and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            default = defaults.get(name, changed)  # (a sentinel: no default)
            # Types count: in_domain_size 1 (one sentence) is not 1.0 (the whole pool).
            if default != value or type(default) is not type(value):
                changed[name] = value
        canonical = json.dumps({"key_version": KEY_VERSION, "set": changed}, sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
