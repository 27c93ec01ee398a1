"""bench/thesis_findings.py: the thesis's claims tested on the ground-truth tables. The committed
page must be what the committed tables give, and the claims' tests must find effects that are
there (and only those) on synthetic tables whose truth is known."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def findings() -> ModuleType:
    name = "_resweep_bench_thesis_findings"
    spec = importlib.util.spec_from_file_location(name, BENCH / "thesis_findings.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_the_committed_page_is_what_the_committed_tables_give(findings: ModuleType) -> None:
    page = findings.PAGE
    assert page.is_file(), "docs/thesis-findings.md is missing: run python bench/thesis_findings.py"
    assert page.read_text() == findings.build(), (
        "docs/thesis-findings.md is stale: the tables changed; run python bench/thesis_findings.py"
    )


def _tables(findings: ModuleType, tmp_path: Path, best: str) -> list:
    import ground_truth_tables as gt

    rows = gt.synthetic_rows(
        "toy", (0.1, 1.0), seeds=(0, 1, 2, 3, 4), best=best, high=0.8, low=0.5, noise=0.01
    )
    path = gt.write_synthetic(tmp_path / "toy.parquet", rows)
    (pair,) = gt.load_tables(str(path), seeds=(0, 1, 2, 3, 4))
    return pair.sizes


def test_a_strategy_that_is_best_holds_and_one_that_is_not_is_reversed(
    findings: ModuleType, tmp_path: Path
) -> None:
    small, full = _tables(findings, tmp_path, best="local")
    local = findings.strategy_claim(small, "local")
    assert local["effect"] == pytest.approx(0.3, abs=0.02) and local["low"] > 0
    assert findings._held(local) == "holds"
    glob = findings.strategy_claim(full, "global")
    assert glob["rival"] == "local" and glob["high"] < 0 and findings._held(glob) == "reversed"


def test_no_imbalance_or_ood_effect_is_claimed_where_none_was_planted(
    findings: ModuleType, tmp_path: Path
) -> None:
    # The synthetic rows' scores depend on the strategy and a per-configuration offset of a few
    # thousandths (its index in the grid), never on the technique as such.
    sizes = _tables(findings, tmp_path, best="local")
    imbalance = findings.imbalance_claim(sizes)[""]
    assert abs(imbalance["effect"]) < 0.01 and imbalance["pairs"] > 0
    ood = findings.ood_claim(sizes)
    assert ood is not None and ood["groups"] > 0 and ood["rms_shift"] < 0.01
