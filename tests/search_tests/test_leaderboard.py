"""The leaderboard: grouping over seeds, intervals, ties, and the thesis's own conclusion."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from search.leaderboard import Entry as LeaderboardEntry
from search.leaderboard import build_leaderboard, read_table, separable, summary_rows


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


def test_paired_over_seeds_a_small_but_consistent_gain_is_a_finding() -> None:
    a = _entry({0: 0.700, 1: 0.650, 2: 0.800})
    b = _entry({0: 0.690, 1: 0.641, 2: 0.789})  # 0.009-0.011 below on every seed
    assert separable(a, b, epsilon=0.0)
    noisy = _entry({0: 0.650, 1: 0.690, 2: 0.785})  # lower on average, not on every seed
    assert not separable(a, noisy, epsilon=0.0)
    assert not separable(a, b, epsilon=0.02)  # below what the user cares about


def test_without_shared_seeds_overlapping_intervals_tie() -> None:
    a = _entry({0: 0.70, 1: 0.72})
    b = _entry({5: 0.69, 6: 0.71})
    assert not separable(a, b, epsilon=0.0)
    c = _entry({5: 0.40, 6: 0.41})
    assert separable(a, c, epsilon=0.0)


def test_one_seed_each_only_epsilon_separates() -> None:
    a, b = _entry({0: 0.601}), _entry({0: 0.600})
    assert separable(a, b, epsilon=0.0)
    assert not separable(a, b, epsilon=0.002)


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
    assert board.winner.tie and board.entries[1].tie and not board.entries[2].tie


def _winner(board: Any) -> tuple[str, float, float]:
    d = board.winner.describe
    return d["strategy"], d["ood_pct"], d["local_in_domain_pretrain_pct"] or 0.0


def test_the_thesis_tables_give_the_thesis_table_xiii(fixtures: Path) -> None:
    rows = read_table(str(fixtures / "thesis_tables.csv"))
    by_accuracy = {b.size: b for b in build_leaderboard(rows, "accuracy", epsilon=0.002)}
    assert sorted(by_accuracy) == [0.1, 0.5, 1.0]
    assert _winner(by_accuracy[0.1]) == ("local", 10.0, 10.0)
    assert not by_accuracy[0.1].winner.tie
    assert _winner(by_accuracy[0.5]) == ("local", 10.0, 10.0)
    tied = [e for e in by_accuracy[0.5].entries[1:] if e.tie]
    assert [(e.describe["strategy"], e.describe["ood_pct"]) for e in tied] == [("mixed", 10.0)]
    assert _winner(by_accuracy[1.0]) == ("global", 100.0, 0.0)
    assert not by_accuracy[1.0].winner.tie
    assert by_accuracy[0.1].winner.mean == pytest.approx(0.631)

    by_f1 = {b.size: b for b in build_leaderboard(rows, "f1_weighted", epsilon=0.002)}
    ten = by_f1[0.1]
    assert _winner(ten) == ("mixed", 50.0, 0.0)
    tied = [e for e in ten.entries[1:] if e.tie]
    assert [
        (e.describe["strategy"], e.describe["ood_pct"], e.describe["local_in_domain_pretrain_pct"])
        for e in tied
    ] == [("local", 10.0, 10.0)]


def test_a_run_printed_in_two_tables_is_one_run(fixtures: Path) -> None:
    rows = read_table(str(fixtures / "thesis_tables.csv"))
    global_100 = [
        r
        for r in rows
        if r["in_domain_pct"] == 100
        and r["strategy"] == "global"
        and r["ood_pct"] == 100
        and r["imbalance"] == "oversampling"
    ]
    assert len(global_100) == 1  # tables IX and XI print the same run


def test_a_bad_table_names_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("in_domain_pct,strategy,accuracy\n10,local,0.5\n10,mixed,high\n")
    with pytest.raises(ValueError, match=r"t\.csv:3: accuracy: expected a number, got 'high'"):
        read_table(str(path))


def test_cli_from_table_query_by_size_and_formats(fixtures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import csv
    import io

    from search.cli import main

    table = str(fixtures / "thesis_tables.csv")
    assert main(["leaderboard", "--from-table", table, "--epsilon", "0.002", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("ranked by mean accuracy") == 3
    # Per strategy its best, rank, the evidence and whether it ties the winner (50%: mixed does).
    assert out.count("best per strategy (finished configurations only") == 3
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert "mixed two-phase(seqcls, joined)/mixed/oversampling ood10 #2 0.8090 7 0 tie" in lines
    assert "local two-phase(seqcls, joined)/local/oversampling ood10 local10 #1 0.6310 3 0" in lines
    assert out.count("floor: not run") == 3 and "stopped early" not in out

    # An unswept size between 10% and 50%: the neighbours and an estimate per strategy.
    assert main(["leaderboard", "--from-table", table, "--size", "0.3", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert sorted({row["size"] for row in answer["sizes"]}) == [0.1, 0.5]
    estimates = {e["strategy"]: e for e in answer["estimates"]}
    assert set(estimates) == {"baseline", "mixed", "global", "local"}
    # Every strategy's bests rise and flatten over 10%, 50%, 100%: a power law through the three,
    # which passes through them and lies above the chord between 10% and 50% (log-linear).
    assert all(e["method"] == "power-law fit" for e in estimates.values())
    import math

    from search.curves import estimate_at
    from search.leaderboard import leaderboard

    weight = math.log(0.3 / 0.1) / math.log(0.5 / 0.1)
    boards = leaderboard(table=table)
    at_half = {e.strategy: e.estimate for e in estimate_at(boards, 0.5)}
    for strategy, estimate in estimates.items():
        points = {b.size: b.best_per_strategy()[strategy].mean for b in boards}
        assert at_half[strategy] == pytest.approx(points[0.5], abs=1e-4)
        chord = points[0.1] + weight * (points[0.5] - points[0.1])
        assert chord < estimate["estimate"] < points[0.5]
    assert estimates["local"]["estimate"] == pytest.approx(0.7719, abs=1e-4)
    assert answer["recommended"] == "local" and "warning" not in answer

    # A count needs the pool a fraction refers to; beyond the swept range comes a warning.
    assert main(["leaderboard", "--from-table", table, "--size", "3000"]) == 1
    assert "give the pool (`--pool`" in capsys.readouterr().err
    assert main(["leaderboard", "--from-table", table, "--size", "3000", "--pool", "1000"]) == 0
    captured = capsys.readouterr()
    assert "outside the swept range [0.1, 1]" in captured.err
    assert "in-domain size 1:" in captured.out and "recommended: global" in captured.out

    assert main(["leaderboard", "--from-table", table, "--csv", "--metric", "f1_weighted"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 23 + 26 + 29 and rows[0]["strategy"] == "mixed" and rows[0]["size"] == "0.1"


def test_cli_leaderboard_needs_a_sweep_or_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    from search.cli import main

    assert main(["leaderboard"]) == 1
    assert "name a sweep, or give --from-table" in capsys.readouterr().err


def test_t_quantiles_and_paired_p_values_match_published_tables() -> None:
    from search.leaderboard import paired_p_value, t_quantile

    # Two-sided 95% critical values of Student's t (any statistics table).
    for df, critical in ((1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (30, 2.042)):
        assert t_quantile(0.975, df) == pytest.approx(critical, abs=5e-4)
    # Differences 1, 2, 3: mean 2, sd 1, t = 2 / (1 / sqrt 3) = 3.464 on 2 df, two-sided p 0.0742.
    assert paired_p_value([1.0, 2.0, 3.0]) == pytest.approx(0.0742, abs=5e-4)
    assert paired_p_value([0.01, 0.01, 0.01]) == 0.0  # every seed agrees on a difference
    assert paired_p_value([0.0, 0.0]) == 1.0


def test_learning_curve_fit_with_a_band_from_the_seeds() -> None:
    from search.curves import estimate_at

    def truth(n: float) -> float:
        return 0.9 - 0.2 * n ** (-0.5)

    rows = [
        _row(size, "local", seed, truth(size) + noise)
        for size in (0.05, 0.1, 0.2, 0.5, 1.0)
        for seed, noise in ((0, 0.004), (1, -0.004), (2, 0.0))
    ]
    boards = build_leaderboard(rows, "dev_f1_weighted")
    (local,) = estimate_at(boards, 0.3)
    assert local.method == "power-law fit"
    assert local.estimate == pytest.approx(truth(0.3), abs=0.005)
    assert local.low is not None and local.high is not None and local.low <= truth(0.3) <= local.high


def test_sweep_leaderboard_answers_a_count_through_the_datasets_pool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from search.cli import main
    from search.config import parse_sweep_config
    from search.plan import SweepPaths, write_sweep_config
    from search.results import result_row

    config = parse_sweep_config(
        {
            "name": "s",
            "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1, 0.5]},
            "search": {"space": "demo-smoke", "budget": 4},  # one per strategy cell
            "storage": str(tmp_path),
        }
    )
    paths = SweepPaths.of(tmp_path, "s")
    write_sweep_config(config, paths)
    for size, score in ((0.1, 0.5), (0.5, 0.7)):
        trial = {"architecture": "two-phase", "strategy": "baseline", "in_domain_size": size, "seed": 0}
        metrics = {"selected_epoch": 1, "selected_dev_f1_weighted": score, "selected_test_accuracy": score}
        paths.results.add(
            result_row(
                sweep="s",
                trial_name=f"t{size}",
                status="finished",
                config=trial,
                metrics=metrics,
                resources={},
                finished_at=datetime.now(UTC),
            )
        )
    assert main(["leaderboard", "s", "--storage", str(tmp_path), "--size", "810", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    # synthetic: 3,000 train records, 10% carved for dev -> a pool of 2,700; 810 of them is 0.3
    assert answer["pool"] == 2700 and answer["size"] == pytest.approx(0.3)
    assert answer["recommended"] == "baseline" and answer["metric"] == "dev_f1_weighted"


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
    assert not any(e.tie for e in board.entries)
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
    with pytest.raises(LookupError, match=r"size 0\.1: no finished configuration"):
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
    from search.leaderboard import cell_of

    row = _row(0.1, "local", 0, 0.7, ood_pct=10.0, lr=2e-5)
    assert cell_of(row, ("strategy", "ood_pct")) == "local/10"
    assert cell_of(row, ("strategy", "learning_rate")) == "local/2e-05"
    assert cell_of({"strategy": "local"}, ("strategy", "phase1_model")) == "local/-"


def test_estimates_use_finished_configurations_only() -> None:
    from search.curves import estimate_at

    rows = [_row(size, "local", 0, 0.5 + size / 10) for size in (0.1, 0.5)]
    rows += [_row(size, "global", 0, 0.99, status="stopped", epochs_run=1) for size in (0.1, 0.5)]
    rows += [_row(size, "baseline", 0, 0.9, architecture="tfidf-linear", role="floor") for size in (0.1, 0.5)]
    estimates = estimate_at(build_leaderboard(rows, "dev_f1_weighted"), 0.3)
    assert [e.strategy for e in estimates] == ["local"]


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
    assert "in-domain size 0.1: 4 finished configurations, ranked by mean accuracy; 1 stopped early" in out
    assert "1 two-phase/local/none 1 0.7000 - - 0.7000 - - recommended" in lines
    assert "3 tfidf-linear/baseline/none 1 0.6500 - - 0.6500 - - floor" in lines
    assert "mixed two-phase/mixed/none #4 0.6000 1 0 under-explored, below floor" in lines
    assert "global - - - 0 1 under-explored" in lines
    assert "floor tfidf-linear/baseline/none: 0.6500 (#3); 1 configuration(s) below it" in lines
    assert lines[lines.index("stopped early, not ranked:") + 3] == "two-phase/global/none 1 1 0.9500"

    assert main(["leaderboard", "--from-table", str(table), "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    by_status = {r["status"]: r for r in answer["sizes"]}
    assert by_status["stopped"]["strategy"] == "global" and by_status["stopped"]["rank"] is None
    assert [r["floor"] for r in answer["sizes"]] == [False, False, True, False, False]


def test_a_sweeps_leaderboard_asks_its_own_question_and_keeps_its_stopped_trials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from search.cli import main
    from search.config import parse_sweep_config
    from search.leaderboard import leaderboard
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
    from search.curves import _curve_value

    xs, ys = [0.1, 0.3], [0.5, 0.6]
    value, method = _curve_value(xs, ys, 1.0)
    assert method == "log-n extrapolation"
    assert value == pytest.approx(0.6 + 0.1 / math.log(3) * math.log(1 / 0.3))
    assert _curve_value(xs, ys, 0.03)[0] == pytest.approx(0.5 - 0.1 / math.log(3) * math.log(0.1 / 0.03))
    assert _curve_value([0.1, 0.3], [0.1, 0.9], 1e6)[0] == 1.0  # never above a perfect score
    assert _curve_value([0.2], [0.5], 1.0) == (0.5, "nearest")  # one size: nothing to go along
