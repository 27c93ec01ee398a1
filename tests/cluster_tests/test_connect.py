"""The embedded local Ray: token authentication with a per-run token, nothing in ~/.ray. Runs in
a fresh interpreter (the test session's Ray must not answer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, ray
from ray import tune  # imported before connecting, as search.sweep does
from cluster.connect import connect
info = connect(num_cpus=1)

@ray.remote
def seen():
    return os.environ.get("RAY_AUTH_MODE")

print(json.dumps({"mode": ray.get(seen.remote()), "describe": info.describe()}))
"""


def test_embedded_ray_requires_a_token_it_never_writes_to_disk(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(
        HOME=str(tmp_path), PYTHONPATH=str(ROOT), RESWEEP_RAY_TEMP_DIR=f"/tmp/rs-connect-{os.getpid()}"
    )
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    probe = json.loads(run.stdout.strip().splitlines()[-1])
    assert probe["mode"] == "token"  # the workers run with token auth on
    assert probe["describe"] == "local Ray: 1 node, 1 CPUs, 0 GPUs"
    assert not (tmp_path / ".ray").exists()  # the token lived in the environment only
