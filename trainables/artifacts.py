"""Content-addressed artifacts computed once, also when many trials ask at the same moment.

An artifact lives in ``<root>/<key>/`` and is complete when ``<root>/<key>/COMPLETE`` exists.

On a local or shared (NFS) folder, the first process to need it takes an exclusive ``flock`` on
``<root>/<key>.lock`` and builds it in a temporary folder that is renamed into place; every other
process blocks on the same lock and then finds it complete. The lock dies with its process, so a
crashed builder never wedges the others, and a half-built temporary folder is never mistaken for
the artifact. ``flock`` works on a local disk and on NFS (Linux locks it through the NFS lock
manager).

In an object store (``s3://``, ``gs://``; :mod:`cluster.storage`) there are neither locks nor
renames. Each node keeps a local copy (built or downloaded under the same ``flock``, so the
trials of one node wait for one another), and nodes agree through a *lease* object
``<root>/<key>.lease``: the builder writes it, renews it while it works, uploads the artifact and
writes ``COMPLETE`` last; other nodes wait for ``COMPLETE`` and download. A lease not renewed for
:data:`LEASE_SECONDS` (its builder died) is taken over. Two nodes taking a free lease in the same
instant may both build (the same content, by construction of the key); the lease is read back
after a pause to make that window small.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cluster.storage import Location, atomic_folder, local_mirror

__all__ = [
    "LEASE_SECONDS",
    "BuildProgress",
    "artifact_key",
    "build_progress",
    "builds",
    "compute_once",
    "is_complete",
]

COMPLETE = "COMPLETE"
BUILD_LOG = "builds.log"  # local root: one line per event; object store: one object per event
LEASE_SECONDS = 300.0  # a lease older than this is a dead builder's
_RENEW_SECONDS = 30.0
_SETTLE_SECONDS = 1.0  # between writing a lease and reading it back
_POLL_SECONDS = 2.0

Root = str | Path | Location


def artifact_key(kind: str, fields: Mapping[str, Any]) -> str:
    """``<kind>-<sha256 of the canonical JSON of fields>`` (first 20 hex digits)."""
    canonical = json.dumps(fields, sort_keys=True, default=str)
    return f"{kind}-{hashlib.sha256(canonical.encode()).hexdigest()[:20]}"


def _log_build(root: Location, key: str, event: str) -> None:
    """Record which artifact was built, when, by which process (``builds`` reads it back)."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    line = f"{stamp}\t{event}\t{key}\t{socket.gethostname()}:{os.getpid()}\n"
    if root.local is not None:
        with open(root.local / BUILD_LOG, "a") as log:
            log.write(line)
    else:
        (root / BUILD_LOG / f"{stamp}-{key}-{event}-{uuid.uuid4().hex[:8]}").write_text(line)


def builds(root: Root, key: str | None = None) -> list[list[str]]:
    """The completed builds recorded under ``root`` (time, event, key, host:pid), optionally of one key."""
    location = Location.parse(root)
    log = location / BUILD_LOG
    if location.local is not None:
        lines = log.read_text().splitlines() if log.is_file() else []
    else:
        lines = [entry.read_text().rstrip("\n") for entry in log.children()]
    rows = [line.rstrip("\n").split("\t") for line in lines if line]
    return [row for row in rows if row[1] == "done" and (key is None or row[2] == key)]


class BuildProgress:
    """A sign of life from a long artifact build: ``<root>/progress/<key>.json`` says how many of
    ``total`` items (sentences) are done, rewritten at most every ``every`` seconds and removed
    when the build ends. The sweep's progress view and ``resweep status`` read it
    (:func:`build_progress`)."""

    def __init__(self, root: Root, key: str, what: str, total: int, every: float = 2.0):
        self.file = Location.parse(root) / "progress" / f"{key}.json"
        self.key, self.what, self.total, self.every = key, what, total, every
        self.started = time.time()
        self.written = 0.0
        self.done = 0

    def add(self, count: int) -> None:
        self.done += count
        now = time.time()
        if now - self.written >= self.every or self.done >= self.total:
            self.written = now
            record = {
                "key": self.key,
                "what": self.what,
                "done": self.done,
                "total": self.total,
                "started": self.started,
                "updated": now,
                "host": socket.gethostname(),
            }
            with contextlib.suppress(OSError):  # a sign of life is not worth failing a build over
                self.file.write_text(json.dumps(record))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.file.remove()


def build_progress(root: Root) -> list[dict[str, Any]]:
    """The artifact builds under ``root`` that are running now (see :class:`BuildProgress`)."""
    folder = Location.parse(root) / "progress"
    found = []
    try:
        entries = folder.children(".json")
    except OSError:
        return []
    for entry in entries:
        try:
            found.append(json.loads(entry.read_text()))
        except (OSError, ValueError):
            continue  # being rewritten, or removed meanwhile
    return found


def describe_build(record: Mapping[str, Any], now: float | None = None) -> str:
    """``phase-1 features: 12,000/29,000 sentences (41%), 38/s, about 7 min left``."""
    done, total = int(record["done"]), max(1, int(record["total"]))
    elapsed = max(1e-9, float(record["updated"]) - float(record["started"]))
    rate = done / elapsed
    text = f"{record['what']}: {done:,}/{total:,} sentences ({100 * done / total:.0f}%), {rate:.0f}/s"
    if rate > 0 and done < total:
        left = (total - done) / rate
        text += f", about {left / 60:.0f} min left" if left >= 90 else f", about {left:.0f} s left"
    return text


def is_complete(root: Root, key: str) -> bool:
    return (Location.parse(root) / key / COMPLETE).is_file()


def compute_once(
    root: Root, key: str, build: Callable[[Path], None], *, meta: Mapping[str, Any] | None = None
) -> Path:
    """The local folder of artifact ``key``, built by ``build(folder)`` if and only if nobody has yet.

    ``root`` is a folder or an object-store URI; for the latter the folder returned is this node's
    copy. ``meta`` is written to ``meta.json`` beside what ``build`` writes (what the key stands for).
    """
    location = Location.parse(root)

    def make(folder: Path) -> None:
        _log_build(location, key, "start")
        build(folder)
        if meta is not None:
            (folder / "meta.json").write_text(json.dumps(dict(meta), indent=1, sort_keys=True, default=str))
        _log_build(location, key, "done")

    if location.local is not None:
        return _once_here(location.local, key, make)
    cache = local_mirror(location, "artifacts")
    return _once_here(cache, key, lambda folder: _fetch_or_make(location, key, make, folder))


def _once_here(root: Path, key: str, produce: Callable[[Path], None]) -> Path:
    """``root/key``, filled by ``produce(folder)`` under an exclusive lock unless already complete."""
    final = root / key
    if (final / COMPLETE).is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # blocks while another process builds it
        try:
            if (final / COMPLETE).is_file():
                return final
            with atomic_folder(final) as temporary:  # replaces an incomplete leftover of a crash
                produce(temporary)
                (temporary / COMPLETE).write_text(f"pid {os.getpid()}\n")
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)
    return final


def _fetch_or_make(root: Location, key: str, make: Callable[[Path], None], folder: Path) -> None:
    """Fill ``folder`` with the artifact from the object store, making (``make(folder)``) and
    uploading it first if no node has (see the module docstring)."""
    remote = root / key
    lease = root / f"{key}.lease"
    while not (remote / COMPLETE).is_file():
        with _lease(lease) as held:
            if held and not (remote / COMPLETE).is_file():
                make(folder)
                remote.upload(folder)
                (remote / COMPLETE).write_text(f"{socket.gethostname()}:{os.getpid()}\n")
                return
        if not held:
            time.sleep(_POLL_SECONDS)  # another node builds it
    remote.download(folder)


@contextmanager
def _lease(lease: Location) -> Iterator[bool]:
    """Hold ``lease`` while the block runs (yields True), or yield False when a live builder does."""
    if _alive(lease):
        yield False
        return
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex}"
    lease.write_text(json.dumps({"holder": token, "renewed": time.time()}))
    time.sleep(_SETTLE_SECONDS)
    if _holder(lease) != token:  # someone else wrote it in the same instant: theirs
        yield False
        return
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(_RENEW_SECONDS):
            lease.write_text(json.dumps({"holder": token, "renewed": time.time()}))

    renewer = threading.Thread(target=renew, name="resweep-artifact-lease", daemon=True)
    renewer.start()
    try:
        yield True
    finally:
        stop.set()
        renewer.join()
        lease.remove()


def _read_lease(lease: Location) -> dict[str, Any] | None:
    try:
        return json.loads(lease.read_text())
    except (FileNotFoundError, ValueError):
        return None


def _holder(lease: Location) -> str | None:
    state = _read_lease(lease)
    return None if state is None else state.get("holder")


def _alive(lease: Location) -> bool:
    state = _read_lease(lease)
    return state is not None and time.time() - float(state.get("renewed", 0)) < LEASE_SECONDS
