"""What a trial reports, by name: the keys of its per-epoch reports besides the scores, and how a
score's name is made from a metric of :mod:`trainables.metrics` (``dev_f1_weighted``,
``test_accuracy``, ``selected_dev_f1_weighted``). Torch-free, so the sweep driver reads reports
without importing the training loop (:mod:`trainables.loop` writes them)."""

from __future__ import annotations

__all__ = [
    "EPOCHS_DONE",
    "EXAMPLES_PER_SECOND",
    "FINAL_STAGE_EPOCHS",
    "RESUMED_FROM_EPOCH",
    "SELECTED_EPOCH",
    "SPLITS",
    "STAGE_EPOCH",
    "TRAINING_DONE",
    "metric_of",
    "score_key",
    "selected_key",
]

EPOCHS_DONE = "epochs_done"  # a counter that survives restores (training_iteration restarts at 0)
FINAL_STAGE_EPOCHS = "final_stage_epochs"  # the scheduler's time: epochs of the last stage
# True in a trial's last report when it ended by itself (the last stage's early stopping or its
# epoch budget): a trial whose last report lacks it was stopped from outside (a scheduler).
TRAINING_DONE = "training_done"
SELECTED_EPOCH = "selected_epoch"  # the epoch whose dev score selected the model (1-based)
RESUMED_FROM_EPOCH = "resumed_from_epoch"  # > 0: the trial continued from a checkpoint
STAGE_EPOCH = "stage_epoch"  # the epoch within the current stage
EXAMPLES_PER_SECOND = "examples_per_second"

DEV, TEST, SELECTED = "dev_", "test_", "selected_"


SPLITS = ("dev", "test")


def score_key(split: str, metric: str) -> str:
    """``("dev", "f1_weighted")`` -> ``dev_f1_weighted``: a score on the in-domain ``split``."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; valid: {', '.join(SPLITS)}")
    return f"{split}_{metric}"


def selected_key(key: str) -> str:
    """``dev_f1_weighted`` -> ``selected_dev_f1_weighted``: the score at the selected epoch."""
    return SELECTED + key


def metric_of(key: str) -> str:
    """The metric a score's name is made from: ``selected_dev_f1_weighted``, ``dev_f1_weighted``
    and ``f1_weighted`` all give ``f1_weighted``."""
    key = key.removeprefix(SELECTED)
    for prefix in (DEV, TEST):
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key
