"""The loop's hyper-parameters: the ``loop`` section of a trial's config
(:class:`trainables.config.TrialSpec`), beside the loop rather than in the trial config so that
the loop, the architectures and phase 1 read it without importing the trial config (which looks
up the architectures). ``trainables.config.LoopConfig`` and ``trainables.loop.LoopConfig`` are
this class."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ResweepError

__all__ = ["LoopConfig"]


@dataclass(frozen=True)
class LoopConfig:
    """Hyper-parameters of the loop. ``max_epochs`` and ``patience`` apply to each stage."""

    learning_rate: float = 5e-5
    batch_size: int = 16
    max_epochs: int = 3
    patience: int = 2
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    eval_batch_size: int = 64
    selection_metric: str = "f1_weighted"
    # Batches are formed inside windows of this many batches, sorted by length: little padding,
    # still random (the window and the batch order are shuffled).
    bucket_batches: int = 50
    # Off: test is scored only in epochs that improve dev (the selected epoch's test scores are
    # exact, per-epoch test curves are gaps). On a CPU, scoring a large test set can cost as much
    # as the epoch's training.
    test_every_epoch: bool = True

    def __post_init__(self) -> None:
        for name in ("learning_rate", "max_grad_norm"):
            if not getattr(self, name) > 0:
                raise ResweepError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("batch_size", "max_epochs", "patience", "eval_batch_size", "bucket_batches"):
            if not getattr(self, name) >= 1:
                raise ResweepError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_ratio < 1:
            raise ResweepError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
