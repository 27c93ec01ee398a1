"""Tiny random BERTs for trainables tests: built locally from a config, never downloaded."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
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


def _stratified_head(table: pa.Table, per_label: int) -> pa.Table:
    labels = table["label"].to_pylist()
    seen: dict[str, int] = {}
    rows = []
    for row, label in enumerate(labels):
        if seen.get(label, 0) < per_label:
            seen[label] = seen.get(label, 0) + 1
            rows.append(row)
    return table.take(rows)


@pytest.fixture(scope="session")
def tiny_corpora(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Folders of Parquet splits holding a few records per label of the synthetic in-domain and
    OOD corpora (train 8, test 2 per label): for tests that run whole trials many times."""
    import pyarrow.parquet as pq

    from trainables.data.datasets import load_dataset

    folders = []
    for name in ("synthetic", "synthetic_ood"):
        folder = tmp_path_factory.mktemp(name)
        dataset = load_dataset(name)
        for split, per_label in (("train", 8), ("test", 2)):
            pq.write_table(_stratified_head(dataset[split], per_label), folder / f"{split}.parquet")
        folders.append(str(folder))
    return folders[0], folders[1]
