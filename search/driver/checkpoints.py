"""Which epoch checkpoints a sweep keeps: what a resume needs, and nothing once a trial's row is in
the results store.

Every epoch a trial hands Tune a checkpoint, which lands in the trial's folder
(``tune/trials/<trial>/checkpoint_000012``; a MiniLM one is ~87 MiB). A resume after a kill
restores a running trial from the checkpoint Tune's *saved* experiment state names: the trial's
newest one when Tune last saved that state (every ~10 s, then copied to the storage in the
background). So, per trial:

* while it runs: its newest checkpoint, and the newest at each of Tune's last two state saves (the
  state on the storage names one of them while the copy of the last save may still be under way):
  one to three (on disk, for a moment, one more: Tune writes a checkpoint's folder before the
  sweep's callback hears of it), and one in a trial's last seconds;
* once its row is in the results store as ``finished`` or ``stopped``: none, deleted at Tune's
  second state save after the row (by then the saved state says the trial ended, so no resume
  restores it) or when the experiment ends, with the folder of the trial's own Ray Train run
  (``train/train-<key>``, multi-worker trials) where it has one;
* a trial that failed keeps its newest checkpoint: ``resweep resume`` retries it from there.

Tune's own ``CheckpointConfig(num_to_keep=1)`` is not used: it deletes the previous checkpoint
before the saved state stops naming it (a kill in between leaves a trial that cannot be restored),
and it forces a save of the whole experiment state (every trial's, the searcher's, and in object
storage an upload) after every checkpoint.

:class:`CheckpointKeeper` is told what happens (the sweep's Tune callback tells it,
:mod:`search.driver.callback`); it never raises: a checkpoint it cannot delete is left, with one warning.
It decides on Tune's loop and deletes in a thread of its own: in object storage a trial's folders
are a listing and a deletion each, requests that would hold up Tune's loop (at a state save, one
per trial ended since; measured in ``bench/scale.py``). Deleting later than decided is always
safe; :meth:`CheckpointKeeper.experiment_ended` waits for every deletion.
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import PurePosixPath
from typing import Any

from cluster.storage import Location

__all__ = ["CHECKPOINT_PREFIX", "CheckpointKeeper"]

CHECKPOINT_PREFIX = "checkpoint_"  # Tune's checkpoint folders in a trial's folder
_STATE_FILES = (".json", ".pkl", ".db", ".csv")  # Tune's and the sweep's files beside the trial folders


class CheckpointKeeper:
    """Deletes the epoch checkpoints of a sweep's trials that no resume can need.

    ``trials``: the Tune experiment's folder (one folder per trial in it); ``train_runs``: the
    folder of the trials' Ray Train runs. Trials are named by their folder's name; checkpoints by
    their folder's name (a path is cut to its last part).
    """

    def __init__(self, trials: Location, train_runs: Location | None = None):
        self.trials = trials
        self.train_runs = train_runs
        self.saves = 0  # Tune's experiment state saves seen
        self.newest: dict[str, str] = {}  # running trial -> its newest checkpoint
        self.saved: dict[str, tuple[str, ...]] = {}  # running trial -> its newest at the last two saves
        self.ending: dict[str, tuple[int, str | None]] = {}  # ended -> (saves at its row, Train run)
        self.warned = False
        self._deleter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="resweep-checkpoints")
        self._deleting: list[Future[None]] = []

    def reported(self, trial: str, checkpoint: str, previous: str | None = None) -> None:
        """``trial`` reported ``checkpoint``; ``previous``: its newest before (the one a restored
        trial went on from), when this is the first this keeper hears of the trial."""
        checkpoint = PurePosixPath(checkpoint).name
        if trial in self.ending:
            return  # a report processed after the trial's end: its folder is cleared with the rest
        if trial not in self.newest and previous is not None:
            previous = PurePosixPath(previous).name
            self.newest[trial] = previous
            self.saved.setdefault(trial, (previous,))  # the saved state a resume read names it
        old = self.newest.get(trial)
        self.newest[trial] = checkpoint
        if old is not None and old != checkpoint and old not in self.saved.get(trial, ()):
            self._delete(self.trials / trial / old)

    def state_saved(self) -> None:
        """Tune has just written its experiment state (each trial names its newest checkpoint)."""
        self.saves += 1
        for trial, newest in self.newest.items():
            before = self.saved.get(trial, ())
            now = (before[-1], newest) if before and before[-1] != newest else (newest,)
            for name in before:
                if name not in now:
                    self._delete(self.trials / trial / name)
            self.saved[trial] = now
        for trial, (at, run) in list(self.ending.items()):
            if self.saves >= at + 2:  # the save after its row said it ended, and that save is stored
                self._clear(trial, run)

    def ended(self, trial: str, train_run: str | None = None) -> None:
        """``trial``'s row is in the results store (finished or stopped): no resume needs its
        checkpoints, once Tune's saved state says it ended. ``train_run``: its Ray Train run's name."""
        self.newest.pop(trial, None)
        self.saved.pop(trial, None)
        self.ending.setdefault(trial, (self.saves, train_run))

    def experiment_ended(self, trials: set[str] | None = None) -> None:
        """Tune saved its final state (and waited for it): the ended trials' checkpoints go now.

        ``trials``: the folders of every trial the experiment holds. A trial folder that is not
        among them belongs to a trial Tune's saved state never named (proposed after the last save
        before a kill): nothing can resume it, so its checkpoints go too."""
        for trial, (_, run) in list(self.ending.items()):
            self._clear(trial, run)
        if trials is not None:
            self._submit(self._clear_unnamed, trials)
        self.drain()
        self._deleter.shutdown()  # anything decided after this is deleted in line

    def drain(self) -> None:
        """Wait until every deletion decided so far is done (or left, with its warning)."""
        while self._deleting:
            self._deleting.pop(0).result()

    def _submit(self, work: Any, *args: Any) -> None:
        self._deleting = [f for f in self._deleting if not f.done()]
        try:
            self._deleting.append(self._deleter.submit(work, *args))
        except RuntimeError:  # shut down: the experiment has ended
            work(*args)

    def _clear_unnamed(self, trials: set[str]) -> None:
        try:
            folders = [
                f
                for f in self.trials.children()
                if f.name not in trials and not f.name.startswith(".") and not f.name.endswith(_STATE_FILES)
            ]
        except OSError as err:
            self._warn(self.trials, err)
            return
        for folder in folders:
            try:
                inside = folder.children()
            except (OSError, ValueError):
                continue  # not a folder
            for checkpoint in inside:
                if checkpoint.name.startswith(CHECKPOINT_PREFIX):
                    self._remove(checkpoint)

    def _clear(self, trial: str, train_run: str | None) -> None:
        del self.ending[trial]
        self._submit(self._clear_folders, trial, train_run)

    def _clear_folders(self, trial: str, train_run: str | None) -> None:
        try:
            folders = (self.trials / trial).children()
        except OSError as err:
            self._warn(self.trials / trial, err)
            return
        for folder in folders:
            if folder.name.startswith(CHECKPOINT_PREFIX):
                self._remove(folder)
        if train_run is not None and self.train_runs is not None:
            self._remove(self.train_runs / train_run)

    def _delete(self, folder: Location) -> None:
        self._submit(self._remove, folder)

    def _remove(self, folder: Location) -> None:
        try:
            folder.remove_tree()
        except OSError as err:  # a storage hiccup costs disk space, never the sweep
            self._warn(folder, err)

    def _warn(self, folder: Location, err: OSError) -> None:
        if not self.warned:
            self.warned = True
            print(
                f"resweep: warning: cannot delete checkpoint {folder}: {err} (left in place)", file=sys.stderr
            )
