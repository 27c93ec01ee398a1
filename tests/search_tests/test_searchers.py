"""The sweep's searcher and scheduler: one study, budget and ASHA per in-domain size."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ray.tune.schedulers import ASHAScheduler, TrialScheduler
from ray.tune.search import Searcher

from search.schedulers import SCHEDULER_TIME, PerSizeScheduler, make_scheduler
from search.searchers import GridSearch, PerSizeSearch, make_searcher

METRIC = "dev_f1_weighted"


def _per_size(budgets: dict[str, int]) -> PerSizeSearch:
    grids = {key: [{"strategy": f"{key}-{i}"} for i in range(10)] for key in budgets}
    searchers: dict[str, Searcher] = {key: GridSearch(grids[key], metric=METRIC) for key in budgets}
    sizes = {"id0.1": 0.1, "id1": 1.0, "id300": 300}
    return PerSizeSearch(searchers, budgets, {k: sizes[k] for k in budgets}, metric=METRIC)


def test_sizes_take_turns_and_each_keeps_its_own_budget() -> None:
    search = _per_size({"id0.1": 2, "id1": 4})
    proposals = [search.suggest(f"t{i}") for i in range(6)]
    # The size with the smallest share of its budget handed out goes next: both end together.
    assert [p["in_domain_size"] for p in proposals] == [0.1, 1.0, 1.0, 0.1, 1.0, 1.0]
    assert [p["strategy"] for p in proposals[:2]] == ["id0.1-0", "id1-0"]
    assert search.suggest("t6") == Searcher.FINISHED


def test_a_size_whose_searcher_runs_dry_yields_its_turn() -> None:
    search = PerSizeSearch(
        {"id0.1": GridSearch([{"a": 1}], metric=METRIC), "id1": GridSearch([{"a": 2}] * 3, metric=METRIC)},
        {"id0.1": 5, "id1": 3},
        {"id0.1": 0.1, "id1": 1.0},
        metric=METRIC,
    )
    sizes = [search.suggest(f"t{i}")["in_domain_size"] for i in range(4)]
    assert sizes == [0.1, 1.0, 1.0, 1.0]
    assert search.suggest("t4") == Searcher.FINISHED


def test_state_survives_save_and_restore(tmp_path: Path) -> None:
    search = _per_size({"id0.1": 3, "id1": 3})
    for i in range(3):
        search.suggest(f"t{i}")
    search.on_trial_complete("t0", {METRIC: 0.5})
    search.save(str(tmp_path / "searcher.pkl"))
    restored = _per_size({"id0.1": 3, "id1": 3})
    restored.restore(str(tmp_path / "searcher.pkl"))
    rest = [restored.suggest(f"t{i}") for i in range(3, 6)]
    assert [r["strategy"] for r in rest] == ["id1-1", "id0.1-2", "id1-2"]
    assert restored.suggest("t6") == Searcher.FINISHED


def test_optuna_studies_one_per_size_in_one_database(tmp_path: Path) -> None:
    import optuna

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    searcher = make_searcher(
        kind="tpe",
        space="demo-smoke",
        sizes={"id0.1": 0.1, "id300": 300},
        budgets={"id0.1": 3, "id300": 1},
        metric=METRIC,
        seed=0,
        storage_url=url,
        study_prefix="s",
        max_concurrent=8,
    )
    configs = {f"t{i}": searcher.suggest(f"t{i}") for i in range(3)}
    assert [c["in_domain_size"] for c in configs.values()] == [0.1, 300, 0.1]
    assert all(c["architecture"] == "two-phase" for c in configs.values())
    for i, trial_id in enumerate(configs):
        searcher.on_trial_complete(trial_id, {METRIC: 0.1 * i, "in_domain_size": 0})
    studies = {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(url)}
    assert studies == {"s-id0.1": 2, "s-id300": 1}
    values = optuna.load_study(study_name="s-id0.1", storage=url).trials
    assert [t.value for t in values] == [0.0, pytest.approx(0.2)]
    # Tune saves the searcher with its studies; the restored one goes on in the same database.
    searcher.save(str(tmp_path / "searcher.pkl"))
    restored = make_searcher(
        kind="tpe",
        space="demo-smoke",
        sizes={"id0.1": 0.1, "id300": 300},
        budgets={"id0.1": 2, "id300": 1},
        metric=METRIC,
        seed=0,
        storage_url=url,
        study_prefix="s",
        max_concurrent=8,
    )
    restored.restore(str(tmp_path / "searcher.pkl"))
    assert restored.suggest("t3")["in_domain_size"] == 0.1  # the one trial left of the budgets saved
    restored.on_trial_complete("t3", {METRIC: 0.9})
    assert restored.suggest("t4") == Searcher.FINISHED
    assert optuna.load_study(study_name="s-id0.1", storage=url).best_value == pytest.approx(0.9)


def _trial(trial_id: str, size: float) -> Any:
    return SimpleNamespace(trial_id=trial_id, config={"in_domain_size": size})


def _result(score: float) -> dict[str, Any]:
    return {SCHEDULER_TIME: 1, METRIC: score}


def test_asha_compares_a_trial_only_with_trials_of_its_own_size() -> None:
    # A 1.0 trial scoring 0.5 after a 0.1 trial scored 0.9: one shared ASHA would stop it
    # (0.5 is in the bottom half of its rung); per size it is the first of its rung.
    shared = ASHAScheduler(time_attr=SCHEDULER_TIME, metric=METRIC, mode="max", max_t=100, reduction_factor=2)
    per_size = make_scheduler("asha", METRIC)
    assert isinstance(per_size, PerSizeScheduler)
    decisions = {}
    for name, scheduler in (("shared", shared), ("per_size", per_size)):
        a, b, c = _trial("a", 0.1), _trial("b", 1.0), _trial("c", 1.0)
        for trial in (a, b, c):
            scheduler.on_trial_add(None, trial)  # type: ignore[arg-type]
        decisions[name] = [
            scheduler.on_trial_result(None, trial, _result(score))  # type: ignore[arg-type]
            for trial, score in ((a, 0.9), (b, 0.5), (c, 0.3))
        ]
    assert decisions["shared"] == [TrialScheduler.CONTINUE, TrialScheduler.STOP, TrialScheduler.STOP]
    assert decisions["per_size"] == [TrialScheduler.CONTINUE, TrialScheduler.CONTINUE, TrialScheduler.STOP]


def test_fifo_never_stops() -> None:
    scheduler = make_scheduler("fifo", METRIC)
    trial = _trial("a", 0.1)
    scheduler.on_trial_add(None, trial)  # type: ignore[arg-type]
    assert scheduler.on_trial_result(None, trial, _result(0.0)) == TrialScheduler.CONTINUE  # type: ignore[arg-type]


def _strategy_key(key: str, proposal: Any) -> str:
    return str(proposal["strategy"])


def test_after_its_search_a_size_confirms_its_top_configurations_with_the_other_seeds() -> None:
    from search.searchers import Confirmation

    grid = [{"strategy": s} for s in ("a", "b", "c")]
    search = PerSizeSearch(
        {"id0.1": GridSearch(grid, metric=METRIC)},
        {"id0.1": 3},
        {"id0.1": 0.1},
        metric=METRIC,
        confirmations={"id0.1": Confirmation(top_k=2, seeds=(1, 2))},
        config_key=_strategy_key,
    )
    for i in range(3):
        assert search.suggest(f"t{i}")["strategy"] == grid[i]["strategy"]
    search.on_trial_complete("t0", {METRIC: 0.5})
    search.on_trial_complete("t1", {METRIC: 0.9})
    assert search.suggest("t3") is None  # "c" still runs: the top 2 are not known yet
    search.on_trial_complete("t2", {METRIC: 0.7})
    again = [search.suggest(f"t{i}") for i in range(3, 7)]
    assert [(c["strategy"], c["seed"], c["in_domain_size"]) for c in again] == [
        ("b", 1, 0.1),
        ("b", 2, 0.1),
        ("c", 1, 0.1),
        ("c", 2, 0.1),
    ]
    # Nothing left to propose (Tune lets the live runs end); they are not confirmed again.
    assert search.suggest("t7") == Searcher.FINISHED
    for i in range(3, 7):
        search.on_trial_complete(f"t{i}", {METRIC: 0.99})
    assert search.suggest("t8") == Searcher.FINISHED


def test_confirmation_after_a_crash_starts_from_the_stored_rows() -> None:
    from search.searchers import Confirmation

    prior = Confirmation(
        top_k=1, seeds=(1, 2), scored=[(0.8, {"strategy": "x"}), (0.6, {"strategy": "y"})], done={("x", 1)}
    )
    search = PerSizeSearch(
        {"id1": GridSearch([], metric=METRIC)},  # the search was over before the crash
        {"id1": 0},
        {"id1": 1.0},
        metric=METRIC,
        confirmations={"id1": prior},
        config_key=_strategy_key,
    )
    assert [(c["strategy"], c["seed"]) for c in (search.suggest("t0"),)] == [("x", 2)]
    assert search.suggest("t1") == Searcher.FINISHED


def test_confirmation_runs_are_never_stopped_early() -> None:
    scheduler = make_scheduler("asha", METRIC)
    search_trial = _trial("a", 0.1)
    again = SimpleNamespace(trial_id="b", config={"in_domain_size": 0.1, "seed": 1})
    for trial in (search_trial, again):
        scheduler.on_trial_add(None, trial)  # type: ignore[arg-type]
    assert scheduler.on_trial_result(None, search_trial, _result(0.9)) == TrialScheduler.CONTINUE  # type: ignore[arg-type]
    assert scheduler.on_trial_result(None, again, _result(0.1)) == TrialScheduler.CONTINUE  # type: ignore[arg-type]
    third = _trial("c", 0.1)
    scheduler.on_trial_add(None, third)  # type: ignore[arg-type]
    assert scheduler.on_trial_result(None, third, _result(0.1)) == TrialScheduler.STOP  # type: ignore[arg-type]
