"""RE architectures, registered by the names users type and results store.

Adding one is one module plus one line here; ``tests/trainables_tests/test_architectures.py``
runs the conformance checks on every registered name. Entries are imported lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..registry import Registry
from .settings import SETTINGS, TwoStepSettings, refuse_two_step

if TYPE_CHECKING:
    from ..config import TrialSpec
    from ._base import BaseArchitecture, PrepareContext, concat_splits

__all__ = [
    "ARCHITECTURES",
    "BaseArchitecture",
    "PrepareContext",
    "check_supported",
    "concat_splits",
    "settings_class",
    "settings_readers",
]

ARCHITECTURES: Registry[type[BaseArchitecture]] = Registry("architecture")
ARCHITECTURES.register("bert-seqcls", "trainables.architectures.bert_seqcls:BertSeqCls")
ARCHITECTURES.register("two-phase", "trainables.architectures.two_phase:TwoPhase")
ARCHITECTURES.register("rbert", "trainables.architectures.rbert:RBert")
ARCHITECTURES.register("entity-start", "trainables.architectures.entity_start:EntityStart")
ARCHITECTURES.register("bilinear", "trainables.architectures.bilinear:Bilinear")
ARCHITECTURES.register("bilstm", "trainables.architectures.bilstm:BiLSTM")
ARCHITECTURES.register("redn", "trainables.architectures.redn:Redn")
ARCHITECTURES.register("cnn-mtl", "trainables.architectures.cnn_mtl:CnnMtl")
ARCHITECTURES.register("two-step", "trainables.architectures.two_step:TwoStep")
ARCHITECTURES.register("tfidf-linear", "trainables.architectures.tfidf_linear:TfidfLinear")


def settings_class(architecture: str) -> type:
    """An architecture's settings dataclass: resweep's own from :mod:`.settings` (no torch), any
    other from its class (:attr:`~trainables.architectures.BaseArchitecture.settings_class`)."""
    found = SETTINGS.get(architecture)
    return found if found is not None else ARCHITECTURES.get(architecture).settings_class


def settings_readers(architecture: str, config: Mapping[str, Any]) -> tuple[str, ...]:
    """The architectures whose settings a trial of ``architecture`` reads, from its flat config:
    itself, and for ``two-step`` what it wraps. resweep's own are answered from
    :mod:`.settings` (no torch); any other is asked
    (:meth:`~trainables.architectures.BaseArchitecture.settings_readers`), which imports it."""
    if architecture not in SETTINGS:
        return ARCHITECTURES.get(architecture).settings_readers(config)
    if architecture == "two-step":
        return (architecture, *settings_readers(TwoStepSettings.inner_of(config), config))
    return (architecture,)


def check_supported(architecture: str, spec: TrialSpec) -> None:
    """Raise ``ValueError`` naming the combination when ``spec`` asks ``architecture`` for
    something it does not support; ``two-step``: what it wraps must support it too. resweep's own
    without importing them, as above; any other is asked
    (:meth:`~trainables.architectures.BaseArchitecture.check`)."""
    if architecture not in SETTINGS:
        ARCHITECTURES.get(architecture).check(spec)  # an unknown name fails here with the valid ones
    elif architecture == "two-step":
        check_supported(spec.model.settings_of("two-step").two_step_inner, spec)  # never two-step
        refuse_two_step(spec)


def __getattr__(name: str) -> Any:
    # The base classes import torch; listing names (search spaces, the CLI) must not.
    if name in ("BaseArchitecture", "PrepareContext", "concat_splits"):
        from . import _base

        return getattr(_base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
