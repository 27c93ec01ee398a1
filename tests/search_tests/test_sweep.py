"""An end-to-end smoke sweep through the real CLI on a tiny random BERT (slow: starts Ray)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from search.results import RESULT_SCHEMA

pytestmark = pytest.mark.slow


def test_smoke_sweep_through_the_cli(tmp_path: Path) -> None:
    from trainables.testing import build_tiny_bert

    encoder = build_tiny_bert(tmp_path / "tiny")
    config = tmp_path / "smoke.yaml"
    config.write_text(f"""name: smoke
data:
  in_domain: synthetic
  ood: synthetic_ood
  sizes: [0.1, 0.3]
search:
  space: demo-smoke
  budget: 3
  max_concurrent: 2
resources:
  cpus: 1
encoder: {encoder}
storage: {tmp_path / "results"}
trial:
  max_length: 40
""")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "RESWEEP_CACHE_DIR": str(tmp_path / "cache")}
    run = subprocess.run(
        [sys.executable, "-m", "search.cli", "sweep", str(config), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "best configuration per in-domain size" in run.stdout

    sweep = tmp_path / "results" / "smoke"
    table = pq.read_table(sweep / "results" / "results.parquet")
    assert table.schema.equals(RESULT_SCHEMA, check_metadata=False)
    assert table.num_rows == 6  # budget x sizes
    rows = table.to_pylist()
    assert {r["in_domain_size"] for r in rows} == {0.1, 0.3}
    assert all(r["status"] == "finished" and 0 <= r["dev_f1_weighted"] <= 1 for r in rows)
    assert all(r["in_domain_pct"] in (10.0, 30.0) and r["architecture"] == "two-phase" for r in rows)
    assert len({r["trial_name"] for r in rows}) == 6
    assert (sweep / "optuna.db").is_file() and (sweep / "sweep.yaml").is_file()
    assert len(list((sweep / "artifacts").glob("phase1-*/COMPLETE"))) == 1  # one artifact for all sizes

    # The Optuna studies are real, one per size, queryable with Optuna itself.
    import optuna

    studies = optuna.get_all_study_summaries(f"sqlite:///{sweep / 'optuna.db'}")
    assert sorted(s.study_name for s in studies) == ["smoke-id0.1", "smoke-id0.3"]
    assert all(s.n_trials == 3 for s in studies)

    status = subprocess.run(
        [sys.executable, "-m", "search.cli", "status", "smoke", "--storage", str(tmp_path / "results")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert status.returncode == 0 and "3/3" in status.stdout
