"""One driver per sweep (search.lock): a live holder in another process refuses a second driver,
naming it; a holder that has ended is taken over; only the holder releases its lock."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.lock import LOCK_FILE, SweepBusy, check_free, lock_holder, sweep_lock

ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import sys
    from search.lock import sweep_lock

    with sweep_lock(sys.argv[1], "held"):
        print("held", flush=True)
        sys.stdin.read()  # hold until the test closes stdin
    """
)


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """A sweep folder whose lock another live process holds (until the test ends)."""
    root = tmp_path / "results" / "held"
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(root)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        yield root, process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


def test_a_live_holder_refuses_a_second_driver_naming_it(held: tuple[Path, subprocess.Popen[str]]) -> None:
    root, process = held
    before = (root / LOCK_FILE).read_bytes()
    named = rf"process {process.pid} on {socket.gethostname()} \(since .*\); one driver at a time"
    with pytest.raises(SweepBusy, match=named):
        check_free(root, "held")
    with pytest.raises(SweepBusy, match=named), sweep_lock(root, "held"):
        pass
    assert (root / LOCK_FILE).read_bytes() == before, "a refused driver touched the holder's lock"
    assert process.stdin is not None
    process.stdin.close()  # the holder ends its block: the lock goes with it
    assert process.wait(timeout=30) == 0
    assert not (root / LOCK_FILE).exists() and lock_holder(root) is None
    with sweep_lock(root, "held") as me:
        assert me.pid == os.getpid() and lock_holder(root) == me
    assert not (root / LOCK_FILE).exists()


def test_the_lock_of_a_killed_process_is_taken_over(held: tuple[Path, subprocess.Popen[str]]) -> None:
    root, process = held
    process.send_signal(signal.SIGKILL)  # no finally runs: the lock stays behind
    process.wait(timeout=30)
    assert (root / LOCK_FILE).is_file() and lock_holder(root) is None
    check_free(root, "held")
    with sweep_lock(root, "held") as me:
        assert lock_holder(root) == me
    assert not (root / LOCK_FILE).exists()


def test_a_lock_from_another_host_is_refused_with_the_file_to_remove(tmp_path: Path) -> None:
    root = tmp_path / "s"
    root.mkdir()
    lock = root / LOCK_FILE
    lock.write_text(
        json.dumps(
            {
                "pid": 1,
                "host": "elsewhere",
                "started": "then",
                "command": "resweep sweep x.yaml",
                "token": "t",
            }
        )
    )
    with pytest.raises(SweepBusy, match=rf"process 1 on elsewhere .*remove {lock}$"):
        check_free(root, "s")
    lock.write_text("{not json")
    with pytest.raises(SweepBusy, match=rf"{lock} cannot be read; if no resweep process drives"):
        check_free(root, "s")


def test_folders_made_only_for_the_lock_are_removed_again(tmp_path: Path) -> None:
    with sweep_lock(tmp_path / "results" / "new", "new"):
        assert (tmp_path / "results" / "new" / LOCK_FILE).is_file()
    assert not (tmp_path / "results").exists()
    with sweep_lock(tmp_path / "results" / "new", "new"):
        (tmp_path / "results" / "new" / "sweep.yaml").write_text("name: new\n")
    assert sorted(p.name for p in (tmp_path / "results" / "new").iterdir()) == ["sweep.yaml"]
