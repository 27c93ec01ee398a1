"""``oversampling``: repeat minority-class examples (imbalanced-learn's ``RandomOverSampler``).

imbalanced-learn samplers resample a 2-D feature matrix, not indices; we hand it the example
indices as an (n, 1) column and read the resampled column back. The sampler keeps every original
row and appends bootstrap draws, so every example stays in the epoch at least once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..errors import ResweepError
from ._base import BaseImbalance, seed_from

__all__ = ["RandomOversampling"]

# The string targets RandomOverSampler accepts ("majority" is for under-samplers only).
_STRATEGIES = ("auto", "minority", "not minority", "not majority", "all")


class RandomOversampling(BaseImbalance):
    """Random oversampling, once per stage.

    ``sampling_strategy`` is passed to ``RandomOverSampler``: ``"auto"`` (= ``"not majority"``)
    brings every class up to the majority class's count; a dict maps class id -> target count.
    """

    name = "oversampling"

    def __init__(self, *, sampling_strategy: str | float | Mapping[int, int] | Callable[..., Any] = "auto"):
        self.sampling_strategy = sampling_strategy

    def _validate_params(self) -> None:
        # Only the shape of the value; imbalanced-learn checks it against the labels at fit time.
        strategy = self.sampling_strategy
        if isinstance(strategy, str):
            if strategy not in _STRATEGIES:
                raise ResweepError(
                    f"oversampling: sampling_strategy {strategy!r} is not one of {', '.join(_STRATEGIES)}"
                )
        elif isinstance(strategy, bool) or not (isinstance(strategy, float | Mapping) or callable(strategy)):
            raise ResweepError(
                f"oversampling: sampling_strategy must be a string, a float, a dict or a callable, "
                f"got {strategy!r}"
            )

    def _indices(
        self, labels: np.ndarray, *, negative_ids: tuple[int, ...], rng: np.random.Generator
    ) -> np.ndarray:
        if np.unique(labels).size < 2:
            # One class (or none) is already balanced, and imbalanced-learn refuses such targets.
            return np.arange(len(labels), dtype=np.int64)
        # Imported here: imbalanced-learn is only needed by trials that oversample or undersample.
        from imblearn.over_sampling import RandomOverSampler

        sampler = RandomOverSampler(sampling_strategy=self.sampling_strategy, random_state=seed_from(rng))
        resampled, _ = sampler.fit_resample(np.arange(len(labels), dtype=np.int64).reshape(-1, 1), labels)
        return np.asarray(resampled)[:, 0]
