"""How and where a sweep's trials run: a small value every trial actor receives.

Kept apart from :mod:`trainables.ray_adapter` (which imports torch and Ray Train) so that
shipping it to a trial actor, or deciding the executor in the driver, imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ResweepError

__all__ = ["EXECUTORS", "TrialRuntime", "choose_executor"]

# How a trial runs: in its Tune trial process, or as a Ray Train job. (A sweep's ``auto`` is
# decided by the driver from the trial's resources: cluster.resources.resolve_executor.)
EXECUTORS = ("inline", "train")


@dataclass(frozen=True)
class TrialRuntime:
    """How and where trials run (the same for every trial of a sweep).

    ``artifacts``: folder of shared phase-1 artifacts; ``train_storage``: storage path of Train
    runs (their checkpoints); ``num_workers``/``use_gpu``/``cpus_per_worker``/``gpus_per_worker``:
    a Train job's scaling (``gpus_per_worker`` may be a fraction; 0 with ``use_gpu``: one GPU).
    An ``inline`` trial uses the GPU (or the slice of one) its Tune trial holds when ``use_gpu``.
    ``keep_checkpoints``: a Train run keeps every epoch's checkpoint, not only the newest.
    """

    artifacts: str
    train_storage: str
    executor: str = "inline"
    num_workers: int = 1
    use_gpu: bool = False
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    keep_checkpoints: bool = False

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ResweepError(f"executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.num_workers < 1:
            raise ResweepError(f"num_workers must be >= 1, got {self.num_workers}")
        if self.executor == "inline" and self.num_workers > 1:
            raise ResweepError("executor 'inline' runs one process: use 'train' for num_workers > 1")


def choose_executor(runtime: TrialRuntime) -> str:
    return runtime.executor
