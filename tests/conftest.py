"""Shared test set-up: everything offline, every cache in a temporary folder."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from cluster.local_s3 import S3_CREDENTIALS

# Property tests draw the same examples on every run (CI included), so a pass here is a pass
# there; `HYPOTHESIS_PROFILE=explore pytest ...` draws fresh ones (and keeps failures locally).
hypothesis_settings.register_profile("fixed", derandomize=True, database=None)
hypothesis_settings.register_profile("explore")
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fixed"))

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
    trial drivers (a driver that took a CPU would starve its own Train workers). The environment
    it sets (which Ray's workers inherit) is put back when the session's Ray shuts down."""
    import tempfile

    import ray

    environment = pytest.MonkeyPatch()
    environment.setenv(
        "RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", os.environ.get("RAY_TRAIN_HEALTH_CHECK_INTERVAL_S", "0.2")
    )  # reaches the workers
    # Token auth as the embedded local Ray uses it: a token made for the session, passed in the
    # environment (nothing written to ~/.ray); CLI runs started by tests inherit it.
    environment.setenv("RAY_AUTH_TOKEN", os.environ.get("RAY_AUTH_TOKEN", secrets.token_hex(32)))
    temp = tempfile.mkdtemp(prefix="rs-ray-", dir="/tmp")  # short: Ray's socket paths have a limit
    # Ray workers keep the environment of ray.init: give them a cache of their own, not ~/.cache.
    environment.setenv("RESWEEP_CACHE_DIR", os.path.join(temp, "resweep-cache"))
    # The test S3 server's credentials, for trials that use it (and so no SDK looks for real ones).
    for name, value in S3_CREDENTIALS.items():
        environment.setenv(name, value)
    ray.init(
        address="local",  # its own: without it Ray joins an instance a `ray start` left running
        num_cpus=2,
        include_dashboard=False,
        resources={"TRAIN_DRIVER": 8},
        _temp_dir=temp,
        log_to_driver=False,
    )
    yield ray
    ray.shutdown()
    environment.undo()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server on 127.0.0.1 (moto's server mode), for the whole session."""
    from cluster.local_s3 import start_s3_server

    server, endpoint = start_s3_server()
    try:
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def s3_storage(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """``s3://<a new bucket>/sweeps?...`` on the test's S3 server, with credentials in the environment."""
    from cluster.local_s3 import s3_bucket

    for key, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    return s3_bucket(s3_endpoint, f"resweep-{secrets.token_hex(6)}", "sweeps")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`gpu`-marked tests need CUDA: skipped, saying so, where there is none."""
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs CUDA (a `gpu` test; none on this machine)")
        for item in gpu:
            item.add_marker(skip)
