"""``entity-start`` (Baldini Soares et al. 2019, "Matching the Blanks", the "entity markers —
entity start" representation): the final hidden states at the head's and the tail's start
markers, concatenated, layer-normalised (``entity_start_layer_norm``), then a linear layer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ._marked import MarkedEncoderArchitecture
from .settings import EntityStartSettings

if TYPE_CHECKING:
    from ..suggest import Suggester

__all__ = ["EntityStart"]


class _EntityStartHead(torch.nn.Module):
    def __init__(self, hidden: int, classes: int, dropout: float, layer_norm: bool):
        super().__init__()
        self.norm = torch.nn.LayerNorm(2 * hidden) if layer_norm else torch.nn.Identity()
        self.dropout = torch.nn.Dropout(dropout)
        self.classifier = torch.nn.Linear(2 * hidden, classes)

    def forward(self, hidden: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        starts = torch.cat(
            [hidden[rows, batch["head_marker"]], hidden[rows, batch["tail_marker"]]], dim=-1
        )  # (B, 2H)
        return self.classifier(self.dropout(self.norm(starts)))  # (B, C)


class EntityStart(MarkedEncoderArchitecture):
    settings_class: ClassVar[type] = EntityStartSettings
    name = "entity-start"
    description = "entity start markers' final states, concatenated (+ layer norm), then a linear layer"

    def build_head(self, hidden_size: int) -> torch.nn.Module:
        model = self.spec.model
        return _EntityStartHead(
            hidden_size,
            len(self.label_space),
            model.dropout,
            self.settings(self.spec).entity_start_layer_norm,
        )

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        config = super().search_dimensions(trial, prefix)
        config["entity_start_layer_norm"] = trial.suggest_categorical(
            f"{prefix}entity_start_layer_norm", [True, False]
        )
        return config
