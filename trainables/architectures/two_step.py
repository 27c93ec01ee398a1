"""``two-step`` (the TACRED study; Wang et al. 2019 for DocRED): identification, then
classification, each a model of another architecture (``two_step_inner``, default ``bert-seqcls``).

Step 1 is a binary model, "some relation" or not, trained on every positive example of a batch and
negatives sub-sampled to ``two_step_negative_ratio`` per positive (3:1 by default; drawn from the
seeded torch generator, so resumes repeat them). Step 2 classifies, trained on the batch's positive
examples only, with the imbalance technique's class weights. Both train together, one loss the
sum of the two, so early stopping and checkpoints see the pipeline. At inference step 2 runs only
on the examples step 1 calls a relation; the rest are the negative class. Every metric is the
pipeline's.

Needs a negative class in the in-domain data (what would step 1 learn otherwise). Imbalance
``negative_sampling`` is not supported: step 1 samples negatives itself, and step 2 sees none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa
import torch

from ..data.labels import LabelSpace
from ..errors import ResweepError
from ..loop import EncodedSplit
from . import ARCHITECTURES, check_supported, settings_readers
from ._base import BaseArchitecture, PrepareContext, relation_mask
from .settings import TwoStepSettings

if TYPE_CHECKING:
    from ..config import TrialSpec
    from ..suggest import Suggester

__all__ = ["IDENTIFICATION_LABELS", "TwoStep"]

IDENTIFICATION_LABELS = ("no_relation", "relation")  # step 1's classes; ids 0 and 1
EXCLUDED = -1e4  # the score of a class a step rules out (finite: bf16-safe, argmax-safe)


def _rows(batch: dict[str, torch.Tensor], rows: torch.Tensor) -> dict[str, torch.Tensor]:
    """The batch restricted to ``rows`` (every collated tensor is batch-first)."""
    return {key: value[rows] for key, value in batch.items()}


class _TwoStepModel(torch.nn.Module):
    """Both steps' models; ``forward`` runs one step so that a data-parallel wrapper sees it."""

    def __init__(self, identifier: BaseArchitecture, classifier: BaseArchitecture):
        super().__init__()
        self.identify = identifier.model
        self.classify = classifier.model
        self.steps = {"identify": identifier, "classify": classifier}  # not modules: how to run them

    def forward(
        self,
        batch: dict[str, torch.Tensor],
        step: str,
        class_weights: torch.Tensor | None = None,
        loss: bool = False,
    ) -> torch.Tensor:
        architecture = self.steps[step]
        model = self.identify if step == "identify" else self.classify
        return architecture.loss(model, batch, class_weights) if loss else architecture.logits(model, batch)


class TwoStep(BaseArchitecture):
    name = "two-step"
    description = "a wrapper: step 1 relation-or-not (negatives sub-sampled), step 2 classifies the positives"
    settings_class: ClassVar[type] = TwoStepSettings
    refused_imbalance = ("negative_sampling",)

    @classmethod
    def settings_readers(cls, config: Mapping[str, Any]) -> tuple[str, ...]:
        return settings_readers(cls.name, config)  # the rule lives beside the settings, torch-free

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        inner = trial.suggest_categorical(
            f"{prefix}two_step_inner", [n for n in ARCHITECTURES.names() if n != cls.name]
        )
        config = {
            "two_step_inner": inner,
            "two_step_negative_ratio": trial.suggest_float(
                f"{prefix}two_step_negative_ratio", 1.0, 10.0, log=True
            ),
        }
        return {**config, **ARCHITECTURES.get(inner).search_dimensions(trial, prefix=f"{prefix}{cls.name}.")}

    def __init__(self, spec: TrialSpec, label_space: LabelSpace):
        super().__init__(spec, label_space)
        self.check(spec)
        inner = self._inner(spec)
        self.identification_space = LabelSpace.build(
            IDENTIFICATION_LABELS, negative=IDENTIFICATION_LABELS[:1]
        )
        self.identifier = inner(spec, self.identification_space)
        self.classifier = inner(spec, label_space)

    @classmethod
    def check(cls, spec: TrialSpec) -> None:
        check_supported(cls.name, spec)  # the rule lives beside the settings, torch-free

    def prepare(self, context: PrepareContext) -> None:
        in_domain_negative = [
            label for label in self.label_space.in_domain if label in self.label_space.negative
        ]
        if not in_domain_negative:
            raise ResweepError(
                f"architecture 'two-step' needs a negative ('no relation') class, and in-domain dataset "
                f"{context.spec.data.in_domain!r} has none; use a single-step architecture"
            )
        self.classifier.prepare(context)
        self._share()

    def _share(self) -> None:
        # Step 1 reads records exactly as step 2 does (tokenizer, phase-1 features): it shares what
        # the classifier prepared; only its label space and model are its own.
        shared = {k: v for k, v in vars(self.classifier).items() if k not in ("spec", "label_space", "model")}
        vars(self.identifier).update(shared)

    @staticmethod
    def _inner(spec: TrialSpec) -> type[BaseArchitecture]:
        """The architecture of both steps: its rules are the wrapper's."""
        return ARCHITECTURES.get(TwoStep.settings(spec).two_step_inner)

    @classmethod
    def encoder_models(cls, spec: TrialSpec) -> int:
        return 2 * cls._inner(spec).encoder_models(spec)  # one model per step

    @classmethod
    def uses_phase1(cls, spec: TrialSpec) -> bool:
        return cls._inner(spec).uses_phase1(spec)

    @classmethod
    def ood_reason(cls, spec: TrialSpec) -> str | None:
        return cls._inner(spec).ood_reason(spec)

    @classmethod
    def reads_ood(cls, spec: TrialSpec) -> bool:
        return cls._inner(spec).reads_ood(spec)

    @classmethod
    def exported_encoder(cls, spec: TrialSpec) -> str | None:
        return cls._inner(spec).exported_encoder(spec)

    def export(self, folder: Path) -> None:
        self.classifier.export(folder)  # both steps read records alike

    def restore(self, folder: Path) -> None:
        self.classifier.restore(folder)
        self._share()

    def for_inference(self) -> None:
        self.classifier.for_inference()
        self._share()

    def encode(self, table: pa.Table, *, ood: bool = False) -> EncodedSplit:
        return self.classifier.encode(table, ood=ood)  # labels: ids of the full label space

    def build_model(self) -> torch.nn.Module:
        self.identifier.build_model()
        self.classifier.build_model()
        self.model = _TwoStepModel(self.identifier, self.classifier)
        return self.model

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        return self.classifier.collate(split, indices)

    def _relations(self, labels: torch.Tensor) -> torch.Tensor:
        """(B,) bool: the example's class is a relation."""
        return relation_mask(len(self.label_space), self.label_space.negative_ids, labels.device)[labels]

    def loss(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], class_weights: torch.Tensor | None
    ) -> torch.Tensor:
        positive = self._relations(batch["labels"])  # (B,)
        positives = positive.nonzero().squeeze(1)
        negatives = (~positive).nonzero().squeeze(1)
        wanted = math.ceil(self.settings(self.spec).two_step_negative_ratio * max(1, len(positives)))
        sampled = negatives[torch.randperm(len(negatives))[:wanted].to(negatives.device)]
        rows = torch.cat([positives, sampled])
        step1 = _rows(batch, rows)
        step1["labels"] = positive[rows].long()  # ids of IDENTIFICATION_LABELS
        loss: torch.Tensor = model(step1, "identify", loss=True)
        if len(positives):
            loss = loss + model(_rows(batch, positives), "classify", class_weights, loss=True)
        else:  # no positive in this batch: step 2's parameters still take part (data parallelism)
            loss = loss + 0.0 * sum(p.sum() for p in self.classifier.model.parameters())
        return loss

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        says_relation = model(batch, "identify").argmax(1) == 1  # (B,)
        negative = list(self.label_space.negative_ids)
        scores = torch.full(
            (len(says_relation), len(self.label_space)), EXCLUDED, device=says_relation.device
        )
        scores[:, negative] = 0.0  # the negative class, unless step 2 decides
        rows = says_relation.nonzero().squeeze(1)
        if len(rows):
            chosen = model(_rows(batch, rows), "classify").float()  # (B', C): step 2, positives only
            chosen[:, negative] = EXCLUDED
            scores[rows] = chosen
        return scores
