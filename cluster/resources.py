"""Resources per trial, and how many trials a cluster runs at once.

A trial is one of two shapes (see :mod:`trainables.ray_adapter`):

* ``inline``: the loop runs in the Tune trial's own process, which asks for ``cpus`` and
  ``gpus`` — a fraction such as 0.25 lets four small phase-2 trials share one card;
* ``train``: a Ray Train job of ``workers`` data-parallel workers, each asking for ``cpus`` and
  ``gpus`` (one GPU each for multi-GPU trials); the trial's own driver takes no CPU, only the
  custom ``TRAIN_DRIVER`` resource (a driver holding a CPU can starve its own workers).

``executor: auto`` picks ``train`` for more than one worker, ``inline`` otherwise (Train's fixed
cost per trial is 10+ s; one process on one GPU, or a slice of one, needs none of it).

Concurrency: a trial that starts and then waits for a GPU holds its slot for nothing, so with
``max_concurrent: auto`` a sweep runs as many trials as the cluster's CPUs and GPUs fit now. An
explicit number is kept (an autoscaling cluster grows only when trials ask for more than it has),
with a warning when the cluster cannot fit that many yet.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "AUTO",
    "DRIVER_RESOURCE",
    "EXECUTOR_CHOICES",
    "ResourcesError",
    "TrialResources",
    "local_resources",
    "resolve_executor",
]

AUTO = "auto"
# What a sweep's ``resources.executor`` may say: how a trial runs on Ray, ``inline`` in its Tune
# trial process or ``train`` as a Ray Train job (a worker group) — trainables.runtime.EXECUTORS,
# which this floor may not import — or ``auto``, decided from the number of processes.
EXECUTOR_CHOICES = (AUTO, "inline", "train")
DRIVER_RESOURCE = "TRAIN_DRIVER"  # the custom resource `train` trial drivers take
DRIVER_MEMORY = 2**20  # bytes a driver asks for where there is no DRIVER_RESOURCE: every node has it


class ResourcesError(ValueError):
    """A trial's resources that cannot work (a user's config; resweep prints it as one line)."""


def resolve_executor(executor: str, workers: int) -> str:
    """``inline`` or ``train`` for ``executor`` (``auto`` decides) and ``workers`` processes."""
    if executor not in EXECUTOR_CHOICES:
        raise ResourcesError(f"executor must be one of {', '.join(EXECUTOR_CHOICES)}, got {executor!r}")
    if executor == AUTO:
        # One process, GPU or not, needs no worker group (Train's fixed cost is 10+ s per trial).
        return "train" if workers > 1 else "inline"
    if executor == "inline" and workers > 1:
        raise ResourcesError("executor 'inline' runs one process: use 'train' (or 'auto') for workers > 1")
    return executor


@dataclass(frozen=True)
class TrialResources:
    """What one trial takes: ``cpus``/``gpus`` per process (per worker for ``train``). Also the
    ``resources:`` section of a sweep config."""

    cpus: float = 1.0
    gpus: float = 0.0
    workers: int = 1
    executor: str = AUTO

    def __post_init__(self) -> None:
        if self.cpus < 0 or self.gpus < 0:
            raise ResourcesError(f"cpus and gpus must be >= 0, got {self.cpus} and {self.gpus}")
        if self.workers < 1:
            raise ResourcesError(f"workers must be >= 1, got {self.workers}")
        if self.gpus > 1 and self.gpus != int(self.gpus):
            raise ResourcesError(
                f"gpus above 1 must be whole (one process uses whole cards), got {self.gpus}"
            )
        self.resolved_executor  # noqa: B018 - raises for 'inline' with several workers
        if self.workers == 1 and self.gpus > 1:
            raise ResourcesError(
                f"one trial process trains on one GPU, so gpus: {self.gpus:g} would hold idle cards; "
                f"for {self.gpus:g} GPUs per trial use workers: {self.gpus:g} with gpus: 1 (data-parallel)"
            )

    @property
    def resolved_executor(self) -> str:
        return resolve_executor(self.executor, self.workers)

    def request(self, cluster: Mapping[str, float] | None = None) -> dict[str, float]:
        """The Tune trial's own resource request (``tune.with_resources``). A ``train`` trial's
        driver takes the ``TRAIN_DRIVER`` resource where ``cluster`` has it (resweep's launcher
        configs and embedded Ray do); on a cluster started with a plain ``ray start`` it takes
        nothing at all (asking for a resource no node has would wait forever)."""
        if self.resolved_executor == "inline":
            return {"cpu": self.cpus, "gpu": self.gpus}
        if cluster is not None and cluster.get(DRIVER_RESOURCE, 0) <= 0:
            return {"cpu": 0, "memory": DRIVER_MEMORY}  # Tune needs the trial to ask for something
        return {"cpu": 0, DRIVER_RESOURCE: 1}  # the workers ask for theirs through ScalingConfig

    def per_trial(self) -> dict[str, float]:
        """Everything a running trial holds, in Ray's resource names."""
        return {"CPU": self.cpus * self.workers, "GPU": self.gpus * self.workers}

    def fits(self, cluster: Mapping[str, float]) -> int:
        """How many such trials ``cluster`` (``ray.cluster_resources()``) runs at once; 0: none."""
        counts = [
            math.floor(cluster.get(name, 0.0) / need + 1e-9)
            for name, need in self.per_trial().items()
            if need > 0
        ]
        return min(counts) if counts else 1_000_000  # asks for nothing: not the limit

    def shortfall(self, cluster: Mapping[str, float], where: str = "the cluster") -> tuple[str, str] | None:
        """None when one trial fits ``cluster`` (Ray's resource names); else the ``resources:`` key
        it asks too much of and a message saying so and how to change it. A local Ray never grows:
        such a trial would wait for ever."""
        for key, name in (("gpus", "GPU"), ("cpus", "CPU")):
            need, have = self.per_trial()[name], float(cluster.get(name, 0.0))
            if need <= 0 or need <= have + 1e-9:
                continue
            each = f" ({self.workers} workers x {getattr(self, key):g})" if self.workers > 1 else ""
            if key == "gpus" and have == 0:
                fix = "set resources.gpus: 0 to train on CPUs, or run on a cluster with GPUs (--address)"
            else:
                most = math.floor(have / self.workers * 100) / 100  # per process, as the key is given
                fewer = " or fewer workers" if self.workers > 1 else ""
                fix = f"set resources.{key} to at most {most:g}{fewer}, or use a bigger cluster (--address)"
            needs = f"{need:g} {name}{'s' if need > 1 else ''}{each}"
            return key, f"a trial needs {needs}; {where} has {have:g}: no trial could start; {fix}"
        return None

    def concurrency(self, configured: int | str, cluster: Mapping[str, float]) -> tuple[int, str | None]:
        """Trials to run at once and a warning, if any. ``auto``: what fits now."""
        fit = self.fits(cluster)
        need = ", ".join(f"{v:g} {k}" for k, v in self.per_trial().items() if v > 0)
        have = ", ".join(f"{cluster.get(k, 0.0):g} {k}" for k in self.per_trial())
        if configured == AUTO:
            if fit == 0:
                raise ResourcesError(f"a trial needs {need}; the cluster has {have}: no trial can start")
            return fit, None
        count = int(configured)
        if count > fit:
            return count, (
                f"max_concurrent {count}, but the cluster fits {fit} trial(s) of {need} now ({have}); "
                "the others wait for free resources (or for the autoscaler)"
            )
        return count, None


def local_resources(*, gpus: bool = True) -> dict[str, float]:
    """What an embedded local Ray would have, without starting it (Ray's names): the CPUs this
    process may run on and the GPUs CUDA sees (``CUDA_VISIBLE_DEVICES`` honoured, as Ray does).
    ``gpus=False`` leaves the GPUs uncounted (0): counting imports torch, 1.5-2 s, which a trial
    that asks for no GPU need not wait for."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    count = 0
    if gpus:
        try:
            import torch

            count = torch.cuda.device_count()
        except ImportError:  # pragma: no cover - torch is a dependency; without it no trial runs a GPU
            pass
    return {"CPU": float(cpus), "GPU": float(count)}
