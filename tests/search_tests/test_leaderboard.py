"""The leaderboard: grouping over seeds, intervals, ties, and the thesis's own conclusion."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from search.answer.leaderboard import Entry as LeaderboardEntry
from search.answer.leaderboard import build_leaderboard, decisions, read_table, summary_rows


def _row(size: float, strategy: str, seed: int, dev: float, **extra: Any) -> dict[str, Any]:
    """A results-store row. ``extra``: ood_pct, wall, lr (tells configurations of one strategy
    apart), architecture, imbalance, and the columns status, role, cell, epochs_run (absent
    unless given, as in rows written before they existed)."""
    architecture = extra.get("architecture", "two-phase")
    imbalance = extra.get("imbalance", "none")
    config = {
        "architecture": architecture,
        "strategy": strategy,
        "imbalance": imbalance,
        "ood_pct": extra.get("ood_pct", 0.0),
        "learning_rate": extra.get("lr", 1e-3),
        "in_domain_size": size,
        "seed": seed,
    }
    row = {
        "in_domain_size": size,
        "seed": seed,
        "strategy": strategy,
        "architecture": architecture,
        "imbalance": imbalance,
        "ood_pct": extra.get("ood_pct", 0.0),
        "config": json.dumps(config),
        "dev_f1_weighted": dev,
        "f1_weighted": dev - 0.01,
        "accuracy": dev,
        "wall_seconds": extra.get("wall", 10.0),
    }
    row.update({k: extra[k] for k in ("status", "role", "cell", "epochs_run") if k in extra})
    return row


def _entry(scores: dict[int, float]) -> LeaderboardEntry:
    return LeaderboardEntry(0.1, {}, "k", scores, {}, None)


def test_seeds_group_into_one_configuration_with_mean_std_and_interval() -> None:
    rows = [_row(0.1, "local", s, v) for s, v in enumerate([0.60, 0.62, 0.64])]
    rows += [_row(0.1, "baseline", s, v) for s, v in enumerate([0.50, 0.51, 0.52])]
    (board,) = build_leaderboard(rows, "dev_f1_weighted")
    winner, second = board.entries
    assert winner.describe["strategy"] == "local" and winner.n_seeds == 3
    assert winner.mean == pytest.approx(0.62) and winner.std == pytest.approx(0.02)
    low, high = winner.interval or (0, 0)
    assert low == pytest.approx(0.62 - 4.302653 * 0.02 / 3**0.5, abs=1e-5)  # t(0.975, 2)
    assert high == pytest.approx(0.62 + 4.302653 * 0.02 / 3**0.5, abs=1e-5)
    assert winner.test["f1_weighted"] == pytest.approx(0.61)
    assert not winner.tie and not second.tie  # 0.12 apart, paired over 3 seeds


def test_best_per_strategy_and_cheapest_within_epsilon() -> None:
    rows = [
        _row(0.5, "local", 0, 0.800, wall=100.0),
        _row(0.5, "mixed", 0, 0.799, wall=20.0),
        _row(0.5, "mixed", 0, 0.700, ood_pct=50.0, wall=5.0),
        _row(0.5, "baseline", 0, 0.750, wall=1.0),
    ]
    (board,) = build_leaderboard(rows, "dev_f1_weighted", epsilon=0.002)
    assert {k: round(e.mean, 3) for k, e in board.best_per_strategy().items()} == {
        "local": 0.8,
        "mixed": 0.799,
        "baseline": 0.75,
    }
    cheapest = board.cheapest_near_winner()
    assert (
        cheapest is not None and cheapest.describe["strategy"] == "mixed" and cheapest.compute_seconds == 20.0
    )
    # One seed each: nothing is decided, and the cells' bests in contention are flagged.
    assert board.decision is not None and board.decision.verdict == "undetermined"
    assert board.winner.tie and board.entries[1].tie


def _winner(board: Any) -> tuple[str, float, float]:
    d = board.winner.describe
    return d["strategy"], d["ood_pct"], d["local_in_domain_pretrain_pct"] or 0.0


def test_the_thesis_tables_give_the_thesis_table_xiii(fixtures: Path) -> None:
    rows = read_table(str(fixtures / "thesis_tables.csv"))
    by_accuracy = {b.size: b for b in build_leaderboard(rows, "accuracy", epsilon=0.002)}
    assert sorted(by_accuracy) == [0.1, 0.5, 1.0]
    assert _winner(by_accuracy[0.1]) == ("local", 10.0, 10.0)
    assert _winner(by_accuracy[0.5]) == ("local", 10.0, 10.0)
    assert _winner(by_accuracy[1.0]) == ("global", 100.0, 0.0)
    assert by_accuracy[0.1].winner.mean == pytest.approx(0.631)
    # The thesis ran every configuration once: its ranks are the table's, its answers undecided.
    for board in by_accuracy.values():
        decision = board.decision
        assert decision is not None and decision.verdict == "undetermined"
        assert decision.reason.endswith("'s best has fewer than 2 seeds")
        assert decision.seeds_needed and decision.settle is not None
        assert board.winner.tie  # in contention, not a finding
    by_f1 = {b.size: b for b in build_leaderboard(rows, "f1_weighted", epsilon=0.002)}
    assert _winner(by_f1[0.1]) == ("mixed", 50.0, 0.0)


# Stopped trials, question cells, the floor and the recommendation.


def test_a_stopped_trial_never_wins_ties_or_is_a_cells_best() -> None:
    rows = [
        _row(0.1, "local", 0, 0.70, lr=1e-3, status="finished", epochs_run=30),
        _row(0.1, "local", 0, 0.68, lr=2e-3, status="finished", epochs_run=30),
        _row(0.1, "mixed", 0, 0.60, lr=1e-3, status="finished", epochs_run=30),
        _row(0.1, "mixed", 0, 0.59, lr=2e-3, status="finished", epochs_run=30),
        # ASHA stopped it after one epoch: a score above every finished one proves nothing yet.
        _row(0.1, "mixed", 0, 0.95, lr=5e-3, status="stopped", epochs_run=1),
        _row(0.1, "global", 0, 0.99, lr=1e-3, status="error"),
    ]
    (board,) = build_leaderboard(rows, "dev_f1_weighted")
    assert board.winner.describe["strategy"] == "local" and board.winner.mean == pytest.approx(0.70)
    assert [e.status for e in board.entries] == ["finished"] * 4
    assert board.decision is not None and board.decision.cell == "local"
    assert "mixed" in board.decision.p_best and "global" not in board.decision.p_best
    (stopped,) = board.stopped
    assert stopped.mean == pytest.approx(0.95) and stopped.epochs_run == 1 and stopped.rank is None
    assert not stopped.tie and not stopped.below_floor
    cells = board.cells()
    assert list(cells) == ["local", "mixed"]  # the errored global trial is no evidence at all
    mixed = cells["mixed"]
    assert mixed.best is not None and mixed.best.mean == pytest.approx(0.60)
    assert (mixed.finished, mixed.stopped, mixed.under_explored) == (2, 1, False)
    assert board.best_per_strategy()["mixed"].mean == pytest.approx(0.60)
    assert board.recommended is board.winner

    rows_out = json.loads(json.dumps(summary_rows([board])))
    assert [r["status"] for r in rows_out] == ["finished"] * 4 + ["stopped"]
    last = rows_out[-1]
    assert last["rank"] is None and last["mean"] == pytest.approx(0.95) and last["epochs_run"] == 1
    assert last["cell"] == "mixed" and last["under_explored"] is False and last["recommended"] is False
    assert rows_out[0]["recommended"] is True and rows_out[0]["epochs_run"] == 30


def test_a_configurations_stopped_seed_does_not_move_its_finished_mean() -> None:
    rows = [
        _row(0.1, "local", 0, 0.70, status="finished"),
        _row(0.1, "local", 1, 0.90, status="stopped", epochs_run=2),
    ]
    (board,) = build_leaderboard(rows, "dev_f1_weighted")
    (entry,) = board.entries
    assert entry.n_seeds == 1 and entry.mean == pytest.approx(0.70)
    assert [e.scores for e in board.stopped] == [{1: 0.90}] and board.stopped[0].key == entry.key


def test_a_cell_with_only_stopped_trials_is_under_explored_without_a_best() -> None:
    rows = [
        _row(0.1, "local", 0, 0.70, lr=1e-3, status="finished"),
        _row(0.1, "local", 0, 0.69, lr=2e-3, status="finished"),
        _row(0.1, "global", 0, 0.80, lr=1e-3, status="stopped", epochs_run=1),
        _row(0.1, "global", 0, 0.75, lr=2e-3, status="stopped", epochs_run=1),
    ]
    (board,) = build_leaderboard(rows, "dev_f1_weighted")
    cells = board.cells()
    assert list(cells) == ["local", "global"]  # cells with a best first, by its rank
    glob = cells["global"]
    assert glob.best is None and (glob.finished, glob.stopped) == (0, 2)
    assert glob.under_explored and not glob.tied_with_winner
    assert not cells["local"].under_explored
    assert "global" not in board.best_per_strategy()


def test_a_size_with_only_stopped_trials_has_a_board_but_no_winner() -> None:
    (board,) = build_leaderboard([_row(0.1, "local", 0, 0.7, status="stopped")], "dev_f1_weighted")
    assert board.entries == [] and len(board.stopped) == 1
    assert board.recommended is None and board.floor is None and board.cheapest_near_winner() is None
    assert board.cells()["local"].under_explored
    with pytest.raises(LookupError, match=r"size 10%: no finished configuration"):
        _ = board.winner


def test_one_finished_configuration_is_under_explored_below_min_finished() -> None:
    rows = [
        _row(0.1, "local", 0, 0.70, lr=1e-3),
        _row(0.1, "local", 0, 0.69, lr=2e-3),
        _row(0.1, "mixed", 0, 0.60),
    ]
    (board,) = build_leaderboard(rows, "dev_f1_weighted")
    assert board.cells()["mixed"].under_explored and not board.cells()["local"].under_explored
    (lenient,) = build_leaderboard(rows, "dev_f1_weighted", min_finished=1)
    assert not lenient.cells()["mixed"].under_explored


def test_the_floor_is_found_and_configurations_below_it_are_flagged() -> None:
    floor = {"architecture": "tfidf-linear", "role": "floor", "cell": "baseline", "status": "finished"}
    rows = [
        _row(0.1, "local", 0, 0.70, role="search", cell="local", status="finished"),
        _row(0.1, "mixed", 0, 0.60, role="search", cell="mixed", status="finished"),
        _row(0.1, "mixed", 0, 0.62, lr=2e-3, role="search", cell="mixed", status="finished"),
        _row(0.1, "baseline", 0, 0.65, **floor),
        _row(0.1, "baseline", 1, 0.65, **floor),
        _row(0.1, "mixed", 0, 0.50, lr=3e-3, role="search", cell="mixed", status="stopped"),
    ]
    (board,) = build_leaderboard(rows, "dev_f1_weighted")
    assert board.floor is not None and board.floor.label == "tfidf-linear/baseline/none"
    assert board.floor.mean == pytest.approx(0.65) and board.floor.rank == 2
    assert [(e.describe["strategy"], e.below_floor) for e in board.entries] == [
        ("local", False),
        ("baseline", False),
        ("mixed", True),
        ("mixed", True),
    ]
    assert not board.stopped[0].below_floor  # a stopped trial loses no comparison either
    # The floor run is the reference line: no cell's best, no strategy's best, not recommended
    # although its two seeds are more than any other configuration has.
    assert list(board.cells()) == ["local", "mixed"] and "baseline" not in board.best_per_strategy()
    assert board.recommended is board.winner
    flags = [(r["floor"], r["below_floor"], r["status"]) for r in summary_rows([board])]
    assert flags == [
        (False, False, "finished"),
        (True, False, "finished"),
        (False, True, "finished"),
        (False, True, "finished"),
        (False, False, "stopped"),
    ]
    (unfloored,) = build_leaderboard(rows[:3], "dev_f1_weighted")
    assert unfloored.floor is None and not any(e.below_floor for e in unfloored.entries)


def test_recommended_prefers_the_confirmed_configuration_over_a_lucky_single_run() -> None:
    confirmed = [_row(0.1, "local", s, v, lr=1e-3) for s, v in ((0, 0.72), (1, 0.70), (2, 0.71))]
    two_seeds = [_row(0.1, "global", s, v, lr=1e-3) for s, v in ((0, 0.80), (1, 0.60))]
    lucky = [_row(0.1, "mixed", 0, 0.78, lr=2e-3)]
    (board,) = build_leaderboard(confirmed + two_seeds + lucky, "dev_f1_weighted")
    assert board.winner.describe["strategy"] == "mixed" and board.winner.n_seeds == 1
    recommended = board.recommended
    assert recommended is not None and recommended.describe["strategy"] == "local"
    assert recommended.n_seeds == 3 and recommended.rank == 2
    assert [r["recommended"] for r in summary_rows([board])] == [False, True, False]

    (single,) = build_leaderboard(
        [_row(0.1, "local", 0, 0.70), _row(0.1, "mixed", 0, 0.75)], "dev_f1_weighted"
    )
    assert single.recommended is single.winner and single.winner.rank == 1


def test_two_question_axes_make_cells_of_strategy_and_imbalance() -> None:
    rows = [  # old rows: no status, role, cell or epochs_run columns
        _row(0.1, "local", 0, 0.70, imbalance="oversampling"),
        _row(0.1, "local", 0, 0.65, imbalance="none"),
        _row(0.1, "mixed", 0, 0.60, imbalance="oversampling"),
        _row(0.1, "mixed", 0, 0.55, imbalance="none", lr=2e-3),
        _row(0.1, "mixed", 0, 0.50, imbalance="none", lr=3e-3),
    ]
    (board,) = build_leaderboard(rows, "dev_f1_weighted", axes=("strategy", "imbalance"))
    cells = board.cells()
    assert list(cells) == ["local/oversampling", "local/none", "mixed/oversampling", "mixed/none"]
    assert cells["mixed/none"].finished == 2 and not cells["mixed/none"].under_explored
    assert cells["local/none"].under_explored
    assert board.axes == ("strategy", "imbalance")
    assert summary_rows([board])[0]["cell"] == "local/oversampling"
    # A stored cell is the sweep's own and wins; one made for other axes is derived again.
    stored = [_row(0.1, "local", 0, 0.7, cell="local/oversampling"), _row(0.1, "mixed", 0, 0.6, cell="mixed")]
    (board,) = build_leaderboard(stored, "dev_f1_weighted", axes=("strategy", "imbalance"))
    assert list(board.cells()) == ["local/oversampling", "mixed/none"]
    (by_default,) = build_leaderboard(rows, "dev_f1_weighted")
    assert list(by_default.cells()) == ["local", "mixed"]


def test_cell_of_reads_an_axis_that_is_not_a_column_from_the_config() -> None:
    from search.answer.leaderboard import cell_of

    row = _row(0.1, "local", 0, 0.7, ood_pct=10.0, lr=2e-5)
    assert cell_of(row, ("strategy", "ood_pct")) == "local/10"
    assert cell_of(row, ("strategy", "learning_rate")) == "local/2e-05"
    assert cell_of({"strategy": "local"}, ("strategy", "phase1_model")) == "local/-"


def test_estimates_use_finished_configurations_only() -> None:
    from search.answer.curves import estimate_at

    rows = [_row(size, "local", 0, 0.5 + size / 10) for size in (0.1, 0.5)]
    rows += [_row(size, "global", 0, 0.99, status="stopped", epochs_run=1) for size in (0.1, 0.5)]
    rows += [_row(size, "baseline", 0, 0.9, architecture="tfidf-linear", role="floor") for size in (0.1, 0.5)]
    estimates = estimate_at(build_leaderboard(rows, "dev_f1_weighted"), 0.3)
    assert [e.strategy for e in estimates] == ["local"]


def test_an_unswept_size_estimates_the_floor_and_bands_one_seed_points_with_the_pooled_spread() -> None:
    from search.answer.curves import estimate_at, floor_estimate

    rows = []
    for size in (0.1, 0.3, 1.0):
        # local: three seeds a size, spread 0.02; mixed: one seed a size; the floor: one seed.
        rows += [_row(size, "local", s, 0.6 + size / 5 + d) for s, d in enumerate((-0.02, 0.0, 0.02))]
        rows += [_row(size, "mixed", 0, 0.55 + size / 5)]
        rows += [_row(size, "baseline", 0, 0.5 + size / 10, architecture="tfidf-linear", role="floor")]
    boards = build_leaderboard(rows, "dev_f1_weighted")
    local, mixed = estimate_at(boards, 0.5)
    assert (local.strategy, local.band, mixed.strategy, mixed.band) == ("local", "seeds", "mixed", "pooled")
    floor = floor_estimate(boards, 0.5)
    assert floor is not None and floor.strategy == "floor" and floor.band == "pooled"
    for estimate in (local, mixed, floor):
        assert estimate.low is not None and estimate.high is not None
        assert estimate.low < estimate.estimate < estimate.high
    # The floor's points lie on 0.5 + n/10: at 0.5 about 0.55, between its neighbours 0.53 and 0.60.
    assert 0.53 < floor.estimate < 0.60
    # A one-seed point borrows a spread of 0.02 over 1 seed: wider than local's 0.02 over 3 seeds.
    assert mixed.high - mixed.low > local.high - local.low
    only_one_seed = build_leaderboard([r for r in rows if r["strategy"] != "local"], "dev_f1_weighted")
    (alone,) = estimate_at(only_one_seed, 0.5)
    assert (alone.low, alone.high, alone.band) == (None, None, "none")  # nothing to borrow a spread from


def test_cli_answers_an_unswept_size_with_the_estimates_first_and_the_boards_on_request(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from search.cli import main

    table = tmp_path / "runs.csv"
    lines = ["in_domain_pct,architecture,strategy,imbalance,seed,status,role,epochs_run,accuracy"]
    for pct in (10, 30, 100):
        lines += [
            f"{pct},two-phase,local,none,{s},finished,search,30,{0.6 + pct / 500 + s / 100:.3f}"
            for s in range(3)
        ]
        lines.append(f"{pct},tfidf-linear,baseline,none,0,finished,floor,12,{0.5 + pct / 1000:.3f}")
    table.write_text("\n".join(lines) + "\n")
    assert main(["leaderboard", "--from-table", str(table), "--size", "0.5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("size 50% was not swept (swept: 10%, 30%, 100%); estimated accuracy")
    rows = {line.split("  ")[0]: line for line in out.splitlines()}
    assert "[" in rows["local"] and "[" in rows["floor (tfidf-linear)"]  # a band on both
    assert "in-domain size" not in out and "add --nearest" in out
    assert main(["leaderboard", "--from-table", str(table), "--size", "0.5", "--nearest"]) == 0
    out = capsys.readouterr().out
    assert "in-domain size 30%" in out and "in-domain size 100%" in out and "in-domain size 10%" not in out


def test_cli_lists_stopped_trials_apart_and_shows_the_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from search.cli import main

    table = tmp_path / "runs.csv"
    table.write_text(
        "in_domain_pct,architecture,strategy,imbalance,seed,status,role,epochs_run,accuracy\n"
        "10,two-phase,local,none,0,finished,search,30,0.70\n"
        "10,two-phase,local,oversampling,0,finished,search,30,0.69\n"
        "10,two-phase,mixed,none,0,finished,search,30,0.60\n"
        "10,two-phase,global,none,0,stopped,search,1,0.95\n"
        "10,tfidf-linear,baseline,none,0,finished,floor,12,0.65\n"
    )
    assert main(["leaderboard", "--from-table", str(table)]) == 0
    out = capsys.readouterr().out
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "in-domain size 10%: 4 finished configurations, ranked by mean accuracy; 1 stopped early" in out
    assert "1 two-phase/local/none 1 0.7000 - - tie 0.7000 - - recommended" in lines
    # One seed each: the floor competes as a cell and stays in contention with local.
    assert lines[1].startswith("10%: undetermined between local and floor (P(best) local 0.9")
    assert "3 tfidf-linear/baseline/none 1 0.6500 - - tie 0.6500 - - floor" in lines
    mixed = next(line for line in lines if line.startswith("mixed two-phase/mixed/none #4 0.6000 "))
    assert mixed.endswith(" 1 0 under-explored, below floor")
    assert "global - - - - 0 1 under-explored" in lines
    assert "floor tfidf-linear/baseline/none: 0.6500 (#3); 1 configuration(s) below it" in lines
    assert lines[lines.index("stopped early, not ranked:") + 3] == "two-phase/global/none 1 1 0.9500"

    assert main(["leaderboard", "--from-table", str(table), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    (decision,) = answer["decisions"]
    assert {k: decision[k] for k in ("size", "verdict", "cell", "margin", "confidence")} == {
        "size": 0.1,
        "verdict": "undetermined",
        "cell": "local",
        "margin": 0.01,
        "confidence": 0.95,
    }
    assert set(decision["p_best"]) == {"local", "mixed", "floor"}
    assert sum(decision["p_best"].values()) == pytest.approx(1.0)
    assert decision["settle"].startswith("run the best configurations of ")
    by_status = {r["status"]: r for r in answer["sizes"]}
    assert by_status["stopped"]["strategy"] == "global" and by_status["stopped"]["rank"] is None
    assert [r["floor"] for r in answer["sizes"]] == [False, False, True, False, False]


def test_a_sweeps_leaderboard_asks_its_own_question_and_keeps_its_stopped_trials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from search.answer.leaderboard import leaderboard
    from search.cli import main
    from search.config import parse_sweep_config
    from search.plan import SweepPaths, write_sweep_config
    from search.results import result_row

    config = parse_sweep_config(
        {
            "name": "q",
            "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1]},
            "search": {"space": "demo-smoke", "budget": 12, "question": ["strategy", "imbalance"]},
            "storage": str(tmp_path),
        }
    )
    paths = SweepPaths.of(tmp_path, "q")
    write_sweep_config(config, paths)
    for name, imbalance, score, status in (
        ("a", "none", 0.6, "finished"),
        ("b", "oversampling", 0.5, "finished"),
        ("c", "class_weights", 0.9, "stopped"),
        ("d", "none", 0.99, "error"),
    ):
        trial = {
            "architecture": "two-phase",
            "strategy": "local",
            "imbalance": imbalance,
            "in_domain_size": 0.1,
        }
        metrics = {"selected_dev_f1_weighted": score, "epochs_done": 1 if status == "stopped" else 5}
        paths.results.add(
            result_row(
                sweep="q",
                trial_name=name,
                status=status,
                config={**trial, "seed": 0},
                metrics=metrics,
                resources={},
                finished_at=datetime.now(UTC),
            )
        )
    (board,) = leaderboard("q", storage=str(tmp_path))
    assert board.axes == ("strategy", "imbalance")
    assert list(board.cells()) == ["local/none", "local/oversampling", "local/class_weights"]
    assert [e.describe["imbalance"] for e in board.stopped] == ["class_weights"]
    assert board.stopped[0].epochs_run == 1
    (by_strategy,) = leaderboard("q", storage=str(tmp_path), axes=("strategy",))
    assert list(by_strategy.cells()) == ["local"]
    assert main(["leaderboard", "q", "--storage", str(tmp_path)]) == 0
    assert "best per strategy/imbalance" in capsys.readouterr().out


def test_configurations_that_read_alike_are_told_apart_by_what_differs() -> None:
    rows = [
        _row(0.1, "local", 0, 0.44, lr=7e-4),
        _row(0.1, "local", 0, 0.34, lr=3e-3),
        _row(0.1, "baseline", 0, 0.40),
    ]
    (board,) = build_leaderboard(rows, "dev_f1_weighted")
    labels = [e.label for e in board.entries]
    assert len(set(labels)) == 3
    assert labels[0] == "two-phase/local/none lr 0.0007" and labels[2] == "two-phase/local/none lr 0.003"
    assert "two-phase/baseline/none" in labels  # alone under its label: nothing appended


def test_outside_the_swept_sizes_the_curve_goes_on_along_its_nearest_segment() -> None:
    from search.answer.curves import _curve_value

    xs, ys = [0.1, 0.3], [0.5, 0.6]
    value, method = _curve_value(xs, ys, 1.0)
    assert method == "log-n extrapolation"
    assert value == pytest.approx(0.6 + 0.1 / math.log(3) * math.log(1 / 0.3))
    assert _curve_value(xs, ys, 0.03)[0] == pytest.approx(0.5 - 0.1 / math.log(3) * math.log(0.1 / 0.03))
    assert _curve_value([0.1, 0.3], [0.1, 0.9], 1e6)[0] == 1.0  # never above a perfect score
    assert _curve_value([0.2], [0.5], 1.0) == (0.5, "nearest")  # one size: nothing to go along


def test_train_says_which_cell_it_took_and_why() -> None:
    from search.models.train import _why_this_cell

    confirmed = [_row(0.1, "local", s, 0.80 + s / 1000) for s in range(3)]
    confirmed += [_row(0.1, "mixed", s, 0.60 + s / 1000) for s in range(3)]
    (decided,) = build_leaderboard(confirmed, "dev_f1_weighted")
    assert _why_this_cell(decided) == ": local wins (P(best) 1.00)"
    close = [_row(0.1, "local", s, v) for s, v in enumerate((0.700, 0.690, 0.712))]
    close += [_row(0.1, "mixed", s, v) for s, v in enumerate((0.703, 0.695, 0.700))]
    (open_,) = build_leaderboard(close, "dev_f1_weighted", name="sw")
    assert open_.decision is not None and open_.decision.verdict == "undetermined"
    why = _why_this_cell(open_)
    assert why.startswith(": no winner yet (P(best) ") and "took local, the best-scoring cell" in why
    assert why.endswith(
        "; resweep extend sw --seeds "
        + ",".join(map(str, range(max(open_.decision.seeds_needed.values()))))
        + " would settle it"
    )
    assert open_.recommended is not None and open_.recommended.describe["strategy"] == "local"


def test_where_the_floor_wins_the_cells_still_get_an_answer_of_their_own() -> None:
    rows = [
        _row(0.1, "baseline", s, 0.90 + s / 1000, architecture="tfidf-linear", role="floor") for s in range(3)
    ]
    rows += [_row(0.1, "local", s, 0.70 + s / 1000) for s in range(3)]
    rows += [_row(0.1, "mixed", s, 0.60 + s / 1000) for s in range(3)]
    (board,) = build_leaderboard(rows, "dev_f1_weighted")
    assert board.decision is not None and (board.decision.verdict, board.decision.cell) == ("winner", "floor")
    assert board.without_floor is not None and board.without_floor.cell == "local"
    assert board.without_floor.verdict == "winner" and "floor" not in board.without_floor.p_best
    assert board.recommended is not None and board.recommended.describe["strategy"] == "local"
    (document,) = decisions([board])
    assert document["cell"] == "floor" and document["without_floor"]["cell"] == "local"


def test_the_demo_says_why_the_floor_leads_on_the_synthetic_corpus_and_only_there() -> None:
    from search.cli.boards import SYNTHETIC_NOTE, corpus_note

    neural = [_row(0.1, "local", s, 0.70) for s in range(3)]
    floor = [_row(0.1, "baseline", s, 0.90, architecture="tfidf-linear", role="floor") for s in range(3)]
    floor_leads = build_leaderboard(neural + floor, "dev_f1_weighted")
    assert floor_leads[0].winner.floor_run
    assert corpus_note("synthetic", floor_leads) == SYNTHETIC_NOTE
    assert corpus_note("semeval", floor_leads) is None  # real data: the floor leading is a finding
    low_floor = [{**row, "dev_f1_weighted": 0.5} for row in floor]
    assert corpus_note("synthetic", build_leaderboard(neural + low_floor, "dev_f1_weighted")) is None


def test_what_tells_configurations_apart_is_what_their_json_tells_apart() -> None:
    from search.answer.leaderboard import _json_token

    values: list[Any] = [None, True, False, 0, 1, -1, 0.0, -0.0, 1.0, 1e-3, 0.001, math.nan, math.inf]
    values += ["1", "", "a", [1, 2], {"b": 1, "a": 2}, {"a": 2, "b": 1}]
    for a in values:
        for b in values:
            same = json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)
            assert (_json_token(a) == _json_token(b)) == same, (a, b)


def test_a_configurations_key_is_its_json_without_the_seed_however_the_text_reads() -> None:
    from search.answer.leaderboard import _config_key

    texts = [
        '{"lr": 0.001, "seed": 0, "strategy": "local"}',
        '{"lr": 0.001, "seed": 1, "strategy": "local"}',
        '{"seed": 12, "strategy": "local", "lr": 0.001}',
        '{"lr": 0.001, "strategy": "local", "seed": -3}',
        '{"lr":0.001,"seed":4,"strategy":"local"}',
        '{"lr": 0.001, "seed": 2.5, "strategy": "local"}',
        '{"lr": 0.001, "seed": 1, "strategy": "local", "sampler": {"seed": 7}}',
        '{"lr": 0.001, "strategy": "local", "sampler": {"seed": 7}}',
        '{"lr": 0.001, "strategy": "local", "sampler": {"seed": 8}}',
        '{"lr": 0.001, "strategy": "lo\\u0063al", "seed": 5}',
        '{"lr": 0.001, "strategy": "local", "s\\u0065ed": 5, "x": {"seed": 5}}',
        '{"lr": 0.001, "strategy": "local", "s\\u0065ed": 5, "x": {"seed": 6}}',
        '{"lr": 0.002, "seed": 0, "strategy": "local"}',
    ]
    known: dict[tuple[str, int], str] = {}
    for text in texts * 2:  # the second time through, from what is known
        config = json.loads(text)
        config.pop("seed", None)
        assert _config_key({"config": text}, known) == json.dumps(config, sort_keys=True, default=str), text


def test_one_configuration_is_one_entry_however_its_config_was_written(tmp_path: Path) -> None:
    """The results store records each run's configuration identity (TrialSpec.configuration_key,
    the searchers' too) and the leaderboard groups by it: a default written out (``ood_pct: 0``)
    is the same configuration as the default left out. A store an older resweep wrote, without
    the column, gets the same identities on read."""
    from datetime import UTC, datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    from search.plan import configuration_key
    from search.results import RESULT_SCHEMA, ResultsStore, result_row

    trial = {"architecture": "two-phase", "strategy": "baseline", "imbalance": "none", "in_domain_size": 0.1}
    configs = [
        {**trial, "seed": 0},
        {**trial, "ood_pct": 0.0, "seed": 1},
        {**trial, "learning_rate": 0.5, "seed": 0},
    ]
    rows = [
        result_row(
            sweep="s",
            trial_name=f"t{i}",
            status="finished",
            config=config,
            metrics={"selected_dev_f1_weighted": 0.5 + i / 10, "selected_epoch": 1},
            resources={},
            finished_at=datetime.now(UTC),
        )
        for i, config in enumerate(configs)
    ]
    identity = configuration_key("id0.1", trial, contexts={"id0.1": {}})
    assert rows[0]["config_key"] == rows[1]["config_key"] == identity != rows[2]["config_key"]
    (board,) = build_leaderboard(rows, "dev_f1_weighted")
    assert sorted(e.n_seeds for e in board.entries) == [1, 2]

    # An older store: the same rows, written without the column.
    store = ResultsStore(tmp_path)
    older_schema = RESULT_SCHEMA.remove(RESULT_SCHEMA.get_field_index("config_key"))
    old = pa.Table.from_pylist(
        [{k: v for k, v in r.items() if k != "config_key"} for r in rows], older_schema
    )
    Path(tmp_path, "results", "parts").mkdir(parents=True, exist_ok=True)
    pq.write_table(old, Path(tmp_path, "results", "parts", "old.parquet"))
    read = store.read().to_pylist()
    assert [r["config_key"] for r in read] == [r["config_key"] for r in rows]
    (again,) = build_leaderboard(read, "dev_f1_weighted")
    assert sorted(e.n_seeds for e in again.entries) == [1, 2]
