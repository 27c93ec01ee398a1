"""Each architecture's own settings, without the architecture: typed, validated dataclasses whose
fields are flat trial config keys (``projection_size``, ``phase1_model``, ...).

They live apart from the architectures so that checking a trial config — every sweep config's
parse, every process that reads a sweep, the Tune trial process before its work starts — imports
neither torch nor the models (1.5-2 s in a fresh process on a small machine). An architecture
module names its class here as its ``settings_class``; ``SETTINGS`` maps each built-in
architecture's registered name to it (the conformance tests check that the two agree), and the
rules a config check needs (:func:`trainables.architectures.settings_readers`,
:func:`trainables.architectures.check_supported`) read only this module for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ResweepError
from ..loop_config import LoopConfig

if TYPE_CHECKING:
    from ..config import TrialSpec

__all__ = [
    "PHASE1_FINETUNES",
    "PHASE1_MODELS",
    "SETTINGS",
    "BilinearSettings",
    "CnnMtlSettings",
    "EntityStartSettings",
    "NoSettings",
    "RednSettings",
    "TwoPhaseSettings",
    "TwoStepSettings",
    "WordSettings",
    "refuse_two_step",
]

PHASE1_MODELS = ("none", "seqcls", "mlm")
PHASE1_FINETUNES = ("separate", "joined")


@dataclass(frozen=True)
class NoSettings:
    """The settings of an architecture that has none beyond the shared ones."""


@dataclass(frozen=True)
class TwoPhaseSettings:
    """Phase 1: which encoder makes the features (``none``: the pre-trained one; ``seqcls``:
    fine-tuned to classify relations; ``mlm``: further masked-LM pre-training), fine-tuned on
    each dataset apart or on both joined, and its loop (see :mod:`trainables.phase1`)."""

    phase1_model: str = "seqcls"
    phase1_finetune: str = "joined"
    phase1_learning_rate: float = 1e-4
    phase1_max_epochs: int = 3
    phase1_batch_size: int = 16
    phase1_patience: int = 2

    def __post_init__(self) -> None:
        if self.phase1_model not in PHASE1_MODELS:
            raise ResweepError(
                f"phase1_model must be one of {', '.join(PHASE1_MODELS)}, got {self.phase1_model!r}"
            )
        if self.phase1_finetune not in PHASE1_FINETUNES:
            raise ResweepError(
                f"phase1_finetune must be one of {', '.join(PHASE1_FINETUNES)}, got {self.phase1_finetune!r}"
            )
        self.loop  # noqa: B018 - validates the loop settings

    @property
    def loop(self) -> LoopConfig:
        return LoopConfig(
            learning_rate=self.phase1_learning_rate,
            batch_size=self.phase1_batch_size,
            max_epochs=self.phase1_max_epochs,
            patience=self.phase1_patience,
        )


@dataclass(frozen=True)
class EntityStartSettings:
    entity_start_layer_norm: bool = True  # a layer norm over the concatenated start states


@dataclass(frozen=True)
class BilinearSettings:
    projection_size: int = 128  # the width token states are projected to

    def __post_init__(self) -> None:
        if self.projection_size < 1:
            raise ResweepError(f"projection_size must be >= 1, got {self.projection_size}")


@dataclass(frozen=True)
class RednSettings(BilinearSettings):
    redn_threshold: float = 0.5  # a relation is predicted where its pair score exceeds this

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0 < self.redn_threshold < 1:
            raise ResweepError(f"redn_threshold must be in (0, 1), got {self.redn_threshold}")


@dataclass(frozen=True)
class WordSettings:
    """Settings of the word-feature models (``bilstm``, ``cnn-mtl``)."""

    word_embeddings: str = "encoder"  # the encoder's input embeddings, or "random"

    def __post_init__(self) -> None:
        if self.word_embeddings not in ("encoder", "random"):
            raise ResweepError(f"word_embeddings must be encoder or random, got {self.word_embeddings!r}")


@dataclass(frozen=True)
class CnnMtlSettings(WordSettings):
    """The windows, and the ranking loss (dos Santos et al. 2015: m+ 2.5, m- 0.5, scale 2) and
    its decision; alpha and beta weigh the identification and ranking losses."""

    cnn_windows: str = "2,3,4,5"  # convolution window sizes, comma-separated
    ranking_margin_positive: float = 2.5
    ranking_margin_negative: float = 0.5
    ranking_scale: float = 2.0
    ranking_threshold: float = 0.0  # the best relation's score must exceed this, else negative
    mtl_identification_weight: float = 1.0
    mtl_ranking_weight: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.windows  # noqa: B018 - validates cnn_windows
        for name in ("ranking_margin_positive", "ranking_scale"):
            if not getattr(self, name) > 0:
                raise ResweepError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("ranking_margin_negative", "mtl_identification_weight", "mtl_ranking_weight"):
            if getattr(self, name) < 0:
                raise ResweepError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.mtl_identification_weight == self.mtl_ranking_weight == 0:
            raise ResweepError("mtl_identification_weight and mtl_ranking_weight cannot both be 0")

    @property
    def windows(self) -> tuple[int, ...]:
        """``cnn_windows`` as sizes: ``"2,3,4"`` -> (2, 3, 4)."""
        parts = [part.strip() for part in self.cnn_windows.split(",")]
        if not parts or not all(part.isdigit() and int(part) >= 1 for part in parts):
            raise ResweepError(
                f"cnn_windows must be comma-separated sizes >= 1 like '2,3,4', got {self.cnn_windows!r}"
            )
        return tuple(int(part) for part in parts)


@dataclass(frozen=True)
class TwoStepSettings:
    two_step_inner: str = "bert-seqcls"  # the architecture of both steps
    two_step_negative_ratio: float = 3.0  # negatives per positive in step 1's batches

    def __post_init__(self) -> None:
        if self.two_step_inner == "two-step":
            raise ResweepError(
                f"architecture 'two-step' cannot wrap itself: two_step_inner={self.two_step_inner!r}"
            )
        if not self.two_step_negative_ratio > 0:
            raise ResweepError(f"two_step_negative_ratio must be > 0, got {self.two_step_negative_ratio}")

    @staticmethod
    def inner_of(config: Mapping[str, Any]) -> str:
        """The architecture a flat trial config has two-step wrap (checked)."""
        return TwoStepSettings(**{k: config[k] for k in ("two_step_inner",) if k in config}).two_step_inner


def refuse_two_step(spec: TrialSpec) -> None:
    """What ``two-step`` refuses whatever it wraps: it samples negatives itself."""
    if spec.imbalance == "negative_sampling":
        raise ResweepError(
            "architecture 'two-step' does not support imbalance 'negative_sampling': its step 1 "
            "samples negatives itself (two_step_negative_ratio) and step 2 trains on positives only"
        )


# Registered name -> settings class, for every architecture resweep ships (those a user registers
# are asked for theirs, which imports them).
SETTINGS: dict[str, type] = {
    "bert-seqcls": NoSettings,
    "two-phase": TwoPhaseSettings,
    "rbert": NoSettings,
    "entity-start": EntityStartSettings,
    "bilinear": BilinearSettings,
    "bilstm": WordSettings,
    "redn": RednSettings,
    "cnn-mtl": CnnMtlSettings,
    "two-step": TwoStepSettings,
    "tfidf-linear": NoSettings,
}
