"""``undersampling``: drop majority-class examples (imbalanced-learn's ``RandomUnderSampler``).

``max_ratio`` bounds the majority:minority ratio after resampling: each class keeps
min(count_c, floor(max_ratio * min_count)) examples, drawn without replacement once per stage.
``max_ratio=1`` balances the classes fully (imbalanced-learn's ``"auto"``); larger values keep
more data. The floor (not a ceiling) is what makes the bound hold: with min_count 3 and
max_ratio 1.5 a ceiling would keep 5 and give a ratio of 1.67. No class is ever dropped, since
every class keeps at least min_count >= 1 examples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._base import BaseImbalance, check_real, seed_from

__all__ = ["RandomUndersampling"]

# max_ratio * min_count is computed in floating point: 1.1 * 10 is 11.000000000000002 and 2.3 * 100
# is 229.99999999999997. The slack lets the latter keep the 230 that was meant.
_SLACK = 1e-9


class RandomUndersampling(BaseImbalance):
    """Random undersampling to a majority:minority ratio of at most ``max_ratio`` (>= 1; inf keeps
    everything)."""

    name = "undersampling"

    def __init__(self, *, max_ratio: float = 1.0):
        self.max_ratio = max_ratio

    @classmethod
    def search_dimensions(cls, trial: Any) -> dict[str, Any]:
        return {"max_ratio": trial.suggest_float("undersampling_max_ratio", 1.0, 10.0, log=True)}

    def _validate_params(self) -> None:
        check_real(self.name, "max_ratio", self.max_ratio, minimum=1.0)

    def _indices(
        self, labels: np.ndarray, *, negative_ids: tuple[int, ...], rng: np.random.Generator
    ) -> np.ndarray:
        classes, counts = np.unique(labels, return_counts=True)
        if classes.size == 0:
            return np.arange(0, dtype=np.int64)
        cap = np.floor(float(self.max_ratio) * counts.min() + _SLACK)  # inf stays inf
        keep = np.minimum(counts, cap).astype(np.int64)
        if np.array_equal(keep, counts):
            # Nothing to drop (this includes a single class, which imbalanced-learn refuses).
            return np.arange(len(labels), dtype=np.int64)
        from imblearn.under_sampling import RandomUnderSampler

        strategy = {int(c): int(k) for c, k in zip(classes, keep, strict=True)}
        sampler = RandomUnderSampler(sampling_strategy=strategy, random_state=seed_from(rng))
        resampled, _ = sampler.fit_resample(np.arange(len(labels), dtype=np.int64).reshape(-1, 1), labels)
        return np.asarray(resampled)[:, 0]
