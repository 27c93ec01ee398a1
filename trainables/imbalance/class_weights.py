"""``class_weights``: weight the loss inversely to class frequency (sklearn's ``"balanced"``).

weight_c = n_samples / (n_classes_present * count_c), thesis Eq. 1. The weighted mean over the
training samples is then exactly 1, so the loss scale (and with it a tuned learning rate) stays
comparable to the unweighted loss.
"""

from __future__ import annotations

import numpy as np

from ._base import BaseImbalance

__all__ = ["ClassWeights"]


class ClassWeights(BaseImbalance):
    """Balanced class weights; classes absent from the stage get 1.0.

    An absent class has no example whose loss the weight could scale, so its value is moot; 1.0
    (rather than 0 or inf) keeps the vector finite and harmless if a later stage reuses it.
    """

    name = "class_weights"

    def _class_weights(self, labels: np.ndarray, n_classes: int) -> np.ndarray:
        counts = np.bincount(labels, minlength=n_classes)
        present = counts > 0
        weights = np.ones(n_classes, dtype=np.float64)
        weights[present] = len(labels) / (np.count_nonzero(present) * counts[present])
        return weights
