"""The sweep's searcher and scheduler: one study, budget and ASHA per in-domain size and cell."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from ray.tune.schedulers import ASHAScheduler, TrialScheduler
from ray.tune.search import Searcher

from search.driver.schedulers import SCHEDULER_TIME, PerSlotScheduler, grace_period, make_scheduler
from search.driver.searchers import (
    GridSearch,
    PerSlotSearch,
    Restart,
    ResumableOptunaSearch,
    Slots,
    make_searcher,
    startup_trials,
)
from trainables.report_keys import TRAINING_DONE

METRIC = "dev_f1_weighted"
DONE = {TRAINING_DONE: True}


def _per_size(budgets: dict[str, int]) -> PerSlotSearch:
    grids = {key: [{"strategy": f"{key}-{i}"} for i in range(10)] for key in budgets}
    searchers: dict[str, Searcher] = {key: GridSearch(grids[key], metric=METRIC) for key in budgets}
    sizes = {"id0.1": 0.1, "id1": 1.0, "id300": 300}
    return PerSlotSearch(
        searchers, Slots(budgets=budgets, sizes={k: sizes[k] for k in budgets}), metric=METRIC
    )


def test_sizes_take_turns_and_each_keeps_its_own_budget() -> None:
    search = _per_size({"id0.1": 2, "id1": 4})
    proposals = [search.suggest(f"t{i}") for i in range(6)]
    # The size with the smallest share of its budget handed out goes next: both end together.
    assert [p["in_domain_size"] for p in proposals] == [0.1, 1.0, 1.0, 0.1, 1.0, 1.0]
    assert [p["strategy"] for p in proposals[:2]] == ["id0.1-0", "id1-0"]
    assert search.suggest("t6") == Searcher.FINISHED


def test_a_size_whose_searcher_runs_dry_yields_its_turn() -> None:
    search = PerSlotSearch(
        {"id0.1": GridSearch([{"a": 1}], metric=METRIC), "id1": GridSearch([{"a": 2}] * 3, metric=METRIC)},
        Slots(budgets={"id0.1": 5, "id1": 3}, sizes={"id0.1": 0.1, "id1": 1.0}),
        metric=METRIC,
    )
    sizes = [search.suggest(f"t{i}")["in_domain_size"] for i in range(4)]
    assert sizes == [0.1, 1.0, 1.0, 1.0]
    assert search.suggest("t4") == Searcher.FINISHED


def test_state_survives_save_and_restore(tmp_path: Path) -> None:
    search = _per_size({"id0.1": 3, "id1": 3})
    for i in range(3):
        search.suggest(f"t{i}")
    search.on_trial_complete("t0", {METRIC: 0.5, **DONE})
    search.save(str(tmp_path / "searcher.pkl"))
    restored = _per_size({"id0.1": 3, "id1": 3})
    restored.restore(str(tmp_path / "searcher.pkl"))
    rest = [restored.suggest(f"t{i}") for i in range(3, 6)]
    assert [r["strategy"] for r in rest] == ["id1-1", "id0.1-2", "id1-2"]
    assert restored.suggest("t6") == Searcher.FINISHED


def test_optuna_studies_one_per_size_in_one_database(tmp_path: Path) -> None:
    import optuna

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    sizes = {"id0.1": 0.1, "id300": 300}
    common = {
        "kind": "tpe",
        "space": "demo-smoke",
        "metric": METRIC,
        "seed": 0,
        "storage_url": url,
        "study_prefix": "s",
        "max_concurrent": 8,
    }
    searcher = make_searcher(slots=Slots(budgets={"id0.1": 3, "id300": 1}, sizes=sizes), **common)
    configs = {f"t{i}": searcher.suggest(f"t{i}") for i in range(3)}
    assert [c["in_domain_size"] for c in configs.values()] == [0.1, 300, 0.1]
    assert all(c["architecture"] == "two-phase" for c in configs.values())
    for i, trial_id in enumerate(configs):
        searcher.on_trial_complete(trial_id, {METRIC: 0.1 * i, "in_domain_size": 0, **DONE})
    studies = {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(url)}
    assert studies == {"s-id0.1": 2, "s-id300": 1}
    values = optuna.load_study(study_name="s-id0.1", storage=url).trials
    assert [t.value for t in values] == [0.0, pytest.approx(0.2)]
    # Tune saves the searcher with its studies; the restored one goes on in the same database.
    searcher.save(str(tmp_path / "searcher.pkl"))
    restored = make_searcher(slots=Slots(budgets={"id0.1": 2, "id300": 1}, sizes=sizes), **common)
    restored.restore(str(tmp_path / "searcher.pkl"))
    assert restored.suggest("t3")["in_domain_size"] == 0.1  # the one trial left of the budgets saved
    restored.on_trial_complete("t3", {METRIC: 0.9, **DONE})
    assert restored.suggest("t4") == Searcher.FINISHED
    assert optuna.load_study(study_name="s-id0.1", storage=url).best_value == pytest.approx(0.9)


def _trial(trial_id: str, size: float, cell: str = "", **config: Any) -> Any:
    # patience 1 and 4 epochs: ASHA's first rung at epoch 1 (see grace_period)
    return SimpleNamespace(
        trial_id=trial_id,
        config={"in_domain_size": size, "resweep_cell": cell, "patience": 1, "max_epochs": 4, **config},
    )


def _result(score: float) -> dict[str, Any]:
    return {SCHEDULER_TIME: 1, METRIC: score}


def test_asha_compares_a_trial_only_with_trials_of_its_own_size() -> None:
    # A 1.0 trial scoring 0.5 after a 0.1 trial scored 0.9: one shared ASHA would stop it
    # (0.5 is in the bottom half of its rung); per size it is the first of its rung.
    shared = ASHAScheduler(time_attr=SCHEDULER_TIME, metric=METRIC, mode="max", max_t=100, reduction_factor=2)
    per_size = make_scheduler("asha", METRIC)
    assert isinstance(per_size, PerSlotScheduler)
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
    from search.driver.searchers import Confirmation

    grid = [{"strategy": s} for s in ("a", "b", "c")]
    search = PerSlotSearch(
        {"id0.1": GridSearch(grid, metric=METRIC)},
        Slots(
            budgets={"id0.1": 3},
            sizes={"id0.1": 0.1},
            confirmations={"id0.1": Confirmation(top_k=2, seeds=(1, 2))},
            config_key=_strategy_key,
        ),
        metric=METRIC,
    )
    for i in range(3):
        assert search.suggest(f"t{i}")["strategy"] == grid[i]["strategy"]
    search.on_trial_complete("t0", {METRIC: 0.5, **DONE})
    search.on_trial_complete("t1", {METRIC: 0.9, **DONE})
    assert search.suggest("t3") is None  # "c" still runs: the top 2 are not known yet
    search.on_trial_complete("t2", {METRIC: 0.7, **DONE})
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
    from search.driver.searchers import Confirmation

    prior = Confirmation(
        top_k=1, seeds=(1, 2), scored=[(0.8, {"strategy": "x"}), (0.6, {"strategy": "y"})], done={("x", 1)}
    )
    search = PerSlotSearch(
        {"id1": GridSearch([], metric=METRIC)},  # the search was over before the crash
        Slots(budgets={"id1": 0}, sizes={"id1": 1.0}, confirmations={"id1": prior}, config_key=_strategy_key),
        metric=METRIC,
    )
    assert [(c["strategy"], c["seed"]) for c in (search.suggest("t0"),)] == [("x", 2)]
    assert search.suggest("t1") == Searcher.FINISHED


def test_confirmation_runs_are_never_stopped_early() -> None:
    scheduler = make_scheduler("asha", METRIC)
    search_trial = _trial("a", 0.1)
    again = _trial("b", 0.1, seed=1, resweep_role="confirm")
    for trial in (search_trial, again):
        scheduler.on_trial_add(None, trial)  # type: ignore[arg-type]
    assert scheduler.on_trial_result(None, search_trial, _result(0.9)) == TrialScheduler.CONTINUE  # type: ignore[arg-type]
    assert scheduler.on_trial_result(None, again, _result(0.1)) == TrialScheduler.CONTINUE  # type: ignore[arg-type]
    third = _trial("c", 0.1)
    scheduler.on_trial_add(None, third)  # type: ignore[arg-type]
    assert scheduler.on_trial_result(None, third, _result(0.1)) == TrialScheduler.STOP  # type: ignore[arg-type]


# The question's cells ------------------------------------------------------------------------
CELLS = {s: {"strategy": s} for s in ("baseline", "mixed", "global", "local")}


def _cell_searcher(
    tmp_path: Path | None,
    budget: int,
    *,
    sizes: dict[str, float] | None = None,
    floors: dict[str, list[dict[str, Any]]] | None = None,
    **kw: Any,
):
    sizes = sizes or {"id0.1": 0.1, "id1": 1.0}
    slots = {f"{key}/{cell}": (key, cell) for key in sizes for cell in CELLS}
    return make_searcher(
        slots=Slots(
            budgets=dict.fromkeys(slots, budget),
            sizes={slot: sizes[key] for slot, (key, _) in slots.items()},
            cells={slot: cell for slot, (_, cell) in slots.items()},
            slot_size={slot: key for slot, (key, _) in slots.items()},
            floors=floors or {},
        ),
        kind=kw.pop("kind", "tpe"),
        space="demo-smoke",
        metric=METRIC,
        seed=0,
        storage_url=f"sqlite:///{tmp_path / 'optuna.db'}" if tmp_path else None,
        study_prefix="s",
        cell_values=CELLS,
        max_concurrent=64,
        intermediate="dev_f1_weighted",
        **kw,
    )


def test_every_cell_of_every_size_gets_its_share_also_under_concurrency() -> None:
    searcher = _cell_searcher(None, budget=3)
    # 24 proposals handed out before any trial ends (as with 24 free slots): 3 per size and cell.
    proposals = [searcher.suggest(f"t{i}") for i in range(24)]
    counts: dict[tuple[float, str], int] = {}
    for p in proposals:
        assert p["strategy"] == p["resweep_cell"] and p["resweep_role"] == "search"
        counts[(p["in_domain_size"], p["strategy"])] = counts.get((p["in_domain_size"], p["strategy"]), 0) + 1
    assert counts == {(size, cell): 3 for size in (0.1, 1.0) for cell in CELLS}
    # Turns go round: the first 8 proposals already cover every size and cell once.
    assert len({(p["in_domain_size"], p["strategy"]) for p in proposals[:8]}) == 8
    assert searcher.suggest("t24") == Searcher.FINISHED  # every budget handed out


def test_tpe_start_up_is_below_the_cell_budget_and_each_slot_has_its_own_seed() -> None:
    assert startup_trials(6) == 2 and startup_trials(30) == 10 and startup_trials(3) == 2
    searcher = _cell_searcher(None, budget=6)
    studies = searcher.searcher._searchers  # type: ignore[attr-defined]
    samplers = [s._ot_study.sampler for s in studies.values()]
    assert {s._n_startup_trials for s in samplers} == {2}
    assert all(s._constant_liar and s._multivariate for s in samplers)
    # Same cell, two sizes: different sampler seeds, so different first proposals.
    first = {}
    for i in range(8):
        p = searcher.suggest(f"t{i}")
        first[(p["in_domain_size"], p["strategy"])] = p["learning_rate"]
    assert all(first[(0.1, cell)] != first[(1.0, cell)] for cell in CELLS)


def test_stopped_trials_are_pruned_with_their_curve_and_finished_ones_complete(tmp_path: Path) -> None:
    import optuna

    searcher = _cell_searcher(tmp_path, budget=1, sizes={"id0.1": 0.1})
    ids = [f"t{i}" for i in range(4)]
    proposals = {i: searcher.suggest(i) for i in ids}
    for epoch in (1, 2):
        for trial_id in ids:
            searcher.on_trial_result(trial_id, {SCHEDULER_TIME: epoch, METRIC: 0.1 * epoch})
    searcher.on_trial_result("t0", {SCHEDULER_TIME: 0, METRIC: 0.0})  # pre-training: no step
    searcher.on_trial_complete("t0", {f"selected_{METRIC}": 0.2, METRIC: 0.2, TRAINING_DONE: False})
    searcher.on_trial_complete("t1", {METRIC: 0.2, TRAINING_DONE: True})
    searcher.on_trial_complete("t2", None, error=True)
    searcher.on_trial_complete("t1", {METRIC: 0.2, TRAINING_DONE: True})  # a replay after restore
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    by_cell = {}
    for summary in optuna.get_all_study_summaries(url):
        for trial in optuna.load_study(study_name=summary.study_name, storage=url).trials:
            by_cell[trial.user_attrs["cell"]] = trial
            assert trial.user_attrs["sweep"] == "s" and trial.user_attrs["size"] == 0.1
    cell = {i: proposals[i]["strategy"] for i in ids}
    stopped, finished, failed = by_cell[cell["t0"]], by_cell[cell["t1"]], by_cell[cell["t2"]]
    assert stopped.state == optuna.trial.TrialState.PRUNED
    assert stopped.intermediate_values == {1: pytest.approx(0.1), 2: pytest.approx(0.2)}
    assert finished.state == optuna.trial.TrialState.COMPLETE and finished.value == pytest.approx(0.2)
    assert failed.state == optuna.trial.TrialState.FAIL
    assert by_cell[cell["t3"]].state == optuna.trial.TrialState.RUNNING


def test_a_size_starts_from_the_best_finished_configuration_of_the_nearest_size() -> None:
    searcher = _cell_searcher(None, budget=6, sizes={"id0.1": 0.1, "id0.3": 0.3, "id1": 1.0}, transfer=True)
    per_size = searcher.searcher  # type: ignore[attr-defined]
    # Finish two `local` trials at 1.0 (the better one scoring 0.8), nothing at the other sizes.
    donor = per_size._searchers["id1/local"]
    assert isinstance(donor, ResumableOptunaSearch)
    donor.suggest("d0")
    donor.suggest("d1")
    donor.on_trial_complete("d0", {METRIC: 0.5, TRAINING_DONE: True})
    donor.on_trial_complete("d1", {METRIC: 0.8, TRAINING_DONE: True})
    best = donor.completed["d1"][1]
    proposals = [searcher.suggest(f"t{i}") for i in range(12)]
    local = [p for p in proposals if p["strategy"] == "local" and p["in_domain_size"] in (0.1, 0.3)]
    # Each other size's first `local` proposal is the donor's best (0.3 is nearer, 0.1 too: one donor).
    for size in (0.1, 0.3):
        first = next(p for p in local if p["in_domain_size"] == size)
        assert first["learning_rate"] == pytest.approx(best["learning_rate"])
    # A stopped (pruned) trial is never transferred.
    donor.suggest("d2")
    donor.on_trial_complete("d2", {METRIC: 0.99, TRAINING_DONE: False})
    assert "d2" not in donor.completed


def test_the_floor_runs_first_with_every_seed_and_is_told_to_no_study() -> None:
    floor = {"architecture": "tfidf-linear", "strategy": "baseline", "imbalance": "oversampling"}
    searcher = _cell_searcher(
        None, budget=1, sizes={"id0.1": 0.1}, floors={"id0.1": [{**floor, "seed": s} for s in (0, 1, 2)]}
    )
    first = [searcher.suggest(f"f{i}") for i in range(3)]
    assert [(p["resweep_role"], p["seed"], p["in_domain_size"]) for p in first] == [
        ("floor", 0, 0.1),
        ("floor", 1, 0.1),
        ("floor", 2, 0.1),
    ]
    for i in range(3):
        searcher.on_trial_complete(f"f{i}", {METRIC: 0.4, TRAINING_DONE: True})
    rest = [searcher.suggest(f"t{i}") for i in range(4)]
    assert {p["resweep_role"] for p in rest} == {"search"}
    studies = searcher.searcher._searchers.values()  # type: ignore[attr-defined]
    assert sum(len(s._ot_study.trials) for s in studies) == 4


def test_only_trials_that_ran_to_their_end_are_confirmed() -> None:
    from search.driver.searchers import Confirmation

    grid = [{"strategy": s} for s in ("a", "b")]
    search = PerSlotSearch(
        {"id0.1": GridSearch(grid, metric=METRIC)},
        Slots(
            budgets={"id0.1": 2},
            sizes={"id0.1": 0.1},
            confirmations={"id0.1": Confirmation(top_k=1, seeds=(1,))},
            config_key=_strategy_key,
        ),
        metric=METRIC,
    )
    search.suggest("t0"), search.suggest("t1")
    search.on_trial_complete("t0", {METRIC: 0.9, TRAINING_DONE: False})  # stopped at a high score
    search.on_trial_complete("t1", {METRIC: 0.6, TRAINING_DONE: True})
    assert search.suggest("t2")["strategy"] == "b"


def test_asha_rungs_are_per_cell_and_start_at_the_patience() -> None:
    assert grace_period({"patience": 6, "max_epochs": 40}) == 10
    assert grace_period({"patience": 8, "max_epochs": 10}) == 8
    scheduler = make_scheduler("asha", METRIC)
    fast, slow, slower = _trial("a", 0.1, "mixed"), _trial("b", 0.1, "local"), _trial("c", 0.1, "mixed")
    for trial in (fast, slow, slower):
        scheduler.on_trial_add(None, trial)  # type: ignore[arg-type]
    assert scheduler.on_trial_result(None, fast, _result(0.9)) == TrialScheduler.CONTINUE  # type: ignore[arg-type]
    # `local` starts slowly: compared only with its own cell, it is the first of its rung.
    assert scheduler.on_trial_result(None, slow, _result(0.2)) == TrialScheduler.CONTINUE  # type: ignore[arg-type]
    assert scheduler.on_trial_result(None, slower, _result(0.2)) == TrialScheduler.STOP  # type: ignore[arg-type]
    late = _trial("d", 0.1, "local", patience=3, max_epochs=12)
    scheduler2 = make_scheduler("asha", METRIC)
    scheduler2.on_trial_add(None, late)  # type: ignore[arg-type]
    for epoch in (1, 2):  # before the first rung (epoch 3) nobody is compared
        result = {SCHEDULER_TIME: epoch, METRIC: 0.0}
        assert scheduler2.on_trial_result(None, late, result) == TrialScheduler.CONTINUE  # type: ignore[arg-type]


def test_a_proposal_repeating_an_ended_configuration_is_answered_not_run() -> None:
    import optuna

    # ground-truth-smoke's `baseline` cell holds 9 configurations (3 imbalance x 2 lr two-phase,
    # 3 tfidf-linear): a budget of 12 cannot find 12 distinct ones.
    slot = "id0.1/baseline"
    ran = {}
    searcher = make_searcher(
        slots=Slots(
            budgets={slot: 12},
            sizes={slot: 0.1},
            cells={slot: "baseline"},
            config_key=lambda key, p: repr(sorted(p.items())),
        ),
        kind="tpe",
        space="ground-truth-smoke",
        metric=METRIC,
        seed=0,
        storage_url=None,
        study_prefix="r",
        cell_values={"baseline": {"strategy": "baseline"}},
        max_concurrent=64,
        restart=Restart(ended={slot: {"already": 0.5}}),
    )
    for i in range(12):
        proposal = searcher.suggest(f"t{i}")
        if not isinstance(proposal, dict):
            break
        own = {k: v for k, v in proposal.items() if not k.startswith(("resweep_", "in_domain"))}
        name = repr(sorted(own.items()))
        assert name not in ran, "a configuration was proposed twice"
        ran[name] = i
        searcher.on_trial_complete(f"t{i}", {METRIC: 0.1 * i, TRAINING_DONE: True})
    assert len(ran) == 9 and proposal == Searcher.FINISHED  # the cell is exhausted
    study = searcher.searcher._searchers[slot]._ot_study  # type: ignore[attr-defined]
    repeats = [t for t in study.trials if t.user_attrs.get("repeat_of_an_ended_trial")]
    assert repeats and all(t.state != optuna.trial.TrialState.RUNNING for t in repeats)


def _sequential_search(runs: dict[tuple[str, str], dict[int, float]], proposed: int = 0) -> PerSlotSearch:
    """Two cells of one size whose search and fixed confirmation ended before a restart (``runs``:
    what the results store holds), confirmed sequentially up to 5 seeds."""
    from search.driver.searchers import Sequential

    sequential = Sequential(size=0.1, seeds=(0, 1, 2, 3, 4), max_seeds=5, cap=4, margin=0.01, confidence=0.95)
    for (cell, name), scores in runs.items():
        for seed, score in scores.items():
            sequential.record(cell, name, {"strategy": name}, seed, score)
    sequential.proposed = proposed
    slots = {"id0.1/a": "a", "id0.1/b": "b"}
    return PerSlotSearch(
        {slot: GridSearch([], metric=METRIC) for slot in slots},
        Slots(
            budgets=dict.fromkeys(slots, 0),
            sizes=dict.fromkeys(slots, 0.1),
            cells=slots,
            slot_size=dict.fromkeys(slots, "id0.1"),
            sequential={"id0.1": sequential},
            config_key=_strategy_key,
        ),
        metric=METRIC,
    )


def test_sequential_confirmation_adds_no_seed_once_the_answer_is_reached() -> None:
    clear = {("a", "a1"): {0: 0.80, 1: 0.81, 2: 0.80}, ("b", "b1"): {0: 0.60, 1: 0.61, 2: 0.60}}
    assert _sequential_search(clear).suggest("t0") == Searcher.FINISHED


def test_sequential_confirmation_gives_the_contenders_seeds_round_by_round_up_to_the_cap() -> None:
    close = {
        ("a", "a1"): {0: 0.700, 1: 0.690, 2: 0.712},
        ("b", "b1"): {0: 0.703, 1: 0.695, 2: 0.700},
        ("b", "b2"): {0: 0.500},  # out of the running: never confirmed
    }
    search = _sequential_search(close)
    first = [search.suggest("t0"), search.suggest("t1")]
    assert sorted((c["strategy"], c["seed"]) for c in first) == [("a1", 3), ("b1", 3)]
    assert all(c["resweep_role"] == "confirm" for c in first)
    assert search.suggest("t2") is None  # the next round waits for this one's scores
    search.on_trial_complete("t0", {METRIC: 0.70, **DONE})
    assert search.suggest("t2") is None
    search.on_trial_complete("t1", {METRIC: 0.70, **DONE})
    second = [search.suggest("t2"), search.suggest("t3")]
    assert sorted((c["strategy"], c["seed"]) for c in second) == [("a1", 4), ("b1", 4)]
    search.on_trial_complete("t2", {METRIC: 0.70, **DONE})
    search.on_trial_complete("t3", {METRIC: 0.70, **DONE})
    assert search.suggest("t4") == Searcher.FINISHED  # 5 seeds each: the cap, still undetermined


def test_sequential_confirmation_after_a_kill_goes_on_from_the_stored_rows() -> None:
    # Round 1 (seed 3) ended before the kill: the restarted searcher proposes seed 4 only.
    stored = {
        ("a", "a1"): {0: 0.700, 1: 0.690, 2: 0.712, 3: 0.70},
        ("b", "b1"): {0: 0.703, 1: 0.695, 2: 0.700, 3: 0.70},
    }
    search = _sequential_search(stored, proposed=2)
    again = [search.suggest("t0"), search.suggest("t1")]
    assert sorted((c["strategy"], c["seed"]) for c in again) == [("a1", 4), ("b1", 4)]
    assert search.suggest("t2") is None
    # Both bests have 5 seeds now: nothing more to propose, whatever the verdict.
    search.on_trial_complete("t0", {METRIC: 0.95, **DONE})
    search.on_trial_complete("t1", {METRIC: 0.40, **DONE})
    assert search.suggest("t2") == Searcher.FINISHED


def _two_cell_tpe(studies: Path, budget: int, max_concurrent: int) -> PerSlotSearch:
    """A searcher over two cells (local, mixed) of TPE studies in the SQLite file ``studies``."""
    cells = {"a": "local", "b": "mixed"}
    return make_searcher(
        slots=Slots(budgets=dict.fromkeys(cells, budget), sizes=dict.fromkeys(cells, 0.1), cells=cells),
        kind="tpe",
        space="demo",
        metric=METRIC,
        seed=0,
        storage_url=f"sqlite:///{studies}",
        study_prefix="memo",
        cell_values={cell: {"strategy": cell} for cell in cells.values()},
        max_concurrent=max_concurrent,
        intermediate=METRIC,
    ).searcher  # type: ignore[attr-defined]


def _asked_and_told(tmp_path: Path, name: str, memoizes: bool, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Proposals of a two-cell TPE searcher on SQLite, 8 trials running, some stopped or failed,
    then the same searcher pickled and restored (a resume) asked on."""
    import pickle
    import random

    from search.driver.studies import StudyStorage

    monkeypatch.setattr(StudyStorage, "_memoizes", lambda self: memoizes)
    search = _two_cell_tpe(tmp_path / name, budget=30, max_concurrent=8)
    rng = random.Random(0)
    proposals, running = [], []
    for i in range(60):
        if i == 40:
            search = pickle.loads(pickle.dumps(search))
        proposals.append(search.suggest(f"t{i}"))
        running.append(f"t{i}")
        search.on_trial_result(f"t{i}", {SCHEDULER_TIME: 1, METRIC: rng.random()})
        if len(running) >= 8:
            done, score = running.pop(rng.randrange(len(running))), rng.random()
            search.on_trial_complete(done, {METRIC: score, TRAINING_DONE: score > 0.2}, error=score < 0.05)
    return proposals


def test_studies_answered_from_memory_propose_what_studies_read_from_the_database_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # StudyStorage keeps the unfinished trials it read (search.driver.studies): the samplers must see
    # exactly what a read of the database gives them, through asks, results, ends and a restore.
    memoized = _asked_and_told(tmp_path, "memo.db", True, monkeypatch)
    read = _asked_and_told(tmp_path, "read.db", False, monkeypatch)
    assert memoized == read
    assert all(isinstance(p, dict) for p in memoized)


def test_the_searchers_state_keeps_only_running_trials(tmp_path: Path) -> None:
    # Tune pickles the searcher at every save of its experiment: an ended trial's Optuna handle
    # must not stay in it (it grew the state by ~2 KB a trial, for ever).
    import pickle

    search = _two_cell_tpe(tmp_path / "studies.db", budget=20, max_concurrent=4)
    sizes = []
    for i in range(30):
        search.suggest(f"t{i}")
        search.on_trial_result(f"t{i}", {SCHEDULER_TIME: 1, METRIC: 0.5})
        if i >= 3:
            search.on_trial_complete(f"t{i - 3}", {METRIC: 0.1 * (i % 7), **DONE})
        sizes.append(len(pickle.dumps(search)))
    live = {trial for searcher in search._searchers.values() for trial in searcher._ot_trials}
    assert live == {"t27", "t28", "t29"}
    assert sizes[-1] - sizes[9] < 20 * 1000  # what the ended trials add: their ids and scores
    again = pickle.loads(pickle.dumps(search))
    again.on_trial_complete("t28", {METRIC: 0.9, **DONE})  # a live trial ends after a restore
    assert {t for s in again._searchers.values() for t in s._ot_trials} == {"t27", "t29"}


def test_what_the_memo_answers_is_what_the_database_holds(tmp_path: Path) -> None:
    # Every write StudyStorage mirrors into its memo (a new trial, an enqueued one, parameters,
    # user attributes, reported scores) must leave it answering exactly what a fresh read of the
    # database gives, after each step of asks, reports, tells and an enqueued proposal.
    import random

    import optuna

    from search.driver.studies import StudyStorage

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    storage = StudyStorage(url)
    study = optuna.create_study(study_name="memo", storage=storage, direction="maximize")
    study.sampler = optuna.samplers.TPESampler(seed=0, n_startup_trials=3, multivariate=True)
    rng = random.Random(1)

    def fields(trial: optuna.trial.FrozenTrial) -> tuple[Any, ...]:
        return (
            trial._trial_id, trial.number, trial.state, trial.values, trial.params, trial.distributions,
            trial.user_attrs, trial.system_attrs,
            {step: "nan" if value != value else value for step, value in trial.intermediate_values.items()},
            trial.datetime_start,
            trial.datetime_complete,
        )  # fmt: skip

    def agree() -> None:
        fresh = optuna.storages.RDBStorage(url)
        study_id = fresh.get_study_id_from_name("memo")
        held = [fields(t) for t in fresh.get_all_trials(study_id)]
        assert [fields(t) for t in study.get_trials()] == held
        for trial in fresh.get_all_trials(study_id):
            assert fields(storage.get_trial(trial._trial_id)) == fields(trial)
        fresh.engine.dispose()

    running = []
    for i in range(14):
        if i == 6:
            study.enqueue_trial({"x": 0.25, "kind": "b"})
        if i == 8:  # a trial carried in whole (as sync_studies does), attributes that JSON changes
            study.add_trial(
                optuna.trial.create_trial(
                    params={"x": 0.5, "kind": "a"},
                    distributions={
                        "x": optuna.distributions.FloatDistribution(0.0, 1.0),
                        "kind": optuna.distributions.CategoricalDistribution(["a", "b"]),
                    },
                    value=0.3,
                    user_attrs={"pair": (1, 2)},
                )
            )
            agree()
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0)
        trial.suggest_categorical("kind", ["a", "b"])
        storage.set_trial_user_attrs(trial._trial_id, {"sweep": "memo", "n": i})
        trial.report(rng.random(), 1)
        running.append(trial)
        agree()
        if i == 10:  # two trials end unread; one is read back: the study still has the other unread
            first, second = running.pop(), running.pop()
            for ended in (first, second):
                study._storage.set_trial_state_values(ended._trial_id, optuna.trial.TrialState.FAIL)
            storage.get_trial(first._trial_id)
            agree()
        if len(running) >= 3:
            done = running.pop(rng.randrange(len(running)))
            done.report(float("nan") if i == 9 else rng.random(), 2)
            state = optuna.trial.TrialState.PRUNED if i % 4 == 0 else optuna.trial.TrialState.COMPLETE
            study.tell(done, rng.random() if state == optuna.trial.TrialState.COMPLETE else None, state=state)
            agree()


def test_the_memos_own_writes_do_what_optuna_does_with_a_repeat_a_finished_trial_and_infinity(
    tmp_path: Path,
) -> None:
    # StudyStorage writes a memoized trial's parameters, attributes and tell without Optuna's ORM
    # path. As Optuna's: a parameter set twice keeps its first value, a parameter of another range
    # and any write to a finished trial fail, and an infinite value reads back as infinite.
    import optuna

    from search.driver.studies import StudyStorage

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    storage = StudyStorage(url)
    study = optuna.create_study(study_name="lean", storage=storage, direction="maximize")
    cached = study._storage  # what Optuna writes through: it hands the name's known range over
    unit = optuna.distributions.FloatDistribution(0.0, 1.0)
    first = study.ask()
    first.suggest_float("x", 0.0, 1.0)
    study.tell(first, 0.5)
    trial = study.ask()
    x = trial.suggest_float("x", 0.0, 1.0)  # the second draw of a name: the memo's own insert
    cached.set_trial_param(trial._trial_id, "x", unit.to_internal_repr(x / 2), unit)
    cached.set_trial_param(trial._trial_id, "y", 1, optuna.distributions.IntDistribution(0, 3))
    with pytest.raises(ValueError, match="Cannot set different distribution kind"):
        cached.set_trial_param(trial._trial_id, "x", 1, optuna.distributions.IntDistribution(0, 3))
    storage.set_trial_user_attrs(trial._trial_id, {"a": 1})
    storage.set_trial_user_attrs(trial._trial_id, {"a": 2, "b": [1]})  # an update, not a second row
    assert cached.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.COMPLETE, [float("inf")])
    for write in (
        lambda: cached.set_trial_param(trial._trial_id, "z", 0.1, unit),
        lambda: storage.set_trial_user_attrs(trial._trial_id, {"c": 3}),
        lambda: cached.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL),
    ):
        with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
            write()
    fresh = optuna.storages.RDBStorage(url).get_trial(trial._trial_id)
    assert (fresh.state, fresh.values, fresh.user_attrs) == (
        optuna.trial.TrialState.COMPLETE, [float("inf")], {"a": 2, "b": [1]},
    )  # fmt: skip
    assert fresh.params == {"x": x, "y": 1}
    for held in (storage.get_trial(trial._trial_id), study.get_trials()[-1]):
        assert (held.state, held.values, held.params, held.user_attrs, held.datetime_complete) == (
            fresh.state, fresh.values, fresh.params, fresh.user_attrs, fresh.datetime_complete,
        )  # fmt: skip


def test_a_restored_searcher_counts_what_ended_after_its_last_save(tmp_path: Path) -> None:
    """Tune saves the searcher every few seconds: trials proposed after the save that ended since
    have rows but are not in the restored state. They count against the budget, and a grid does
    not hand their configurations out again (before: 312 rows for a 300-trial sweep)."""
    from search.driver.searchers import Confirmation, StoreRuns, hand_over

    grid = [{"strategy": f"c{i}"} for i in range(10)]

    def make() -> PerSlotSearch:
        return PerSlotSearch(
            {"id0.1": GridSearch(grid, metric=METRIC)},
            Slots(
                budgets={"id0.1": 6},
                sizes={"id0.1": 0.1},
                confirmations={"id0.1": Confirmation(top_k=1, seeds=(1,))},
                config_key=_strategy_key,
            ),
            metric=METRIC,
        )

    search = make()
    for i in range(3):
        search.suggest(f"t{i}")
    search.on_trial_complete("t0", {METRIC: 0.5, **DONE})
    search.save(str(tmp_path / "searcher.pkl"))  # t1 and t2 live at the save
    assert [search.suggest(f"t{i}")["strategy"] for i in (3, 4)] == ["c3", "c4"]
    # the driver dies; t1, t3 and t4 ended (rows), t2 still ran
    ended = ((0, "c0", 0.5), (1, "c1", 0.6), (3, "c3", 0.9), (4, "c4", 0.4))
    rows = [(f"lbl_{c}_t{i}", c, s, {"strategy": c}) for i, c, s in ended]
    restored = make()
    restored.restore(str(tmp_path / "searcher.pkl"))
    hand_over(StoreRuns(search={"id0.1": rows}))
    try:
        # 6 planned: 3 ended outside the saved state's live trials (t0, t3, t4) + 2 live (t1, t2)
        assert restored.suggest("t5")["strategy"] == "c5"  # not c3 or c4 again
    finally:
        hand_over(None)
    assert restored.suggest("t6") is None  # the search's last trials (t1, t2, t5) are live
    for trial_id, score in (("t1", 0.6), ("t2", 0.3), ("t5", 0.2)):
        restored.on_trial_complete(trial_id, {METRIC: score, **DONE})
    again = restored.suggest("t7")  # confirms the best: c3, which ended after the save
    assert (again["strategy"], again["seed"]) == ("c3", 1)
    assert restored.suggest("t8") == Searcher.FINISHED


def test_a_restored_searcher_does_not_rerun_confirmations_or_floors_that_ended(tmp_path: Path) -> None:
    from search.driver.searchers import Confirmation, StoreRuns, hand_over

    def make() -> PerSlotSearch:
        return PerSlotSearch(
            {"id1": GridSearch([], metric=METRIC)},
            Slots(
                budgets={"id1": 0},
                sizes={"id1": 1.0},
                floors={"id1": [{"strategy": "floor", "seed": s} for s in (0, 1)]},
                confirmations={
                    "id1": Confirmation(top_k=1, seeds=(1, 2, 3), scored=[(0.8, {"strategy": "x"})])
                },
                config_key=_strategy_key,
            ),
            metric=METRIC,
        )

    search = make()
    search.save(str(tmp_path / "searcher.pkl"))
    restored = make()
    restored.restore(str(tmp_path / "searcher.pkl"))
    hand_over(StoreRuns(confirm={"id1": [("lbl_x_t9", "x", 2)]}, floor_seeds={"id1": frozenset({0})}))
    try:
        proposals = [restored.suggest(f"t{i}") for i in range(3)]
    finally:
        hand_over(None)
    assert [(p["strategy"], p["seed"]) for p in proposals] == [("floor", 1), ("x", 1), ("x", 3)]
    assert restored.suggest("t3") == Searcher.FINISHED


def test_a_restored_searcher_made_after_earlier_rows_counts_only_the_rows_after_them(tmp_path: Path) -> None:
    """A searcher made for what a store lacked (budget: what was left) catches up with the rows
    that ended after its own last save, not with the rows it was made after."""
    from search.driver.searchers import StoreRuns, hand_over

    grid = [{"strategy": f"c{i}"} for i in range(2, 10)]  # c0, c1 ended before this searcher

    def make() -> PerSlotSearch:
        return PerSlotSearch(
            {"id0.1": GridSearch(grid, metric=METRIC)},
            Slots(budgets={"id0.1": 3}, sizes={"id0.1": 0.1}, config_key=_strategy_key),  # 5 planned, 2 ended
            metric=METRIC,
            restart=Restart(baseline={"id0.1": (2, 0)}),
        )

    search = make()
    assert search.suggest("t0")["strategy"] == "c2"
    search.save(str(tmp_path / "searcher.pkl"))  # t0 live at the save
    assert search.suggest("t1")["strategy"] == "c3"  # ends after the save; then the driver dies
    rows = [(f"lbl_c{i}_old{i}", f"c{i}", 0.5, {"strategy": f"c{i}"}) for i in (0, 1)]
    rows.append(("lbl_c3_t1", "c3", 0.6, {"strategy": "c3"}))
    restored = make()
    restored.restore(str(tmp_path / "searcher.pkl"))
    hand_over(StoreRuns(search={"id0.1": rows}))
    try:
        assert restored.suggest("t2")["strategy"] == "c4"  # the third of its 3: not under-spent
    finally:
        hand_over(None)
    assert restored.suggest("t3") == Searcher.FINISHED  # its budget is spent (Tune lets t0, t2 end)


def test_a_trial_tune_resumes_that_the_saved_searcher_never_proposed_counts_as_live(tmp_path: Path) -> None:
    """Tune writes its experiment's state before the searcher's (and in object storage the two
    upload apart): a kill in between leaves Tune resuming a trial that the restored searcher never
    proposed. Handed over as restored, it is live in its slot: the budget is not spent twice and
    its configuration is not proposed again."""
    from search.driver.searchers import StoreRuns, hand_over
    from search.plan import CELL_KEY, ROLE_KEY

    grid = [{"strategy": f"c{i}"} for i in range(10)]

    def make() -> PerSlotSearch:
        return PerSlotSearch(
            {"id0.1/x": GridSearch(grid, metric=METRIC)},
            Slots(
                budgets={"id0.1/x": 2},
                sizes={"id0.1/x": 0.1},
                cells={"id0.1/x": "x"},
                slot_size={"id0.1/x": "id0.1"},
                config_key=_strategy_key,
            ),
            metric=METRIC,
        )

    search = make()
    first = search.suggest("t0")
    search.save(str(tmp_path / "searcher.pkl"))  # the searcher's last save: t0 live
    second = search.suggest("t1")  # Tune's state, written just before, already holds t1
    assert (first[CELL_KEY], first[ROLE_KEY], second["strategy"]) == ("x", "search", "c1")

    def restored(handed: dict[str, Any]) -> list[Any]:
        searcher = make()
        searcher.restore(str(tmp_path / "searcher.pkl"))
        hand_over(StoreRuns(restored=handed))
        try:
            return [searcher.suggest(f"t{i}") for i in (2, 3)]
        finally:
            hand_over(None)

    # Without the hand-over the slot proposes a third trial, t1's configuration again.
    assert restored({})[0]["strategy"] == "c1"
    assert restored({"t0": first, "t1": second}) == [Searcher.FINISHED, Searcher.FINISHED]


def test_a_confirmation_run_tune_resumes_that_the_saved_searcher_never_proposed_is_not_repeated(
    tmp_path: Path,
) -> None:
    from search.driver.searchers import Confirmation, StoreRuns, hand_over

    def make() -> PerSlotSearch:
        return PerSlotSearch(
            {"id1/x": GridSearch([{"strategy": "a"}], metric=METRIC)},
            Slots(
                budgets={"id1/x": 1},
                sizes={"id1/x": 1.0},
                cells={"id1/x": "x"},
                slot_size={"id1/x": "id1"},
                confirmations={"id1/x": Confirmation(top_k=1, seeds=(1, 2))},
                config_key=_strategy_key,
            ),
            metric=METRIC,
        )

    search = make()
    search.suggest("t0")
    search.on_trial_complete("t0", {METRIC: 0.7, **DONE})
    search.save(str(tmp_path / "searcher.pkl"))
    first = search.suggest("t1")  # confirmation with seed 1, proposed after the searcher's save
    assert (first["strategy"], first["seed"], first["resweep_role"]) == ("a", 1, "confirm")
    restored = make()
    restored.restore(str(tmp_path / "searcher.pkl"))
    hand_over(StoreRuns(restored={"t1": first}))
    try:
        rest = [restored.suggest(f"t{i}") for i in (2, 3)]
    finally:
        hand_over(None)
    assert rest[0]["seed"] == 2 and rest[1] == Searcher.FINISHED  # seed 1 is not run twice
