"""Experiment tracking: a sweep seen in MLflow, Weights & Biases or TensorBoard (off by default).

Every tracker logs the same things: one run per trial (its configuration as parameters; cell,
size, seed and role as tags; each epoch's dev and test metrics; the selected epoch's scores; its
status), grouped under the sweep (MLflow: one parent run; W&B: group = sweep, job type = size;
TensorBoard: a folder per size), each size's leaderboard and the report's plots once the size is
done, and (MLflow) the model folder of ``resweep train`` as a registered model version.
Tracker packages are imported only when a tracker opens: ``pip install 'resweep[tracking]'``.

Adding a tracker is its module (a :class:`BaseTracker` subclass with its settings dataclass beside
it) plus one line below; its name and settings keys then parse in the ``tracking:`` section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ._base import (
    TRACKERS,
    BaseTracker,
    NoTrackerSettings,
    SettingError,
    TrackerMissing,
    TrackingSection,
    TrialInfo,
    check_installed,
    parse_tracking,
    text_setting,
    tracker_names,
    tracking_option,
)
from .hub import TrackingHub, final_scores, warn

__all__ = [
    "TRACKERS",
    "BaseTracker",
    "NoTrackerSettings",
    "SettingError",
    "TrackerMissing",
    "TrackingHub",
    "TrackingSection",
    "TrialInfo",
    "check_installed",
    "final_scores",
    "parse_tracking",
    "register_model",
    "text_setting",
    "tracker_names",
    "tracking_option",
]

# One line per tracker; the order is the one names are listed in.
TRACKERS.register("mlflow", "search.tracking.mlflow_tracker:MlflowTracker")
TRACKERS.register("wandb", "search.tracking.wandb_tracker:WandbTracker")
TRACKERS.register("tensorboard", "search.tracking.tensorboard_tracker:TensorboardTracker")


def register_model(
    sweep: str,
    storage: str,
    folder: Path,
    label: str,
    scores: Mapping[str, Any],
    tracking: TrackingSection,
) -> list[str]:
    """Hand ``resweep train``'s model folder to the sweep's trackers that keep models (MLflow's
    registry); return what each made. A tracker that fails is one warning, never an error."""
    from ..paths import SweepPaths

    paths = SweepPaths.of(storage, sweep)
    made = []
    for name in tracking.trackers:
        cls = TRACKERS.get(name)
        if not hasattr(cls, "model"):
            continue
        cls.check_installed()
        tracker = cls(replace(tracking, trackers=(name,)), sweep, tracking_folder(paths.root))
        try:
            tracker.open(resuming=False)
            made.append(f"{name}: {tracker.model(folder, label, scores)}")  # type: ignore[attr-defined]
        except Exception as err:
            text = " ".join(str(err).split())[:300]
            warn(f"{name} failed to register the model ({type(err).__name__}: {text})")
    return made


def tracking_folder(root: Any) -> Path:
    """Where trackers write under a sweep: its own folder, or a local stand-in for one in an
    object store (trackers write local files)."""
    from cluster.storage import local_mirror

    return root.local if root.local is not None else local_mirror(root, "tracking")
