"""``cnn-mtl`` (Ye et al. 2019, "Exploiting Entity BIO Tag Embeddings and Multi-task Learning for
Relation Extraction with Imbalanced Data", ACE 2005): a CNN over word, two position and entity
BIO tag embeddings, trained on two tasks at once.

Input per token: a word embedding, its distances to the head and to the tail, and a BIO tag
embedding (``B-<type>``/``I-<type>`` inside a mention, ``O`` elsewhere; "entity" as the type
where the record has none). resweep's records carry the relation's two arguments only, so the tags
mark that pair. Convolutions with several window sizes (``cnn_windows``, ``hidden_units``
filters each, tanh), max-pooled over the sentence, give the sentence vector ``r``.

Heads: relation *identification*, one logit for "some relation" (binary cross-entropy); relation
*classification*, one score ``s_c = r . w_c`` per relation, trained with the pairwise ranking
loss of dos Santos et al. (2015)::

    L = log(1 + exp(g (m+ - s_y))) + log(1 + exp(g (m- + s_c')))

with ``s_c'`` the highest-scoring wrong relation; an example of the negative class has no
``s_y`` and takes only the second term (``c'`` over all relations). Loss:
``alpha * identification + beta * ranking`` (``mtl_identification_weight``, ``mtl_ranking_weight``).
Decision: the best relation when its score exceeds ``ranking_threshold``, else the negative class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import torch

from ._base import instance_weights, relation_mask, threshold_decision, weighted_mean
from ._words import WordFeatureArchitecture, WordFeatures
from .settings import CnnMtlSettings

if TYPE_CHECKING:
    from ..suggest import Suggester

__all__ = ["CnnMtl", "ranking_loss"]


def ranking_loss(
    scores: torch.Tensor,
    labels: torch.Tensor,
    relations: torch.Tensor,
    *,
    margin_positive: float,
    margin_negative: float,
    scale: float,
) -> torch.Tensor:
    """Per-example pairwise ranking loss (B,) of relation ``scores`` (B, C); ``relations`` (C,)
    marks the classes that have a score (False: negative classes)."""
    softplus = torch.nn.functional.softplus
    positive = relations[labels]  # (B,) the gold class is a relation
    gold = scores.gather(1, labels[:, None]).squeeze(1)  # (B,)
    competitors = relations[None, :] & ~torch.nn.functional.one_hot(labels, scores.shape[1]).bool()  # (B, C)
    wrong = scores.masked_fill(~competitors, float("-inf")).max(1).values  # (B,) best wrong relation
    push_down = softplus(scale * (margin_negative + wrong))  # 0 when there is no wrong relation
    pull_up = torch.where(positive, softplus(scale * (margin_positive - gold)), torch.zeros_like(gold))
    return pull_up + push_down


class _CnnMtlModel(torch.nn.Module):
    def __init__(
        self, features: WordFeatures, filters: int, windows: tuple[int, ...], classes: int, dropout: float
    ):
        super().__init__()
        self.features = features
        # Full convolutions (padding k-1): a sentence shorter than a window still gets outputs.
        self.convolutions = torch.nn.ModuleList(
            torch.nn.Conv1d(features.width, filters, k, padding=k - 1) for k in windows
        )
        self.windows = windows
        self.dropout = torch.nn.Dropout(dropout)
        self.identify = torch.nn.Linear(filters * len(windows), 1)
        self.classify = torch.nn.Linear(filters * len(windows), classes)  # the class embeddings w_c

    def forward(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Identification logits (B,) and relation scores (B, C)."""
        x = self.features(batch)  # (B, L, W)
        valid = torch.arange(x.shape[1], device=x.device)[None, :] < batch["lengths"][:, None]  # (B, L)
        x = self.dropout(x * valid[:, :, None]).transpose(1, 2)  # (B, W, L), padding zeroed
        pooled = []
        for k, convolution in zip(self.windows, self.convolutions, strict=True):
            y = torch.tanh(convolution(x))  # (B, F, L + k - 1)
            # Output t covers inputs t-k+1 .. t: it touches the sentence while t < length + k - 1.
            inside = torch.arange(y.shape[2], device=y.device)[None, :] < (batch["lengths"][:, None] + k - 1)
            pooled.append(y.masked_fill(~inside[:, None, :], float("-inf")).max(2).values)  # (B, F)
        sentence = self.dropout(torch.cat(pooled, dim=1))  # (B, F * windows)
        return self.identify(sentence).squeeze(1), self.classify(sentence)


class CnnMtl(WordFeatureArchitecture):
    settings_class: ClassVar[type] = CnnMtlSettings
    name = "cnn-mtl"
    description = "CNN over word/position/BIO-tag embeddings; identification + ranking-loss classification"
    bio_tags = True

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        config = super().search_dimensions(trial, prefix)
        config["cnn_windows"] = trial.suggest_categorical(
            f"{prefix}cnn_windows", ["2,3", "2,3,4", "3,4,5", "2,3,4,5"]
        )
        config["ranking_margin_positive"] = trial.suggest_float(f"{prefix}ranking_margin_positive", 1.5, 3.5)
        config["ranking_margin_negative"] = trial.suggest_float(f"{prefix}ranking_margin_negative", 0.1, 1.0)
        config["ranking_scale"] = trial.suggest_float(f"{prefix}ranking_scale", 1.0, 3.0)
        config["ranking_threshold"] = trial.suggest_float(f"{prefix}ranking_threshold", -1.0, 1.0)
        config["mtl_identification_weight"] = trial.suggest_float(
            f"{prefix}mtl_identification_weight", 0.1, 2.0, log=True
        )
        return config

    def build_model(self) -> torch.nn.Module:
        model = self.spec.model
        self.model = _CnnMtlModel(
            self.build_features(),
            model.hidden_units,
            self.settings(self.spec).windows,
            len(self.label_space),
            model.dropout,
        )
        return self.model

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        _, scores = model(batch)
        negative = self.label_space.negative_ids
        return threshold_decision(scores.float(), negative, self.settings(self.spec).ranking_threshold)

    def loss(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], class_weights: torch.Tensor | None
    ) -> torch.Tensor:
        config = self.settings(self.spec)
        identification, scores = model(batch)
        labels = batch["labels"]
        relations = relation_mask(scores.shape[1], self.label_space.negative_ids, scores.device)
        identify = torch.nn.functional.binary_cross_entropy_with_logits(
            identification.float(), relations[labels].float(), reduction="none"
        )
        rank = ranking_loss(
            scores.float(),
            labels,
            relations,
            margin_positive=config.ranking_margin_positive,
            margin_negative=config.ranking_margin_negative,
            scale=config.ranking_scale,
        )
        per_example = config.mtl_identification_weight * identify + config.mtl_ranking_weight * rank
        return weighted_mean(per_example, instance_weights(labels, class_weights))
