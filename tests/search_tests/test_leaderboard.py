"""The leaderboard: grouping over seeds, intervals, ties, and the thesis's own conclusion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from search.leaderboard import Entry as LeaderboardEntry
from search.leaderboard import build_leaderboard, read_table, separable


def _row(size: float, strategy: str, seed: int, dev: float, **extra: Any) -> dict[str, Any]:
    config = {
        "strategy": strategy,
        "ood_pct": extra.get("ood_pct", 0.0),
        "in_domain_size": size,
        "seed": seed,
    }
    return {
        "in_domain_size": size,
        "seed": seed,
        "strategy": strategy,
        "architecture": "two-phase",
        "imbalance": "none",
        "ood_pct": extra.get("ood_pct", 0.0),
        "config": json.dumps(config),
        "dev_f1_weighted": dev,
        "f1_weighted": dev - 0.01,
        "accuracy": dev,
        "wall_seconds": extra.get("wall", 10.0),
    }


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
    assert "best per strategy: local 0.8100 (#1); mixed 0.8090 (#2)" in out

    # An unswept size between 10% and 50%: the neighbours and an estimate per strategy.
    assert main(["leaderboard", "--from-table", table, "--size", "0.3", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert sorted({row["size"] for row in answer["sizes"]}) == [0.1, 0.5]
    estimates = {e["strategy"]: e for e in answer["estimates"]}
    assert set(estimates) == {"baseline", "mixed", "global", "local"}
    assert all(e["method"] == "log-n interpolation" for e in estimates.values())
    # log-linear between the best local configurations at 10% (0.631) and 50% (0.810)
    import math

    weight = math.log(0.3 / 0.1) / math.log(0.5 / 0.1)
    assert estimates["local"]["estimate"] == pytest.approx(0.631 + weight * (0.810 - 0.631))
    assert answer["recommended"] == "local" and "warning" not in answer

    # A count needs the pool a fraction refers to; beyond the swept range comes a warning.
    assert main(["leaderboard", "--from-table", table, "--size", "3000"]) == 1
    assert "give --pool" in capsys.readouterr().err
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


def test_own_t_distribution_matches_scipy() -> None:
    from scipy import stats

    from search.leaderboard import paired_p_value, t_cdf, t_quantile

    for df in (1, 2, 3, 7, 30):
        assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-9)
        for value in (-4.0, -0.3, 0.0, 1.2, 6.0):
            assert t_cdf(value, df) == pytest.approx(stats.t.cdf(value, df), abs=1e-12)
    for diffs in ([0.01, 0.009, 0.011], [0.05, -0.04, 0.015, 0.002], [0.3, 0.1]):
        assert paired_p_value(diffs) == pytest.approx(stats.ttest_1samp(diffs, 0.0).pvalue, rel=1e-9)


def test_learning_curve_fit_with_a_band_from_the_seeds() -> None:
    from search.leaderboard import estimate_at

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
            "search": {"space": "demo-smoke", "budget": 1},
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
