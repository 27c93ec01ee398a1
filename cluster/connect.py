"""Connecting to Ray: an embedded local instance by default, an existing cluster when asked.

* No ``address`` and no ``$RAY_ADDRESS``: a private local Ray starts with this process. Its
  dashboard is off unless asked for, and then binds 127.0.0.1 (``dashboard_host`` to change).
  Ray's core services (GCS, raylet, object manager) listen on the node's address — on Linux Ray
  turns 127.0.0.1 into the reachable IP itself — so the embedded instance requires Ray's token
  authentication with a random token made for the session and passed to its processes in the
  environment: nothing is written to ``~/.ray``, and nobody else on the network can join it.
* ``address`` (``host:6379``, ``auto``) or ``$RAY_ADDRESS``: join that cluster.

How the code reaches the workers. resweep's dependencies (Ray, torch, transformers ...) are
installed on every node (the launcher's ``setup_commands`` or the KubeRay image, see
``cluster/``); resweep's *own* packages travel with each sweep as Ray ``py_modules``, so a worker
always runs the driver's exact code — no copying, no image rebuild per commit, and two sweeps of
different versions can share a cluster. Inside a submitted Ray job (``ray job submit
--working-dir .``) the job's working directory already carries the code and Ray refuses a second
runtime environment, so nothing is added there.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "ClusterInfo", "connect", "runtime_env"]

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("search", "trainables", "spaces", "cluster")  # resweep's own code, shipped per sweep
# Set for the driver of a submitted Ray job: its runtime environment is the job's.
JOB_ENV_VAR = "RAY_JOB_CONFIG_JSON_ENV_VAR"
# Reach every worker: offline model loading, and Train's health-check interval (see STACK.md).
FORWARDED_ENV = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S",
    "RESWEEP_DATA_DIR",
)


@dataclass(frozen=True)
class ClusterInfo:
    """What a sweep runs on: for the progress header and for sizing concurrency."""

    address: str  # "local" for the embedded instance
    nodes: int
    cpus: float
    gpus: float

    def describe(self) -> str:
        where = "local Ray" if self.address == "local" else f"Ray cluster at {self.address}"
        plural = "s" if self.nodes != 1 else ""
        return f"{where}: {self.nodes} node{plural}, {self.cpus:g} CPUs, {self.gpus:g} GPUs"


def runtime_env() -> dict[str, Any] | None:
    """The runtime environment a driver outside a Ray job gives the cluster's workers."""
    if os.environ.get(JOB_ENV_VAR):
        return None
    return {
        "py_modules": [str(ROOT / name) for name in PACKAGES],
        "excludes": ["__pycache__", "*.pyc"],
        "env_vars": {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ},
    }


def connect(
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    num_gpus: int | None = None,
    dashboard: bool = False,
    dashboard_host: str = "127.0.0.1",
    ship_code: bool = True,
) -> ClusterInfo:
    """Join ``address`` (or ``$RAY_ADDRESS``), else start the embedded local Ray; see the module
    docstring. Already connected: nothing changes. ``num_cpus``/``num_gpus`` size the local
    instance (default: what the machine has); ``ship_code=False`` relies on the code installed
    on the nodes instead of shipping it."""
    import ray

    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.5")
    address = address or os.environ.get("RAY_ADDRESS")
    if not ray.is_initialized():
        if address:
            ray.init(address=address, runtime_env=runtime_env() if ship_code else None, log_to_driver=False)
        else:
            if "RAY_AUTH_MODE" not in os.environ:  # the user's own choice wins
                # Ray then says token auth is on, on every run; that is resweep's choice, not news.
                logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(
                    logging.ERROR
                )
                # With a token in the environment Ray turns token mode on for the new instance
                # itself (also after `import ray`, unlike setting RAY_AUTH_MODE now) and reads
                # the token from there instead of writing one to ~/.ray/auth_token.
                os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
            ray.init(
                # A new instance of its own: without an address Ray would join the latest one
                # started with `ray start` on this machine (its documented default).
                address="local",
                num_cpus=num_cpus,
                num_gpus=num_gpus,
                include_dashboard=dashboard,
                dashboard_host=dashboard_host,
                # The trial drivers of `train` trials take this, not a CPU their workers need.
                resources={"TRAIN_DRIVER": 64},
                log_to_driver=False,
                _temp_dir=os.environ.get("RESWEEP_RAY_TEMP_DIR"),  # where its session files go
            )
    resources = ray.cluster_resources()
    nodes = sum(1 for node in ray.nodes() if node.get("Alive"))
    return ClusterInfo(address or "local", nodes, resources.get("CPU", 0.0), resources.get("GPU", 0.0))
