"""``redn`` (Li & Tian 2020, "Downstream Model Design of Pre-trained Language Model for Relation
Extraction Task"): relations as asymmetric kernels between token pairs.

Head side: the penultimate layer's token states plus the last layer's [CLS] vector; tail side:
the last layer's token states. For each relation ``i`` a kernel pair projects them,
``S_i = (E_b W_h_i)(E_p W_t_i)^T`` (L x L token-pair scores, projected to ``projection_size``
dimensions and scaled by 1/sqrt of it, as attention scores are, so that the sigmoids do not start
saturated). The pair's score for relation ``i`` is the mean of ``sigmoid(S_i)`` over its block:
head mention tokens x tail mention tokens. Training: binary cross-entropy per relation over the
block entries (the negative class is the absence of every relation, not a channel). Decision: the
relations scoring above ``redn_threshold`` (0.5) — several are possible, see
:func:`relations_above`; single-label metrics take the best of them, or the negative class when
none passes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch

from ._base import instance_weights, relation_mask, threshold_decision, weighted_mean
from ._marked import MarkedEncoderArchitecture, span_mask
from .settings import RednSettings

if TYPE_CHECKING:
    from ..suggest import Suggester

__all__ = ["Redn", "relations_above"]


class _RednHead(torch.nn.Module):
    def __init__(self, hidden: int, classes: int, size: int, dropout: float):
        super().__init__()
        self.classes, self.size = classes, size
        self.dropout = torch.nn.Dropout(dropout)
        self.head_kernels = torch.nn.Linear(hidden, classes * size)  # every W_h_i side by side
        self.tail_kernels = torch.nn.Linear(hidden, classes * size)  # every W_t_i

    def forward(self, hidden_states: tuple[torch.Tensor, ...]) -> torch.Tensor:
        last, penultimate = hidden_states[-1], hidden_states[-2]  # (B, L, H) each
        batch, length, _ = last.shape
        head_side = penultimate + last[:, :1]  # (B, L, H): + the last layer's [CLS] vector
        heads = self.head_kernels(self.dropout(head_side)).view(batch, length, self.classes, self.size)
        tails = self.tail_kernels(self.dropout(last)).view(batch, length, self.classes, self.size)
        return torch.einsum("bicd,bjcd->bcij", heads, tails) / math.sqrt(self.size)  # (B, C, L, L)


class _RednModel(torch.nn.Module):
    def __init__(self, encoder: torch.nn.Module, head: torch.nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token-pair logits (B, C, L, L) and the pair's block (B, L, L) bool."""
        output = self.encoder(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True
        )
        scores = self.head(output.hidden_states)
        length = scores.shape[-1]
        block = (
            span_mask(length, batch["head_span"])[:, :, None]
            & span_mask(length, batch["tail_span"])[:, None, :]
        )
        return scores, block


def _block_mean(values: torch.Tensor, block: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` (B, C, L, L) over each row's block (B, L, L) -> (B, C)."""
    weights = block.to(values.dtype)[:, None]  # (B, 1, L, L)
    return (values * weights).sum((2, 3)) / weights.sum((2, 3)).clamp(min=1.0)


def relations_above(
    scores: np.ndarray, threshold: float, negative_ids: tuple[int, ...] = ()
) -> list[list[int]]:
    """Multi-label decisions from pair scores (N, C): per pair, every relation above ``threshold``."""
    keep = scores > threshold
    keep[:, list(negative_ids)] = False
    return [np.flatnonzero(row).tolist() for row in keep]


class Redn(MarkedEncoderArchitecture):
    settings_class: ClassVar[type] = RednSettings
    name = "redn"
    description = (
        "REDN: per-relation asymmetric kernels over token pairs, sigmoid, mean over the entity block"
    )

    def build_head(self, hidden_size: int) -> torch.nn.Module:
        projection = self.settings(self.spec).projection_size
        return _RednHead(hidden_size, len(self.label_space), projection, self.spec.model.dropout)

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        config = super().search_dimensions(trial, prefix)
        config["projection_size"] = trial.suggest_categorical(
            f"{prefix}{cls.name}.projection_size", [64, 128, 256]
        )
        config["redn_threshold"] = trial.suggest_float(f"{prefix}redn_threshold", 0.3, 0.7)
        return config

    def assemble(self, encoder: torch.nn.Module, head: torch.nn.Module) -> torch.nn.Module:
        return _RednModel(encoder, head)

    def pair_scores(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, C) probabilities: per relation, the mean of the sigmoid over the pair's block."""
        scores, block = model(batch)
        return _block_mean(torch.sigmoid(scores.float()), block)

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        negative = self.label_space.negative_ids
        return threshold_decision(
            self.pair_scores(model, batch), negative, self.settings(self.spec).redn_threshold
        )

    def loss(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], class_weights: torch.Tensor | None
    ) -> torch.Tensor:
        scores, block = model(batch)  # (B, C, L, L), (B, L, L)
        scores = scores.float()
        labels = batch["labels"]
        relations = relation_mask(scores.shape[1], self.label_space.negative_ids, scores.device)  # (C,)
        targets = torch.nn.functional.one_hot(labels, scores.shape[1]).to(scores.dtype)  # (B, C)
        entries = torch.nn.functional.binary_cross_entropy_with_logits(
            scores, targets[:, :, None, None].expand_as(scores), reduction="none"
        )  # (B, C, L, L)
        per_relation = _block_mean(entries, block)  # (B, C): mean over the block
        per_example = (per_relation * relations.to(scores.dtype)).sum(1)  # (B,): summed over relations
        return weighted_mean(per_example, instance_weights(labels, class_weights))
