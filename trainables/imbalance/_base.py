"""The seam for class-imbalance techniques: loss weights and the examples one epoch sees.

A technique acts on one training stage of a trial. It may reweight the loss
(:meth:`BaseImbalance.class_weights`), choose which training examples an epoch visits
(:meth:`BaseImbalance.indices`: repeats oversample, omissions undersample), or both. Labels are
integer class ids; ``negative_ids`` are the ids of the negative label(s) (``Other``,
``no_relation``), which RE data sets are dominated by.

Techniques follow the sklearn convention: ``__init__`` only stores its keyword parameters (so
:func:`~trainables.imbalance.make_imbalance` can read the valid names off the signature and
results can record them with :meth:`BaseImbalance.get_params`); the public methods validate and
then call one ``_method`` that subclasses override.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC
from collections.abc import Sequence
from numbers import Real
from typing import Any, ClassVar

import numpy as np

from ..errors import ResweepError

__all__ = ["BaseImbalance", "check_labels", "check_real", "seed_from"]

_PARAMETER_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


class BaseImbalance(ABC):
    """One imbalance technique; the base class itself changes nothing (it is ``none``).

    ``resamples_each_epoch``: the training loop calls :meth:`indices` again every epoch with a
    fresh generator (True), or once per stage and reuses the result (False).
    """

    name: ClassVar[str]
    resamples_each_epoch: ClassVar[bool] = False

    # No __init__ here: the base takes no parameters. Subclasses declare theirs as keyword-only
    # arguments with defaults and only store them.

    @classmethod
    def search_dimensions(cls, trial: Any) -> dict[str, Any]:
        """Its parameters, asked of ``trial`` (an Optuna trial or a stand-in; see
        :class:`trainables.suggest.Suggester`) under names that carry the technique: what a search space
        sets as ``imbalance_params``. Default: nothing to search."""
        return {}

    @classmethod
    def param_names(cls) -> tuple[str, ...]:
        """The technique's parameter names, read off ``__init__``'s signature."""
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]  # drop self
        return tuple(p.name for p in parameters if p.kind in _PARAMETER_KINDS)

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.param_names()}

    def __repr__(self) -> str:
        params = ", ".join(f"{key}={value!r}" for key, value in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def validate(self) -> None:
        """Raise ValueError for a bad parameter value (the public methods call this too)."""
        self._validate_params()

    def class_weights(self, labels: np.ndarray, n_classes: int) -> np.ndarray | None:
        """(C,) float32 loss weights for a stage whose training labels are ``labels``, or None
        for an unweighted loss."""
        labels = check_labels(labels, n_classes=n_classes)
        self._validate_params()
        weights = self._class_weights(labels, n_classes)
        return None if weights is None else np.asarray(weights, dtype=np.float32)

    def indices(
        self, labels: np.ndarray, *, negative_ids: Sequence[int], rng: np.random.Generator
    ) -> np.ndarray:
        """Sorted int64 indices into the stage's training examples for one pass (an epoch).

        Repeats are allowed (oversampling), omissions too (undersampling). Sorted because the
        order is the training loop's business: it shuffles.
        """
        labels = check_labels(labels)
        negative = tuple(int(_integer("negative_ids", i)) for i in negative_ids)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        self._validate_params()
        chosen = self._indices(labels, negative_ids=negative, rng=rng)
        return np.sort(np.asarray(chosen, dtype=np.int64))

    # -- overridden by subclasses -----------------------------------------------------------------

    def _validate_params(self) -> None:
        return None  # no parameters, nothing to check

    def _class_weights(self, labels: np.ndarray, n_classes: int) -> np.ndarray | None:
        return None

    def _indices(
        self, labels: np.ndarray, *, negative_ids: tuple[int, ...], rng: np.random.Generator
    ) -> np.ndarray:
        return np.arange(len(labels), dtype=np.int64)


def check_labels(labels: np.ndarray, *, n_classes: int | None = None) -> np.ndarray:
    """``labels`` as a 1-D int64 array of class ids in ``[0, n_classes)``; ValueError otherwise."""
    array = np.asarray(labels)
    if array.ndim != 1:
        raise ResweepError(f"labels must be 1-D, got shape {array.shape}")
    # An empty list comes out as float64; there is nothing in it that could be a bad id.
    if array.size and array.dtype.kind not in "iu":
        raise ResweepError(f"labels must be integer class ids, got dtype {array.dtype}")
    array = array.astype(np.int64, copy=False)
    if n_classes is not None:
        n_classes = _integer("n_classes", n_classes)
        if n_classes < 1:
            raise ResweepError(f"n_classes must be at least 1, got {n_classes}")
    if array.size:
        low, high = int(array.min()), int(array.max())
        if low < 0:
            raise ResweepError(f"labels must be non-negative class ids, got {low}")
        if n_classes is not None and high >= n_classes:
            raise ResweepError(f"label {high} is out of range for n_classes={n_classes}")
    return array


def check_real(technique: str, name: str, value: object, *, minimum: float) -> float:
    """A real parameter value >= ``minimum`` (inf allowed, NaN and bools not)."""
    if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(float(value)):
        raise ResweepError(f"{technique}: {name} must be a number, got {value!r}")
    if value < minimum:
        raise ResweepError(f"{technique}: {name} must be >= {minimum}, got {value!r}")
    return float(value)


def seed_from(rng: np.random.Generator) -> int:
    """A seed for libraries that want a legacy ``random_state`` (RandomState takes [0, 2**32))."""
    return int(rng.integers(2**32))


def _integer(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ResweepError(f"{name} must be integers, got {value!r}")
    return int(value)
