"""Class-imbalance techniques, registered by the names sweep configs use.

Each technique acts on one training stage of a trial: loss weights, the examples an epoch visits,
or both::

    from trainables.imbalance import make_imbalance

    technique = make_imbalance("negative_sampling", ratio=2.0)
    weights = technique.class_weights(labels, n_classes)        # (C,) float32 or None
    epoch = technique.indices(labels, negative_ids=(0,), rng=np.random.default_rng(seed))

Techniques with ``resamples_each_epoch`` are asked for indices every epoch (fresh generator), the
others once per stage.
"""

from __future__ import annotations

from typing import Any

from ..errors import ResweepError
from ..registry import Registry
from ._base import BaseImbalance
from .class_weights import ClassWeights
from .inv_sqrt_weights import InvSqrtWeights
from .negative_sampling import NegativeSampling
from .none import NoImbalance
from .oversampling import RandomOversampling
from .undersampling import RandomUndersampling

__all__ = [
    "IMBALANCE",
    "BaseImbalance",
    "ClassWeights",
    "InvSqrtWeights",
    "NegativeSampling",
    "NoImbalance",
    "RandomOversampling",
    "RandomUndersampling",
    "make_imbalance",
]

IMBALANCE: Registry[type[BaseImbalance]] = Registry("imbalance technique")
for _technique in (
    NoImbalance,
    ClassWeights,
    InvSqrtWeights,
    RandomOversampling,
    RandomUndersampling,
    NegativeSampling,
):
    IMBALANCE.register(_technique.name, _technique)


def make_imbalance(name: str, **params: Any) -> BaseImbalance:
    """The technique registered as ``name`` with ``params``, validated now so that a bad sweep
    config fails before any trial starts."""
    cls = IMBALANCE.get(name)
    valid = cls.param_names()
    unknown = sorted(set(params) - set(valid))
    if unknown:
        raise ResweepError(
            f"imbalance technique {name!r}: unknown parameter(s) {', '.join(unknown)}; "
            f"valid: {', '.join(valid) if valid else '(none)'}"
        )
    technique = cls(**params)
    technique.validate()
    return technique
