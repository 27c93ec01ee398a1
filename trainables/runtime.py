"""How and where a sweep's trials run: a small value every trial actor receives.

Kept apart from :mod:`trainables.ray_adapter` (which imports torch and Ray Train) so that
shipping it to a trial actor, or deciding the executor in the driver, imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import EXECUTORS

__all__ = ["TrialRuntime", "choose_executor", "resolve_executor"]


@dataclass(frozen=True)
class TrialRuntime:
    """How and where trials run (the same for every trial of a sweep).

    ``artifacts``: folder of shared phase-1 artifacts; ``train_storage``: storage path of Train
    runs (their checkpoints); ``num_workers``/``use_gpu``/``cpus_per_worker``/``gpus_per_worker``:
    a Train job's scaling (``gpus_per_worker`` may be a fraction; 0 with ``use_gpu``: one GPU).
    An ``inline`` trial uses the GPU (or the slice of one) its Tune trial holds when ``use_gpu``.
    """

    artifacts: str
    train_storage: str
    executor: str = "auto"
    num_workers: int = 1
    use_gpu: bool = False
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.num_workers < 1:
            raise ValueError(f"num_workers must be >= 1, got {self.num_workers}")
        resolve_executor(self.executor, self.num_workers)


def resolve_executor(executor: str, workers: int) -> str:
    """``inline`` or ``train`` for ``executor`` (``auto`` decides) and ``workers`` processes."""
    if executor == "auto":
        # One process, GPU or not, needs no worker group (Train's fixed cost is 10+ s per trial).
        return "train" if workers > 1 else "inline"
    if executor == "inline" and workers > 1:
        raise ValueError("executor 'inline' runs one process: use 'train' (or 'auto') for workers > 1")
    return executor


def choose_executor(runtime: TrialRuntime) -> str:
    return resolve_executor(runtime.executor, runtime.num_workers)
