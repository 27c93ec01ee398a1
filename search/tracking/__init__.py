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
    "size_files",
    "text_setting",
    "tracker_names",
    "tracking_option",
]

# One line per tracker; the order is the one names are listed in.
TRACKERS.register("mlflow", "search.tracking.mlflow_tracker:MlflowTracker")
TRACKERS.register("wandb", "search.tracking.wandb_tracker:WandbTracker")
TRACKERS.register("tensorboard", "search.tracking.tensorboard_tracker:TensorboardTracker")


def check_installed(tracking: TrackingSection) -> None:
    """Raise :class:`TrackerMissing` (one line: what to install) for a tracker without its package."""
    for name in tracking.trackers:
        TRACKERS.get(name).check_installed()


def size_files(sweep: str, storage: str, size: str, folder: Path) -> dict[str, Path]:
    """Write size ``size``'s leaderboard (CSV) and the report's plots (all sizes so far) into
    ``folder``; return them by artifact path (``leaderboard/id0.1.csv``, ``report/...png``)."""
    from ..config import size_key
    from ..leaderboard import leaderboard
    from ..report import write_board_csv, write_report

    folder.mkdir(parents=True, exist_ok=True)
    from ..plan import SweepPaths

    boards = leaderboard(sweep, storage=storage)
    files: dict[str, Path] = {}
    mine = [b for b in boards if size_key(float(b.size)) == size]  # id0.1, id300 (a count's too)
    entries = [row for board in mine for row in board.summary_rows()]
    if entries:
        board_file = folder / "leaderboard" / f"{size}.csv"  # the file's name is the artifact's
        board_file.parent.mkdir(parents=True, exist_ok=True)
        with board_file.open("w", newline="") as handle:
            write_board_csv(entries, handle)
        files[f"leaderboard/{size}.csv"] = board_file
    if any(b.entries for b in boards):
        rows = SweepPaths.of(storage, sweep).results.read().to_pylist()
        report = write_report(boards, rows, folder / "report", title=f"resweep sweep {sweep}")
        for path in [report.markdown, *report.images]:
            files[f"report/{path.name}"] = path
    return files


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
    from ..plan import SweepPaths

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
