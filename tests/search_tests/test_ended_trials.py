"""Tune forgets a trial once it has ended and its row is stored (search.driver.ended_trials)."""

from __future__ import annotations

import functools
import gc
import io
import json
import weakref
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from search.config import parse_sweep_text
from search.driver.progress import ProgressView


def _trial(trial_id: str, size: float, status: str, score: float | None = None, lr: float = 1e-3) -> Any:
    result = {} if score is None else {"selected_dev_f1_weighted": score}
    config = {
        "in_domain_size": size,
        "architecture": "two-phase",
        "strategy": "local",
        "imbalance": "none",
        "learning_rate": lr,
    }
    return SimpleNamespace(trial_id=trial_id, config=config, status=status, last_result=result)


def _row(trial_id: str, size: float, status: str, score: float | None) -> dict[str, Any]:
    config = {"architecture": "bert-seqcls", "strategy": "global", "imbalance": "none"}
    return {
        "trial_name": f"bert-seqcls_global_none_id{size}_ood0_s0_abcdef12_{trial_id}",
        "in_domain_size": size,
        "status": status,
        "dev_f1_weighted": score,
        "config": json.dumps(config),
    }


def _figures(view: ProgressView, trials: list[Any]) -> dict[str, tuple[Any, ...]]:
    return {
        key: (c.ended, c.running, c.pruned, c.failed, c.best, c.best_label)
        for key, c in view.counts(trials).items()
    }


def test_the_progress_view_counts_a_forgotten_trial_as_before() -> None:
    """Trials of two sizes in every state, with rows from before this run (one of them a trial
    this run lists too, as a restored experiment does): each ended trial forgotten in turn, the
    view's counts of the trials left are the counts of them all."""
    statuses = {"f1": "finished", "f2": "finished", "s1": "stopped", "e1": "error", "old": "finished"}
    trials = [
        _trial("f1", 0.1, "TERMINATED", 0.61, lr=1e-3),
        _trial("f2", 0.1, "TERMINATED", 0.70, lr=3e-5),  # the size's best
        _trial("s1", 0.1, "TERMINATED", 0.90),  # stopped early: counted, no one's best
        _trial("e1", 1.0, "ERROR"),
        _trial("r1", 1.0, "RUNNING"),
        _trial("u1", 1.0, "TERMINATED", 0.5),  # stopped without ending (no row): not counted
        _trial("old", 1.0, "TERMINATED", 0.40),
        _trial("p1", 0.1, "PENDING"),
    ]
    prior = [
        _row("old", 1.0, "finished", 0.40),
        _row("gone", 1.0, "finished", 0.80),
        _row("x", 1.0, "error", None),
    ]

    def view() -> ProgressView:
        budgets = {"id0.1": 5, "id1": 5}
        status_of = lambda t: statuses.get(t.trial_id)  # noqa: E731
        return ProgressView(budgets, "dev_f1_weighted", status_of, stream=io.StringIO(), prior=prior)

    whole = _figures(view(), trials)
    assert whole["id0.1"][:5] == (3, 0, 1, 0, 0.70)  # f1, f2 (the best), s1 (stopped early)
    assert whole["id1"][:5] == (4, 1, 0, 2, 0.80)  # e1, old (once), gone, x
    forgetting = view()
    left = list(trials)
    for trial in [t for t in trials if t.trial_id in ("f2", "old", "s1", "f1")]:
        forgetting.forget(trial)
        left.remove(trial)
        assert _figures(forgetting, left) == whole, trial.trial_id


# A real sweep (Ray in this process; stand-in trials) ---------------------------------------------


def _failing_once(config: dict[str, Any], runtime: Any, contexts: Any, mark: str) -> None:
    """The first trial to start fails, every time it runs; the others are the stand-in."""
    from ray import tune

    from trainables.testing import stand_in_epochs_trial

    me = tune.get_context().get_trial_id()
    flag = Path(mark)
    if not flag.exists():
        flag.write_text(me)
    if flag.read_text() == me:
        raise RuntimeError("this trial fails")
    stand_in_epochs_trial(config, runtime, contexts, epochs=2)


@pytest.mark.ray
def test_tune_lets_go_of_the_trials_that_ended_with_their_rows_stored(
    tmp_path: Path, ray_session: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five trials, two at once, one failing: at the experiment's end Tune holds the failed one
    alone (a resume runs it again) and its saved state records it alone, and so does its staging
    folder; the rows of the four let go are copied beside that state (what a lost store's
    recovery reads), the store has every row, and the progress view counts the trials Tune let
    go."""
    from search.driver.callback import SweepCallback
    from search.driver.sweep import SweepPaths, run_sweep

    held: list[list[str]] = []
    staged: list[str] = []  # the trial folders in Tune's staging folder at the end, then the failed one's
    ended: list[weakref.ref[Any]] = []
    alive: list[int] = []
    complete, end = SweepCallback.on_trial_complete, SweepCallback.on_experiment_end

    def completed(self: Any, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        ended.append(weakref.ref(trial))
        complete(self, iteration, trials, trial, **info)

    def seen(self: Any, trials: list[Any], **info: Any) -> None:
        held.append(sorted(t.status for t in trials))
        staging = Path(trials[0].storage.experiment_driver_staging_path)
        staged.extend(sorted(p.name for p in staging.iterdir() if p.is_dir()))
        staged.append(trials[0].storage.trial_dir_name)
        gc.collect()
        alive.append(sum(ref() is not None for ref in ended))  # nothing else holds them either
        end(self, trials, **info)

    monkeypatch.setattr(SweepCallback, "on_trial_complete", completed)
    monkeypatch.setattr(SweepCallback, "on_experiment_end", seen)
    document = {
        "name": "forget",
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1], "seeds": [0]},
        "search": {
            "space": "demo-smoke",
            "budget": 5,
            "max_concurrent": 2,
            "scheduler": "fifo",
            "confirm_top_k": 0,
            "floor": False,
        },
        "storage": str(tmp_path / "results"),
    }
    config = parse_sweep_text(yaml.safe_dump(document, sort_keys=False), source="forget.yaml")
    trial = functools.partial(_failing_once, mark=str(tmp_path / "failing"))
    trial.__name__ = "failing_once"  # type: ignore[attr-defined]  # Tune names trainables
    rows = run_sweep(config, verbose=1, trial_function=trial).to_pylist()
    assert sorted(r["status"] for r in rows) == ["error", "finished", "finished", "finished", "finished"]
    assert held == [["ERROR"]] and len(ended) == 4 and alive == [0]
    # The folders Tune made on the driver for the four let go are gone (every upload copied them):
    # the failed trial's alone is left.
    assert staged[:-1] == [staged[-1]], staged
    paths = SweepPaths.of(str(tmp_path / "results"), "forget")
    state = max(Path(paths.tune.path).glob("experiment_state-*.json"), key=lambda p: p.name)
    saved = json.loads(state.read_text())["trial_data"]
    assert [json.loads(trial_json)["status"] for trial_json, _ in saved] == ["ERROR"]
    copied = paths.tune_rows.read().to_pylist()
    assert sorted(copied, key=lambda r: r["trial_name"]) == sorted(
        (r for r in rows if r["status"] == "finished"), key=lambda r: r["trial_name"]
    )
    assert not paths.tune_rows.parts.children(".parquet")  # one file once the sweep is over
    assert "ended   5/5" in capsys.readouterr().err


def test_a_lost_store_gets_each_copied_row_back_once(tmp_path: Path) -> None:
    """Rows come back from Tune's copy for the trials the store lacks, one row a trial even where
    a crash had a trial let go, and so copied, twice; rows the store has are left as they are."""
    from search.driver.sweep import _rows_back
    from search.paths import SweepPaths

    paths = SweepPaths.of(tmp_path, "lost")

    def row(name: str, status: str) -> dict[str, Any]:
        return {"sweep": "lost", "trial_name": name, "status": status}

    paths.tune_rows.add_rows([row("a", "finished"), row("b", "finished")], part="1")
    paths.tune_rows.add_rows([row("b", "finished"), row("c", "stopped")], part="2")
    paths.results.add(row("c", "finished"))  # the store's own row wins
    rows = _rows_back(paths, paths.results.read().to_pylist(), verbose=0)
    assert sorted((r["trial_name"], r["status"]) for r in rows) == [
        ("a", "finished"),
        ("b", "finished"),
        ("c", "finished"),
    ]
    assert paths.results.get("a") is not None  # found by name after the fold
    assert _rows_back(paths, rows, verbose=0) is rows  # nothing lacking: nothing written


def test_the_callback_writes_a_row_a_trial_without_asking_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trial's end is one write to the store and no read: a row an earlier run stored (a trial
    that ended before a crash, run again on resume) is found among the rows the run began with,
    kept as it was, not written again. In object storage a read is requests on the driver's loop."""
    from search.driver.callback import SweepCallback, SweepRun, set_active
    from search.paths import SweepPaths
    from search.plan import plan_sweep, trial_config, trial_name
    from search.results import ResultsStore

    document = {
        "name": "rows",
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1]},
        "search": {"space": "demo-smoke", "budget": 4},
        "storage": str(tmp_path),
    }
    config = parse_sweep_text(yaml.safe_dump(document), source="rows.yaml")
    plan = plan_sweep(config)
    (key,) = plan.contexts
    store = SweepPaths.of(tmp_path, "rows").results

    def trial(trial_id: str, score: float) -> Any:
        tune_config = {
            "in_domain_size": 0.1,
            "architecture": "two-phase",
            "strategy": "local",
            "imbalance": "none",
            "learning_rate": 1e-3,
            "seed": 0,
        }
        report = {"selected_dev_f1_weighted": score, "selected_epoch": 1, "training_done": True}
        return SimpleNamespace(
            trial_id=trial_id,
            config=tune_config,
            status="TERMINATED",
            last_result=report,
            run_metadata=SimpleNamespace(metric_analysis={}, metric_n_steps={}, checkpoint_manager=None),
        )

    old, new = trial("old", 0.7), trial("new", 0.6)
    old_name = trial_name(trial_config(old.config, plan.contexts[key]), "old")
    earlier = {"sweep": "rows", "trial_name": old_name, "status": "finished", "manifest": "first-run"}
    store.add(earlier)
    prior = store.read().to_pylist()

    def no_reads(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the callback asked the store for a row")

    monkeypatch.setattr(ResultsStore, "get", no_reads)
    writes: list[str] = []
    add_rows = ResultsStore.add_rows
    monkeypatch.setattr(
        ResultsStore, "add_rows", lambda self, rows, part: writes.append(part) or add_rows(self, rows, part)
    )
    run = SweepRun(
        sweep="rows",
        store=store,
        contexts=plan.contexts,
        resources={"cpus": 1, "gpus": 0, "workers": 1},
        budgets={key: 4},
        metric="dev_f1_weighted",
        show_progress=False,
        prior=prior,
        manifest="second-run",
    )
    callback = SweepCallback()
    set_active(run)
    try:
        callback.setup()
        for ended in (old, new):
            callback.on_trial_complete(0, [old, new], ended)
        callback.writes.close()  # the rows are written off Tune's loop
    finally:
        set_active(None)
    assert writes == [trial_name(trial_config(new.config, plan.contexts[key]), "new")]  # one write: new's
    rows = {row["trial_name"]: row for row in store.read().to_pylist()}
    assert rows[old_name]["manifest"] == "first-run"  # kept as the earlier run stored it
    assert rows[writes[0]]["status"] == "finished" and rows[writes[0]]["manifest"] == "second-run"
    assert callback.ended_status(old) == "finished" and callback.ended_status(new) == "finished"
