"""TensorBoard: event files under ``<sweep>/tensorboard/`` (``tensorboard --logdir`` there).

Layout: ``<size>/<trial name>/`` per trial (each epoch's scalars, its configuration and tags as
text and as HParams with the selected epoch's scores, its status) and ``<size>/_sweep/`` (the
size's leaderboard as a text table, the report's plots as images). A resumed trial writes a new
event file into its own folder; TensorBoard reads the folder's files as one run.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._base import BaseTracker, TrialInfo

__all__ = ["TensorboardTracker"]


class TensorboardTracker(BaseTracker):
    name = "tensorboard"
    package = "tensorboardX"

    @property
    def root(self) -> Path:
        return self.folder / "tensorboard"

    def open(self, resuming: bool) -> None:
        from tensorboardX import SummaryWriter

        self.root.mkdir(parents=True, exist_ok=True)
        self.writer_class = SummaryWriter
        self.writers: dict[str, Any] = {}  # trial name -> its open writer

    def _writer(self, trial: TrialInfo) -> Any:
        if trial.key not in self.writers:
            folder = self.root / trial.size / trial.key
            resumed = folder.is_dir() and any(folder.glob("events.out.tfevents.*"))
            # The event file's name has the time in seconds and the host: a suffix of our own keeps a
            # session resumed within the same second from writing over the earlier file.
            writer = self.writer_class(str(folder), flush_secs=30, filename_suffix=f".{time.time_ns()}")
            if not resumed:  # a step 0 after later steps would make TensorBoard drop those as orphaned
                lines = [f"| {k} | {v} |" for k, v in {**trial.tags, **trial.params}.items()]
                writer.add_text("config", "| key | value |\n|---|---|\n" + "\n".join(lines), 0)
            self.writers[trial.key] = writer
        return self.writers[trial.key]

    def epoch(self, trial: TrialInfo, step: int, metrics: Mapping[str, float]) -> None:
        writer = self._writer(trial)
        for key, value in metrics.items():
            writer.add_scalar(key, value, step)

    def ended(self, trial: TrialInfo, status: str, final: Mapping[str, float]) -> None:
        from tensorboardX.summary import hparams

        writer = self._writer(trial)
        step = int(final.get("selected_epoch", 0))
        for key, value in final.items():
            writer.add_scalar(key, value, step)
        writer.add_text("status", status, step)
        # HParams: the configuration's scalars and the tags beside the selected epoch's scores.
        chosen = {
            k: v for k, v in trial.params.items() if isinstance(v, (str, int, float, bool)) and v is not None
        }
        chosen.update({k.removeprefix("resweep."): v for k, v in trial.tags.items()}, status=status)
        for summary in hparams(chosen, dict(final)):
            writer.file_writer.add_summary(summary, step)
        writer.close()
        self.writers.pop(trial.key, None)

    def size_done(self, size: str, files: Mapping[str, Path]) -> None:
        from matplotlib.image import imread
        from tensorboardX import SummaryWriter

        writer = SummaryWriter(str(self.root / size / "_sweep"), filename_suffix=f".{time.time_ns()}")
        for artifact, path in files.items():
            if path.suffix == ".csv":
                writer.add_text(artifact, _markdown_table(path), 0)
            elif path.suffix == ".png":
                writer.add_image(artifact, imread(str(path))[..., :3], 0, dataformats="HWC")  # (H, W, 3)
        writer.close()

    def close(self, complete: bool) -> None:
        for writer in self.writers.values():  # trials cut off mid-way: what they reported so far
            writer.close()
        self.writers.clear()


def _markdown_table(path: Path, columns: int = 12) -> str:
    """A CSV file as a Markdown table (its first ``columns`` columns), for TensorBoard's text tab."""
    with path.open(newline="") as handle:
        rows = [row[:columns] for row in csv.reader(handle)]
    if not rows:
        return "(empty)"
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)
