"""One driver per sweep: the lock ``resweep sweep``, ``resume`` and ``extend`` take.

A sweep has one writer of its studies, its Tune state and its results: the process driving it.
That process holds ``<sweep>/driver.lock`` (JSON: pid, host, start time, command) while it runs,
and a second driver is refused, naming the first. Guarantees:

* **Exclusive where the filesystem allows it.** On a local or shared folder the lock is written
  whole under a temporary name and hard-linked into place (``link`` fails when the lock exists),
  so two drivers starting together cannot both hold it and no reader sees a half-written lock.
  An object store has no exclusive create: there the lock is written, then read back (the last
  of two writers within the same moment wins).
* **A lock outlives no process on its own host.** A lock whose process has ended (killed, the
  machine restarted) is stale and is taken over: on the host that wrote it the process table
  says so (the pid, and its start time where ``/proc`` has it, so a reused pid does not count).
  From another host resweep cannot tell, and the refusal names the file to remove once that
  process has ended.
* **Released on the way out**, whatever ends the run (an error, Ctrl-C); only the holder's own
  lock is removed.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from cluster.storage import Location
from trainables.errors import ResweepError

__all__ = ["LOCK_FILE", "Holder", "SweepBusy", "check_free", "lock_holder", "sweep_lock"]

LOCK_FILE = "driver.lock"


class SweepBusy(ResweepError):
    """Another live process drives the sweep (the message names it)."""


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat`` field 22);
    None where there is no ``/proc``."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count after its end.
    fields = stat.rpartition(")")[2].split()
    return fields[19] if len(fields) > 19 else None


@dataclass(frozen=True)
class Holder:
    """The process a lock names."""

    pid: int
    host: str
    started: str  # ISO time the lock was taken
    command: str
    token: str  # tells this lock apart from a later one by the same process
    process_start: str | None = None  # see _process_start: a reused pid is another process

    @classmethod
    def me(cls) -> Holder:
        argv = [Path(sys.argv[0]).name or "python", *sys.argv[1:]] if sys.argv else ["python"]
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            started=datetime.now(UTC).isoformat(timespec="seconds"),
            command=shlex.join(argv),
            token=secrets.token_hex(8),
            process_start=_process_start(os.getpid()),
        )

    @property
    def here(self) -> bool:
        return self.host == socket.gethostname()

    def alive(self) -> bool:
        """False only when the process is known to have ended (on this host); a process on another
        host counts as alive."""
        if not self.here:
            return True
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # another user's process: it exists
            pass
        now = _process_start(self.pid)
        return self.process_start is None or now is None or now == self.process_start

    def describe(self) -> str:
        return f"process {self.pid} on {self.host} (since {self.started}: {self.command})"


def _read(lock: Location) -> Holder | None:
    """The lock's holder; None when there is no lock. A lock that cannot be read names no one."""
    try:
        text = lock.read_text()
    except FileNotFoundError:
        return None
    except OSError:
        if not lock.exists():
            return None
        raise
    try:
        raw = json.loads(text)
        holder = Holder(**{key: raw.get(key) for key in Holder.__dataclass_fields__})
    except (ValueError, TypeError, AttributeError):
        holder = None
    if holder is None or not isinstance(holder.pid, int) or not isinstance(holder.host, str):
        return Holder(pid=0, host="?", started="?", command="?", token="")
    return holder


def lock_holder(root: str | Path | Location) -> Holder | None:
    """The process holding sweep folder ``root``'s lock, if it is there and not stale."""
    holder = _read(Location.parse(root) / LOCK_FILE)
    return holder if holder is not None and (holder.host == "?" or holder.alive()) else None


def _busy(name: str, lock: Location, holder: Holder) -> SweepBusy:
    if holder.host == "?":
        return SweepBusy(
            f"sweep {name!r}: {lock} cannot be read; if no resweep process drives this sweep, remove it"
        )
    message = f"sweep {name!r} is driven by {holder.describe()}; one driver at a time: "
    if holder.here:
        return SweepBusy(message + "wait for it to end, or stop it (Ctrl-C), then resume")
    return SweepBusy(message + f"wait for it to end; if it has ended (its machine went down), remove {lock}")


def check_free(root: str | Path | Location, name: str) -> None:
    """Refuse (:class:`SweepBusy`) while a live process drives the sweep at ``root``."""
    lock = Location.parse(root) / LOCK_FILE
    holder = lock_holder(lock.parent)
    if holder is not None:
        raise _busy(name, lock, holder)


def _link_local(path: Path, me: Holder) -> bool:
    """Create the lock file whole, exclusively; False when a lock is already there."""
    temporary = path.with_name(f".{path.name}.{me.token}.tmp")
    temporary.write_text(json.dumps(asdict(me)) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)
    return True


def _acquire(lock: Location, name: str, me: Holder) -> None:
    for _ in range(3):  # a stale lock taken over, then (rarely) a race for it
        if lock.local is not None:
            if _link_local(lock.local, me):
                return
        elif _read(lock) is None:
            lock.write_text(json.dumps(asdict(me)) + "\n")
            if _read(lock) == me:
                return
        holder = _read(lock)
        if holder is None:
            continue  # released meanwhile
        if holder.host == "?" or holder.alive():
            raise _busy(name, lock, holder)
        _take_over(lock, holder)
    raise _busy(name, lock, _read(lock) or me)


def _take_over(lock: Location, stale: Holder) -> None:
    """Remove a stale lock, unless another driver replaced it in the meantime."""
    if lock.local is None:
        if _read(lock) == stale:
            lock.remove()
        return
    aside = lock.local.with_name(f".{lock.name}.{secrets.token_hex(8)}.stale")
    try:
        os.rename(lock.local, aside)
    except FileNotFoundError:
        return
    moved = _read(Location.parse(aside))
    if moved != stale and moved is not None:  # a live driver's fresh lock: put it back
        with suppress(FileExistsError):
            os.link(aside, lock.local)
    aside.unlink(missing_ok=True)


@contextmanager
def sweep_lock(root: str | Path | Location, name: str) -> Iterator[Holder]:
    """Hold sweep folder ``root``'s lock for the block (see the module docstring); refuse with
    :class:`SweepBusy` while another live process holds it. Folders made only to hold the lock
    are removed again when the block leaves nothing else in them."""
    root = Location.parse(root)
    lock = root / LOCK_FILE
    made: list[Path] = []
    if root.local is not None:
        missing = root.local
        while not missing.exists():
            made.append(missing)
            missing = missing.parent
    root.make_dirs()
    me = Holder.me()
    try:
        _acquire(lock, name, me)
    except BaseException:
        _remove_empty(made)
        raise
    try:
        yield me
    finally:
        if _read(lock) == me:
            lock.remove()
        _remove_empty(made)


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # the deepest first
        try:
            folder.rmdir()
        except OSError:  # not empty (or gone): what it holds stays
            return
