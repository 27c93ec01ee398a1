"""The top of the trainables sandwich, and the only part that imports Ray.

:func:`resweep_trial` is a Ray Tune *function trainable*. It runs one trial with one of two
executors, both resuming from checkpoints the same way:

* ``inline`` — the loop runs in the Tune trial's own process and reports through
  ``ray.tune.report`` with a ``tune.Checkpoint``. No worker group to start: the right choice for
  single-process trials, on a CPU or on the GPU (or slice of one) the trial holds (phase-2 MLPs
  on cached features compute for seconds, while a Train job costs ~10 s of fixed overhead).
* ``train`` — the trial builds a Ray Train ``TorchTrainer`` and fits it (the pattern that works
  with Train V2: Tune function trainable -> TorchTrainer -> per-worker loop), with
  ``TuneReportCallback`` forwarding each report to Tune. Used for multi-worker data-parallel
  trials (a GPU or a fraction of one per worker), and whenever asked. The Train run is named
  after the trial's config hash, so a rerun of the same trial resumes from its own checkpoints.

``executor="auto"`` picks ``train`` when a trial asks for more than one worker.

Every report carries where it ran (``node_id``, ``node_ip``): the results store keeps the node of
each trial, which is how a multi-node sweep shows it spread.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import ray
import torch
from ray import tune

from cluster.storage import Location

from .config import TrialSpec
from .loop import World
from .runtime import EXECUTORS, TrialRuntime, choose_executor
from .trial import run_trial

__all__ = ["EXECUTORS", "TrialRuntime", "choose_executor", "resweep_trial", "train_worker"]


def resweep_trial(config: dict[str, Any], runtime: TrialRuntime) -> None:
    """Tune function trainable: ``tune.with_parameters(resweep_trial, runtime=...)``."""
    spec = TrialSpec.from_config(config)
    if choose_executor(runtime) == "inline":
        _run_inline(spec, runtime)
    else:
        _run_train_job(spec, runtime)


def _run_from_checkpoint(
    spec: TrialSpec,
    runtime: TrialRuntime,
    checkpoint: Any,
    report: Callable[[dict[str, Any], Path | None], None],
    world: World | None = None,
) -> None:
    """Run the trial, resuming from ``checkpoint`` (a Tune or Train checkpoint) when there is one."""
    with (
        checkpoint.as_directory() if checkpoint else nullcontext(None) as resume_dir,
        tempfile.TemporaryDirectory(prefix="resweep-trial-") as scratch,
    ):
        run_trial(
            spec,
            report=report,
            artifacts=runtime.artifacts,
            resume_from=Path(resume_dir) if resume_dir else None,
            checkpoint_root=Path(scratch),
            world=world,
        )


def _where() -> dict[str, str]:
    """The node this process runs on (node ids differ where IPs do not: one machine, many nodes)."""
    context = ray.get_runtime_context()
    return {"node_id": context.get_node_id(), "node_ip": ray.util.get_node_ip_address()}


def _run_inline(spec: TrialSpec, runtime: TrialRuntime) -> None:
    where = _where()

    def report(metrics: dict[str, Any], directory: Path | None) -> None:
        metrics = {**metrics, **where}
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory) if directory else None)

    # The GPU (or slice) Ray gave this trial is the only one it sees (CUDA_VISIBLE_DEVICES).
    use_cuda = runtime.use_gpu and torch.cuda.is_available()
    world = World(device=torch.device("cuda") if use_cuda else torch.device("cpu"))
    _run_from_checkpoint(spec, runtime, tune.get_checkpoint(), report, world)


def _run_train_job(spec: TrialSpec, runtime: TrialRuntime) -> None:
    # Ray Train is imported where it is used: ~0.4 s of every inline trial process otherwise.
    import ray.train
    import ray.train.torch
    from ray.tune.integration.ray_train import TuneReportCallback

    storage = Location.parse(runtime.train_storage)
    trainer = ray.train.torch.TorchTrainer(
        train_worker,
        train_loop_config={"config": spec.to_config(), "runtime": asdict(runtime)},
        scaling_config=ray.train.ScalingConfig(
            num_workers=runtime.num_workers,
            use_gpu=runtime.use_gpu,
            resources_per_worker={
                "CPU": runtime.cpus_per_worker,
                **({"GPU": runtime.gpus_per_worker or 1.0} if runtime.use_gpu else {}),
            },
        ),
        run_config=ray.train.RunConfig(
            name=f"train-{spec.key()}",
            storage_path=storage.path,
            storage_filesystem=storage.filesystem if storage.remote else None,
            callbacks=[TuneReportCallback()],  # type: ignore[list-item]  # a Train V2 UserCallback
            # The newest checkpoint is all a resume needs (Train saves its state naming the new
            # one before it deletes the old); the sweep deletes the run once the trial's row is stored.
            checkpoint_config=ray.train.CheckpointConfig(num_to_keep=None if runtime.keep_checkpoints else 1),
        ),
    )
    trainer.fit()


def train_worker(loop_config: dict[str, Any]) -> None:
    """Ray Train's per-worker function: the same loop, data-parallel across the worker group."""
    import ray.train
    import ray.train.torch

    spec = TrialSpec.from_config(loop_config["config"])
    runtime = TrialRuntime(**loop_config["runtime"])
    context = ray.train.get_context()
    size = context.get_world_size()
    world = World(
        rank=context.get_world_rank(),
        size=size,
        device=ray.train.torch.get_device(),
        prepare_model=ray.train.torch.prepare_model if size > 1 else None,
    )

    where = _where()

    def report(metrics: dict[str, Any], directory: Path | None) -> None:
        # Every worker reports (Train waits for all); only rank 0 has a checkpoint to hand over.
        ray.train.report(
            {**metrics, **where},
            checkpoint=ray.train.Checkpoint.from_directory(directory) if directory else None,
        )

    _run_from_checkpoint(spec, runtime, ray.train.get_checkpoint(), report, world)
