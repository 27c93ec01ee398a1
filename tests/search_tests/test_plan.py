"""The sweep's plan without Ray: dry run estimates, phase-1 artifact sharing, the progress view."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from search.cli import main
from search.config import parse_sweep_config
from search.driver.estimate import estimate_sweep, phase1_signature
from search.driver.progress import ProgressView
from search.plan import plan_sweep, remaining_work


def _config(tmp_path: Path, **search: Any) -> Any:
    document = {
        "name": "plan",
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1, 0.5, 1.0]},
        "search": {"space": "demo-smoke", "budget": 4, **search},
        "storage": str(tmp_path),
    }
    return parse_sweep_config(document)


def test_phase1_signature_follows_what_the_artifact_learns_from() -> None:
    base = {"architecture": "two-phase", "ood": "synthetic_ood", "in_domain_size": 0.1, "seed": 0}
    none = {**base, "phase1_model": "none"}
    assert phase1_signature(none) == phase1_signature({**none, "in_domain_size": 0.5, "seed": 3})
    joined = {
        **base,
        "phase1_model": "seqcls",
        "phase1_finetune": "joined",
        "strategy": "mixed",
        "ood_pct": 10,
    }
    assert phase1_signature(joined) == phase1_signature({**joined, "ood_pct": 50})  # all of the OOD set
    assert phase1_signature(joined) != phase1_signature({**joined, "in_domain_size": 0.5})
    assert phase1_signature(joined) != phase1_signature({**joined, "seed": 1})
    separate = {**joined, "phase1_finetune": "separate"}
    assert phase1_signature(separate) != phase1_signature({**separate, "ood_pct": 50})
    mlm = {**base, "phase1_model": "mlm", "phase1_finetune": "separate"}
    assert phase1_signature(mlm) == phase1_signature({**mlm, "in_domain_size": 0.5})
    assert phase1_signature({"architecture": "bert-seqcls"}) is None


def test_estimate_counts_one_shared_artifact_for_frozen_features(tmp_path: Path) -> None:
    config = _config(tmp_path)
    estimates = estimate_sweep(config, plan_sweep(config))
    assert [e.size for e in estimates] == [0.1, 0.5, 1.0]
    # 4 searched (one per strategy) + each strategy's best with seeds 1 and 2 + the floor's 3 seeds
    assert [e.trials for e in estimates] == [15, 15, 15]
    assert [e.phase1_artifacts for e in estimates] == [1, 0, 0]  # phase 1 "none": one for all
    assert estimates[0].infer_sequences == 4_000 + 3_000  # in-domain (all splits) + OOD train, once
    assert all(e.train_sequences == 0 for e in estimates)  # phase 2 needs no encoder


def test_grid_plan_and_what_remains_after_a_crash(tmp_path: Path) -> None:
    config = _config(tmp_path, space="thesis-smoke", searcher="grid", budget=100)
    plan = plan_sweep(config)
    grid = plan.grids["id0.1/mixed"]
    assert all(g["strategy"] == "mixed" for g in grid) and len(grid) == 9  # each cell its own grid
    assert plan.budgets["id0.1"] == 46  # equal shares of 100 (25), capped by each grid: 3 + 9 + 9 + 25
    from search.plan import trial_config

    done = trial_config(grid[1], plan.contexts["id0.1"])
    import json

    rows = [{"in_domain_size": 0.1, "seed": 0, "config": json.dumps(done)}]
    left = remaining_work(plan, "id0.1/mixed", rows)
    assert isinstance(left, list) and len(left) == len(grid) - 1 and grid[1] not in left
    assert remaining_work(plan, "id0.5/mixed", rows) == grid
    assert remaining_work(plan, "id0.1/local", rows) == plan.grids["id0.1/local"]


def test_dry_run_prints_the_plan_per_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "name: d\ndata: {in_domain: synthetic, ood: synthetic_ood, sizes: [0.1, 1.0]}\n"
        f"search: {{space: demo-smoke, budget: 3, question: imbalance}}\nstorage: {tmp_path}\n"
    )
    assert main(["sweep", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "new_phase1_artifacts" in out and "encoder_cpu_hours" in out
    # 12 inline trials a size at ~8 s each: 12 * 8 / 3600 = 0.03 hours of fixed cost per size.
    assert [line.split()[-1] for line in out.splitlines() if line.startswith(("10%", "100%"))] == ["0.03"] * 2
    assert "+ about 0.05 hours of the trials' fixed cost on Ray (~8 s a trial" in out
    assert "then the best of each of the 3 cells again with seeds 1, 2" in out
    # (3 searched + 3 cells' best x 2 seeds + 3 floor runs) x 2 sizes
    assert "total: 24 trials, 1 distinct phase-1 artifacts" in out
    assert not (tmp_path / "d").exists()  # a dry run writes nothing


def _tune_trial(trial_id: str, size: float, status: str, score: float | None = None) -> Any:
    result = {} if score is None else {"selected_dev_f1_weighted": score}
    config = {"in_domain_size": size, "architecture": "two-phase", "strategy": "local", "imbalance": "none"}
    return SimpleNamespace(trial_id=trial_id, config=config, status=status, last_result=result)


def test_progress_view_counts_per_size() -> None:
    stream = io.StringIO()
    statuses = {"b": "stopped", "c": "finished", "e": "finished"}
    view = ProgressView(
        {"id0.1": 4, "id1": 2}, "dev_f1_weighted", lambda t: statuses.get(t.trial_id), stream=stream
    )
    trials = [
        _tune_trial("a", 0.1, "RUNNING", 0.9),
        _tune_trial("b", 0.1, "TERMINATED", 0.8),  # pruned by ASHA: its score is real
        _tune_trial("c", 0.1, "TERMINATED", 0.6),
        _tune_trial("d", 0.1, "ERROR"),
        _tune_trial("e", 1.0, "TERMINATED", 0.7),
        _tune_trial("f", 1.0, "PENDING"),
    ]
    view.show(trials)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "10%   ended   3/4   (pruned   1, failed  1)  running  1" in lines[0]
    # Finished trials only: not the running trial's 0.9, nor the stopped one's 0.8.
    assert "best single run dev_f1_weighted 0.6000" in lines[0]
    assert "100%  ended   1/2   (pruned   0, failed  0)  running  0" in lines[1] and "0.7000" in lines[1]
    view.show(trials)  # nothing changed: nothing printed
    assert len(stream.getvalue().splitlines()) == 2
    view.show(trials, force=True, final=True)
    assert stream.getvalue().rstrip().endswith("sweep over")


def test_after_a_resume_every_cell_gets_the_rest_of_its_own_share(tmp_path: Path) -> None:
    import json

    from search.driver.sweep import _confirmations, _floors

    config = _config(tmp_path, budget=8)  # 4 strategies: 2 search trials each
    plan = plan_sweep(config)
    assert set(plan.cell_budgets.values()) == {2}

    def row(strategy: str, seed: int = 0, role: str | None = "search", status: str = "finished") -> dict:
        proposal = {"architecture": "two-phase", "strategy": strategy, "learning_rate": 1e-3 + seed}
        return {
            "in_domain_size": 0.1,
            "seed": seed,
            "role": role,
            "cell": None if role is None else strategy,  # rows from before cells: derived
            "status": status,
            "dev_f1_weighted": 0.5,
            "config": json.dumps(proposal),
        }

    rows = [row("local"), row("local"), row("mixed", role=None), row("global", status="stopped")]
    rows += [row("local", seed=1, role="confirm"), {**row("baseline", seed=2, role="floor"), "cell": None}]
    left = {slot: remaining_work(plan, slot, rows) for slot in plan.slots if slot.startswith("id0.1/")}
    assert left == {"id0.1/baseline": 2, "id0.1/mixed": 1, "id0.1/global": 1, "id0.1/local": 0}
    assert all(remaining_work(plan, slot, rows) == 2 for slot in plan.slots if slot.startswith("id0.5/"))
    # Confirmation starts from finished search runs only; the stored confirmation is not redone.
    confirm = _confirmations(plan, rows)
    assert len(confirm["id0.1/local"].scored) == 2 and len(confirm["id0.1/local"].done) == 1
    assert confirm["id0.1/global"].scored == []  # its one trial was stopped
    assert [f["seed"] for f in _floors(plan, rows)["id0.1"]] == [0, 1]  # seed 2's floor ran


def test_progress_view_shows_rows_from_before_and_artifact_builds(tmp_path: Path) -> None:
    """An extension's view starts from the rows that ended before it; a long artifact build is a
    line of its own (sentences done, rate, time left) while it runs, gone once it is over."""
    import json as json_

    from trainables.artifacts import BuildProgress, build_progress, describe_build

    old = json_.dumps({"architecture": "two-phase", "strategy": "local", "imbalance": "none"})
    prior = [
        {
            "trial_name": "x_old1",
            "in_domain_size": 0.1,
            "status": "finished",
            "dev_f1_weighted": 0.5,
            "config": old,
        },
        {
            "trial_name": "x_old2",
            "in_domain_size": 0.1,
            "status": "error",
            "dev_f1_weighted": None,
            "config": "{}",
        },
    ]
    build = BuildProgress(tmp_path, "phase1-k", "phase-1 features (none)", 29_000, every=0)
    build.started -= 100  # 100 s in
    build.add(12_000)
    stream = io.StringIO()
    view = ProgressView(
        {"id0.1": 6},
        "dev_f1_weighted",
        lambda t: "finished",
        stream=stream,
        prior=prior,
        builds=lambda: [describe_build(r) for r in build_progress(tmp_path)],
    )
    view.show([_tune_trial("new", 0.1, "TERMINATED", 0.6)], force=True)
    first, building = stream.getvalue().splitlines()
    assert "ended   3/6" in first and "failed  1" in first and "0.6000" in first
    assert building.endswith(
        "building phase-1 features (none): 12,000/29,000 sentences (41%), 120/s, about 2 min left"
    )
    build.close()
    view.show([_tune_trial("new", 0.1, "TERMINATED", 0.6)], force=True, final=True)
    assert "building" not in stream.getvalue().splitlines()[-2] and stream.getvalue().rstrip().endswith(
        "sweep over"
    )
