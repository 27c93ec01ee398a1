"""``inv_sqrt_weights``: weight the loss by 1/sqrt(class count), a milder form of ``class_weights``.

Raw 1/sqrt(count_c) weights shrink the loss by a data-dependent factor, which would silently
change the effective learning rate between regimes. They are therefore scaled so that the weighted
mean over the training samples is 1 (sum_c count_c * weight_c = n_samples), like balanced weights:
weight_c = n_samples / (sqrt(count_c) * sum_k sqrt(count_k)).
"""

from __future__ import annotations

import numpy as np

from ._base import BaseImbalance

__all__ = ["InvSqrtWeights"]


class InvSqrtWeights(BaseImbalance):
    """Normalised inverse-square-root class weights; classes absent from the stage get 1.0 (they
    cannot occur in the loss, so the value is moot)."""

    name = "inv_sqrt_weights"

    def _class_weights(self, labels: np.ndarray, n_classes: int) -> np.ndarray:
        counts = np.bincount(labels, minlength=n_classes)
        present = counts > 0
        weights = np.ones(n_classes, dtype=np.float64)
        roots = np.sqrt(counts[present])
        weights[present] = len(labels) / (roots * roots.sum())
        return weights
