"""bench/search_correctness.py: resweep's searcher, scheduler and decision replayed against a
ground-truth table and scored against held-out seeds, beside trivial answers and planted effects;
here on tiny synthetic tables whose truth is known."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
HELD_OUT = (3, 4)
LAST_LINE = re.compile(
    r"overall: correct decisions (?P<P>\d+\.\d)% \(held-out truth; best constant"
    r" (?:none|always (?P<K>\w+) (?P<KP>\d+\.\d)%)\), false winners (?P<F>\d+\.\d)% \(A/A\),"
    r" power (?P<W>\d+\.\d)% at delta 0\.02, regret (?P<R>-?\d\.\d{4}) on test,"
    r" at (?P<C>\d+\.\d)% of the exhaustive cost"
)


def _grid() -> list[dict[str, Any]]:
    from spaces import get_space

    return get_space("ground-truth").grid() or []


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    name = "_resweep_bench_search_correctness"
    spec = importlib.util.spec_from_file_location(name, BENCH / "search_correctness.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses (and pickling) look the module up by name
    spec.loader.exec_module(module)
    module._quiet()
    return module


def _helper(bench: ModuleType, name: str) -> ModuleType:
    """A module beside the script (bench is not a package: the script put its folder on the path)."""
    assert str(BENCH) in sys.path
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def table(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 1 pair, 2 sizes, the real grid's configurations x seeds 0-2; local plateaus at 0.8,
    # everything else at 0.5; curves of about 12 epochs (past ASHA's first rung at 8).
    rows = bench.synthetic_rows("toy", (0.1, 1.0), best="local", high=0.8, low=0.5, epochs=12, noise=0.005)
    return bench.write_synthetic(tmp_path_factory.mktemp("gt") / "toy.parquet", rows)


def _shifting(bench: ModuleType, seeds: tuple[int, ...], rng_seed: int) -> list[dict[str, Any]]:
    """local is best at 0.1 and 0.3, mixed at 1.0: no constant answer is right everywhere."""
    kwargs = {"seeds": seeds, "epochs": 8}
    return bench.synthetic_rows("shift", (0.1, 0.3), best="local", rng_seed=rng_seed, **kwargs) + (
        bench.synthetic_rows("shift", (1.0,), best="mixed", rng_seed=rng_seed + 1, **kwargs)
    )


@pytest.fixture(scope="module")
def shifting(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """The shifting table's sizes with their held-out truth (seeds 3 and 4)."""
    folder = tmp_path_factory.mktemp("shift")
    main = bench.write_synthetic(folder / "main.parquet", _shifting(bench, (0, 1, 2), 0))
    held = bench.write_synthetic(folder / "held.parquet", _shifting(bench, HELD_OUT, 10))
    (pair,) = bench.load_tables(str(main))
    bench.attach_held_out([pair], str(held))
    return list(pair.sizes)


def test_the_truths_come_from_their_own_seeds(shifting: list[Any]) -> None:
    right = {0.1: {"local"}, 0.3: {"local"}, 1.0: {"mixed"}}
    for size in shifting:
        assert {seed for _, seed in size.runs} == {0, 1, 2}  # what a replay can run
        assert size.truth.seeds == (0, 1, 2)
        assert size.held_out.seeds == HELD_OUT
        assert size.every_seed.seeds == (0, 1, 2, *HELD_OUT)
        for truth in (size.truth, size.held_out, size.every_seed):
            assert truth.right_dev == truth.right_test == right[size.size]
            assert truth.top_dev == next(iter(right[size.size]))
            assert truth.regret(truth.best[truth.top_dev]) == 0.0
        assert size.held_out_note == "held-out seeds 3,4"


def test_a_held_out_seed_counts_only_where_every_configuration_has_it(
    bench: ModuleType, table: Path, tmp_path: Path
) -> None:
    rows = bench.synthetic_rows("toy", (0.1,), seeds=(3, 4, 5), epochs=8, rng_seed=3)
    rows = [r for r in rows if r["seed"] != 5 or r["architecture"] == "two-phase"]  # seed 5 still running
    rows += bench.synthetic_rows("toy", (1.0,), seeds=(3,), epochs=8, rng_seed=4)  # one seed: no truth
    (pair,) = bench.load_tables(str(table))
    bench.attach_held_out([pair], str(bench.write_synthetic(tmp_path / "held.parquet", rows)))
    small, full = pair.sizes
    two_phase = sum(c["architecture"] == "two-phase" for c in _grid())
    assert small.held_out.seeds == (3, 4)
    assert (
        small.held_out_note
        == f"held-out seeds 3,4; seed 5 left out ({two_phase}/{len(_grid())} configurations)"
    )
    assert full.held_out is None and full.every_seed is full.truth
    assert full.held_out_note == "no held-out truth (complete held-out seeds: 3)"


def test_reference_answers_score_what_the_truth_implies(bench: ModuleType, shifting: list[Any]) -> None:
    report = _helper(bench, "correctness_report")
    references = [a for size in shifting for a in bench.reference_answers(size)]
    base = report.baselines(references)
    assert base.constant_dev == base.constant_test == "local"
    assert base.non_trivial_dev == base.non_trivial_test == {("shift", 1.0)}
    groups = report.answer_groups([], references, [], "tpe+asha")
    figures = {name: report.summarise(answers, base) for name, answers in groups.items()}
    expected = {"always local": 200 / 3, "always mixed": 100 / 3, "always baseline": 0, "uniform random": 25}
    for name, p in expected.items():
        assert figures[name]["P_held_out_dev"] == pytest.approx(p)
        assert figures[name]["P_held_out_test"] == pytest.approx(p)
        assert figures[name]["lift_dev"] == pytest.approx(p - 200 / 3)
        assert figures[name]["claims"] is None  # no search, no claim
    assert figures["always mixed"]["P_non_trivial_dev"] == 100.0
    assert figures["always local"]["P_non_trivial_dev"] == 0.0
    study = figures["one-seed study, seeds 0-2"]  # the effects are large: one seed finds them
    assert study["P_held_out_dev"] == study["claims"] == 100.0 and study["wrong_claims"] == 0.0
    assert study["C"] == pytest.approx(100 / 3, abs=2)  # one seed of three


def test_planted_effects_a_a_tables_rarely_get_a_winner_and_a_large_effect_is_found(
    bench: ModuleType, table: Path
) -> None:
    planted = _helper(bench, "planted_effects")
    (pair,) = bench.load_tables(str(table))
    figures = planted.run_planted(pair.sizes[:1], draws=60, deltas=(0.0, 0.05), decision_draws=500)
    for procedure in ("fixed 5", "sequential"):
        a_a, effect = figures["rates"][procedure]["0"], figures["rates"][procedure]["0.05"]
        assert a_a["draws"] == effect["draws"] == 60
        assert a_a["false_winners"] <= 15.0, procedure  # the 5% goal, with 60 draws' slack
        assert effect["power"] >= 90.0 and effect["wrong_winners"] == 0.0, procedure
    sequential = figures["rates"]["sequential"]
    # Sequential confirmation stops once the answer is reached: a clear effect needs no more
    # than the 3 seeds it starts from (half of a 5-seed confirmation of every cell).
    assert sequential["0.05"]["confirmation_pct"] == pytest.approx(50.0, abs=5)
    assert 50.0 <= sequential["0"]["confirmation_pct"] <= 100.0
    # Today's tie rule calls one-seed rows separable from anything: A/A tables get winners.
    assert figures["old_rule"]["fixed 3"]["0"]["false_winners"] > 2 * sequential["0"]["false_winners"]


def test_a_one_seed_study_names_false_winners_where_the_gap_is_small(
    bench: ModuleType, tmp_path: Path
) -> None:
    references = _helper(bench, "reference_answers")
    close = bench.synthetic_rows("close", (0.1,), best="local", high=0.515, low=0.5, noise=0.01, epochs=8)
    far = bench.synthetic_rows("far", (0.1,), best="local", high=0.8, low=0.5, noise=0.01, epochs=8)
    rates = {}
    for name, rows in (("close", close), ("far", far)):
        (pair,) = bench.load_tables(str(bench.write_synthetic(tmp_path / f"{name}.parquet", rows)))
        (size,) = pair.sizes
        assert size.truth.right_dev == {"local"}
        rates[name] = references.one_seed_false_winners(size, draws=2000)
    assert rates["far"]["false_dev"] == 0.0
    assert rates["close"]["false_dev"] > 5.0


def test_replays_decide_for_local_and_asha_costs_less_than_fifo(bench: ModuleType, table: Path) -> None:
    (pair,) = bench.load_tables(str(table))
    settings = bench.Settings(budget=12, workers=4, top_k=1, decision_draws=500)
    epochs = {}
    for method in ("tpe+asha", "tpe+fifo"):
        replays = [bench.replay(method, seed, pair.sizes, settings) for seed in range(3)]
        sizes = [s for r in replays for s in r["sizes"]]
        assert all(r["missing"] == 0 and not r["stalled"] for r in replays)  # proposals are grid points
        answers = [s["answer"] for s in sizes]
        assert sum(a["cell"] == "local" for a in answers) >= len(answers) - 1, [a["cell"] for a in answers]
        assert sum(a["verdict"] == "winner" and a["claimed"] == "local" for a in answers) >= len(answers) - 1
        assert all(a["regret"] < 0.05 for a in answers if a["cell"] == "local")
        assert all(s["todays_rule"]["cell"] == "local" for s in sizes)
        # Each cell's top configuration ran again with seeds 1 and 2 (and no held-out seed).
        assert all(s["n_seeds"] == 3 for s in sizes)
        epochs[method] = sum(r["epochs"] for r in replays)
        assert all(0 < r["epochs"] < r["exhaustive_epochs"] for r in replays)
    assert epochs["tpe+fifo"] > epochs["tpe+asha"]


def test_a_table_of_another_space_is_replayed_in_that_space(bench: ModuleType, tmp_path: Path) -> None:
    # The thesis's grid (48 configurations, its own fixed settings): the table's provenance names
    # the space, and the replay's searcher proposes from it, so every proposal is a grid point.
    rows = bench.synthetic_rows("thesis-toy", (0.1,), best="global", epochs=8, space="thesis")
    (pair,) = bench.load_tables(str(bench.write_synthetic(tmp_path / "thesis.parquet", rows, space="thesis")))
    assert pair.space == "thesis" and len(pair.sizes[0].configs) == 48
    for method in ("tpe+asha-notransfer", "old"):
        result = bench.replay(method, 0, pair.sizes, bench.Settings(budget=12, decision_draws=200))
        assert result["missing"] == 0 and not result["stalled"], method
        assert result["sizes"][0]["answer"]["cell"] == "global", method


def test_proposals_the_table_lacks_are_errors_and_counted(bench: ModuleType, tmp_path: Path) -> None:
    rows = bench.synthetic_rows("mlp-only", (0.1,), architectures=["two-phase"], epochs=10)
    path = bench.write_synthetic(tmp_path / "mlp.parquet", rows)
    (pair,) = bench.load_tables(str(path))
    mlp = [c for c in _grid() if c["architecture"] == "two-phase"]
    assert 0 < len(pair.sizes[0].configs) == len(mlp) < len(_grid())  # the two-phase configurations only
    result = bench.replay("random", 0, pair.sizes, bench.Settings(budget=12, decision_draws=200))
    assert result["missing"] > 0  # tfidf-linear proposals: not in this table
    assert not result["stalled"]
    assert result["trials"] + result["missing"] <= 12 + 4 * 2


def test_incomplete_sizes_are_skipped(bench: ModuleType, tmp_path: Path) -> None:
    rows = bench.synthetic_rows("partial", (0.1, 1.0), epochs=8)
    rows = [r for r in rows if not (r["in_domain_size"] == 1.0 and r["seed"] == 2)]
    (pair,) = bench.load_tables(str(bench.write_synthetic(tmp_path / "partial.parquet", rows)))
    assert [t.size for t in pair.sizes] == [0.1]
    assert pair.skipped and pair.skipped[0].startswith("1 ")


def _run(
    bench: ModuleType, tables: Path, held_out: Path, json_out: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[list[str], dict[str, Any]]:
    code = bench.main(
        [
            "--tables", str(tables), "--held-out", str(held_out), "--replays", "2", "--budget", "8",
            "--processes", "1", "--methods", "old,tpe+asha", "--default", "tpe+asha",
            "--planted-draws", "4", "--json", str(json_out),
        ]
    )  # fmt: skip
    assert code == 0
    return capsys.readouterr().out.strip().splitlines(), json.loads(json_out.read_text())


def test_the_command_scores_against_held_out_seeds_and_ends_with_one_line(
    bench: ModuleType, table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    held = bench.synthetic_rows("toy", (0.1,), seeds=HELD_OUT, best="local", epochs=8, rng_seed=5)
    path = bench.write_synthetic(tmp_path / "held.parquet", held)
    lines, figures = _run(bench, table, path, tmp_path / "figures.json", capsys)
    last = LAST_LINE.fullmatch(lines[-1])
    assert last is not None, lines[-1]
    assert float(last["P"]) == 100.0 and float(last["C"]) > 0
    assert lines[-2].startswith("regret (tpe+asha): in-sample dev mean ")
    assert any("size 1: 63 configurations" in line and "no held-out truth" in line for line in lines)
    assert any("always baseline" in line for line in lines) and any(
        "old (emulated)" in line for line in lines
    )
    assert any(line.strip().startswith("learning curve: mean absolute error") for line in lines)
    assert set(figures["answers"]) >= {"old", "tpe+asha", "today's rule", "always local", "uniform random"}
    assert figures["baselines"]["held_out_sizes"] == [["toy", 0.1]]
    assert figures["answers"]["always baseline"]["P_held_out_dev"] == 0.0
    assert figures["mechanics"]["tpe+asha"]["missing_per_replay"] == 0  # grid points only
    assert len(figures["replays"]) == 2 * 2
    assert figures["planted"]["rates"]["sequential"]["0.02"]["draws"] == 4 * 2  # 2 sizes
    assert figures["overall"]["P"] == float(last["P"])
    # always local is as right as the search: the run says it cannot tell them apart
    assert last["K"] == "local" and float(last["KP"]) == 100.0
    assert figures["overall"]["discriminates"] is False and figures["overall"]["lift_dev"] == 0.0
    assert lines[-3].startswith("WARNING: this run cannot fail: always local is right at every held-out size")


def test_an_answer_the_held_out_seeds_contradict_scores_zero(
    bench: ModuleType, table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The held-out seeds say mixed: what the replays found on seeds 0-2 (local) is wrong there.
    held = bench.synthetic_rows("toy", (0.1, 1.0), seeds=HELD_OUT, best="mixed", epochs=8, rng_seed=6)
    path = bench.write_synthetic(tmp_path / "held.parquet", held)
    lines, figures = _run(bench, table, path, tmp_path / "figures.json", capsys)
    default = figures["answers"]["tpe+asha"]
    assert default["P_in_sample"] == 100.0
    assert default["P_held_out_dev"] == default["P_held_out_test"] == 0.0
    assert default["wrong_claims"] == 100.0 and default["test_regret_mean"] > 0.2
    assert figures["answers"]["always mixed"]["P_held_out_dev"] == 100.0
    last = LAST_LINE.fullmatch(lines[-1])
    assert last is not None and last["P"] == "0.0" and last["K"] == "mixed"
    assert lines[-3].startswith("WARNING: this run cannot fail: always mixed is right")


def test_where_no_constant_is_right_everywhere_the_run_can_fail_and_the_search_beats_it(
    bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main = bench.write_synthetic(tmp_path / "main.parquet", _shifting(bench, (0, 1, 2), 0))
    held = bench.write_synthetic(tmp_path / "held.parquet", _shifting(bench, HELD_OUT, 10))
    lines, figures = _run(bench, main, held, tmp_path / "figures.json", capsys)
    assert not any(line.startswith("WARNING") for line in lines)
    overall = figures["overall"]
    assert overall["discriminates"] is True and overall["non_trivial_dev_sizes"] == 1
    assert overall["best_constant_dev"] == pytest.approx(200 / 3)  # always local: wrong at 1.0
    assert overall["P"] == 100.0 and overall["lift_dev"] == pytest.approx(100 / 3)
    assert figures["answers"]["tpe+asha"]["P_non_trivial_dev"] == 100.0
