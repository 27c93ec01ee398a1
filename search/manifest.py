"""What a sweep ran with: one manifest per run (the first, each resume, each extension).

``<sweep>/manifests/<id>.json`` records the command line, resweep's version and git commit,
Python and the packages that decide results, the datasets' files with their SHA-256, the
machine, the Ray cluster and the config. Every results-store row names the manifest of the run
that wrote it (column ``manifest``), so any number can be traced to what produced it.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import socket
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["PACKAGES", "manifest", "write_manifest"]

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "resweep",
    "torch",
    "transformers",
    "ray",
    "optuna",
    "scikit-learn",
    "imbalanced-learn",
    "pyarrow",
    "numpy",
)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git() -> dict[str, Any] | None:
    """The commit of the checkout resweep runs from, and whether it has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None  # an installed package, not a checkout
    return {"commit": commit, "dirty": bool(status.strip())}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dataset(dataset: Any) -> dict[str, Any]:
    files = {}
    for split, name in sorted(dict(getattr(dataset, "files", {}) or {}).items()):
        path = Path(name)
        files[split] = {"path": str(path), "sha256": _sha256(path) if path.is_file() else None}
    return {
        "name": dataset.name,
        "source": dataset.source,
        "files": files,
        "records": {split: table.num_rows for split, table in dataset.splits.items()},
    }


def _gpus() -> list[str]:
    """This machine's GPUs, by name (``nvidia-smi -L``: importing torch here would cost the
    driver seconds at every start)."""
    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return []  # no NVIDIA driver
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def manifest(
    document: Mapping[str, Any],
    datasets: Mapping[str, Any],
    *,
    kind: str,
    cluster: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """The manifest of one run (``kind``: sweep, resume, extend) of the sweep ``document``."""
    return {
        "kind": kind,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
        "git": _git(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PACKAGES},
        "machine": {
            "host": socket.gethostname(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "gpus": _gpus(),
        },
        "cluster": dict(cluster or {}),
        "datasets": {key: _dataset(dataset) for key, dataset in datasets.items()},
        "config": dict(document),
    }


def write_manifest(folder: Any, record: Mapping[str, Any]) -> str:
    """Write ``record`` under ``folder`` (a :class:`cluster.storage.Location`) whole; its id."""
    stamp = str(record["at"]).replace("-", "").replace(":", "").replace("+0000", "Z").replace("+00:00", "Z")
    text = json.dumps(record, indent=1, sort_keys=True, default=str)
    name = f"{stamp}-{record['kind']}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    (folder / f"{name}.json").write_text(text)
    return name
