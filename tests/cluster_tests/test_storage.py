"""Sweep storage on a local folder and in S3-compatible object storage (a moto server on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cluster.storage import Location, is_remote, local_mirror
from search.config import ConfigError, parse_sweep_text
from search.results import ResultsStore, result_row
from trainables.artifacts import COMPLETE, builds, compute_once, is_complete

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Location:
    """The same folder operations on a local disk and in the object store."""
    if request.param == "local":
        return Location.parse(tmp_path / "store")
    return Location.parse(request.getfixturevalue("s3_storage"))


def test_parse_paths_and_uris(tmp_path: Path) -> None:
    local = Location.parse(tmp_path / "a" / ".." / "b")
    assert local.local == tmp_path / "b" and not local.remote and str(local) == str(tmp_path / "b")
    assert Location.parse(f"file://{tmp_path}") == Location.parse(tmp_path)
    uri = "s3://bucket/sweeps?endpoint_override=127.0.0.1:9000&scheme=http"
    remote = Location.parse(uri)
    assert remote.remote and is_remote(uri) and not is_remote(tmp_path) and remote.local is None
    child = remote / "thesis" / "sweep.yaml"
    # Children keep the pyarrow options: their URI is what Ray and a later `--storage` take.
    assert str(child) == "s3://bucket/sweeps/thesis/sweep.yaml?endpoint_override=127.0.0.1:9000&scheme=http"
    assert child.path == "bucket/sweeps/thesis/sweep.yaml" and child.name == "sweep.yaml"
    assert child.parent.parent == remote and Location.parse(str(child)) == child
    assert Location.parse("gs://bucket/x/").path == "bucket/x"


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("ftp://host/x", "unknown scheme 'ftp'"),
        ("s3://", "names no bucket"),
        ("s3://bucket/x?secret_key=abc", "credentials do not belong in the URI"),
    ],
)
def test_bad_uris_are_refused(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Location.parse(uri)


def test_a_sweep_config_names_its_bad_storage() -> None:
    text = "name: x\ndata:\n  in_domain: synthetic\n  sizes: [0.5]\nsearch:\n  space: demo-smoke\nstorage: ftp://h/x\n"
    with pytest.raises(ConfigError, match=r"sweep\.yaml:7: storage: .*unknown scheme 'ftp'"):
        parse_sweep_text(text, source="sweep.yaml")


def test_folder_operations(where: Location, tmp_path: Path) -> None:
    assert not where.exists() and where.is_empty() and where.children() == []
    (where / "a" / "one.txt").write_text("1")
    (where / "a" / "two.bin").write_bytes(b"\x00\x01")
    (where / "top.txt").write_text("top")
    assert where.is_dir() and not where.is_empty()
    assert [c.name for c in where.children()] == ["a", "top.txt"]
    assert [c.name for c in (where / "a").children(".txt")] == ["one.txt"]
    assert (where / "a" / "one.txt").is_file() and not (where / "a").is_file()
    (where / "top.txt").write_text("replaced")
    assert (where / "top.txt").read_text() == "replaced"

    (where / "a").download(tmp_path / "down")
    assert sorted(p.name for p in (tmp_path / "down").iterdir()) == ["one.txt", "two.bin"]
    (tmp_path / "down" / "deep").mkdir()
    (tmp_path / "down" / "deep" / "three.txt").write_text("3")
    (where / "copy").upload(tmp_path / "down")
    assert (where / "copy" / "deep" / "three.txt").read_text() == "3"

    (where / "top.txt").remove()
    (where / "top.txt").remove()  # nothing there: nothing to do
    assert not (where / "top.txt").exists()
    (where / "a").remove_tree()
    assert [c.name for c in where.children()] == ["copy"]
    # A location travels to Ray workers without its filesystem (which holds connections).
    again = pickle.loads(pickle.dumps(where / "copy" / "one.txt"))
    assert again.read_text() == "1"


def test_local_writes_leave_no_temporary_files(tmp_path: Path) -> None:
    target = Location.parse(tmp_path / "x" / "file.txt")
    target.write_text("a")
    target.write_text("b")
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["file.txt"] and target.read_text() == "b"


def _row(name: str, status: str = "finished", accuracy: float = 0.5) -> dict:
    return result_row(
        sweep="s",
        trial_name=name,
        status=status,
        config={"in_domain_size": 0.5, "architecture": "bert-seqcls", "strategy": "baseline", "seed": 0},
        metrics={"selected_test_accuracy": accuracy, "selected_epoch": 1, "epochs_done": 2},
        resources={"cpus": 1.0, "gpus": 0.0, "workers": 1},
        finished_at=datetime.now(UTC),
    )


def test_results_store(where: Location) -> None:
    store = ResultsStore(where / "sweep")
    assert store.read().num_rows == 0 and store.get("t1") is None
    store.add(_row("t1"))
    store.add(_row("t2", accuracy=0.6))
    assert store.get("t2")["accuracy"] == 0.6
    assert store.compact() == 2
    assert store.parts.children() == [] and store.table_path.is_file()
    store.add(_row("t2", accuracy=0.7))  # the same trial again, after a resume: the new row wins
    store.add(_row("t3", status="error"))
    assert store.get("t2")["accuracy"] == 0.7 and store.get("t1")["status"] == "finished"
    rows = {r["trial_name"]: r for r in store.read().to_pylist()}
    assert sorted(rows) == ["t1", "t2", "t3"] and rows["t2"]["accuracy"] == 0.7
    assert store.compact() == 3 and store.read().num_rows == 3


def _write_artifact(content: str, seconds: float = 0.0):  # type: ignore[no-untyped-def]
    def build(folder: Path) -> None:
        time.sleep(seconds)
        (folder / "sub").mkdir()
        (folder / "sub" / "features.txt").write_text(content)

    return build


def _as_another_node(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    """Another machine: its own cache folder, hence its own local copies."""
    monkeypatch.setenv("RESWEEP_CACHE_DIR", str(tmp_path / name))


@pytest.mark.s3
def test_artifact_in_object_storage_is_built_once_and_downloaded_elsewhere(
    s3_storage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Location.parse(s3_storage) / "artifacts"
    _as_another_node(monkeypatch, tmp_path, "node-a")
    first = compute_once(str(root), "feat-1", _write_artifact("v1"), meta={"what": "test"})
    assert first.is_relative_to(tmp_path / "node-a")  # this node's copy
    assert is_complete(root, "feat-1") and (root / "feat-1" / "sub" / "features.txt").read_text() == "v1"
    assert json.loads((root / "feat-1" / "meta.json").read_text()) == {"what": "test"}
    assert not (root / "feat-1.lease").exists()

    _as_another_node(monkeypatch, tmp_path, "node-b")
    second = compute_once(str(root), "feat-1", _write_artifact("must not be built"))
    assert second.is_relative_to(tmp_path / "node-b")
    assert (second / "sub" / "features.txt").read_text() == "v1" and (second / COMPLETE).is_file()
    assert len(builds(root, "feat-1")) == 1
    assert second == local_mirror(root, "artifacts") / "feat-1"


@pytest.mark.s3
def test_a_live_lease_is_waited_for_and_a_dead_one_taken_over(
    s3_storage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trainables import artifacts

    monkeypatch.setattr(artifacts, "_POLL_SECONDS", 0.1)
    monkeypatch.setattr(artifacts, "_SETTLE_SECONDS", 0.05)
    root = Location.parse(s3_storage) / "artifacts"
    _as_another_node(monkeypatch, tmp_path, "node-a")
    # A builder that died long ago: its lease was last renewed past LEASE_SECONDS.
    stale = time.time() - artifacts.LEASE_SECONDS - 1
    (root / "feat-2.lease").write_text(json.dumps({"holder": "gone:1:x", "renewed": stale}))
    folder = compute_once(root, "feat-2", _write_artifact("rebuilt"))
    assert (folder / "sub" / "features.txt").read_text() == "rebuilt" and len(builds(root, "feat-2")) == 1

    # A live builder elsewhere: this node waits for its COMPLETE rather than building.
    (root / "feat-3.lease").write_text(json.dumps({"holder": "busy:1:y", "renewed": time.time()}))
    (root / "feat-3" / "sub" / "features.txt").write_text("from the other node")

    def finish_later() -> None:
        time.sleep(0.5)
        (root / "feat-3" / COMPLETE).write_text("busy:1\n")

    import threading

    other = threading.Thread(target=finish_later)
    other.start()
    folder = compute_once(root, "feat-3", _write_artifact("must not be built"))
    other.join()
    assert (folder / "sub" / "features.txt").read_text() == "from the other node"
    assert builds(root, "feat-3") == []


@pytest.mark.s3
def test_two_nodes_asking_at_once_build_once(s3_storage: str, tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from trainables.artifacts import compute_once\n"
        "def build(folder):\n"
        "    time.sleep(2)\n"
        "    (folder / 'who.txt').write_text(sys.argv[2])\n"
        "print((compute_once(sys.argv[1], 'feat-4', build) / 'who.txt').read_text())\n"
    )
    root = str(Location.parse(s3_storage) / "artifacts")
    procs = []
    for node in ("n1", "n2"):
        (tmp_path / node).mkdir()
        env = {**os.environ, "RESWEEP_CACHE_DIR": str(tmp_path / node), "PYTHONPATH": str(REPO)}
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", script, root, node], env=env, stdout=subprocess.PIPE, text=True
            )
        )
    outputs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert outputs[0] == outputs[1] and outputs[0] in ("n1", "n2")  # both have the one build
    assert len(builds(root, "feat-4")) == 1


def test_the_local_study_copy_is_saved_with_the_searcher_and_follows_the_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep in object storage keeps its SQLite studies in a local copy on the driver: saved into
    Tune's experiment folder with the searcher's state, and found again on another machine."""
    import optuna

    from search.driver.searchers import STUDY_COPY, PerSlotSearch, Slots, StudyStorage
    from search.plan import SweepPaths

    root = "s3://bucket/sweeps/x?endpoint_override=127.0.0.1:1&scheme=http"  # never contacted
    _as_another_node(monkeypatch, tmp_path, "driver-a")
    studies = SweepPaths(Location.parse(root)).studies
    storage = StudyStorage(f"sqlite:///{studies}", copy_of=root)
    optuna.create_study(storage=storage, study_name="x-id0.5").optimize(lambda t: 1.0, n_trials=2)
    searcher = PerSlotSearch({}, Slots(budgets={}, sizes={}), metric="m", study_copy_of=root)
    saved = tmp_path / "experiment"
    saved.mkdir()
    searcher.save_to_dir(str(saved), "s")
    (summary,) = optuna.get_all_study_summaries(f"sqlite:///{saved / STUDY_COPY}")
    assert summary.study_name == "x-id0.5" and summary.n_trials == 2
    assert [p.name for p in saved.iterdir() if p.name.startswith(".")] == []  # no temporary left

    blob = pickle.dumps(storage)
    _as_another_node(monkeypatch, tmp_path, "driver-b")  # a resume on another machine
    there = SweepPaths(Location.parse(root)).studies
    assert there != studies and there.is_relative_to(tmp_path / "driver-b")
    assert pickle.loads(blob).url == f"sqlite:///{there}"


@pytest.mark.s3
def test_storage_errors_are_one_located_line(
    s3_storage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from search.cli import main

    missing_bucket = s3_storage.replace("s3://resweep-", "s3://no-such-bucket-", 1)
    config = tmp_path / "s.yaml"
    config.write_text(
        "name: s\ndata:\n  in_domain: synthetic\n  ood: synthetic_ood\n  sizes: [0.5]\n"
        "search:\n  space: demo-smoke\n"
    )
    assert main(["sweep", str(config), "--storage", missing_bucket]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("resweep: error: ") and "no-such-bucket-" in error and "\n" not in error
    assert main(["status", "s", "--storage", s3_storage]) == 1
    assert "no sweep named 's' here" in capsys.readouterr().err


def test_atomic_writes_get_the_modes_open_and_mkdir_would_give(tmp_path: Path) -> None:
    """A report or a model folder written atomically is readable as any file the user writes
    (mkstemp's and mkdtemp's private 0600/0700 are not kept)."""
    import os

    from cluster.storage import atomic_file, atomic_folder

    old = os.umask(0o022)
    try:
        with atomic_file(tmp_path / "report.md") as temporary:
            temporary.write_text("x")
        with atomic_folder(tmp_path / "model") as folder:
            (folder / "a").write_text("y")
    finally:
        os.umask(old)
    assert (tmp_path / "report.md").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "model").stat().st_mode & 0o777 == 0o755


@pytest.mark.s3
def test_tunes_copies_of_its_storage_share_one_filesystem(s3_storage: str) -> None:
    """Tune deep-copies its storage (filesystem included) for every trial: with the filesystem
    resweep hands it, every copy shares the one client; pickled for a trial's process it is
    pyarrow's own class, same options, and reads and writes the same store."""
    import copy

    import pyarrow.fs as pafs
    from ray.train._internal.storage import StorageContext

    from cluster.storage import shared_on_copy

    where = Location.parse(s3_storage)
    original = where.filesystem
    shared = shared_on_copy(original)
    assert copy.deepcopy(original) is not original  # what Tune's copies cost without it
    assert copy.deepcopy(shared) is shared and copy.copy(shared) is shared
    assert shared == original  # pyarrow compares the options
    storage = StorageContext(storage_path=where.path, experiment_dir_name="e", storage_filesystem=shared)
    assert copy.deepcopy({"storage": storage})["storage"].storage_filesystem is shared
    sent = pickle.loads(pickle.dumps(shared))
    assert type(sent) is type(original) and sent == original
    with shared.open_output_stream(f"{where.path}/probe.txt") as out:
        out.write(b"through the shared filesystem")
    with sent.open_input_stream(f"{where.path}/probe.txt") as back:
        assert back.read() == b"through the shared filesystem"
    local = pafs.LocalFileSystem()
    assert shared_on_copy(local) is local  # the local disk: copies cost nothing, nothing to share
