"""The seam for RE architectures: how a model reads records, and what it is trained as."""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa
import torch

from ..data.labels import LabelSpace
from ..data.records import Record, table_to_records
from ..loop import EncodedSplit
from .settings import NoSettings

if TYPE_CHECKING:
    from ..config import TrialSpec
    from ..data.datasets import RelationDataset
    from ..data.regimes import RegimeData
    from ..suggest import Suggester

__all__ = [
    "BaseArchitecture",
    "NoSettings",
    "PrepareContext",
    "concat_splits",
    "instance_weights",
    "relation_mask",
    "threshold_decision",
    "weighted_mean",
]


@dataclass(frozen=True)
class PrepareContext:
    """What an architecture may need before encoding: the trial, its data, where artifacts live."""

    spec: TrialSpec
    data: RegimeData
    in_domain: RelationDataset
    ood: RelationDataset | None
    artifacts: str | Path  # a folder, or an object-store URI (see trainables.artifacts)
    device: torch.device
    keep_encoder: bool = False  # phase-1 artifacts keep their encoder (for a model folder)


class BaseArchitecture(ABC):
    """One way of reading records. Subclasses store configuration in ``__init__``; ``prepare``
    does expensive one-off work (phase-1 artifacts); ``build_model`` creates :attr:`model`.

    An architecture owns its settings, its search dimensions and its rules: ``settings_class``
    (a frozen dataclass beside it in its module, validated in ``__post_init__``; its field names
    are the flat trial keys, see :class:`trainables.config.TrialSpec`), :meth:`search_dimensions`
    (what a search space asks for it), and the class methods below (phase 1, OOD data, refused
    combinations). Adding one is its module plus one registry line."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line, for `resweep list architectures`
    settings_class: ClassVar[type] = NoSettings
    # Imbalance techniques it refuses (``check`` says why); search spaces never propose them.
    refused_imbalance: ClassVar[tuple[str, ...]] = ()
    # Where :meth:`export` writes a structure-only encoder (see trainables.encoders), relative to
    # the model folder: loading points the trial's ``encoder`` there. None: no encoder.
    encoder_folder: ClassVar[str | None] = None
    model: torch.nn.Module

    def __init__(self, spec: TrialSpec, label_space: LabelSpace):
        self.spec = spec
        self.label_space = label_space

    def prepare(self, context: PrepareContext) -> None:  # noqa: B027 - optional hook
        """One-off work before encoding (default: none)."""

    @abstractmethod
    def encode(self, table: pa.Table, *, ood: bool = False) -> EncodedSplit:
        """Records -> model-ready examples; labels as class ids of the label space."""

    @abstractmethod
    def build_model(self) -> torch.nn.Module:
        """Create (and keep in :attr:`model`) a fresh model."""

    @abstractmethod
    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        """A batch of ``split[indices]`` as tensors, with ``labels`` (B,)."""

    @abstractmethod
    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, C) class scores."""

    def loss(
        self, model: torch.nn.Module, batch: dict[str, torch.Tensor], class_weights: torch.Tensor | None
    ) -> torch.Tensor:
        """The training loss of a batch: cross-entropy of :meth:`logits`, with the imbalance
        technique's ``class_weights`` (C,) when it has them. Architectures trained otherwise
        (multi-label, ranking, two-step) override this; :meth:`logits` stays the decision."""
        logits = self.logits(model, batch).float()
        return torch.nn.functional.cross_entropy(logits, batch["labels"], weight=class_weights)

    def export(self, folder: Path) -> None:  # noqa: B027 - optional hook
        """Write into a model folder what reading new records needs besides :attr:`model`'s
        weights (a tokenizer, an encoder's config, a vocabulary), without pickle (default: nothing).
        See :mod:`trainables.model_folder`."""

    @classmethod
    def exported_encoder(cls, spec: TrialSpec) -> str | None:
        """:attr:`encoder_folder` of the architecture ``spec`` names (a wrapper: its inner one's)."""
        return cls.encoder_folder

    def restore(self, folder: Path) -> None:  # noqa: B027 - optional hook
        """The inverse of :meth:`export` on a fresh instance, instead of :meth:`prepare`: read what
        ``export`` wrote, so that :meth:`build_model` and :meth:`encode` work on new records."""

    def for_inference(self) -> None:  # noqa: B027 - optional hook
        """After training: read new records from now on, not only the ones :meth:`prepare` saw
        (``two-phase`` featurises them with its phase-1 encoder instead of looking them up)."""

    @classmethod
    def settings(cls, spec: TrialSpec) -> Any:
        """This architecture's typed settings in ``spec`` (an instance of ``settings_class``)."""
        return spec.model.settings_of(cls.name)

    @classmethod
    def settings_readers(cls, config: Mapping[str, Any]) -> tuple[str, ...]:
        """The architectures whose settings a trial of this one reads, from its flat config
        (a wrapper: itself and what it wraps)."""
        return (cls.name,)

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        """Its own hyper-parameters, asked of ``trial`` (an Optuna trial or a stand-in): the
        learning rate and batch size ranges that suit it and its settings. Optuna keeps one range
        per name, so names carry the architecture (``bilinear.learning_rate``); ``prefix`` keeps a
        wrapped architecture's apart. Default: the ranges of a fine-tuned transformer."""
        return cls.loop_dimensions(trial, prefix, (1e-5, 3e-4), [8, 16, 32])

    @classmethod
    def loop_dimensions(
        cls, trial: Suggester, prefix: str, learning_rates: tuple[float, float], batch_sizes: list[int]
    ) -> dict[str, Any]:
        """The learning rate (log-uniform in ``learning_rates``) and batch size, under this
        architecture's names: the part every architecture's dimensions start from."""
        name = f"{prefix}{cls.name}"
        return {
            "learning_rate": trial.suggest_float(f"{name}.learning_rate", *learning_rates, log=True),
            "batch_size": trial.suggest_categorical(f"{name}.batch_size", batch_sizes),
        }

    @classmethod
    def encoder_models(cls, spec: TrialSpec) -> int:
        """How many encoder models a trial trains (a cost estimate's unit; 0: no encoder)."""
        return 1

    @classmethod
    def uses_phase1(cls, spec: TrialSpec) -> bool:
        """Whether this architecture reads phase-1 features (its ``phase1_*`` settings matter)."""
        return False

    @classmethod
    def ood_reason(cls, spec: TrialSpec) -> str | None:
        """Why this architecture needs the out-of-domain dataset whatever the strategy (a trial
        without one is refused with this reason), or None."""
        return None

    @classmethod
    def reads_ood(cls, spec: TrialSpec) -> bool:
        """Whether it reads the OOD dataset, when one is configured, even where neither the
        strategy nor :meth:`ood_reason` asks for it (e.g. to share one artifact across trials)."""
        return cls.ood_reason(spec) is not None

    @classmethod  # noqa: B027 - an optional hook
    def check(cls, spec: TrialSpec) -> None:
        """Raise ``ValueError`` naming the combination when ``spec`` asks for something this
        architecture does not support (default: everything is supported)."""

    def _labels(self, table: pa.Table, ood: bool) -> np.ndarray:
        return self.label_space.encode(table["label"].to_pylist(), ood=ood)

    @staticmethod
    def _records(table: pa.Table) -> list[Record]:
        return table_to_records(table)


def instance_weights(labels: torch.Tensor, class_weights: torch.Tensor | None) -> torch.Tensor:
    """(B,) per-example loss weights: each example's class weight, or ones. How losses that are
    not a softmax cross-entropy (binary, ranking) take an imbalance technique's class weights."""
    if class_weights is None:
        return torch.ones(labels.shape[0], device=labels.device)
    return class_weights[labels]


def weighted_mean(losses: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per-example ``losses`` (B,) averaged with ``weights`` (B,), as cross-entropy's ``weight`` does."""
    return (losses * weights).sum() / weights.sum().clamp(min=1e-12)


def threshold_decision(scores: torch.Tensor, negative_ids: Sequence[int], threshold: float) -> torch.Tensor:
    """Relation scores (B, C) -> decision scores whose argmax is the best relation when its score
    exceeds ``threshold``, else the negative class: every negative class column scores exactly
    ``threshold``. Without a negative class the relation scores decide alone."""
    if not negative_ids:
        return scores
    decided = scores.clone()
    decided[:, list(negative_ids)] = threshold
    return decided


def relation_mask(n_classes: int, negative_ids: Sequence[int], device: torch.device) -> torch.Tensor:
    """(C,) bool: True for relation classes, False for negative ("no relation") classes."""
    mask = torch.ones(n_classes, dtype=torch.bool, device=device)
    mask[list(negative_ids)] = False
    return mask


def concat_splits(splits: Sequence[EncodedSplit]) -> EncodedSplit:
    """One split from several (a stage that trains on in-domain and OOD data together)."""
    if len(splits) == 1:
        return splits[0]
    inputs: Any
    # A scipy matrix means scipy is loaded; not importing it otherwise keeps it optional where
    # only dense architectures run (the device machines carry torch and transformers, not everything).
    sparse = sys.modules.get("scipy.sparse")
    if isinstance(splits[0].inputs, np.ndarray):
        inputs = np.concatenate([s.inputs for s in splits])
    elif sparse is not None and sparse.issparse(splits[0].inputs):  # stays sparse, rows indexable (CSR)
        inputs = sparse.vstack([s.inputs for s in splits], format="csr")
    else:
        inputs = [item for s in splits for item in s.inputs]
    return EncodedSplit(
        inputs, np.concatenate([s.labels for s in splits]), np.concatenate([s.lengths for s in splits])
    )
