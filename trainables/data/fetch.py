"""Downloading a registered dataset's public copy: checksum-verified, written atomically.

Only :func:`fetch_dataset` (``resweep data fetch NAME``) downloads; loading never does.
"""

from __future__ import annotations

import hashlib
import http.client
import urllib.error
import urllib.request
from pathlib import Path

from cluster.storage import atomic_file, cache_dir

from .datasets import DATASETS, _file_sha256
from .errors import DataError

__all__ = ["fetch_dataset"]


def _download(url: str, target: Path, sha256: str, timeout: float) -> None:
    """Download ``url`` to ``target`` via a temporary file; keep it only if the checksum matches."""
    digest = hashlib.sha256()
    try:
        with atomic_file(target, suffix=".part") as temporary:
            with open(temporary, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
                expected = response.headers.get("Content-Length")
                size = 0
                while chunk := response.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
            if expected is not None and size != int(expected):
                raise DataError.at(url, f"download ended early ({size} of {expected} bytes)")
            if digest.hexdigest() != sha256:
                raise DataError.at(
                    url, f"checksum mismatch: got sha256 {digest.hexdigest()}, expected {sha256}"
                )
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as err:
        if isinstance(err, DataError):
            raise
        reason = getattr(err, "reason", None) or err
        raise DataError.at(url, f"download failed: {reason}") from None


def fetch_dataset(
    name: str, *, root: str | Path | None = None, timeout: float = 60.0, force: bool = False
) -> Path:
    """Download a named dataset's public copy (checksum-verified, atomic) and return its folder.

    Files already present with the right checksum are kept; the rest are (re)downloaded.
    """
    spec = DATASETS.get(name)
    if spec.generator is not None:
        raise DataError.at(name, "is generated locally; there is nothing to fetch")
    if not spec.remote:
        raise DataError.at(name, "has no public download; place its files yourself and pass the folder")
    folder = Path(root) if root is not None else cache_dir() / "datasets" / spec.name
    for relative, remote in spec.remote.items():
        target = folder / relative
        if target.is_file() and not force and _file_sha256(target) == remote.sha256:
            continue
        _download(remote.url, target, remote.sha256, timeout)
    return folder
