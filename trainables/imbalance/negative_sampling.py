"""``negative_sampling``: every epoch, all positives plus a fresh random draw of negatives.

RE training sets are dominated by the negative label (``Other``, ``no_relation``). Rather than
discarding negatives once, each epoch keeps every positive example and draws
round(ratio * n_positives) negatives without replacement from a fresh generator, so over the
epochs the model still sees most of the negatives. When the draw would be at least the number of
negatives there are (a large ratio, or inf), every negative is kept and the technique equals
``none``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ResweepError
from ._base import BaseImbalance, check_real

__all__ = ["NegativeSampling"]


class NegativeSampling(BaseImbalance):
    """``ratio`` negatives per positive (>= 0), redrawn every epoch."""

    name = "negative_sampling"
    resamples_each_epoch = True

    @classmethod
    def search_dimensions(cls, trial: Any) -> dict[str, Any]:
        return {"ratio": trial.suggest_float("negative_sampling_ratio", 0.5, 5.0, log=True)}

    def __init__(self, *, ratio: float = 1.0):
        self.ratio = ratio

    def _validate_params(self) -> None:
        check_real(self.name, "ratio", self.ratio, minimum=0.0)

    def _indices(
        self, labels: np.ndarray, *, negative_ids: tuple[int, ...], rng: np.random.Generator
    ) -> np.ndarray:
        if not negative_ids:
            raise ResweepError(
                "negative_sampling needs the negative class ids, but negative_ids is empty "
                "(does the dataset declare its negative label?)"
            )
        is_negative = np.isin(labels, negative_ids)
        positives = np.flatnonzero(~is_negative)
        negatives = np.flatnonzero(is_negative)
        if positives.size == 0:
            raise ResweepError(
                f"negative_sampling needs at least one positive example, but all {len(labels)} "
                f"training labels are negative (ids {list(negative_ids)})"
            )
        wanted = float(self.ratio) * positives.size
        if wanted >= negatives.size:
            chosen = negatives
        else:
            chosen = rng.choice(negatives, size=round(wanted), replace=False)
        return np.concatenate([positives, chosen])
