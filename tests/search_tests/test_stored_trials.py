"""What the driver reads of the results store, and when (search.driver.sweep): a trial Tune's
restored experiment runs again, though it ended after Tune's last save, reports its stored result
and trains nothing, from what the driver read once; the last experiment's end reads nothing."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from search.config import parse_sweep_config
from search.driver import sweep
from search.plan import plan_sweep, trial_config, trial_name


def _config(tmp_path: Path) -> Any:
    document = {
        "name": "stored",
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1]},
        "search": {"space": "thesis-smoke", "searcher": "grid", "budget": 8},
        "storage": str(tmp_path),
    }
    return parse_sweep_config(document)


def _plan(tmp_path: Path) -> Any:
    return plan_sweep(_config(tmp_path))


def _row(name: str, status: str, report: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "trial_name": name,
        "status": status,
        "last_report": None if report is None else json.dumps(report),
    }


def test_the_driver_hands_over_the_ended_rows_of_the_trials_tune_runs_again() -> None:
    """Tune's trial ids (8 hex digits) end the rows' names: only the ended rows of the trials
    Tune's saved state runs again are handed over; an errored row (it runs again) and other
    trials' rows are not."""
    restores = {"5f1e2d31": {}, "5f1e2d32": {}, "5f1e2d33": {}}
    rows = [
        _row("bert-seqcls_local_none_id0.1_s0_aa11bb22_5f1e2d31", "finished", {"dev_f1_weighted": 0.6}),
        _row("bert-seqcls_local_none_id0.1_s0_aa11bb22_5f1e2d32", "error", None),
        _row("bert-seqcls_local_none_id0.1_s0_aa11bb22_5f1e2d33", "stopped", {"dev_f1_weighted": 0.4}),
        _row("bert-seqcls_local_none_id0.1_s0_aa11bb22_5f1e2d34", "finished", {"dev_f1_weighted": 0.7}),
        _row("bert-seqcls_local_none_id0.1_s0_aa11bb22_x5f1e2d31", "finished", {"dev_f1_weighted": 0.8}),
        _row("bert-seqcls_local_none_id0.1_s0_aa11bb22_0c0c0c0c", "finished", {"dev_f1_weighted": 0.9}),
    ]
    handed = sweep._ended_reports(rows, restores)
    assert sorted(handed) == [rows[0]["trial_name"], rows[2]["trial_name"]]
    assert json.loads(handed[rows[2]["trial_name"]]) == {"dev_f1_weighted": 0.4}
    assert sweep._ended_reports(rows, {}) == {}  # a new experiment: none of its trials has a row


@pytest.fixture
def tune_stand_ins(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Tune's context (trial id ``5f1e2d31``) and report in sweep_trial; training recorded."""
    calls: list[Any] = []
    context = SimpleNamespace(get_trial_id=lambda: "5f1e2d31")
    monkeypatch.setattr(sweep.tune, "get_context", lambda: context)
    monkeypatch.setattr(sweep.tune, "report", lambda metrics: calls.append(("report", metrics)))
    monkeypatch.setattr(
        "trainables.ray_adapter.resweep_trial", lambda config, runtime: calls.append(("train", config))
    )
    return calls


def test_a_trial_with_a_handed_over_row_reports_it_and_trains_nothing(
    tmp_path: Path, tune_stand_ins: list[Any]
) -> None:
    plan = _plan(tmp_path)
    proposal = {**plan.grids["id0.1/local"][0], "in_domain_size": 0.1}  # as the searcher stamps it
    name = trial_name(trial_config(proposal, plan.contexts["id0.1"]), "5f1e2d31")
    stored = {"selected_dev_f1_weighted": 0.61, "epochs_done": 3, "trial_id": "5f1e2d31", "pid": 7}
    # the runtime names no store: the trial has nothing to ask one
    runtime = SimpleNamespace(artifacts=str(tmp_path / "missing" / "artifacts"))
    sweep.sweep_trial(proposal, runtime, plan.contexts, ended={name: json.dumps(stored)})
    assert tune_stand_ins == [("report", {"selected_dev_f1_weighted": 0.61, "epochs_done": 3})]

    tune_stand_ins.clear()
    other = name.replace("5f1e2d31", "5f1e2d39")
    sweep.sweep_trial(proposal, runtime, plan.contexts, ended={other: json.dumps(stored)})
    sweep.sweep_trial(proposal, runtime, plan.contexts)
    assert [kind for kind, _ in tune_stand_ins] == ["train", "train"]
    assert not (tmp_path / "missing").exists()


def test_whether_the_sweep_is_over_is_read_from_the_store_only_where_an_experiment_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The progress view's "sweep over" after the last experiment takes no read of the whole store
    (a request per part in object storage, at every sweep's end); after a restored experiment,
    which a new one follows for what is still missing, it reads the store: short, not over."""
    from search.paths import SweepPaths
    from search.results import ResultsStore

    config = _config(tmp_path)
    plan, paths = plan_sweep(config), SweepPaths.of(str(tmp_path), "stored")
    reads: list[int] = []
    monkeypatch.setattr(ResultsStore, "snapshot", lambda store: reads.append(1) or (_no_rows(), []))
    last = sweep._run_state(config, plan, paths, [], verbose=0, manifest_id="m", last=True)
    assert last.complete() and reads == []
    restored = sweep._run_state(config, plan, paths, [], verbose=0, manifest_id="m")
    assert not restored.complete() and reads == [1]  # nothing stored: the sweep is short


def _no_rows() -> Any:
    from search.results import RESULT_SCHEMA

    return RESULT_SCHEMA.empty_table()  # an empty store's snapshot
