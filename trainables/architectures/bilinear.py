"""``bilinear`` (Wang et al. 2019, "Fine-tune BERT for DocRED with Two-step Process"): the
encoder's token states, projected to a low dimension (``projection_size``, 128 by default); the
head and the tail are the means of their mentions' projected tokens; a bilinear layer between
them gives one score per relation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ._marked import MarkedEncoderArchitecture, span_mean
from .settings import BilinearSettings

if TYPE_CHECKING:
    from ..suggest import Suggester

__all__ = ["Bilinear"]


class _BilinearHead(torch.nn.Module):
    def __init__(self, hidden: int, classes: int, dropout: float, size: int):
        super().__init__()
        self.project = torch.nn.Linear(hidden, size)
        self.dropout = torch.nn.Dropout(dropout)
        self.bilinear = torch.nn.Bilinear(size, size, classes)

    def forward(self, hidden: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        projected = torch.tanh(self.project(self.dropout(hidden)))  # (B, L, P)
        head = span_mean(projected, batch["head_span"])  # (B, P)
        tail = span_mean(projected, batch["tail_span"])  # (B, P)
        return self.bilinear(self.dropout(head), self.dropout(tail))  # (B, C)


class Bilinear(MarkedEncoderArchitecture):
    settings_class: ClassVar[type] = BilinearSettings
    name = "bilinear"
    description = "token states projected low (projection_size), head x tail through a bilinear layer"

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        loop = super().search_dimensions(trial, prefix)  # asked first, as before
        widths = [64, 128, 256]
        return {
            **loop,
            "projection_size": trial.suggest_categorical(f"{prefix}{cls.name}.projection_size", widths),
        }

    def build_head(self, hidden_size: int) -> torch.nn.Module:
        projection = self.settings(self.spec).projection_size
        return _BilinearHead(hidden_size, len(self.label_space), self.spec.model.dropout, projection)
