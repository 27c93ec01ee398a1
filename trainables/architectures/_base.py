"""The seam for RE architectures: how a model reads records, and what it is trained as."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa
import torch

from ..data.labels import LabelSpace
from ..data.records import Record, table_to_records
from ..loop import EncodedSplit

if TYPE_CHECKING:
    from ..config import TrialSpec
    from ..data.datasets import RelationDataset
    from ..data.regimes import RegimeData

__all__ = ["BaseArchitecture", "PrepareContext", "concat_splits"]


@dataclass(frozen=True)
class PrepareContext:
    """What an architecture may need before encoding: the trial, its data, where artifacts live."""

    spec: TrialSpec
    data: RegimeData
    in_domain: RelationDataset
    ood: RelationDataset | None
    artifacts: Path
    device: torch.device


class BaseArchitecture(ABC):
    """One way of reading records. Subclasses store configuration in ``__init__``; ``prepare``
    does expensive one-off work (phase-1 artifacts); ``build_model`` creates :attr:`model`."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line, for `resweep list architectures`
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

    def _labels(self, table: pa.Table, ood: bool) -> np.ndarray:
        return self.label_space.encode(table["label"].to_pylist(), ood=ood)

    @staticmethod
    def _records(table: pa.Table) -> list[Record]:
        return table_to_records(table)


def concat_splits(splits: Sequence[EncodedSplit]) -> EncodedSplit:
    """One split from several (a stage that trains on in-domain and OOD data together)."""
    if len(splits) == 1:
        return splits[0]
    inputs: Any
    if isinstance(splits[0].inputs, np.ndarray):
        inputs = np.concatenate([s.inputs for s in splits])
    else:
        inputs = [item for s in splits for item in s.inputs]
    return EncodedSplit(
        inputs, np.concatenate([s.labels for s in splits]), np.concatenate([s.lengths for s in splits])
    )
