"""``rbert`` (Wu & He 2019, "Enriching Pre-trained Language Model with Entity Information for
Relation Classification"): the [CLS] vector and the mean of each mention's token vectors, each
through dropout -> tanh -> its own fully connected layer, concatenated, then dropout -> a linear
classifier. The paper marks entities with ``$`` and ``#`` (``marker_style: rbert``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from ._marked import MarkedEncoderArchitecture, span_mean

if TYPE_CHECKING:
    from ..suggest import Suggester

__all__ = ["RBert"]


class _RBertHead(torch.nn.Module):
    def __init__(self, hidden: int, classes: int, dropout: float):
        super().__init__()
        self.dropout = torch.nn.Dropout(dropout)
        self.cls_fc = torch.nn.Linear(hidden, hidden)
        self.head_fc = torch.nn.Linear(hidden, hidden)
        self.tail_fc = torch.nn.Linear(hidden, hidden)
        self.classifier = torch.nn.Linear(3 * hidden, classes)

    def forward(self, hidden: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        parts = [
            (self.cls_fc, hidden[:, 0]),  # (B, H): [CLS]
            (self.head_fc, span_mean(hidden, batch["head_span"])),  # (B, H)
            (self.tail_fc, span_mean(hidden, batch["tail_span"])),  # (B, H)
        ]
        joined = torch.cat([fc(torch.tanh(self.dropout(x))) for fc, x in parts], dim=-1)  # (B, 3H)
        return self.classifier(self.dropout(joined))  # (B, C)


class RBert(MarkedEncoderArchitecture):
    name = "rbert"
    description = "R-BERT: [CLS] + mean of each mention, each through tanh + its own FC, then a classifier"

    def build_head(self, hidden_size: int) -> torch.nn.Module:
        return _RBertHead(hidden_size, len(self.label_space), self.spec.model.dropout)

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        # The paper's $ ... $ and # ... # markers.
        return {**super().search_dimensions(trial, prefix), "marker_style": "rbert"}
