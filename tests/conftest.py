"""Shared test set-up: everything offline, every cache in a temporary folder."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

# Nothing may reach a model hub from a test.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

FIXTURES = Path(__file__).parent / "trainables_tests" / "fixtures"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh resweep cache per test, and no user data folder."""
    cache = tmp_path_factory.mktemp("resweep-cache")
    monkeypatch.setenv("RESWEEP_CACHE_DIR", str(cache))
    monkeypatch.delenv("RESWEEP_DATA_DIR", raising=False)
    return cache


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def ray_session():  # type: ignore[no-untyped-def]
    """One local Ray for every `ray`-marked test: 2 CPUs, no dashboard, a custom resource for
    trial drivers (a driver that took a CPU would starve its own Train workers)."""
    import tempfile

    import ray

    os.environ.setdefault("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")  # reaches the workers
    # Token auth as the embedded local Ray uses it: a token made for the session, passed in the
    # environment (nothing written to ~/.ray); CLI runs started by tests inherit it.
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    temp = tempfile.mkdtemp(prefix="rs-ray-", dir="/tmp")  # short: Ray's socket paths have a limit
    # Ray workers keep the environment of ray.init: give them a cache of their own, not ~/.cache.
    os.environ["RESWEEP_CACHE_DIR"] = os.path.join(temp, "resweep-cache")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        resources={"TRAIN_DRIVER": 8},
        _temp_dir=temp,
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()
