"""A sweep's disk use: a running trial keeps the checkpoints a resume may need, an ended one none
(the keeper's rules without Ray; then real in-process sweeps whose stand-in trials checkpoint
every epoch). Resume after a kill from the kept checkpoint: tests/search_tests/test_sweep.py."""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.storage import Location
from search.config import parse_sweep_text
from search.driver.checkpoints import CheckpointKeeper

# The keeper's rules (no Ray) -------------------------------------------------------------------


class _Disk:
    """A Tune experiment folder and a Train runs folder where checkpoints appear as Tune writes them."""

    def __init__(self, root: Path):
        self.trials, self.runs = root / "tune", root / "train"
        self.keeper = CheckpointKeeper(Location.parse(self.trials), Location.parse(self.runs))

    def report(self, trial: str, epoch: int, previous: int | None = None) -> None:
        folder = self.trials / trial / f"checkpoint_{epoch:06d}"
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"w" * 64)
        before = None if previous is None else str(self.trials / trial / f"checkpoint_{previous:06d}")
        self.keeper.reported(trial, str(folder), before)

    def kept(self, trial: str) -> list[int]:
        self.keeper.drain()  # the keeper deletes in a thread of its own
        return sorted(int(p.name.rpartition("_")[2]) for p in (self.trials / trial).glob("checkpoint_*"))


def test_a_running_trial_keeps_its_newest_and_what_the_last_two_saved_states_name(tmp_path: Path) -> None:
    disk = _Disk(tmp_path)
    disk.report("t", 0)
    disk.report("t", 1)
    assert disk.kept("t") == [1]  # no saved state names epoch 0
    disk.keeper.state_saved()  # names 1
    disk.report("t", 2)
    disk.report("t", 3)
    assert disk.kept("t") == [1, 3]  # 2 was never named by a saved state
    disk.keeper.state_saved()  # names 3; the storage may still hold the one naming 1
    disk.report("t", 4)
    assert disk.kept("t") == [1, 3, 4]  # the most a running trial keeps
    disk.keeper.state_saved()  # names 4: 1 can go
    assert disk.kept("t") == [3, 4]
    disk.keeper.state_saved()  # names 4 again
    assert disk.kept("t") == [4]


def test_an_ended_trial_keeps_nothing_once_the_saved_state_says_it_ended(tmp_path: Path) -> None:
    disk = _Disk(tmp_path)
    for epoch in range(3):
        disk.report("t", epoch)
    (disk.trials / "t" / "result.json").write_text("{}")  # Tune's own files stay
    (disk.runs / "train-abc" / "checkpoint_000000").mkdir(parents=True)
    (disk.runs / "train-other").mkdir()
    disk.keeper.ended("t", "train-abc")
    disk.report("t", 3)  # a report processed after the end changes nothing
    disk.keeper.state_saved()  # the first save after the row: says the trial ended
    assert disk.kept("t") == [2, 3]
    disk.keeper.state_saved()  # that save is on the storage by now
    assert disk.kept("t") == [] and (disk.trials / "t" / "result.json").is_file()
    assert not (disk.runs / "train-abc").exists() and (disk.runs / "train-other").is_dir()


def test_a_restored_trial_keeps_the_checkpoint_it_went_on_from_until_two_saves_pass(tmp_path: Path) -> None:
    disk = _Disk(tmp_path)
    (disk.trials / "r" / "checkpoint_000007").mkdir(parents=True)  # what the resume restored
    (disk.trials / "e" / "checkpoint_000001").mkdir(parents=True)  # an earlier run's ended trial
    disk.report("r", 8, previous=7)
    disk.report("r", 9)
    assert disk.kept("r") == [7, 9]  # the saved state on the storage still names 7
    disk.keeper.state_saved()
    disk.keeper.state_saved()
    assert disk.kept("r") == [9]
    disk.keeper.ended("e")
    disk.keeper.experiment_ended()  # Tune saved its final state and waited: no wait for saves
    assert disk.kept("e") == []


def test_a_checkpoint_that_cannot_be_deleted_costs_one_warning_not_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(self: Location) -> None:
        raise PermissionError(f"{self}: read-only")

    monkeypatch.setattr(Location, "remove_tree", refuse)
    disk = _Disk(tmp_path)
    for epoch in range(4):
        disk.report("t", epoch)
    assert disk.kept("t") == [0, 1, 2, 3]
    warnings = [line for line in capsys.readouterr().err.splitlines() if line]
    assert len(warnings) == 1 and warnings[0].startswith("resweep: warning: cannot delete checkpoint")


def test_the_keeper_decides_at_once_and_deletes_in_its_own_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A deletion held up (in object storage: requests) does not hold up the caller, Tune's loop.
    gate = threading.Event()
    remove_tree = Location.remove_tree

    def slow(self: Location) -> None:
        assert gate.wait(30)
        remove_tree(self)

    monkeypatch.setattr(Location, "remove_tree", slow)
    disk = _Disk(tmp_path)
    disk.report("t", 0)
    disk.report("t", 1)  # 0 is to go: its deletion waits on the gate, the report did not
    assert (disk.trials / "t" / "checkpoint_000000").is_dir()
    gate.set()
    assert disk.kept("t") == [1]


# Real sweeps (Ray in this process; stand-in trials that checkpoint every epoch) ----------------

EPOCHS = 3
TUNE_LOGS = {"progress.csv", "result.json", "params.json", "params.pkl"}  # Tune's CSV and JSON loggers'


def _config(tmp_path: Path, name: str, **search: Any) -> Any:
    document = {
        "name": name,
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1], "seeds": [0]},
        "search": {
            "space": "demo-smoke",
            "budget": 4,
            "max_concurrent": 2,
            "scheduler": "fifo",
            "confirm_top_k": 0,
            "floor": False,
            **search,
        },
        "storage": str(tmp_path / "results"),
    }
    return parse_sweep_text(yaml.safe_dump(document, sort_keys=False), source=f"{name}.yaml")


def _run(config: Any) -> list[dict[str, Any]]:
    from search.driver.sweep import run_sweep
    from trainables.testing import stand_in_epochs_trial

    trial = functools.partial(stand_in_epochs_trial, epochs=EPOCHS, checkpoints=True)
    trial.__name__ = "stand_in_epochs_trial"  # type: ignore[attr-defined]  # Tune names trainables
    return run_sweep(config, verbose=0, trial_function=trial).to_pylist()


@pytest.mark.ray
def test_a_finished_trial_leaves_no_epoch_checkpoint_nor_tune_logs_unless_asked(
    tmp_path: Path, ray_session: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNE_GLOBAL_CHECKPOINT_S", "0.1")  # many state saves: the keeper's clock runs
    # Tune keeping its ended trials (as it does where it cannot let go of them: a Ray without
    # the controller search.driver.ended_trials subclasses), so that their saved form is seen
    monkeypatch.setattr("search.driver.sweep.forget_stored_trials", contextlib.nullcontext)
    rows = _run(_config(tmp_path, "lean"))
    assert len(rows) == 4 and all(r["status"] == "finished" for r in rows)
    lean = tmp_path / "results" / "lean"
    assert list(lean.rglob("checkpoint_*")) == []
    # Nor Tune's per-trial logs (search.tune_logs off): the results store holds the rows.
    assert [p.name for p in lean.rglob("*") if p.name in TUNE_LOGS] == []
    # Nor, in Tune's saved state, the statistics of every reported key or the record of every
    # epoch's checkpoint: an ended trial's entry keeps its last result and its newest checkpoint.
    entries = _saved_trials(lean)
    assert len(entries) == 4
    for metadata in entries:
        assert metadata.last_result["selected_epoch"] == EPOCHS
        assert metadata.metric_analysis == {} and metadata.metric_n_steps == {}
        kept_records = metadata.checkpoint_manager._checkpoint_results
        assert kept_records == [metadata.checkpoint_manager.latest_checkpoint_result]
        assert kept_records[0].metrics["epochs_done"] == EPOCHS

    kept = _run(_config(tmp_path, "kept", keep_checkpoints=True, tune_logs=True))
    assert len(kept) == 4
    trials = [p for p in (tmp_path / "results" / "kept" / "tune" / "trials").iterdir() if p.is_dir()]
    assert sorted(len(list(t.glob("checkpoint_*"))) for t in trials) == [EPOCHS] * 4  # every epoch's
    assert all({p.name for p in t.iterdir()} >= TUNE_LOGS for t in trials)


def _saved_trials(sweep: Path, folder: str = "tune") -> list[Any]:
    """The run metadata of each trial in the sweep's newest saved Tune experiment state."""
    from ray.tune.trainable.metadata import _TrainingRunMetadata

    newest = max((sweep / folder).rglob("experiment_state-*.json"), key=lambda p: p.stat().st_mtime)
    return [_TrainingRunMetadata.from_json_state(m) for _, m in json.loads(newest.read_text())["trial_data"]]


def test_a_trial_tune_runs_again_after_its_history_went_starts_its_statistics_afresh() -> None:
    """A failed trial a resume retries (``resume_errored``) reports into the emptied statistics."""
    from ray.tune.experiment import Trial

    from search.driver.callback import drop_history

    trial = Trial("stand_in", stub=True)
    for step, value in enumerate([0.2, 0.4, 0.9], start=1):
        trial.run_metadata.update_metric("dev_f1_weighted", value, step=step)
    before = trial.run_metadata.get_json_state()
    drop_history(trial)
    assert json.loads(trial.run_metadata.get_json_state())["metric_analysis"] == {}  # not the cached form
    assert len(trial.run_metadata.get_json_state()) < len(before)
    trial.run_metadata.update_metric("dev_f1_weighted", 0.5, step=4)
    assert trial.metric_analysis["dev_f1_weighted"]["max"] == 0.5
    assert list(trial.metric_n_steps["dev_f1_weighted"]["5"]) == [0.5]


def _fails_at_epoch_two_until_told(config: dict[str, Any]) -> None:
    """Checkpoints every epoch; fails at epoch 2 while ``config["fail"]`` names an existing file."""
    import tempfile

    from ray import tune

    start = 1
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            start = int((Path(folder) / "epoch.txt").read_text()) + 1
    for epoch in range(start, EPOCHS + 1):
        if epoch == 2 and Path(config["fail"]).exists():
            raise RuntimeError("planted failure at epoch 2")
        with tempfile.TemporaryDirectory() as folder:
            (Path(folder) / "epoch.txt").write_text(str(epoch))
            metrics = {"dev_f1_weighted": 0.1 * epoch, "started_at_epoch": start}
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


@pytest.mark.ray
def test_a_failed_trial_whose_history_went_is_run_again_from_its_newest_checkpoint(
    tmp_path: Path, ray_session: Any
) -> None:
    """What ``resume_errored`` does with a failed trial after the drop: Tune restores it from the
    newest checkpoint record kept, and its statistics start afresh from the reports after it."""
    from ray import tune

    from search.driver.callback import drop_history

    class Drops(tune.Callback):
        def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
            drop_history(trial)

    fail = tmp_path / "fail"
    fail.touch()
    tuner = tune.Tuner(
        _fails_at_epoch_two_until_told,
        param_space={"fail": str(fail)},
        run_config=tune.RunConfig(name="retry", storage_path=str(tmp_path), callbacks=[Drops()], verbose=0),
    )
    first = tuner.fit()
    assert first.errors and first[0].metrics["started_at_epoch"] == 1
    [saved] = _saved_trials(tmp_path / "retry", folder="")
    assert saved.metric_analysis == {} and len(saved.checkpoint_manager._checkpoint_results) == 1

    fail.unlink()
    again = tune.Tuner.restore(
        str(tmp_path / "retry"), trainable=_fails_at_epoch_two_until_told, resume_errored=True
    ).fit()
    assert not again.errors
    result = again[0]
    assert result.metrics["started_at_epoch"] == 2 and result.metrics["training_iteration"] == EPOCHS
    statistics = again._experiment_analysis.trials[0].metric_analysis["dev_f1_weighted"]
    assert statistics["min"] == pytest.approx(0.2) and statistics["max"] == pytest.approx(0.1 * EPOCHS)


def test_a_trial_the_saved_state_never_named_leaves_no_checkpoint_at_the_end(tmp_path: Path) -> None:
    """A trial proposed after Tune's last save, then killed, is in no experiment a resume restores:
    nothing can go on from its checkpoints, so the end of the resumed experiment removes them."""
    disk = _Disk(tmp_path)
    (disk.trials / "orphan" / "checkpoint_000000").mkdir(parents=True)  # written, then the kill
    (disk.trials / "orphan" / "result.json").write_text("{}")
    (disk.trials / "experiment_state-x.json").write_text("{}")  # Tune's files beside the trials
    disk.report("live", 0)
    disk.keeper.experiment_ended({"live"})  # Ctrl-C: "live" is restorable, "orphan" is not
    assert disk.kept("orphan") == [] and (disk.trials / "orphan" / "result.json").is_file()
    assert disk.kept("live") == [0] and (disk.trials / "experiment_state-x.json").is_file()
