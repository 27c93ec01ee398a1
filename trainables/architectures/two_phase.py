"""``two-phase``: the thesis model. Phase 1 yields an encoder and its features (a shared artifact,
see :mod:`trainables.phase1`); phase 2 trains a small MLP on those features:
input (3H) -> ``hidden_units`` -> classes, with dropout."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import torch

from ..loop import EncodedSplit
from ..phase1 import Phase1Features, phase1_features
from ._base import BaseArchitecture, PrepareContext

__all__ = ["PhaseTwoMLP", "TwoPhase"]


class PhaseTwoMLP(torch.nn.Module):
    """Standardise the features, then input -> hidden (ReLU) -> classes, with dropout.

    Transformer features sit far from zero with little spread per dimension (a fine-tuned
    MiniLM's: mean |x| 0.5, per-dimension std 0.08), which stalls a freshly initialised MLP; the
    z-score uses the training data's statistics, kept as buffers so a checkpoint is complete.
    """

    def __init__(self, n_inputs: int, hidden_units: int, n_classes: int, dropout: float):
        super().__init__()
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.zeros(n_inputs))
        self.register_buffer("std", torch.ones(n_inputs))
        self.layers = torch.nn.Sequential(
            torch.nn.Dropout(dropout),
            torch.nn.Linear(n_inputs, hidden_units),
            torch.nn.ReLU(),
            torch.nn.Dropout(dropout),
            torch.nn.Linear(hidden_units, n_classes),
        )

    def fit_standardisation(self, features: np.ndarray) -> None:
        self.mean.copy_(torch.from_numpy(features.mean(axis=0)))
        self.std.copy_(torch.from_numpy(features.std(axis=0)).clamp_min(1e-6))

    def forward(self, features: torch.Tensor) -> torch.Tensor:  # (B, 3H) -> (B, C)
        return self.layers((features - self.mean) / self.std)


class TwoPhase(BaseArchitecture):
    name = "two-phase"
    description = "the thesis model: phase-1 encoder features [CLS; head; tail] -> phase-2 MLP"
    features: Phase1Features

    training_features: np.ndarray | None = None

    def prepare(self, context: PrepareContext) -> None:
        self.features = phase1_features(context, self.label_space)
        # Standardisation statistics: the in-domain training subset (never dev or test).
        self.training_features = self.features.lookup(context.data.train)

    def encode(self, table: pa.Table, *, ood: bool = False) -> EncodedSplit:
        matrix = self.features.lookup(table)
        return EncodedSplit(matrix, self._labels(table, ood), np.ones(len(matrix), dtype=np.int64))

    def build_model(self) -> torch.nn.Module:
        model = self.spec.model
        self.model = PhaseTwoMLP(self.features.dim, model.hidden_units, len(self.label_space), model.dropout)
        if self.training_features is not None:
            self.model.fit_standardisation(self.training_features)
        return self.model

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        return {
            "features": torch.from_numpy(split.inputs[indices]),
            "labels": torch.as_tensor(split.labels[indices]),
        }

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(batch["features"])
