"""Bounded waits: no input, option or setting makes a command wait without end.

Every input read is a regular file (a named pipe, a device, a folder is refused, saying what it
is); a plan takes the same time whatever the budget; an object store that cannot be reached
answers within a time limit, in one line naming the URI; a trial the local Ray can never start is
refused before Ray starts. Each command runs under a hard time limit (a signal): a regression
fails the test instead of hanging the suite.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster.resources import TrialResources
from search.cli import main

LIMIT_S = 60  # a command here takes seconds; past this it hangs

GOOD = (
    "name: good\n"
    "data: {in_domain: synthetic, ood: synthetic_ood, sizes: [0.1]}\n"
    "search: {space: demo-smoke, budget: 4}\n"
)


class Hang(Exception):
    """A command ran past :data:`LIMIT_S`."""


@contextlib.contextmanager
def time_limit(seconds: float = LIMIT_S) -> Iterator[None]:
    """Raise :class:`Hang` in the test's thread after ``seconds`` (a blocked ``open`` of a named
    pipe included: the signal interrupts it)."""

    def expired(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run(arguments: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``resweep ARGUMENTS`` under the time limit: exit code, stdout, and the one error line."""
    with time_limit():
        try:
            code = main(arguments)
        except SystemExit as exit_:  # argparse's usage errors
            code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    said = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    if code != 0:
        assert len(said) == 1, err
    return code, out, said[-1] if said else ""


def _world(tmp_path: Path) -> dict[str, str]:
    """Inputs that are not regular files, and a saved sweep to point commands at."""
    from search.config import parse_sweep_text
    from search.plan import SweepPaths, write_sweep_config

    tmp_path.mkdir(parents=True, exist_ok=True)
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "loop_a").symlink_to(tmp_path / "loop_b")
    (tmp_path / "loop_b").symlink_to(tmp_path / "loop_a")
    (tmp_path / "labels.bin").write_bytes(b"\x80\x81\xfe\n")
    table = "in_domain_pct,strategy,accuracy\n10,baseline,0.5\n10,local,0.6\n"
    (tmp_path / "table.csv.gz").write_bytes(gzip.compress(table.encode()))
    (tmp_path / "table16.csv").write_bytes(table.encode("utf-16"))
    (tmp_path / "folder").mkdir()
    (tmp_path / "pipe.yaml").write_text(
        GOOD.replace("in_domain: synthetic", f"in_domain: {tmp_path / 'pipe'}")
    )
    storage = tmp_path / "results"
    config = parse_sweep_text(GOOD, source="good.yaml")
    write_sweep_config(config, SweepPaths.of(storage, "good"))
    return {"tmp": str(tmp_path), "pipe": str(tmp_path / "pipe"), "storage": str(storage)}


# (case id, command, what the one line says); {tmp}, {pipe}, {storage} as _world makes them.
INPUTS: list[tuple[str, list[str], str]] = [
    ("config-pipe", ["sweep", "{pipe}", "--dry-run"], "{pipe}: is a named pipe (FIFO), not a regular file"),
    ("config-device", ["sweep", "/dev/zero", "--dry-run"], "/dev/zero: is a character device"),
    ("config-folder", ["sweep", "{tmp}/folder", "--dry-run"], "{tmp}/folder: is a folder, not a file"),
    ("config-link-loop", ["sweep", "{tmp}/loop_a", "--dry-run"], "{tmp}/loop_a: is a link loop"),
    ("config-missing", ["sweep", "{tmp}/nope.yaml", "--dry-run"], "{tmp}/nope.yaml: no such sweep config"),
    (
        "sweep-data-pipe",
        ["sweep", "{tmp}/pipe.yaml", "--dry-run"],
        "data.in_domain: {pipe}: is a named pipe (FIFO)",
    ),
    ("validate-pipe", ["data", "validate", "{pipe}"], "{pipe}: is a named pipe (FIFO)"),
    ("info-device", ["data", "info", "/dev/zero"], "/dev/zero: is a character device"),
    ("trial-data-pipe", ["trial", "in_domain={pipe}"], "{pipe}: is a named pipe (FIFO)"),
    (
        "labels-pipe",
        ["data", "validate", "synthetic", "--labels", "{pipe}"],
        "{pipe}: label file: is a named pipe",
    ),
    (
        "labels-device",
        ["data", "info", "synthetic", "--labels", "/dev/zero"],
        "label file: is a character device",
    ),
    (
        "labels-binary",
        ["data", "info", "synthetic", "--labels", "{tmp}/labels.bin"],
        "{tmp}/labels.bin:1: label file is not UTF-8 text (byte 0x80)",
    ),
    ("table-pipe", ["leaderboard", "--from-table", "{pipe}"], "{pipe}: result table: is a named pipe"),
    (
        "table-device",
        ["report", "--from-table", "/dev/zero"],
        "/dev/zero: result table: is a character device",
    ),
    ("table-folder", ["leaderboard", "--from-table", "{tmp}/folder"], "result table: is a folder"),
    ("table-gzip", ["leaderboard", "--from-table", "{tmp}/table.csv.gz"], "the table is gzip-compressed"),
    ("table-utf16", ["leaderboard", "--from-table", "{tmp}/table16.csv"], "the table is UTF-16 text"),
    (
        "train-config-pipe",
        ["train", "good", "--storage", "{storage}", "--out", "{tmp}/model", "--config", "{pipe}"],
        "{pipe}: --config: is a named pipe (FIFO)",
    ),
]


@pytest.mark.parametrize(("arguments", "says"), [c[1:] for c in INPUTS], ids=[c[0] for c in INPUTS])
def test_an_input_that_is_not_a_regular_file_is_refused_saying_what_it_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], says: str
) -> None:
    world = _world(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, _, line = _run([a.format(**world) for a in arguments], capsys)
    assert code == 1 and line.startswith("resweep: error: ") and says.format(**world) in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "a refused command wrote something"


def test_a_plan_takes_the_same_time_whatever_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sweep --dry-run` and `extend --dry-run` with a budget of a billion: the plan and its
    estimate answer in seconds (a sample of configurations stands for the budget)."""
    config = tmp_path / "big.yaml"
    config.write_text(GOOD.replace("budget: 4", "budget: 1000000000"))
    started = time.monotonic()
    code, out, _ = _run(["sweep", str(config), "--dry-run", "--storage", str(tmp_path / "results")], capsys)
    assert code == 0 and "per size 1000000000 search trials" in out, out
    assert "total: 1000000011 trials" in out, out
    world = _world(tmp_path / "w")
    arguments = ["extend", "good", "--storage", world["storage"], "--budget", "1000000000", "--dry-run"]
    code, out, _ = _run(arguments, capsys)
    assert code == 0 and "up to 1000000" in out, out
    assert time.monotonic() - started < LIMIT_S
    assert not (tmp_path / "results").exists()


def test_an_estimate_samples_a_large_budget_and_scales_its_cost() -> None:
    from search.config import parse_sweep_text
    from search.driver.estimate import SAMPLED, estimate_sweep
    from search.plan import plan_sweep

    def estimate(budget: int) -> Any:
        text = GOOD.replace("space: demo-smoke, budget: 4", f"space: demo-smoke, budget: {budget}")
        config = parse_sweep_text(text + "trial: {architecture: bert-seqcls}\n", source="x.yaml")
        return estimate_sweep(config, plan_sweep(config))[0]

    sampled, huge = estimate(2 * SAMPLED), estimate(2 * SAMPLED * 10**6)
    assert huge.trials - sampled.trials == 2 * SAMPLED * (10**6 - 1)
    # The same configurations drawn (the same seed) stand for a budget 10**6 times larger; the
    # confirmation runs (the top configurations again, other seeds) are as many in both.
    assert 0.9 * 10**6 * sampled.cpu_hours < huge.cpu_hours < 10**6 * sampled.cpu_hours


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # closed again when the block ends: nothing answers


@pytest.mark.parametrize("scheme", ["gs", "s3"])
def test_an_object_store_that_does_not_answer_is_one_line_naming_the_uri_in_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    """Offline: an endpoint on a closed local port, no credentials to find. Google Cloud
    Storage's client would retry for 15 minutes; S3's gives up after its timeouts."""
    monkeypatch.setenv("RESWEEP_STORAGE_TIMEOUT", "1")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    storage = (
        f"{scheme}://resweep-unreachable/sweeps?endpoint_override=127.0.0.1:{_closed_port()}&scheme=http"
    )
    if scheme == "s3":
        storage += "&region=us-east-1"
    started = time.monotonic()
    code, _, line = _run(["status", "demo", "--storage", storage], capsys)
    assert time.monotonic() - started < 30
    assert code == 1 and line.startswith(
        f"resweep: error: {scheme}://resweep-unreachable/sweeps/demo/sweep.yaml"
    ), line
    assert "cannot look it up: " in line, line
    if scheme == "gs":  # the listing too: a store that does not answer is not an empty one
        code, _, line = _run(["list", "sweeps", "--storage", storage], capsys)
        assert code == 1 and line.startswith(f"resweep: error: {storage}: cannot list: "), line


START = "no trial could start; set resources"
SHORT: list[tuple[TrialResources, dict[str, float], str]] = [
    (TrialResources(gpus=1), {"CPU": 8}, f"needs 1 GPU; here has 0: {START}.gpus: 0"),
    (TrialResources(gpus=0.25), {"CPU": 8, "GPU": 0}, "needs 0.25 GPU; here has 0"),
    (TrialResources(cpus=1000), {"CPU": 16}, f"needs 1000 CPUs; here has 16: {START}.cpus to at most 16"),
    (
        TrialResources(cpus=4, workers=4),
        {"CPU": 8},
        f"16 CPUs (4 workers x 4); here has 8: {START}.cpus to at most 2 or fewer workers",
    ),
]


@pytest.mark.parametrize(("resources", "cluster", "says"), SHORT)
def test_a_trial_the_cluster_cannot_fit_is_said_with_how_to_change_it(
    resources: TrialResources, cluster: dict[str, float], says: str
) -> None:
    key, message = resources.shortfall(cluster, "here") or ("", "")
    assert says in message, message
    assert message.startswith("a trial needs") and key in ("cpus", "gpus")
    assert TrialResources(cpus=2).shortfall({"CPU": 2}, "here") is None


def test_a_refused_resource_leaves_no_sweep_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sweep` with a trial this machine's local Ray can never start: refused at the config key,
    before Ray starts or the sweep's folder is made (Tune would wait for ever)."""
    config = tmp_path / "big.yaml"
    config.write_text(GOOD + "resources: {cpus: 100000}\n")
    storage = tmp_path / "results"
    code, _, line = _run(["sweep", str(config), "--storage", str(storage), "--quiet"], capsys)
    assert code == 1 and line.startswith(
        f"resweep: error: {config}:4: resources.cpus: a trial needs 100000 CPUs"
    )
    assert "set resources.cpus to at most" in line, line
    assert not storage.exists()
