"""bench/search_correctness.py: resweep's searcher and scheduler replayed against a ground-truth
table, here a tiny synthetic one where ``local`` is clearly best."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "search_correctness.py"


def _grid() -> list[dict[str, Any]]:
    from spaces import get_space

    return get_space("ground-truth").grid() or []


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    name = "_resweep_bench_search_correctness"
    spec = importlib.util.spec_from_file_location(name, BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses (and pickling) look the module up by name
    spec.loader.exec_module(module)
    module._quiet()
    return module


@pytest.fixture(scope="module")
def table(bench: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 1 pair, 2 sizes, the real grid's configurations x 3 seeds; local plateaus at 0.8,
    # everything else at 0.5; curves of about 12 epochs (past ASHA's first rung at 8).
    rows = bench.synthetic_rows("toy", (0.1, 1.0), best="local", high=0.8, low=0.5, epochs=12, noise=0.005)
    return bench.write_synthetic(tmp_path_factory.mktemp("gt") / "toy.parquet", rows)


def test_the_truth_has_a_non_trivial_tie_set(bench: ModuleType, table: Path) -> None:
    (pair,) = bench.load_tables(str(table))
    assert pair.pair == "toy"
    assert [t.size for t in pair.sizes] == [0.1, 1.0]
    assert pair.skipped == []
    for size in pair.sizes:
        assert len(size.configs) == len(_grid())
        assert size.truth.tie_sets[0.0] == {"local"}
        assert size.truth.strategies == {"baseline", "mixed", "global", "local"}
        assert size.truth.non_trivial()
        assert size.truth.means[size.truth.winner] == pytest.approx(size.truth.winner_mean)


def test_replays_recommend_local_and_asha_costs_less_than_fifo(bench: ModuleType, table: Path) -> None:
    (pair,) = bench.load_tables(str(table))
    settings = bench.Settings(budget=12, workers=4, top_k=1)
    epochs = {}
    for method in ("tpe+asha", "tpe+fifo"):
        replays = [bench.replay(method, seed, pair.sizes, settings) for seed in range(3)]
        sizes = [s for r in replays for s in r["sizes"]]
        assert all(r["missing"] == 0 and not r["stalled"] for r in replays)  # proposals are grid points
        local = sum(s["strategy"] == "local" for s in sizes)
        assert local >= len(sizes) - 1, [s["strategy"] for s in sizes]
        assert all(s["regret"] is not None and s["regret"] < 0.05 for s in sizes if s["strategy"] == "local")
        # Each cell's top configuration ran again with seeds 1 and 2: the recommendation has 3.
        assert all(s["n_seeds"] == 3 for s in sizes)
        epochs[method] = sum(r["epochs"] for r in replays)
        assert all(0 < r["epochs"] < r["exhaustive_epochs"] for r in replays)
    assert epochs["tpe+fifo"] > epochs["tpe+asha"]


def test_proposals_the_table_lacks_are_errors_and_counted(bench: ModuleType, tmp_path: Path) -> None:
    rows = bench.synthetic_rows("mlp-only", (0.1,), architectures=["two-phase"], epochs=10)
    path = bench.write_synthetic(tmp_path / "mlp.parquet", rows)
    (pair,) = bench.load_tables(str(path))
    mlp = [c for c in _grid() if c["architecture"] == "two-phase"]
    assert 0 < len(pair.sizes[0].configs) == len(mlp) < len(_grid())  # the two-phase configurations only
    result = bench.replay("random", 0, pair.sizes, bench.Settings(budget=12))
    assert result["missing"] > 0  # tfidf-linear proposals: not in this table
    assert not result["stalled"]
    assert result["trials"] + result["missing"] <= 12 + 4 * 2


def test_incomplete_sizes_are_skipped(bench: ModuleType, tmp_path: Path) -> None:
    rows = bench.synthetic_rows("partial", (0.1, 1.0), epochs=8)
    rows = [r for r in rows if not (r["in_domain_size"] == 1.0 and r["seed"] == 2)]
    (pair,) = bench.load_tables(str(bench.write_synthetic(tmp_path / "partial.parquet", rows)))
    assert [t.size for t in pair.sizes] == [0.1]
    assert pair.skipped and pair.skipped[0].startswith("1 ")


def test_the_command_prints_its_figures_and_one_last_line(
    bench: ModuleType, table: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures.json"
    code = bench.main(
        [
            "--tables", str(table), "--replays", "2", "--budget", "8", "--processes", "1",
            "--methods", "old,random,tpe+asha", "--default", "tpe+asha", "--json", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("overall: recommended strategy in the true tie set in ")
    assert lines[-1].endswith("% of the exhaustive cost")
    assert lines[-2].startswith("regret (tpe+asha): mean ")
    assert any("old (emulated)" in line for line in lines)
    assert any(line.strip().startswith("learning curve: mean absolute error") for line in lines)
    figures = json.loads(out.read_text())
    assert set(figures["overall"]) == {"old", "random", "tpe+asha"}
    assert all(m["missing_per_replay"] == 0 for m in figures["overall"].values())  # grid points only
    assert figures["pairs"]["toy"]["sizes"] == [0.1, 1.0]
    assert len(figures["replays"]) == 3 * 2
    assert figures["learning_curve"]["in_tie_pct"] == 100.0
