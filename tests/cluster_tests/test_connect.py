"""The embedded local Ray: token authentication with a per-run token, nothing in ~/.ray. Runs in
a fresh interpreter (the test session's Ray must not answer)."""

from __future__ import annotations

import contextlib
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
from ray import tune  # imported before connecting, as search.driver.sweep does
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


PRIVATE_PROBE = """
import json, ray
from cluster.connect import connect
connect(num_cpus=1)
print(json.dumps({"gcs": ray.get_runtime_context().gcs_address, "resources": ray.cluster_resources()}))
"""


def test_the_embedded_ray_is_its_own_beside_a_ray_start_instance(tmp_path: Path) -> None:
    """Without --address, a sweep never joins (or takes the resources of) a Ray that someone
    started with `ray start` on the same machine — Ray's own default would join the latest one."""
    import secrets
    import signal
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    temp = f"/tmp/rs-start-{os.getpid()}"
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "RAY_AUTH_TOKEN": secrets.token_hex(32),
    }
    started = subprocess.run(
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", f"--port={port}", "--num-cpus=1",
         "--resources", '{"SOMEONE_ELSES": 1}', f"--temp-dir={temp}", "--include-dashboard=false",
         "--disable-usage-stats"],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )  # fmt: skip
    try:
        assert started.returncode == 0, started.stderr[-3000:]
        run = subprocess.run(
            [sys.executable, "-c", PRIVATE_PROBE],
            capture_output=True,
            text=True,
            # The same Ray temp folder: where `ray start` notes its address for Ray to join.
            env={**env, "RESWEEP_RAY_TEMP_DIR": temp},
            timeout=300,
            check=False,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stderr[-3000:]
        probe = json.loads(run.stdout.strip().splitlines()[-1])
        assert not probe["gcs"].endswith(f":{port}")
        assert "SOMEONE_ELSES" not in probe["resources"] and "TRAIN_DRIVER" in probe["resources"]
    finally:
        # `ray stop` would stop every Ray on the machine (the test session's too): only this one.
        found = subprocess.run(["pgrep", "-f", temp], capture_output=True, text=True, check=False)
        for pid in found.stdout.split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        time.sleep(1)
