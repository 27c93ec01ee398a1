"""Sweeps on a real multi-node Ray cluster on this machine (``ray.cluster_utils.Cluster``: a head
and worker nodes, each its own raylet): trials spread over nodes, and a sweep survives losing a
node. Run alone with ``pytest -m cluster``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

SCRIPT = Path(__file__).with_name("multinode_sweep.py")
ROOT = Path(__file__).resolve().parents[2]


def run_multinode(
    tmp_path: Path,
    name: str,
    workers: int,
    budget: int,
    epochs: int,
    remove_after: int | None = None,
    storage: str = "",
    node_cache: Path | None = None,
    plain: bool = False,
    resources: str = "",
) -> dict[str, Any]:
    from trainables.testing import build_tiny_bert, write_small_corpora

    encoder = build_tiny_bert(tmp_path / "tiny")
    # Few records: every record's phase-1 features are computed once per sweep, and on two shared
    # cores that must take seconds.
    in_domain, ood = write_small_corpora(tmp_path, train_per_label=16, test_per_label=4)
    config = tmp_path / f"{name}.yaml"
    config.write_text(f"""name: {name}
data:
  in_domain: {in_domain}
  ood: {ood}
  sizes: [0.5]
search:
  space: demo-smoke
  budget: {budget}
  scheduler: fifo
  confirm_top_k: 0
  floor: false
encoder: {encoder}
{resources}
storage: "{storage or tmp_path / "results"}"
trial:
  max_length: 40
  max_epochs: {epochs}
  patience: {epochs}
""")
    out = tmp_path / "out.json"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "RESWEEP_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    run = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            str(config),
            str(out),
            str(workers),
            *(["--remove-after-epochs", str(remove_after)] if remove_after else []),
            *(["--node-cache", str(node_cache)] if node_cache else []),
            *(["--plain"] if plain else []),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
        check=False,
        cwd=tmp_path,  # not the repository: workers import resweep from what the driver ships
    )
    assert run.returncode == 0, run.stderr[-4000:]
    result: dict[str, Any] = json.loads(out.read_text())
    return result


@pytest.mark.s3
def test_sweep_trials_spread_over_the_nodes_of_a_cluster_sharing_object_storage(
    tmp_path: Path, s3_storage: str
) -> None:
    """Storage in S3 and a cache folder per node, as on separate machines: the nodes share the
    sweep only through the object store (the phase-1 artifact too: built once, then copied)."""
    from cluster.storage import Location
    from trainables.artifacts import builds

    caches = tmp_path / "nodes"
    result = run_multinode(
        tmp_path, "spread", workers=3, budget=6, epochs=3, storage=s3_storage, node_cache=caches
    )
    rows = result["rows"]
    assert len(rows) == 6 and all(row["status"] == "finished" for row in rows)
    nodes = {row["node_id"] for row in rows}
    assert nodes <= set(result["workers"])  # never on the head (it has no CPUs)
    assert len(nodes) > 1, nodes
    artifacts = Location.parse(s3_storage) / "spread" / "artifacts"
    (built,) = builds(artifacts)  # the one artifact all trials share, built by one node
    copies = [p for p in caches.glob("node-*/storage/artifacts/*/*") if (p / "COMPLETE").is_file()]
    assert len(copies) == len(nodes), copies  # each node that ran a trial has its own copy
    assert all(c.name == built[2] for c in copies)


def test_sweep_survives_losing_a_node_and_resumes_its_trial_from_a_checkpoint(tmp_path: Path) -> None:
    result = run_multinode(tmp_path, "loss", workers=3, budget=4, epochs=150, remove_after=3)
    removed = result["removed"]
    assert removed, "the watcher never saw every worker node run a trial with 3 checkpoints"
    rows = result["rows"]
    assert len(rows) == 4 and all(row["status"] == "finished" for row in rows)  # the budget, nothing lost
    assert all(row["epochs_run"] in (150, 300) for row in rows)  # one stage, or two (global, local)
    resumed = [row for row in rows if row["resumed_from_epoch"]]
    assert resumed, "no trial continued from a checkpoint after its node was removed"
    for row in resumed:
        assert row["node_id"] != removed["node_id"]  # it finished elsewhere
        assert 1 <= row["resumed_from_epoch"] < row["epochs_run"]


def test_data_parallel_trials_on_a_plain_ray_start_cluster(tmp_path: Path) -> None:
    """A cluster started with plain `ray start` has no TRAIN_DRIVER resource: two-worker Train
    trials still run (their drivers ask for nothing), spread over the nodes' CPUs."""
    result = run_multinode(
        tmp_path, "plain", workers=2, budget=4, epochs=2, plain=True, resources="resources:\n  workers: 2"
    )
    rows = result["rows"]
    assert len(rows) == 4 and all(row["status"] == "finished" for row in rows)
    assert all(row["workers"] == 2 for row in rows)
