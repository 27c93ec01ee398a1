"""``two-phase``: the thesis model. Phase 1 yields an encoder and its features (a shared artifact,
see :mod:`trainables.phase1`); phase 2 trains a small MLP on those features:
input (3H) -> ``hidden_units`` -> classes, with dropout."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa
import torch

from ..errors import ResweepError
from ..loop import EncodedSplit
from ..phase1 import ENCODER_FOLDER, Phase1Features, extract_features, phase1_features
from ._base import BaseArchitecture, PrepareContext
from .settings import PHASE1_FINETUNES, PHASE1_MODELS, TwoPhaseSettings

if TYPE_CHECKING:
    from ..config import TrialSpec
    from ..suggest import Suggester

__all__ = [
    "PHASE1_FINETUNES",
    "PHASE1_FOLDER",
    "PHASE1_MODELS",
    "PhaseTwoMLP",
    "TwoPhase",
    "TwoPhaseSettings",
]

PHASE1_FOLDER = "phase1"  # in a model folder: the phase-1 encoder (safetensors) and its tokenizer


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
    """In a sweep, records' features are looked up in the phase-1 artifact. For new records (a
    model folder, or a trained model after :meth:`for_inference`) the phase-1 encoder that made
    the artifact featurises them: the artifact must have been built with ``keep_encoder``."""

    name = "two-phase"
    description = "the thesis model: phase-1 encoder features [CLS; head; tail] -> phase-2 MLP"
    settings_class: ClassVar[type] = TwoPhaseSettings

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        config: dict[str, Any] = {
            "phase1_model": trial.suggest_categorical(f"{prefix}phase1_model", list(PHASE1_MODELS))
        }
        if config["phase1_model"] != "none":
            config["phase1_finetune"] = trial.suggest_categorical(
                f"{prefix}phase1_finetune", list(PHASE1_FINETUNES)
            )
        config["hidden_units"] = trial.suggest_categorical(
            f"{prefix}{cls.name}.hidden_units", [64, 128, 256, 512]
        )
        return {**config, **cls.loop_dimensions(trial, prefix, (1e-4, 3e-3), [16, 32, 64])}

    @classmethod
    def uses_phase1(cls, spec: TrialSpec) -> bool:
        return True

    @classmethod
    def ood_reason(cls, spec: TrialSpec) -> str | None:
        settings = cls.settings(spec)
        joined = settings.phase1_finetune == "joined" and settings.phase1_model != "none"
        return "phase1_finetune 'joined'" if joined else None

    @classmethod
    def reads_ood(cls, spec: TrialSpec) -> bool:
        # A `none`/`mlm` phase-1 artifact does not depend on the regime: featurising the OOD set in
        # it for every trial lets baseline and OOD-using trials of a sweep share one artifact.
        return cls.ood_reason(spec) is not None or cls.settings(spec).phase1_model != "seqcls"

    features: Phase1Features | None = None
    encoder_: Any = None  # the phase-1 encoder, once records are featurised rather than looked up
    tokenizer_: Any = None

    training_features: np.ndarray | None = None

    def prepare(self, context: PrepareContext) -> None:
        self.features = phase1_features(context, self.label_space)
        # Standardisation statistics: the in-domain training subset (never dev or test).
        self.training_features = self.features.lookup(context.data.train)

    def _phase1_encoder(self) -> Path:
        assert self.features is not None
        folder = self.features.folder / ENCODER_FOLDER
        if not folder.is_dir():
            raise ResweepError(
                f"phase-1 artifact {self.features.folder.name} keeps no encoder (it was built for a "
                "sweep, where only features are needed): prepare the trial with keep_encoder=True"
            )
        return folder

    def export(self, folder: Path) -> None:
        shutil.copytree(self._phase1_encoder(), folder / PHASE1_FOLDER)

    def restore(self, folder: Path) -> None:
        self._load_encoder(folder / PHASE1_FOLDER)

    def for_inference(self) -> None:
        self._load_encoder(self._phase1_encoder())

    def _load_encoder(self, folder: Path) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.encoder_ = AutoModel.from_pretrained(folder, use_safetensors=True)
        self.tokenizer_ = AutoTokenizer.from_pretrained(folder)

    @property
    def dim(self) -> int:
        """Feature width: 3 x the phase-1 encoder's hidden size."""
        if self.encoder_ is not None:
            return 3 * int(self.encoder_.config.hidden_size)
        assert self.features is not None
        return self.features.dim

    def encode(self, table: pa.Table, *, ood: bool = False) -> EncodedSplit:
        if self.encoder_ is not None:
            model = getattr(self, "model", None)
            device = next(model.parameters()).device if model is not None else torch.device("cpu")
            style, max_length = self.spec.model.marker_style, self.spec.model.max_length
            matrix = extract_features(self.encoder_, self.tokenizer_, table, style, max_length, device)
        else:
            assert self.features is not None
            matrix = self.features.lookup(table)
        return EncodedSplit(matrix, self._labels(table, ood), np.ones(len(matrix), dtype=np.int64))

    def build_model(self) -> torch.nn.Module:
        model = self.spec.model
        self.model = PhaseTwoMLP(self.dim, model.hidden_units, len(self.label_space), model.dropout)
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
