"""Tiny random BERTs for trainables tests: built locally from a config, never downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-layer, hidden-32 random BERT whose word vocabulary covers the synthetic corpus (one
    token per word, so the tiny model can learn something in a few epochs)."""
    from trainables.testing import build_tiny_bert

    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny-bert")))


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"


@pytest.fixture(scope="session")
def tiny_corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The synthetic corpora cut to train 8 / test 2 records per label: for tests that run whole
    trials many times."""
    from trainables.testing import write_small_corpora

    in_domain, ood = write_small_corpora(tmp_path_factory.mktemp("corpora"))
    return str(in_domain), str(ood)
