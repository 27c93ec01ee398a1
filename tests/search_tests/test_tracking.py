"""Experiment tracking: real sweeps (stand-in trials) logged to MLflow, TensorBoard and W&B
(offline), read back with each tracker's own reader; resume adds no duplicate run; a dead
tracker costs one warning and leaves the results store whole."""

from __future__ import annotations

import functools
import re
import socket
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from search.config import ConfigError, parse_sweep_text
from search.tracking import BaseTracker, TrackingSection, TrialInfo, tracking_option

N_TRIALS = 4 + 4 + 2  # a search trial per strategy, each confirmed with seed 1, the floor twice
EPOCHS = 3


def _config(tmp_path: Path, tracking: Any, **search: Any) -> Any:
    document = {
        "name": "tracked",
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1], "seeds": [0, 1]},
        "search": {
            "space": "demo-smoke",
            "budget": 4,
            "max_concurrent": 2,
            "scheduler": "fifo",
            "confirm_max_seeds": 2,  # fixed confirmation: N_TRIALS is exact
            **search,
        },
        "storage": str(tmp_path / "results"),
        "tracking": tracking,
    }
    return parse_sweep_text(yaml.safe_dump(document, sort_keys=False), source="tracked.yaml")


def _run(config: Any, **options: Any) -> list[dict[str, Any]]:
    from search.driver.sweep import run_sweep
    from trainables.testing import stand_in_epochs_trial

    trial = functools.partial(stand_in_epochs_trial, epochs=EPOCHS)
    trial.__name__ = "stand_in_epochs_trial"  # type: ignore[attr-defined]  # Tune names trainables
    return run_sweep(config, verbose=0, trial_function=trial, **options).to_pylist()


# The config section and the option (no Ray) ---------------------------------------------------


def test_tracking_is_off_by_default_and_a_section_or_list_turns_it_on(tmp_path: Path) -> None:
    assert not _config(tmp_path, None).tracking.on
    assert _config(tmp_path, ["mlflow", "tensorboard"]).tracking.trackers == ("mlflow", "tensorboard")
    section = _config(tmp_path, {"trackers": ["wandb"], "wandb_mode": "online", "timeout": 5}).tracking
    assert section == TrackingSection(trackers=("wandb",), wandb_mode="online", timeout=5.0)
    over = tracking_option("mlflow=http://127.0.0.1:5000,tensorboard", section)
    assert over.trackers == ("mlflow", "tensorboard") and over.mlflow_uri == "http://127.0.0.1:5000"
    assert over.wandb_mode == "online" and tracking_option("off", over).trackers == ()


@pytest.mark.parametrize(
    ("tracking", "message"),
    [
        (["mlfow"], "tracking.trackers: unknown tracker 'mlfow'; trackers: mlflow, wandb, tensorboard"),
        ({"trackers": ["wandb"], "wandb_mode": "cloud"}, "tracking.wandb_mode: expected offline or online"),
        ({"uri": "x"}, "tracking.uri: unknown key; valid keys of tracking: trackers, mlflow_uri"),
        ({"trackers": ["mlflow"], "timeout": 0}, "tracking.timeout: expected a number of seconds above 0"),
        ({"trackers": ["mlflow"], "timeout": float("inf")}, "at most 86400, got inf"),
    ],
)
def test_a_bad_tracking_section_is_one_located_line(tmp_path: Path, tracking: Any, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(tmp_path, tracking)
    assert message in str(caught.value) and str(caught.value).startswith("tracked.yaml:")
    assert "\n" not in str(caught.value)


def test_a_tracker_whose_package_is_missing_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    from search.tracking import TrackerMissing, TrackingHub

    real = importlib.util.find_spec
    missing = "mlflow"
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == missing else real(name))
    with pytest.raises(
        TrackerMissing, match=r"mlflow needs the mlflow package: pip install 'resweep\[tracking\]'"
    ):
        TrackingHub(TrackingSection(trackers=("mlflow",)), "x", tmp_path)


def test_the_tracking_option_is_checked_before_anything_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.util

    from search.cli import main

    path = tmp_path / "tracked.yaml"
    path.write_text(_config(tmp_path, None).text)
    assert main(["sweep", str(path), "--tracking", "mlfow", "--dry-run"]) == 1
    assert capsys.readouterr().err == (
        "resweep: error: --tracking: unknown tracker 'mlfow'; trackers: mlflow, wandb, tensorboard\n"
    )
    assert main(["sweep", str(path), "--tracking", "mlflow,tensorboard", "--dry-run"]) == 0
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name))
    assert main(["sweep", str(path), "--tracking", "wandb", "--dry-run"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "resweep: error: tracking: wandb needs the wandb package: pip install 'resweep[tracking]'"
    )


class _Stuck(BaseTracker):
    """A tracker whose every call blocks until the test lets it go (a dead server)."""

    name = "stuck"
    release = threading.Event()

    def epoch(self, trial: TrialInfo, step: int, metrics: Any) -> None:
        self.release.wait()

    def ended(self, trial: TrialInfo, status: str, final: Any) -> None:
        self.release.wait()


class _Broken(_Stuck):
    name = "broken"

    def epoch(self, trial: TrialInfo, step: int, metrics: Any) -> None:
        raise ConnectionError("connection refused\nat line two")


def _hub(tmp_path: Path, tracker: type[BaseTracker]) -> Any:
    from search.tracking.hub import TrackingHub, _Worker

    hub = TrackingHub(TrackingSection(timeout=0.5), "x", tmp_path)
    hub.workers = [_Worker(tracker(hub.settings, "x", tmp_path), hub)]
    hub.start(resuming=False, prior=[])
    return hub


# A stuck tracker (a dead server) holds the end of a sweep only its timeout; a failing one is one
# line, then left alone. Either way the caller only enqueues and never waits.
TROUBLE = {
    "stuck": (
        r"resweep: warning: tracking: stuck had not finished after 0\.5 s \(\d+ event\(s\) unsent\); "
        r"left behind \(the results store has every trial\)"
    ),
    "broken": (
        r"resweep: warning: tracking: broken failed \(ConnectionError: connection refused at line two\); "
        r"the sweep goes on without it \(the results store has every trial\)"
    ),
}


@pytest.mark.parametrize("tracker", [_Stuck, _Broken], ids=["stuck", "broken"])
def test_a_stuck_or_failing_tracker_costs_a_bounded_wait_and_one_warning(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], tracker: type[BaseTracker]
) -> None:
    hub = _hub(tmp_path, tracker)
    trial = TrialInfo("t", "x", "id0.1", "local", "search", 0)
    for step in range(1, 4):
        hub.epoch(trial, step, {"dev_f1_weighted": 0.5})
    hub.ended(trial, "finished", {"selected_epoch": 3.0})
    hub.close(complete=True)  # returns although a stuck tracker never will
    _Stuck.release.set()
    (warning,) = capfd.readouterr().err.splitlines()
    assert re.fullmatch(TROUBLE[tracker.name], warning), warning


@pytest.mark.parametrize("tracker", ["mlflow", "tensorboard", "wandb"])
def test_a_trial_cut_off_and_resumed_continues_its_own_run(tmp_path: Path, tracker: str) -> None:
    from search.tracking import TrackingHub

    trial = TrialInfo("two-phase_local_s0_ab12", "cut", "id0.1", "local", "search", 0, {"batch_size": 16})
    # What this checks is continuity, not the end-of-sweep wait: on a loaded machine W&B's offline
    # start and finish can outlast the default 30 s, after which the hub drops what is left.
    settings = TrackingSection(trackers=(tracker,), timeout=600.0)
    first = TrackingHub(settings, "cut", tmp_path)
    first.start(resuming=False, prior=[])
    for step in (1, 2):
        first.epoch(trial, step, {"dev_f1_weighted": 0.1 * step})
    first.close(complete=False)  # Ctrl-C mid-trial
    again = TrackingHub(settings, "cut", tmp_path)
    again.start(resuming=True, prior=[])
    again.epoch(trial, 3, {"dev_f1_weighted": 0.3})
    again.ended(trial, "finished", {"selected_dev_f1_weighted": 0.3, "selected_epoch": 3.0})
    again.close(complete=True)
    if tracker == "mlflow":
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}")
        (experiment,) = [e for e in client.search_experiments() if e.name == "cut"]
        runs = client.search_runs([experiment.experiment_id])
        (run,) = [r for r in runs if r.data.tags.get("resweep.kind") == "trial"]
        assert [m.step for m in client.get_metric_history(run.info.run_id, "dev_f1_weighted")] == [1, 2, 3]
        assert run.info.status == "FINISHED" and len(runs) == 2  # and the one parent, FINISHED
        assert all(r.info.status == "FINISHED" for r in runs)
    elif tracker == "tensorboard":
        (folder,) = (tmp_path / "tensorboard" / "id0.1").iterdir()
        assert [e.step for e in _tensorboard(folder).Scalars("dev_f1_weighted")] == [1, 2, 3]
    else:
        from search.tracking.wandb_tracker import run_id

        files = sorted((tmp_path / "wandb").glob("offline-run-*/*.wandb"))
        assert {p.stem for p in files} == {f"run-{run_id('cut', trial.key)}"}  # two sessions of one run
        runs = [_wandb_run(p) for p in files]
        assert [step for r in runs for step, items in r["history"] if "dev_f1_weighted" in items] == [1, 2, 3]
        assert runs[-1]["summary"]["status"] == "finished"


# Real sweeps ------------------------------------------------------------------------------------


def _mlflow_runs(sweep: Path) -> Any:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{sweep / 'mlflow' / 'mlflow.db'}")
    return mlflow.search_runs(experiment_names=["tracked"], output_format="list")


@pytest.mark.ray
def test_a_sweep_in_mlflow_one_run_per_trial_under_its_parent_and_resume_adds_none(
    tmp_path: Path, ray_session: Any
) -> None:
    from mlflow import MlflowClient

    rows = _run(_config(tmp_path, ["mlflow"]))
    assert len(rows) == N_TRIALS
    sweep = tmp_path / "results" / "tracked"
    runs = _mlflow_runs(sweep)
    parents = [r for r in runs if r.data.tags.get("resweep.kind") == "sweep"]
    trials = [r for r in runs if r.data.tags.get("resweep.kind") == "trial"]
    assert (
        len(parents) == 1 and parents[0].info.status == "FINISHED" and parents[0].info.run_name == "tracked"
    )
    parent = parents[0].info.run_id
    assert all(r.data.tags["mlflow.parentRunId"] == parent for r in trials)
    by_name = {r.data.tags["resweep.trial"]: r for r in trials}
    assert sorted(by_name) == sorted(r["trial_name"] for r in rows)  # one run per trial
    client = MlflowClient(tracking_uri=f"sqlite:///{sweep / 'mlflow' / 'mlflow.db'}")
    for row in rows:
        run = by_name[row["trial_name"]]
        tags = run.data.tags
        assert tags["resweep.size"] == "id0.1" and tags["resweep.seed"] == str(row["seed"])
        assert tags.get("resweep.cell") == row["cell"] and tags["resweep.role"] == row["role"]
        assert tags["resweep.status"] == row["status"] == "finished" and run.info.status == "FINISHED"
        assert run.data.params["strategy"] == row["strategy"] and run.data.params["seed"] == str(row["seed"])
        history = client.get_metric_history(run.info.run_id, "dev_f1_weighted")
        assert [m.step for m in history] == [1, 2, 3]  # every epoch
        assert [m.step for m in client.get_metric_history(run.info.run_id, "test_f1_weighted")] == [1, 2, 3]
        assert run.data.metrics["selected_dev_f1_weighted"] == pytest.approx(row["dev_f1_weighted"])
        assert run.data.metrics["selected_epoch"] == row["selected_epoch"] == EPOCHS
    artifacts = {f.path for f in client.list_artifacts(parent, "leaderboard")}
    assert artifacts == {"leaderboard/id0.1.csv"}
    board = Path(client.download_artifacts(parent, "leaderboard/id0.1.csv", str(tmp_path / "dl")))
    assert "configuration" in board.read_text().splitlines()[0] or "label" in board.read_text()
    assert "report/learning_curves.png" in {f.path for f in client.list_artifacts(parent, "report")}

    # A resume of the ended sweep, and an extension: the same parent, no run twice.
    from search.driver.extend import extend_config
    from search.plan import load_saved_sweep

    config, paths = load_saved_sweep(tmp_path / "results", "tracked")
    assert config.tracking.trackers == ("mlflow",)  # saved with the sweep
    _run(config, resume=True)
    grown = _run(extend_config(config, paths.results.read().to_pylist(), budget=8), resume=True)
    again = _mlflow_runs(sweep)
    names = Counter(
        r.data.tags.get("resweep.trial") for r in again if r.data.tags.get("resweep.kind") == "trial"
    )
    assert max(names.values()) == 1 and sorted(names) == sorted(r["trial_name"] for r in grown)
    assert [r.info.run_id for r in again if r.data.tags.get("resweep.kind") == "sweep"] == [parent]

    # resweep train's model folder: a nested run with the folder as its artifact, a registered version.
    from search.tracking import register_model

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    made = register_model(
        "tracked", str(tmp_path / "results"), folder, "the best", {"dev_f1": 0.5}, config.tracking
    )
    assert made == ["mlflow: tracked/1"]
    (version,) = client.search_model_versions("name = 'tracked'")
    train = client.get_run(version.run_id)
    assert train.data.tags["mlflow.parentRunId"] == parent and train.data.tags["resweep.kind"] == "train"
    assert [f.path for f in client.list_artifacts(version.run_id, "model")] == ["model/model.safetensors"]
    assert client.get_run(parent).info.status == "FINISHED"  # registering does not reopen the sweep's run


@pytest.mark.ray
def test_an_unreachable_mlflow_server_costs_one_warning_and_no_row(
    tmp_path: Path, ray_session: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = _config(
        tmp_path, {"trackers": ["mlflow"], "mlflow_uri": f"http://127.0.0.1:{port}", "timeout": 20}
    )
    rows = _run(config)
    assert len(rows) == N_TRIALS and all(r["status"] == "finished" for r in rows)
    warnings = [line for line in capfd.readouterr().err.splitlines() if "tracking:" in line]
    assert len(warnings) == 1, warnings
    assert (
        warnings[0].startswith("resweep: warning: tracking: mlflow failed") and "results store" in warnings[0]
    )


def _tensorboard(folder: Path) -> Any:
    from tensorboard.backend.event_processing.event_accumulator import (
        STORE_EVERYTHING_SIZE_GUIDANCE,
        EventAccumulator,
    )

    events = EventAccumulator(str(folder), size_guidance=STORE_EVERYTHING_SIZE_GUIDANCE)
    events.Reload()
    return events


@pytest.mark.ray
def test_a_sweep_in_tensorboard_and_wandb_offline_read_back(tmp_path: Path, ray_session: Any) -> None:
    rows = _run(_config(tmp_path, ["tensorboard", "wandb"]))
    root = tmp_path / "results" / "tracked" / "tensorboard" / "id0.1"
    assert sorted(p.name for p in root.iterdir()) == sorted([*(r["trial_name"] for r in rows), "_sweep"])
    for row in rows:
        events = _tensorboard(root / row["trial_name"])
        assert [e.step for e in events.Scalars("dev_f1_weighted")] == [1, 2, 3]
        assert [e.step for e in events.Scalars("test_f1_weighted")] == [1, 2, 3]
        (selected,) = events.Scalars("selected_dev_f1_weighted")
        assert selected.value == pytest.approx(row["dev_f1_weighted"]) and selected.step == EPOCHS
        texts = {
            tag: events.Tensors(f"{tag}/text_summary")[-1].tensor_proto.string_val[0].decode()
            for tag in ("status", "config")
        }
        assert texts["status"] == row["status"]
        assert f"| resweep.seed | {row['seed']} |" in texts["config"]
    sweep = _tensorboard(root / "_sweep")
    assert "leaderboard/id0.1.csv/text_summary" in sweep.Tags()["tensors"]
    assert "report/learning_curves.png" in sweep.Tags()["images"]

    runs = [
        _wandb_run(path)
        for path in (tmp_path / "results" / "tracked" / "wandb").glob("offline-run-*/*.wandb")
    ]
    trials = {r["name"]: r for r in runs if r["job_type"] == "id0.1" and "leaderboard" not in r["name"]}
    assert sorted(trials) == sorted(r["trial_name"] for r in rows)  # one run per trial
    assert all(r["group"] == "tracked" and r["project"] == "resweep" for r in runs)
    for row in rows:
        run = trials[row["trial_name"]]
        assert run["config"]["strategy"] == row["strategy"] and run["config"]["resweep.seed"] == str(
            row["seed"]
        )
        assert [step for step, items in run["history"] if "dev_f1_weighted" in items] == [1, 2, 3]
        assert run["summary"]["selected_dev_f1_weighted"] == pytest.approx(row["dev_f1_weighted"])
        assert run["summary"]["status"] == row["status"] and run["exit_code"] == 0
    (board,) = [r for r in runs if r["name"] == "tracked id0.1 leaderboard"]
    assert board["summary"]["leaderboard/id0.1.csv/_type"] == "table-file"  # the board as a W&B table
    assert board["summary"]["report/learning_curves.png/_type"] == "image-file"
    assert "tracked-id0.1-leaderboard" in board["artifacts"]

    # An extension logs its new trials only: one W&B run and one TensorBoard folder per trial.
    from search.driver.extend import extend_config
    from search.plan import load_saved_sweep

    config, paths = load_saved_sweep(tmp_path / "results", "tracked")
    grown = _run(extend_config(config, paths.results.read().to_pylist(), budget=8), resume=True)
    assert len(grown) > len(rows)
    from search.tracking.wandb_tracker import run_id

    folders = (tmp_path / "results" / "tracked" / "wandb").glob("offline-run-*")
    ids = Counter(p.name.rsplit("-", 1)[1] for p in folders)
    assert all(ids[run_id("tracked", r["trial_name"])] == 1 for r in grown)  # one run per trial
    assert ids[run_id("tracked", "id0.1", "leaderboard")] == 2  # the board's run, again once grown
    folders = {p.name for p in root.iterdir()} - {"_sweep"}
    assert folders == {r["trial_name"] for r in grown}


def _wandb_run(path: Path) -> dict[str, Any]:
    """What an offline W&B run file holds (its records: LevelDB-style log blocks of protobufs)."""
    import json
    import struct

    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    run: dict[str, Any] = {"history": [], "summary": {}, "artifacts": [], "exit_code": None}
    position, pending, block = 7, b"", 32768  # after the header: ':W&B', magic, version
    while position + 7 <= len(data):
        if block - position % block < 7:  # a block's tail too short for a record header: padding
            position += block - position % block
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind not in (1, 4):  # a record's first or middle part
            continue
        record = wandb_internal_pb2.Record()
        record.ParseFromString(pending)
        pending = b""
        which = record.WhichOneof("record_type")
        if which == "run":
            info = record.run
            run.update(
                name=info.display_name, group=info.run_group, job_type=info.job_type, project=info.project
            )
            run["config"] = {u.key: json.loads(u.value_json) for u in info.config.update}
        elif which == "history":
            items = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
            run["history"].append((items.get("_step"), items))
        elif which == "summary":
            for u in record.summary.update:
                run["summary"][u.key or "/".join(u.nested_key)] = json.loads(u.value_json)
        elif which == "artifact":
            run["artifacts"].append(record.artifact.name)
        elif which == "exit":
            run["exit_code"] = record.exit.exit_code
    return run
