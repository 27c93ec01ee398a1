"""Shared test set-up: everything offline, every cache in a temporary folder."""

from __future__ import annotations

import os
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
