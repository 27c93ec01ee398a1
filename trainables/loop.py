"""The training loop: plain PyTorch, no Ray. It reports through a callback.

One call of :func:`fit` trains a model through a sequence of *stages* (``[train]`` for
``baseline``/``mixed``, ``[pretrain, finetune]`` for ``global``/``local``). Each stage: AdamW with
linear warm-up and decay, gradient clipping, length-bucketed batches with dynamic padding, bf16
autocast on CUDA, an imbalance technique, and early stopping on the in-domain dev selection
metric with ``patience`` (the best dev epoch's weights are restored when a stage ends). Every
epoch evaluates dev and test (test only in epochs that improve dev with ``test_every_epoch``
off: the selected epoch's test scores are all a result needs), writes a checkpoint, and calls
``report(metrics, checkpoint_dir)``.

Determinism: batch order and resampling come from generators seeded by (seed, stage, epoch), and
the torch RNG state (dropout) is part of the checkpoint, so a run resumed from any epoch's
checkpoint continues exactly as the uninterrupted run would have on CPU.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from .checkpoint import load_checkpoint, save_checkpoint, unwrap
from .errors import ResweepError
from .imbalance import BaseImbalance, make_imbalance
from .loop_config import LoopConfig
from .optim import linear_schedule, make_optimizer
from .report_keys import (  # TRAINING_DONE re-exported: it was defined here
    EPOCHS_DONE,
    EXAMPLES_PER_SECOND,
    FINAL_STAGE_EPOCHS,
    RESUMED_FROM_EPOCH,
    SELECTED_EPOCH,
    STAGE_EPOCH,
    TRAINING_DONE,
    score_key,
    selected_key,
)

__all__ = [
    "TRAINING_DONE",
    "EncodedSplit",
    "Evaluate",
    "FitResult",
    "LoopConfig",
    "Stage",
    "Task",
    "World",
    "fit",
    "predict",
    "training_loss",
]


@dataclass
class EncodedSplit:
    """Model-ready examples of one split: ``inputs`` is the architecture's (a list of token id
    lists, a feature matrix ...), ``labels`` class ids (N,), ``lengths`` for bucketing (N,)."""

    inputs: Any
    labels: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


Report = Callable[[dict[str, Any], "Path | None"], None]
Evaluate = Callable[[str, np.ndarray, EncodedSplit], dict[str, float]]  # (split name, scores (N, C), split)


class Task(Protocol):
    """What the loop needs from an architecture: a model and how to batch and score examples."""

    model: torch.nn.Module

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]: ...

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(B, C) scores whose argmax is the prediction; ``model`` is ``self.model`` or its
        data-parallel wrapper. A task may also define ``loss(model, batch, class_weights)``
        (see :func:`training_loss`); without one it trains these scores with cross-entropy."""
        ...


@dataclass(frozen=True)
class Stage:
    """One training stage. Early stopping uses the in-domain dev set, unless the stage brings its
    own ``dev`` and ``evaluate`` (an OOD-only pre-training stage, whose labels in-domain dev may
    not even contain); their metrics are reported as ``stage_dev_*``."""

    name: str
    train: EncodedSplit
    imbalance: BaseImbalance = field(default_factory=lambda: make_imbalance("none"))
    dev: EncodedSplit | None = None
    evaluate: Evaluate | None = None


@dataclass(frozen=True)
class World:
    """The data-parallel context: ranks shard the batches; only rank 0 writes checkpoints.

    ``prepare_model`` wraps the model for data parallelism (Ray Train's helper in a Train job).
    """

    rank: int = 0
    size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    prepare_model: Callable[[torch.nn.Module], torch.nn.Module] | None = None

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        return model if self.prepare_model is None else self.prepare_model(model)


@dataclass
class FitResult:
    """The selected epoch (best dev score of the last stage) and the whole history."""

    best: dict[str, Any]
    history: list[dict[str, Any]]
    epochs_done: int
    checkpoint: Path | None


def _batches(
    lengths: np.ndarray, indices: np.ndarray, config: LoopConfig, rng: np.random.Generator
) -> list[np.ndarray]:
    """Shuffle, sort by length inside windows, cut into batches, shuffle the batches."""
    order = indices[rng.permutation(len(indices))]
    window = config.batch_size * config.bucket_batches
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i : i + config.batch_size] for i in range(0, len(chunk), config.batch_size))
    return [batches[i] for i in rng.permutation(len(batches))]


def _count_batches(n: int, config: LoopConfig) -> int:
    window = config.batch_size * config.bucket_batches
    return sum(math.ceil(min(window, n - start) / config.batch_size) for start in range(0, n, window))


@torch.no_grad()
def predict(task: Task, split: EncodedSplit, config: LoopConfig, device: torch.device) -> np.ndarray:
    """(N, C) float32 scores, in the split's order (length-sorted batches, order restored)."""
    task.model.eval()
    order = np.argsort(split.lengths, kind="stable")
    out: list[np.ndarray] = []
    for start in range(0, len(order), config.eval_batch_size):
        batch = _to(task.collate(split, order[start : start + config.eval_batch_size]), device)
        with _autocast(device):
            out.append(task.logits(task.model, batch).float().cpu().numpy())
    scores = np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)
    restored = np.empty_like(scores)
    restored[order] = scores
    return restored


def training_loss(
    task: Task, model: torch.nn.Module, batch: dict[str, torch.Tensor], class_weights: torch.Tensor | None
) -> torch.Tensor:
    """The task's own loss when it has one (multi-label, ranking, two-step losses), otherwise
    cross-entropy of its logits; ``class_weights`` (C,) come from the imbalance technique."""
    own = getattr(task, "loss", None)
    if own is not None:
        loss: torch.Tensor = own(model, batch, class_weights)
        return loss
    logits = task.logits(model, batch).float()
    return torch.nn.functional.cross_entropy(logits, batch["labels"], weight=class_weights)


def _to(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def _autocast(device: torch.device) -> Any:
    # bf16 autocast on CUDA only: on CPU it is slower than fp32 for these model sizes.
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()


def _epoch_indices(
    stage: Stage,
    stage_index: int,
    epoch: int,
    seed: int,
    negative_ids: Sequence[int],
    cached: dict[int, np.ndarray],
) -> np.ndarray:
    """The training examples of one epoch, after the stage's imbalance technique."""
    if stage.imbalance.resamples_each_epoch:
        rng = np.random.default_rng([seed, stage_index, epoch, 1])
        return stage.imbalance.indices(stage.train.labels, negative_ids=negative_ids, rng=rng)
    if stage_index not in cached:
        rng = np.random.default_rng([seed, stage_index, 0, 2])
        cached[stage_index] = stage.imbalance.indices(stage.train.labels, negative_ids=negative_ids, rng=rng)
    return cached[stage_index]


def _clone(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in unwrap(model).state_dict().items()}


@dataclass
class _FitState:
    """Where a :func:`fit` is, written to every checkpoint as ``trainer_state.json`` (these field
    names are its keys: checkpoints written before this class existed load into it unchanged)."""

    stage: int = 0  # the index of the current stage
    epoch: int = 0  # epochs done in the current stage
    epochs_done: int = 0  # epochs done in all stages
    best_score: float | None = None  # the current stage's best selection score
    best_epoch: int | None = None  # the epochs_done of the selected (best) epoch
    bad_epochs: int = 0  # epochs since the current stage last improved
    best_metrics: dict[str, Any] | None = None  # the selected epoch's report
    history: list[dict[str, Any]] = field(default_factory=list)  # every epoch's report
    elapsed: float = 0.0  # seconds of training up to the last epoch, over restarts

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, saved: Mapping[str, Any]) -> _FitState:
        return cls(**{f.name: saved[f.name] for f in fields(cls) if f.name in saved})

    def next_stage(self) -> None:
        """Start the next stage: its epochs and early stopping from the beginning."""
        self.stage, self.epoch, self.best_score, self.bad_epochs = self.stage + 1, 0, None, 0

    def stage_goes_on(self, config: LoopConfig) -> bool:
        """Whether the current stage trains another epoch: epoch budget and patience left."""
        return self.epoch < config.max_epochs and self.bad_epochs < config.patience


@dataclass
class _StageTools:
    """What one stage trains with: a fresh optimizer, its learning-rate schedule over the stage's
    epochs, and the imbalance technique's class weights."""

    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    class_weights: torch.Tensor | None

    @classmethod
    def for_stage(
        cls,
        model: torch.nn.Module,
        stage: Stage,
        first_epoch: np.ndarray,
        config: LoopConfig,
        *,
        world: World,
        n_classes: int,
    ) -> _StageTools:
        total = max(1, _count_batches(len(first_epoch), config) // world.size) * config.max_epochs
        optimizer = make_optimizer(unwrap(model), config)
        scheduler = linear_schedule(optimizer, int(config.warmup_ratio * total), total)
        weights = stage.imbalance.class_weights(stage.train.labels, n_classes)
        class_weights = (
            None if weights is None else torch.as_tensor(weights, dtype=torch.float32).to(world.device)
        )
        return cls(optimizer, scheduler, class_weights)

    def restore(self, resumed: Mapping[str, Any]) -> None:
        """Continue where a checkpoint's stage left off (optimizer, schedule and torch RNG)."""
        self.optimizer.load_state_dict(resumed["optimizer"])
        self.scheduler.load_state_dict(resumed["scheduler"])
        torch.set_rng_state(resumed["torch_rng"])

    def tensors(self) -> dict[str, Any]:
        """What a checkpoint keeps of them (``state.pt``), with the torch RNG state."""
        return {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "torch_rng": torch.get_rng_state(),
        }


def fit(
    task: Task,
    stages: Sequence[Stage],
    dev: EncodedSplit,
    test: EncodedSplit | None,
    config: LoopConfig,
    *,
    evaluate: Evaluate,
    report: Report,
    seed: int = 0,
    n_classes: int,
    negative_ids: Sequence[int] = (),
    world: World | None = None,
    resume_from: Path | None = None,
    checkpoint_root: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> FitResult:
    """Train ``task.model`` through ``stages``; see the module docstring.

    ``evaluate(split_name, scores, split)`` turns scores into metrics (label-space masking happens
    there). Checkpoints are written under ``checkpoint_root`` (a temporary folder when None) and
    handed to ``report``; ``resume_from`` continues from such a checkpoint. ``progress(n)`` is told
    after every training batch how many more examples are done (a sign of life within an epoch).
    """
    world = world or World()
    if not stages:
        raise ResweepError("fit needs at least one stage")
    torch.manual_seed(seed)
    device = world.device
    task.model.to(device)
    model = world.wrap(task.model)
    own_tmp = None
    if checkpoint_root is None:
        own_tmp = tempfile.TemporaryDirectory(prefix="resweep-ckpt-")
        checkpoint_root = Path(own_tmp.name)

    # best_weights: the current stage's best epoch's, in memory on every rank
    state, best_weights, resumed = _start_state(model, resume_from)
    started = time.perf_counter() - state.elapsed
    resumed_from = state.epochs_done  # 0 for a fresh run
    cached: dict[int, np.ndarray] = {}
    last_checkpoint: Path | None = None

    for stage_index in range(state.stage, len(stages)):
        stage = stages[stage_index]
        last_stage = stage_index == len(stages) - 1
        first = _epoch_indices(stage, stage_index, 0, seed, negative_ids, cached)
        tools = _StageTools.for_stage(model, stage, first, config, world=world, n_classes=n_classes)
        if resumed is not None:
            tools.restore(resumed)
            resumed = None

        while state.stage_goes_on(config):
            epoch = state.epoch
            epoch_start = time.perf_counter()
            indices = _epoch_indices(stage, stage_index, epoch, seed, negative_ids, cached)
            batches = _rank_batches(
                stage, indices, config, world, np.random.default_rng([seed, stage_index, epoch])
            )
            loss_sum, seen = _train_epoch(task, model, stage, batches, tools, config, world, progress)
            train_seconds = time.perf_counter() - epoch_start

            metrics: dict[str, Any] = {
                "stage": stage.name,
                STAGE_EPOCH: epoch + 1,
                "train_loss": loss_sum / max(1, seen),
                EXAMPLES_PER_SECOND: seen * world.size / max(train_seconds, 1e-9),
                "workers": world.size,
            }
            score, improved = _evaluate_epoch(
                task, stage, dev, test, config, evaluate, metrics, state, device
            )
            _end_epoch(state, metrics, score, improved, config, last_stage=last_stage)
            if improved:
                best_weights = _clone(model)
            metrics[RESUMED_FROM_EPOCH] = resumed_from
            metrics["elapsed_seconds"] = time.perf_counter() - started
            _select(state, metrics, improved)
            previous = last_checkpoint
            last_checkpoint = _save_epoch(
                checkpoint_root, model, None if improved else best_weights, tools, state, world
            )
            report(dict(metrics), last_checkpoint)
            if previous is not None and previous != last_checkpoint:
                shutil.rmtree(previous, ignore_errors=True)  # keep the newest checkpoint only

        # Stage over: continue (or finish) from the best dev epoch's weights.
        if best_weights is not None:
            unwrap(model).load_state_dict(best_weights)
        if not last_stage:
            state.next_stage()
            best_weights = None

    if own_tmp is not None:
        own_tmp.cleanup()
        last_checkpoint = None
    return FitResult(state.best_metrics or {}, state.history, state.epochs_done, last_checkpoint)


def _start_state(
    model: torch.nn.Module, resume_from: Path | None
) -> tuple[_FitState, dict[str, torch.Tensor] | None, dict[str, Any] | None]:
    """Where a fit starts: (its state, the best epoch's weights, the optimizer, schedule and RNG
    state to restore); a fresh run's, or a checkpoint's, whose weights it loads into ``model``."""
    if resume_from is None:
        return _FitState(), None, None
    best_weights, tensors, saved = load_checkpoint(Path(resume_from), model)
    state = _FitState.from_json(saved)
    if best_weights is None and state.best_score is not None:
        best_weights = _clone(model)  # that checkpoint's epoch was the best one
    return state, best_weights, tensors


def _rank_batches(
    stage: Stage, indices: np.ndarray, config: LoopConfig, world: World, rng: np.random.Generator
) -> list[np.ndarray]:
    """This rank's batches of one epoch: every rank takes the same number of steps (DDP)."""
    batches = _batches(stage.train.lengths, indices, config, rng)
    if len(batches) < world.size:
        batches = [batches[i % len(batches)] for i in range(world.size)]
    usable = len(batches) // world.size * world.size
    return batches[world.rank : usable : world.size]


def _train_epoch(
    task: Task,
    model: torch.nn.Module,
    stage: Stage,
    batches: list[np.ndarray],
    tools: _StageTools,
    config: LoopConfig,
    world: World,
    progress: Callable[[int], None] | None,
) -> tuple[float, int]:
    """One pass over ``batches``: (the sum of the examples' losses, the examples seen)."""
    model.train()
    loss_sum, seen = 0.0, 0
    for batch_indices in batches:
        batch = _to(task.collate(stage.train, batch_indices), world.device)
        with _autocast(world.device):
            loss = training_loss(task, model, batch, tools.class_weights)
        tools.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        tools.optimizer.step()
        tools.scheduler.step()
        loss_sum += loss.item() * len(batch_indices)
        seen += len(batch_indices)
        if progress is not None:
            progress(len(batch_indices) * world.size)
    return loss_sum, seen


def _evaluate_epoch(
    task: Task,
    stage: Stage,
    dev: EncodedSplit,
    test: EncodedSplit | None,
    config: LoopConfig,
    evaluate: Evaluate,
    metrics: dict[str, Any],
    state: _FitState,
    device: torch.device,
) -> tuple[float, bool]:
    """Add the epoch's dev metrics (and the stage's own dev metrics) to ``metrics``, and its test
    metrics when every epoch is tested or this one improved; return (the score early stopping
    selects on: the stage's own dev set's when it has one, else in-domain dev's, whether it
    improved on the stage's best)."""
    if len(dev):
        scores = predict(task, dev, config, device)
        metrics.update({score_key("dev", k): v for k, v in evaluate("dev", scores, dev).items()})
    score: float
    if stage.dev is not None and stage.evaluate is not None:
        scores = predict(task, stage.dev, config, device)
        own = stage.evaluate("stage_dev", scores, stage.dev)
        metrics.update({f"stage_dev_{k}": v for k, v in own.items()})
        score = own[config.selection_metric]
    else:
        score = metrics[score_key("dev", config.selection_metric)]
    improved = state.best_score is None or score > state.best_score
    if test is not None and len(test) and (config.test_every_epoch or improved):
        scores = predict(task, test, config, device)
        metrics.update({score_key("test", k): v for k, v in evaluate("test", scores, test).items()})
    return score, improved


def _end_epoch(
    state: _FitState,
    metrics: dict[str, Any],
    score: float,
    improved: bool,
    config: LoopConfig,
    *,
    last_stage: bool,
) -> None:
    """Count the epoch and its early stopping in ``state``; add the counters to ``metrics``."""
    state.epoch += 1
    state.epochs_done += 1
    if improved:
        state.best_score, state.best_epoch, state.bad_epochs = score, state.epochs_done, 0
    else:
        state.bad_epochs += 1
    metrics[EPOCHS_DONE] = state.epochs_done
    # Schedulers compare trials on final-stage epochs only: during an OOD pre-training
    # stage the in-domain dev score says nothing yet (it is ~0 by construction).
    metrics[FINAL_STAGE_EPOCHS] = state.epoch if last_stage else 0
    metrics[TRAINING_DONE] = last_stage and not state.stage_goes_on(config)
    metrics[SELECTED_EPOCH] = state.best_epoch


def _save_epoch(
    root: Path,
    model: torch.nn.Module,
    best_weights: dict[str, torch.Tensor] | None,
    tools: _StageTools,
    state: _FitState,
    world: World,
) -> Path | None:
    """The epoch's checkpoint (rank 0 writes it; other ranks: None): the model, ``best_weights``
    when the best epoch is an earlier one, the optimizer, schedule and RNG, and ``state``."""
    if world.rank != 0:
        return None
    return save_checkpoint(
        root / f"epoch_{state.epochs_done:04d}",
        model=model,
        best_state=best_weights,
        tensors=tools.tensors(),
        trainer_state=state.to_json(),
    )


def _select(state: _FitState, metrics: dict[str, Any], improved: bool) -> None:
    """Keep an improving epoch's report as the selected one, add the selected epoch's scores to
    ``metrics``, and append it to the history."""
    if improved:
        state.best_metrics = dict(metrics)
    # The selected (best dev) epoch so far, in every report: a results store needs only
    # the last report to know what the trial would be judged by.
    for key, value in (state.best_metrics or {}).items():
        if key.startswith(("dev_", "test_")):
            metrics[selected_key(key)] = value
    state.elapsed = metrics["elapsed_seconds"]
    state.history.append(metrics)
