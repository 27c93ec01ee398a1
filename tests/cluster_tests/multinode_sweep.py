"""Run a sweep on a real multi-node Ray cluster built on this machine, optionally removing a worker
node while one of its trials runs. Run as a script by ``test_multinode.py`` (a separate process:
the test session's own local Ray must not be the one the sweep joins)::

    python multinode_sweep.py CONFIG OUT_JSON WORKERS [--remove-after-epochs N] [--node-cache DIR]
                              [--plain]

The head node has no CPUs (it hosts the sweep driver only), each worker node one CPU, so trials
must spread over the workers. With ``--remove-after-epochs`` a watcher reads the trials' live
checkpoint folders and removes a worker node once every worker runs a trial that has N
checkpoints and is mid-run. With ``--node-cache``, worker node i has ``DIR/node-i`` as its
resweep cache folder (``RESWEEP_CACHE_DIR``): the local copies it keeps of an object store's
artifacts are its own, as on separate machines. With ``--plain`` the head has no
``TRAIN_DRIVER`` resource, as a cluster started with a plain ``ray start``. OUT_JSON gets the
node ids of the workers, the
removed one, and the result rows.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Any


def epochs_checkpointed(trial: Path) -> int:
    """How many epochs ``trial`` has checkpointed: its newest checkpoint's index plus one (the sweep
    deletes the older ones, so the folders present are not a count)."""
    indices = [int(c.name[11:]) for c in trial.glob("checkpoint_*") if c.name[11:].isdigit()]
    return max(indices) + 1 if indices else 0


def watch_and_remove(
    cluster: Any, workers: list[Any], trials: Path, epochs: int, below: int, removed: dict[str, Any]
) -> None:
    """Remove a worker node once every worker node runs a trial that has ``epochs`` checkpoints
    and is still mid-run (fewer than ``below`` checkpoints: short of its last epochs).

    Tune writes a trial's checkpoint folders as the trial reports (its result files are written
    later, in batches), and each worker node has one CPU, so it runs one trial at a time: when as
    many mid-run trials as workers have checkpoints, whichever node goes hosts one of them.
    """
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        counts = [epochs_checkpointed(trial) for trial in trials.glob("sweep_trial_*")]
        mid_run = [n for n in counts if epochs <= n < below]
        if len(mid_run) >= len(workers):
            victim = workers[-1]
            removed.update(node_id=victim.node_id, checkpoints=sorted(mid_run))
            cluster.remove_node(victim)
            return
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("out")
    parser.add_argument("workers", type=int)
    parser.add_argument("--remove-after-epochs", type=int)
    parser.add_argument("--node-cache", type=Path)
    parser.add_argument("--plain", action="store_true", help="no TRAIN_DRIVER resource (a plain `ray start`)")
    args = parser.parse_args()

    # Like the embedded local Ray: token auth with a token made for this run, nothing in ~/.ray.
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    from ray.cluster_utils import Cluster

    from search.config import load_sweep_config
    from search.driver.sweep import run_sweep
    from search.plan import SweepPaths

    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            **({} if args.plain else {"resources": {"TRAIN_DRIVER": 8}}),
            "include_dashboard": False,
        },
    )
    caches = [args.node_cache / f"node-{i}" if args.node_cache else None for i in range(args.workers)]
    workers = [
        cluster.add_node(num_cpus=1, **({"env_vars": {"RESWEEP_CACHE_DIR": str(c)}} if c else {}))
        for c in caches
    ]
    cluster.wait_for_nodes()
    config = load_sweep_config(args.config)
    removed: dict[str, Any] = {}
    if args.remove_after_epochs:
        trials = SweepPaths.of(config.storage, config.name).tune.local
        # A trial runs at least max_epochs (one stage); ten short of that it is surely mid-run.
        below = int(config.trial["max_epochs"]) - 10
        watcher = threading.Thread(
            target=watch_and_remove,
            args=(cluster, workers, trials, args.remove_after_epochs, below, removed),
            daemon=True,
        )
        watcher.start()
    try:
        table = run_sweep(config, address=cluster.address, verbose=0)
    finally:
        import ray

        ray.shutdown()
        cluster.shutdown()
    rows = [{k: v for k, v in row.items() if k != "finished_at"} for row in table.to_pylist()]
    Path(args.out).write_text(
        json.dumps({"workers": [n.node_id for n in workers], "removed": removed, "rows": rows}, default=str)
    )


if __name__ == "__main__":
    main()
