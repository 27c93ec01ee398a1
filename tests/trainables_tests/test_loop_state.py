"""The training loop's checkpointed state: ``trainer_state.json`` keeps its keys, and a run resumed
from any epoch's checkpoint reports what the uninterrupted run did."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from trainables.imbalance import make_imbalance
from trainables.loop import EncodedSplit, LoopConfig, Stage, fit

# The keys of trainer_state.json as checkpoints have always written them: old checkpoints resume.
TRAINER_STATE_KEYS = {
    "stage",
    "epoch",
    "epochs_done",
    "best_score",
    "best_epoch",
    "bad_epochs",
    "best_metrics",
    "history",
    "elapsed",
}
TIMING = {"examples_per_second", "elapsed_seconds", "resumed_from_epoch"}


class _Crash(Exception):
    """A simulated crash after some epochs' reports."""


def _split(rng: np.random.Generator, n: int) -> EncodedSplit:
    features = rng.normal(size=(n, 8)).astype(np.float32)
    labels = (features[:, 0] > 0).astype(int) + (features[:, 1] > 1)
    return EncodedSplit(features, labels, rng.integers(1, 20, size=n))


class _Linear:
    def __init__(self) -> None:
        torch.manual_seed(1)
        self.model = torch.nn.Sequential(torch.nn.Dropout(0.3), torch.nn.Linear(8, 3))

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        return {"x": torch.as_tensor(split.inputs[indices]), "labels": torch.as_tensor(split.labels[indices])}

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        out: torch.Tensor = model(batch["x"])
        return out


def _accuracy(_: str, scores: np.ndarray, split: EncodedSplit) -> dict[str, float]:
    accuracy = float((scores.argmax(1) == split.labels).mean())
    return {"accuracy": accuracy, "f1_weighted": accuracy}


def _run(root: Path, *, stop_after: int | None = None, resume_from: Path | None = None) -> list[Any]:
    rng = np.random.default_rng(0)
    train, ood, dev, test, ood_dev = (_split(rng, n) for n in (200, 150, 60, 60, 40))
    stages = [
        Stage("pretrain", ood, make_imbalance("oversampling"), dev=ood_dev, evaluate=_accuracy),
        Stage("finetune", train),
    ]
    reports: list[Any] = []

    def report(metrics: dict[str, Any], checkpoint: Path | None) -> None:
        reports.append((metrics, checkpoint))
        if len(reports) == stop_after:
            raise _Crash

    config = LoopConfig(max_epochs=4, patience=2, batch_size=16)
    with contextlib.suppress(_Crash):
        fit(
            _Linear(),
            stages,
            dev,
            test,
            config,
            evaluate=_accuracy,
            report=report,
            seed=3,
            n_classes=3,
            resume_from=resume_from,
            checkpoint_root=root,
        )
    return reports


def _plain(reports: list[Any]) -> list[dict[str, Any]]:
    return [{k: v for k, v in metrics.items() if k not in TIMING} for metrics, _ in reports]


@pytest.mark.parametrize("stop_after", [1, 2, 3, 5])
def test_a_resumed_fit_reports_what_an_uninterrupted_one_does(tmp_path: Path, stop_after: int) -> None:
    full = _run(tmp_path / "full")
    saved = json.loads((full[-1][1] / "trainer_state.json").read_text())
    assert set(saved) == TRAINER_STATE_KEYS
    assert saved["epochs_done"] == len(full) and len(saved["history"]) == len(full)

    crashed = _run(tmp_path / "crashed", stop_after=stop_after)
    resumed = _run(tmp_path / "crashed", resume_from=crashed[-1][1])
    assert _plain(crashed + resumed) == _plain(full)
    assert resumed[0][0]["resumed_from_epoch"] == stop_after
