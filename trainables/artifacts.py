"""Content-addressed artifacts computed once, also when many trials ask at the same moment.

An artifact lives in ``<root>/<key>/`` and is complete when ``<root>/<key>/COMPLETE`` exists. The
first process to need it takes an exclusive ``flock`` on ``<root>/<key>.lock`` and builds it in a
temporary folder that is renamed into place; every other process blocks on the same lock and then
finds it complete. The lock dies with its process, so a crashed builder never wedges the others,
and a half-built temporary folder is never mistaken for the artifact.

``flock`` works on a local disk and on NFS (Linux locks it through the NFS lock manager), which is
what a Ray cluster's shared storage is.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["artifact_key", "builds", "compute_once", "is_complete"]

COMPLETE = "COMPLETE"


def artifact_key(kind: str, fields: Mapping[str, Any]) -> str:
    """``<kind>-<sha256 of the canonical JSON of fields>`` (first 20 hex digits)."""
    canonical = json.dumps(fields, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(canonical.encode()).hexdigest()[:20]}"


BUILD_LOG = "builds.log"


def _log_build(root: Path, key: str, event: str) -> None:
    """Append to ``<root>/builds.log``: which artifact was built, when, by which process."""
    with open(root / BUILD_LOG, "a") as log:
        log.write(
            f"{time.strftime('%Y-%m-%dT%H:%M:%S')}\t{event}\t{key}\t{socket.gethostname()}:{os.getpid()}\n"
        )


def builds(root: Path, key: str | None = None) -> list[list[str]]:
    """The completed builds recorded in ``builds.log`` (time, event, key, host:pid), optionally of one key."""
    log = Path(root) / BUILD_LOG
    if not log.is_file():
        return []
    rows = [line.rstrip("\n").split("\t") for line in log.read_text().splitlines() if line]
    return [row for row in rows if row[1] == "done" and (key is None or row[2] == key)]


def is_complete(root: Path, key: str) -> bool:
    return (Path(root) / key / COMPLETE).is_file()


def compute_once(
    root: Path, key: str, build: Callable[[Path], None], *, meta: Mapping[str, Any] | None = None
) -> Path:
    """The folder of artifact ``key``, built by ``build(folder)`` if and only if nobody has yet.

    ``meta`` is written to ``meta.json`` beside what ``build`` writes (what the key stands for).
    """
    root = Path(root)
    final = root / key
    if is_complete(root, key):
        return final
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # blocks while another process builds it
        try:
            if is_complete(root, key):
                return final
            temporary = Path(tempfile.mkdtemp(dir=root, prefix=f".{key}.", suffix=".tmp"))
            try:
                _log_build(root, key, "start")
                build(temporary)
                if meta is not None:
                    (temporary / "meta.json").write_text(
                        json.dumps(dict(meta), indent=1, sort_keys=True, default=str)
                    )
                (temporary / COMPLETE).write_text(f"pid {os.getpid()}\n")
                if final.exists():  # an incomplete leftover from a crash before the rename
                    shutil.rmtree(final)
                os.replace(temporary, final)
                _log_build(root, key, "done")
            except BaseException:
                shutil.rmtree(temporary, ignore_errors=True)
                raise
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return final
