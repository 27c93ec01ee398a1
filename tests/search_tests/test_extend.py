"""Growing a sweep and recovering lost state: the checks of an extension, the studies kept true to
the results store, and real (in-process) sweeps with a stand-in trial that trains nothing."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import optuna
import pytest

from search.config import parse_sweep_text
from search.driver.extend import ExtendError, extend_config
from search.driver.studies import StudiesDamaged, check_sqlite_studies, replay_params, sync_study
from search.paths import SweepPaths
from search.plan import load_saved_sweep, sweep_document
from spaces import random_draws


def _config(tmp_path: Path, **search: Any) -> Any:
    import yaml

    document = {
        "name": "ext",
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1], "seeds": [0, 1]},
        # Fixed confirmation (confirm_max_seeds = the seeds): these tests count the runs an
        # extension adds; sequential confirmation has a test of its own.
        "search": {"space": "demo-smoke", "budget": 4, "max_concurrent": 2, "confirm_max_seeds": 2, **search},
        "storage": str(tmp_path / "results"),
    }
    return parse_sweep_text(yaml.safe_dump(document, sort_keys=False), source="ext.yaml")


# The checks of an extension (no Ray) -----------------------------------------------------------


def test_an_extension_records_what_changed_and_parses_back(tmp_path: Path) -> None:
    config = _config(tmp_path)
    when = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    grown = extend_config(config, budget=8, sizes=[0.1, 0.3], seeds=[0, 1, 2], confirm_top_k=2, now=when)
    assert grown.search.budget == 8 and grown.data.sizes == (0.1, 0.3) and grown.data.seeds == (0, 1, 2)
    assert grown.search.confirm_top_k == 2 and grown.storage == config.storage
    (record,) = grown.extensions
    assert record == {
        "at": "2026-12-01T12:00:00+00:00",
        "changes": {
            "budget": [4, 8],
            "sizes": [[0.1], [0.1, 0.3]],
            "seeds": [[0, 1], [0, 1, 2]],
            "confirm_top_k": [1, 2],
        },
    }
    import yaml

    again = parse_sweep_text(yaml.safe_dump(sweep_document(grown)), source="sweep.yaml")
    assert again.extensions == grown.extensions and again.search.budget == 8
    twice = extend_config(again, budget=12)
    assert [e["changes"] for e in twice.extensions][-1] == {"budget": [8, 12]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"budget": 3}, "--budget 3 is below its 4; a search that ran cannot be shortened"),
        ({"sizes": [0.3]}, "--sizes drops 0.1 (1 ended trials)"),
        ({"seeds": [0]}, "--seeds drops 1"),
        ({"seeds": [1, 0, 2]}, "--seeds must start with 0, the seed its search ran with"),
        ({"seeds": [0, 1, 1]}, "--seeds repeat"),
        ({"confirm_top_k": 0}, "--confirm-top-k 0 is below its 1"),
        ({"space": "nope"}, "unknown search space 'nope'"),
        ({"space": "full"}, "a smoke space and a full one train differently"),
        ({"budget": 4}, "nothing to change"),
        ({}, "nothing to change"),
    ],
)
def test_what_an_extension_cannot_change_is_one_line_saying_why(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    rows = [{"in_domain_size": 0.1}]
    with pytest.raises(ExtendError) as caught:
        extend_config(_config(tmp_path), rows, **change)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_space_can_widen_but_not_narrow_the_question(tmp_path: Path) -> None:
    narrow = _config(tmp_path, question=["imbalance"])
    wide = extend_config(narrow, space="full-smoke", budget=6)
    assert wide.search.space == "full-smoke" and wide.study_prefix == "ext@full-smoke"
    assert narrow.study_prefix == "ext"
    with pytest.raises(ExtendError, match="a space can widen, not narrow"):
        extend_config(wide, space="demo-smoke")
    # A wider space with more cells than the budget covers: the budget must grow too.
    with pytest.raises(ExtendError, match="fewer than the 6 question cells"):
        extend_config(narrow, space="full-smoke")


# Studies kept true to the results store (no Ray) ---------------------------------------------


def test_every_proposal_of_a_space_replays_to_its_own_parameters() -> None:
    from spaces import define_by_run

    for space in ("demo", "full", "ground-truth"):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
        for _ in range(40):
            trial = study.ask()
            config = define_by_run(trial, space)
            replayed = replay_params(config, space, asked=trial.params)
            assert replayed is not None, (space, config)
            params, distributions = replayed
            assert params == trial.params
            assert distributions == trial.distributions
            if space != "full":  # names that end in the config key they set: the config alone is enough
                assert replay_params(config, space) == replayed
            study.tell(trial, 0.0)


def test_a_row_the_space_cannot_propose_does_not_fit() -> None:
    (config,) = random_draws("demo", 1)
    assert replay_params({**config, "learning_rate": 1.0}, "demo") is None  # outside the range
    assert replay_params({**config, "imbalance": "undersampling"}, "demo") is None  # not a choice
    assert replay_params({**config, "batch_size": 64}, "demo") is None  # the space's constant is 32
    assert replay_params(config, "demo", fixed={"strategy": config["strategy"]}) is not None


def _rows(configs: list[dict[str, Any]], status: str = "finished") -> list[dict[str, Any]]:
    return [
        {"trial_id": f"t{i}", "status": status, "config": c, "dev_f1_weighted": 0.1 * i}
        for i, c in enumerate(configs)
    ]


def test_sync_carries_rows_fails_stale_running_trials_and_counts_the_lost() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize")
    configs = random_draws("demo", 5, seed=1)
    running = study.ask()  # a trial a dead driver left RUNNING
    running.set_user_attr("tune_trial_id", "gone")
    lost = study.ask()
    lost.set_user_attr("tune_trial_id", "lost-row")
    study.tell(lost, 0.9)
    rows = _rows(configs[:4]) + _rows(configs[4:], status="stopped")
    rows[-1]["trial_id"] = "t9"
    done = sync_study(study, rows, space="demo", fixed=None, metric="dev_f1_weighted", stale_running=True)
    assert (done.carried, done.failed_stale, done.lost, done.unfit) == (5, 1, 1, 0)
    states = Counter(t.state for t in study.trials)
    assert states == {
        optuna.trial.TrialState.COMPLETE: 5,
        optuna.trial.TrialState.PRUNED: 1,
        optuna.trial.TrialState.FAIL: 1,
    }
    carried = [t for t in study.trials if t.user_attrs.get("resweep_row")]
    assert sorted(t.value or 0 for t in carried if t.value is not None) == pytest.approx([0, 0.1, 0.2, 0.3])
    # Idempotent: a second sync adds nothing.
    again = sync_study(study, rows, space="demo", fixed=None, metric="dev_f1_weighted", stale_running=True)
    assert (again.carried, again.failed_stale) == (0, 0) and len(study.trials) == 7


def test_a_damaged_study_file_is_one_line_with_the_way_out(tmp_path: Path) -> None:
    check_sqlite_studies(tmp_path / "absent.db", "x")  # nothing yet: fine
    good = tmp_path / "good.db"
    optuna.create_study(study_name="s", storage=f"sqlite:///{good}")
    check_sqlite_studies(good, "x")
    bad = tmp_path / "optuna.db"
    bad.write_bytes(b"not sqlite at all " * 50)
    with pytest.raises(StudiesDamaged) as caught:
        check_sqlite_studies(bad, "rebuild with --rebuild-studies")
    assert str(caught.value).startswith(f"{bad}: the Optuna studies cannot be read (")
    assert str(caught.value).endswith("rebuild with --rebuild-studies") and "\n" not in str(caught.value)


# Real sweeps (Ray in this process; a stand-in trial) -----------------------------------------


def _run(config: Any, **options: Any) -> list[dict[str, Any]]:
    from search.driver.sweep import run_sweep
    from trainables.testing import stand_in_trial

    return run_sweep(config, verbose=0, trial_function=stand_in_trial, **options).to_pylist()


def _grow(storage: Path, **change: Any) -> list[dict[str, Any]]:
    config, paths = load_saved_sweep(storage, "ext")
    return _run(extend_config(config, paths.results.read().to_pylist(), **change), resume=True)


def _unique(rows: list[dict[str, Any]]) -> None:
    """No two rows with one trial name; no configuration twice for one size and seed."""
    assert len({r["trial_name"] for r in rows}) == len(rows)
    runs = Counter(
        (
            r["in_domain_size"],
            r["seed"],
            json.dumps({k: v for k, v in json.loads(r["config"]).items()}, sort_keys=True),
        )
        for r in rows
    )
    assert max(runs.values()) == 1, [k for k, n in runs.items() if n > 1]


def _kept(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    """Every row from before is there, untouched."""
    now = {r["trial_name"]: r for r in after}
    assert all(now.get(r["trial_name"]) == r for r in before)


@pytest.mark.ray
def test_extend_budget_sizes_and_seeds_of_a_finished_sweep(tmp_path: Path, ray_session: Any) -> None:
    storage = tmp_path / "results"
    first = _run(_config(tmp_path))
    assert len(first) == 4 + 4 + 2  # a search trial per strategy, each confirmed, the floor twice

    more = _grow(storage, budget=8)
    _kept(first, more)
    search = [r for r in more if r["role"] == "search"]
    assert Counter(r["cell"] for r in search) == dict.fromkeys(("baseline", "mixed", "global", "local"), 2)
    # The grown studies went on from what they had: two trials each, none RUNNING.
    url = f"sqlite:///{storage / 'ext' / 'optuna.db'}"
    for summary in optuna.get_all_study_summaries(url):
        trials = optuna.load_study(study_name=summary.study_name, storage=url).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]

    sized = _grow(storage, sizes=[0.1, 0.3])
    _kept(more, sized)
    new = [r for r in sized if r["in_domain_size"] == 0.3]
    assert Counter(r["role"] for r in new) == {"search": 8, "confirm": 4, "floor": 2}

    seeded = _grow(storage, seeds=[0, 1, 2])
    _kept(sized, seeded)
    for size in (0.1, 0.3):
        mine = [r for r in seeded if r["in_domain_size"] == size]
        assert Counter(r["seed"] for r in mine if r["role"] == "floor") == {0: 1, 1: 1, 2: 1}
        again = [r for r in mine if r["role"] == "confirm" and r["seed"] == 2]
        assert sorted(r["cell"] for r in again) == ["baseline", "global", "local", "mixed"]
    _unique(seeded)

    config, _ = load_saved_sweep(storage, "ext")
    assert [list(e["changes"]) for e in config.extensions] == [["budget"], ["sizes"], ["seeds"]]
    # A manifest per run, each row naming the one of the run that wrote it.
    manifests = {p.stem: json.loads(p.read_text()) for p in (storage / "ext" / "manifests").glob("*.json")}
    assert sorted(m["kind"] for m in manifests.values()) == ["extend", "extend", "extend", "sweep"]
    assert {r["manifest"] for r in seeded} == set(manifests)
    first_run = next(m for m in manifests.values() if m["kind"] == "sweep")
    assert first_run["packages"]["optuna"] == optuna.__version__ and first_run["python"]
    assert first_run["datasets"]["in_domain"]["name"] == "synthetic" and first_run["config"]["name"] == "ext"
    assert {r["manifest"] for r in first} == {next(k for k, m in manifests.items() if m["kind"] == "sweep")}
    from search.plan import plan_sweep

    plan = plan_sweep(config)
    assert all(
        plan.target(key, seeded) == sum(r["in_domain_size"] == s for r in seeded)
        for key, s in plan.sizes.items()
    )


@pytest.mark.ray
def test_a_wider_space_gets_studies_of_its_own_and_new_cells(tmp_path: Path, ray_session: Any) -> None:
    storage = tmp_path / "results"
    first = _run(_config(tmp_path, question=["imbalance"], budget=3, confirm_top_k=0, floor=False))
    wide = _grow(storage, space="full-smoke", budget=6)
    _kept(first, wide)
    assert Counter(r["cell"] for r in wide) == dict.fromkeys(
        ("none", "class_weights", "oversampling", "undersampling", "inv_sqrt_weights", "negative_sampling"), 1
    )
    url = f"sqlite:///{storage / 'ext' / 'optuna.db'}"
    names = {s.study_name: s.n_trials for s in optuna.get_all_study_summaries(url)}
    assert {n for n in names if n.startswith("ext@full-smoke-")} == {
        f"ext@full-smoke-id0.1/{c}"
        for c in (
            "none",
            "class_weights",
            "oversampling",
            "undersampling",
            "inv_sqrt_weights",
            "negative_sampling",
        )
    }
    assert names["ext-id0.1/none"] == 1  # the old studies stay as they were


@pytest.mark.ray
def test_resume_rebuilds_from_the_results_store(tmp_path: Path, ray_session: Any) -> None:
    storage = tmp_path / "results"
    config = _config(tmp_path, budget=8)
    first = _run(config)
    root = storage / "ext"
    names = sorted(r["trial_name"] for r in first)

    # The results store deleted while Tune's state is there: rows come back, no trial runs. The
    # trials Tune let go of come back from the copy it keeps of their rows, whole; any it still
    # holds from its results, the same but for the time each ended (Tune's report time, to the
    # second) and the manifest (the run that first wrote a row is not in Tune's results: None).
    copied = {r["trial_name"] for r in SweepPaths.of(storage, "ext").tune_rows.read().to_pylist()}
    assert copied and copied <= set(names)
    shutil.rmtree(root / "results")
    recovered = _run(config, resume=True)
    assert sorted(r["trial_name"] for r in recovered) == names
    before = {r["trial_name"]: r for r in first}
    for row in recovered:
        if row["trial_name"] in copied:
            assert row == before[row["trial_name"]]
            continue
        assert row["manifest"] is None
        assert {k: v for k, v in row.items() if k not in ("finished_at", "manifest")} == {
            k: v for k, v in before[row["trial_name"]].items() if k not in ("finished_at", "manifest")
        }

    # Tune's state deleted: nothing is missing, nothing runs.
    shutil.rmtree(root / "tune")
    assert sorted(r["trial_name"] for r in _run(config, resume=True)) == names
    assert not (root / "tune").exists()

    # A damaged optuna.db: one line; --rebuild-studies moves it aside and refills the studies.
    (root / "optuna.db").write_bytes(b"garbage " * 64)
    from search.driver.sweep import run_sweep

    with pytest.raises(StudiesDamaged, match="--rebuild-studies"):
        run_sweep(config, resume=True, verbose=0)
    rebuilt = _run(config, resume=True, rebuild_studies=True)
    assert sorted(r["trial_name"] for r in rebuilt) == names
    (moved,) = [p for p in root.glob("optuna.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert moved.read_bytes() == b"garbage " * 64
    url = f"sqlite:///{root / 'optuna.db'}"
    studies = optuna.get_all_study_summaries(url)
    assert len(studies) == 4 and all(s.n_trials == 2 for s in studies)

    # Then grown: the rebuilt studies learn from the carried trials; nothing ran twice.
    grown = _grow(storage, budget=12)
    _kept(rebuilt, grown)
    _unique(grown)
    assert sum(r["role"] == "search" for r in grown) == 12


@pytest.mark.ray
@pytest.mark.s3
def test_extend_a_sweep_in_object_storage(tmp_path: Path, ray_session: Any, s3_storage: str) -> None:
    from cluster.storage import Location
    from search.plan import SweepPaths

    config = _config(tmp_path, budget=4, confirm_top_k=0, floor=False)
    from dataclasses import replace

    first = _run(replace(config, storage=s3_storage))
    assert len(first) == 4
    grown = _grow(s3_storage, budget=8)  # type: ignore[arg-type]
    _kept(first, grown)
    assert Counter(r["cell"] for r in grown) == dict.fromkeys(("baseline", "mixed", "global", "local"), 2)
    # The studies travel with Tune's state in the bucket; with that state gone, they are rebuilt
    # from the results store before the next extension.
    paths = SweepPaths.of(s3_storage, "ext")
    assert (paths.tune / "optuna.db").is_file()
    (Location.parse(s3_storage) / "ext" / "tune").remove_tree()
    again = _grow(s3_storage, budget=12)  # type: ignore[arg-type]
    _kept(grown, again)
    _unique(again)
    studies = optuna.get_all_study_summaries(f"sqlite:///{paths.studies}")
    assert sorted(s.n_trials for s in studies) == [3, 3, 3, 3]


@pytest.mark.ray
def test_sequential_confirmation_seeds_only_open_answers_and_the_plan_agrees(
    tmp_path: Path, ray_session: Any
) -> None:
    from search.answer.decision import FUTILITY, interim_confidence
    from search.answer.leaderboard import leaderboard
    from search.plan import plan_sweep

    config = _config(tmp_path, confirm_max_seeds=3)  # seeds 0, 1, then seed 2 while undecided
    rows = _run(config)
    _unique(rows)
    plan = plan_sweep(config)
    assert plan.extra_seeds == (2,) and plan.round_cap == 4
    extra = [r for r in rows if r["role"] == "confirm" and r["seed"] == 2]
    assert len(extra) <= plan.round_cap
    # Each seed-2 run is a cell's best that already had seeds 0 and 1.
    by_config: dict[str, set[int]] = {}
    for r in rows:
        if r["role"] != "floor":
            key = json.dumps(
                {k: v for k, v in json.loads(r["config"]).items() if k != "seed"}, sort_keys=True
            )
            by_config.setdefault(key, set()).add(int(r["seed"]))
    assert all(seeds in ({0}, {0, 1}, {0, 1, 2}) for seeds in by_config.values()), by_config
    # The rounds ended on a verdict at the interim look's confidence, or with every contender's
    # best at the cap, or because the seeds the verdict needs lie beyond twice the cap (futility).
    (board,) = leaderboard("ext", storage=str(tmp_path / "results"), confidence=interim_confidence(0.95))
    decision = board.decision
    assert decision is not None
    if decision.verdict == "undetermined":
        at_cap = all(decision.best[c].n_seeds == 3 for c in decision.contenders if c != "floor")
        assert at_cap or max(decision.seeds_needed.values()) > FUTILITY * 3, decision.line()
    # What ran is what the plan expects, and a resume finds nothing left to run.
    assert plan.target("id0.1", rows) == len(rows)
    assert _run(config, resume=True) == rows
