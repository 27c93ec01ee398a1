"""Weights & Biases: one run per trial, grouped by sweep (``group``) and size (``job_type``).

Offline by default: run files land in ``<sweep>/wandb/offline-run-*/`` and ``wandb sync`` uploads
them later; ``wandb_mode: online`` sends them as the sweep runs. A run's id is a hash of the sweep
and the trial's name, so a resumed trial continues its own run (W&B keeps one run per id). A
run start costs seconds online (wandb#5440): it happens on the tracking thread, never on Tune's.
Each size's leaderboard and the report's plots go to a run of their own in the size's group
(W&B has no parent runs), as an artifact and as a table and images.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._base import BaseTracker, SettingError, TrialInfo, text_setting

__all__ = ["WandbSettings", "WandbTracker"]

WANDB_MODES = ("offline", "online")


@dataclass(frozen=True)
class WandbSettings:
    """``wandb_mode``: ``offline`` (run files under ``<sweep>/wandb/``; ``wandb sync`` uploads
    them) or ``online``. ``wandb_project``: default ``resweep``. ``wandb_entity``: the W&B team or
    user (empty: the account's default)."""

    wandb_mode: str = "offline"
    wandb_project: str = "resweep"
    wandb_entity: str = ""

    def __post_init__(self) -> None:
        text_setting("wandb_project", self.wandb_project)
        text_setting("wandb_entity", self.wandb_entity)
        if self.wandb_mode not in WANDB_MODES:
            raise SettingError("wandb_mode", f"expected offline or online, got {self.wandb_mode!r}")


def run_id(*parts: str) -> str:
    """A W&B run id for the parts (sweep, trial name): the same on every resume."""
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


class WandbTracker(BaseTracker):
    name = "wandb"
    package = "wandb"
    settings_class = WandbSettings
    option_setting = "wandb_mode"  # --tracking wandb=online
    settings: WandbSettings

    def open(self, resuming: bool) -> None:
        os.environ.setdefault("WANDB_SILENT", "true")  # not W&B's banner per run on the sweep's stderr
        import wandb

        self.wandb = wandb
        self.folder.mkdir(parents=True, exist_ok=True)
        self.runs: dict[str, Any] = {}  # trial name -> its open run

    def _init(self, id: str, name: str, job_type: str, **extra: Any) -> Any:
        settings = self.wandb.Settings(
            console="off", save_code=False, x_disable_stats=True, x_disable_meta=True, silent=True
        )
        return self.wandb.init(
            project=self.settings.wandb_project,
            entity=self.settings.wandb_entity or None,
            dir=str(self.folder),
            id=id,
            name=name,
            group=self.sweep,
            job_type=job_type,
            mode="online" if self.settings.wandb_mode == "online" else "offline",
            resume="allow",
            reinit="create_new",  # one process, many runs at once
            settings=settings,
            **extra,
        )

    def _run(self, trial: TrialInfo) -> Any:
        if trial.key not in self.runs:
            tags = [
                t for t in (trial.cell, trial.role, None if trial.seed is None else f"seed{trial.seed}") if t
            ]
            self.runs[trial.key] = self._init(
                run_id(self.sweep, trial.key),
                trial.key,
                trial.size,
                tags=tags,
                config={**trial.params, **trial.tags},
            )
        return self.runs[trial.key]

    def epoch(self, trial: TrialInfo, step: int, metrics: Mapping[str, float]) -> None:
        self._run(trial).log(dict(metrics), step=step)

    def ended(self, trial: TrialInfo, status: str, final: Mapping[str, float]) -> None:
        run = self._run(trial)
        run.summary.update({**final, "status": status})
        run.finish(exit_code=1 if status == "error" else 0)
        self.runs.pop(trial.key, None)

    def size_done(self, size: str, files: Mapping[str, Path]) -> None:
        run = self._init(run_id(self.sweep, size, "leaderboard"), f"{self.sweep} {size} leaderboard", size)
        artifact = self.wandb.Artifact(f"{self.sweep}-{size}-leaderboard", type="leaderboard")
        shown: dict[str, Any] = {}
        for name, path in files.items():
            artifact.add_file(str(path), name=name)
            if path.suffix == ".csv":
                with path.open(newline="") as handle:
                    table = list(csv.reader(handle))
                header: list[str | int] = list(table[0])
                shown[name] = self.wandb.Table(columns=header, data=table[1:])
            elif path.suffix == ".png":
                shown[name] = self.wandb.Image(str(path))
        run.log_artifact(artifact)
        run.log(shown)
        run.finish()

    def close(self, complete: bool) -> None:
        for run in self.runs.values():  # trials cut off mid-way: a resume continues these runs
            run.finish(exit_code=1)
        self.runs.clear()

    def model(self, folder: Path, label: str, scores: Mapping[str, float]) -> str:
        """Log model folder ``folder`` as a ``model`` artifact of a ``train`` run in the sweep's group."""
        run = self._init(run_id(self.sweep, "train", str(folder)), f"train {label}", "train")
        artifact = self.wandb.Artifact(f"{self.sweep}-model", type="model", metadata={"label": label})
        artifact.add_dir(str(folder))
        run.log_artifact(artifact)
        run.summary.update(dict(scores))
        run.finish()
        return f"artifact {self.sweep}-model (type model)"
