"""Named datasets: registry, layouts, and downloads against a local HTTP server (never the internet)."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from trainables.data.datasets import DATASETS, DatasetSpec, RemoteFile, load_dataset
from trainables.data.errors import DataError
from trainables.data.fetch import fetch_dataset
from trainables.registry import UnknownNameError

REQUIRED_NAMES = {
    "semeval2010_task8",
    "fewrel_wiki",
    "fewrel_pubmed",
    "kbp37",
    "chemprot",
    "scierc",
    "synthetic",
}


def test_registry_has_the_named_datasets_with_checksums() -> None:
    assert set(DATASETS.names()) >= REQUIRED_NAMES
    for name in DATASETS:
        spec = DATASETS.get(name)
        if spec.generator is None:
            assert set(spec.remote) == set(spec.files.values()), name
            for remote in spec.remote.values():
                assert remote.url.startswith("https://") and len(remote.sha256) == 64


def test_unknown_dataset_name_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match="unknown dataset 'semeval'; valid: semeval2010_task8"):
        DATASETS.get("semeval")


def test_named_dataset_not_downloaded_says_how_to_get_it() -> None:
    with pytest.raises(DataError, match="run `resweep data fetch semeval2010_task8`"):
        load_dataset("semeval2010_task8")


class _Server:
    """A static file server on 127.0.0.1 with switchable misbehaviour."""

    def __init__(self, root: Path):
        self.root = root
        self.truncate = False
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                path = server.root / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                body = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if server.truncate else body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[_Server]:
    root = tmp_path / "served"
    root.mkdir()
    srv = _Server(root)
    yield srv
    srv.close()


@pytest.fixture
def served_dataset(server: _Server, fixtures: Path, monkeypatch: pytest.MonkeyPatch) -> DatasetSpec:
    """A registered dataset whose public copy is on the local server."""
    shutil.copy(fixtures / "semeval_train.txt", server.root / "TRAIN.TXT")
    shutil.copy(fixtures / "semeval_test.txt", server.root / "TEST.TXT")
    files = {"train": "release/TRAIN.TXT", "test": "release/TEST.TXT"}
    remote = {
        path: RemoteFile(
            f"{server.url}/{Path(path).name}",
            hashlib.sha256((server.root / Path(path).name).read_bytes()).hexdigest(),
        )
        for path in files.values()
    }
    spec = DatasetSpec("local_semeval", "semeval", "test copy", files, frozenset({"Other"}), remote)
    monkeypatch.setitem(DATASETS._entries, spec.name, spec)
    return spec


def test_fetch_downloads_verifies_and_loads(
    served_dataset: DatasetSpec, server: _Server, _isolated_cache: Path
) -> None:
    folder = fetch_dataset(served_dataset.name)
    assert folder == _isolated_cache / "datasets" / "local_semeval"
    assert (folder / "release" / "TRAIN.TXT").read_bytes() == (server.root / "TRAIN.TXT").read_bytes()
    dataset = load_dataset("local_semeval")
    assert {s: t.num_rows for s, t in dataset.splits.items()} == {"train": 4, "test": 2}
    # A second fetch finds verified files and downloads nothing.
    count = len(server.requests)
    fetch_dataset(served_dataset.name)
    assert len(server.requests) == count


def test_checksum_mismatch_keeps_nothing(
    served_dataset: DatasetSpec, monkeypatch: pytest.MonkeyPatch, _isolated_cache: Path
) -> None:
    bad = {path: replace(remote, sha256="0" * 64) for path, remote in served_dataset.remote.items()}
    monkeypatch.setitem(DATASETS._entries, served_dataset.name, replace(served_dataset, remote=bad))
    with pytest.raises(DataError, match=r"checksum mismatch: got sha256 [0-9a-f]{64}, expected 0{64}"):
        fetch_dataset(served_dataset.name)
    assert not [p for p in (_isolated_cache / "datasets").rglob("*") if p.is_file()]


def test_truncated_download_keeps_nothing(
    served_dataset: DatasetSpec, server: _Server, _isolated_cache: Path
) -> None:
    server.truncate = True
    with pytest.raises(DataError, match=r"download (ended early|failed)"):
        fetch_dataset(served_dataset.name)
    assert not [p for p in (_isolated_cache / "datasets").rglob("*") if p.is_file()]


def test_missing_file_on_the_server(served_dataset: DatasetSpec, server: _Server) -> None:
    (server.root / "TEST.TXT").unlink()
    with pytest.raises(DataError, match=r"TEST\.TXT: download failed: Not Found"):
        fetch_dataset(served_dataset.name)


def test_generated_dataset_has_nothing_to_fetch() -> None:
    with pytest.raises(DataError, match="generated locally"):
        fetch_dataset("synthetic")


def test_a_folder_with_a_registered_layout_is_recognised(fixtures: Path, tmp_path: Path) -> None:
    release = tmp_path / "copy" / "SemEval2010_task8_all_data"
    (release / "SemEval2010_task8_training").mkdir(parents=True)
    (release / "SemEval2010_task8_testing_keys").mkdir(parents=True)
    shutil.copy(fixtures / "semeval_train.txt", release / "SemEval2010_task8_training" / "TRAIN_FILE.TXT")
    shutil.copy(
        fixtures / "semeval_test.txt", release / "SemEval2010_task8_testing_keys" / "TEST_FILE_FULL.TXT"
    )
    dataset = load_dataset(tmp_path / "copy")
    assert dataset.name == "semeval2010_task8" and dataset.negative_labels == frozenset({"Other"})
    assert load_dataset("semeval2010_task8", root=tmp_path / "copy")["train"].num_rows == 4


def test_data_dir_environment_variable(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data" / "scierc"
    folder.mkdir(parents=True)
    for split in ("train", "dev", "test"):
        (folder / f"{split}.txt").write_text(
            '{"text": "The [[ parser ]] uses << features >> .", "label": "USED-FOR"}\n'
        )
    monkeypatch.setenv("RESWEEP_DATA_DIR", str(tmp_path / "data"))
    dataset = load_dataset("scierc")
    assert dataset.source == str(folder)
    assert {s: t.num_rows for s, t in dataset.splits.items()} == {"train": 1, "dev": 1, "test": 1}
    assert dataset["dev"]["id"].to_pylist() == ["dev-1"]  # ids from split and line: unique across splits


def test_a_folder_holding_several_datasets_must_be_named(fixtures: Path, tmp_path: Path) -> None:
    shutil.copy(fixtures / "fewrel.json", tmp_path / "val_wiki.json")
    shutil.copy(fixtures / "fewrel.json", tmp_path / "val_pubmed.json")
    with pytest.raises(DataError, match=r"several datasets \(fewrel_wiki, fewrel_pubmed\); pass the name"):
        load_dataset(tmp_path)
    dataset = load_dataset("fewrel_pubmed", root=tmp_path)
    assert dataset.name == "fewrel_pubmed" and dataset["train"].num_rows == 3


def test_cli_fetch_then_info(served_dataset: DatasetSpec, capsys: pytest.CaptureFixture[str]) -> None:
    from search.cli import main

    assert main(["data", "fetch", served_dataset.name]) == 0
    assert "local_semeval: files verified in" in capsys.readouterr().out
    assert main(["data", "info", served_dataset.name, "--json"]) == 0
    assert '"records": 6' in capsys.readouterr().out


def _jsonl(path: Path, records: list[tuple[str, str]], tail: str = "") -> None:
    import json

    lines = [
        json.dumps({"id": rid, "tokens": ["A", "x", "B"], "head": [0, 1], "tail": [2, 3], "label": label})
        for rid, label in records
    ]
    path.write_text("\n".join(lines) + "\n" + tail)


def test_validation_reports_every_kind_of_problem_in_one_run_and_a_failed_load_caches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from trainables.data.datasets import validate_dataset
    from trainables.data.errors import DataError

    monkeypatch.setenv("RESWEEP_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "data"
    data.mkdir()
    _jsonl(data / "train.jsonl", [(f"t{i}", "a") for i in range(5)])
    _jsonl(data / "dev.jsonl", [("t0", "b"), ("d1", "a")])  # an id of train, a label train lacks
    _jsonl(data / "test.jsonl", [("s1", "c")], tail="{not json\n")  # and a broken line
    _, problems = validate_dataset(data)
    said = [str(p) for p in problems]
    assert any("test.jsonl:2: invalid JSON" in p for p in said)
    assert any("dev.jsonl: record 't0': duplicate id 't0'" in p for p in said)
    assert any(
        "dev.jsonl: record 't0': label 'b' in the dev split does not occur in train" in p for p in said
    )
    (data / "test.jsonl").write_text("")
    _jsonl(data / "test.jsonl", [("s1", "a")])
    with pytest.raises(DataError):
        load_dataset(data)
    assert not list((tmp_path / "cache").rglob("*.parquet")), "a dataset with problems left parse caches"
