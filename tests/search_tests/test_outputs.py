"""search.outputs: what a command may write. The refusals are in test_bad_inputs.py (OUTPUTS);
here, what stays allowed and that the markers are the ones the writers use."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.outputs import MODEL_MARKER, SWEEP_MARKER, OutputRefused, check_output, data_reads


def test_the_markers_are_the_files_the_writers_write() -> None:
    from search.plan import SweepPaths
    from trainables.model_folder import MODEL_FILE

    assert MODEL_MARKER == MODEL_FILE
    assert SweepPaths.of("results", "x").config.name == SWEEP_MARKER


def _model_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / MODEL_MARKER).write_text('{"format": "resweep-model"}\n')
    (folder / "model.safetensors").write_bytes(b"weights")
    return folder


def test_overwrite_replaces_a_model_folder_resweep_wrote(tmp_path: Path) -> None:
    model = _model_folder(tmp_path / "model")
    check_output(model, "--out", kind="model", overwrite=True)
    check_output(tmp_path / "new", "--out", kind="model")  # absent: written
    (tmp_path / "empty").mkdir()
    check_output(tmp_path / "empty", "--out", kind="model")
    with pytest.raises(OutputRefused, match="a model folder: --overwrite replaces it"):
        check_output(model, "--out", kind="model")


def test_ordinary_outputs_stay_allowed(tmp_path: Path) -> None:
    storage = tmp_path / "results"
    (storage / "demo").mkdir(parents=True)
    (storage / "demo" / SWEEP_MARKER).write_text("name: demo\n")
    reads = [("the folder of sweep 'demo'", storage / "demo"), ("the storage folder", storage)]
    # The report's own place inside the sweep, and a report beside the data it reads.
    check_output(
        storage / "demo" / "report", "--out", reads=reads, kind="folder", own=storage / "demo" / "report"
    )
    (tmp_path / "table.csv").write_text("x\n")
    check_output(tmp_path, "--out", reads=[("the --from-table file", tmp_path / "table.csv")], kind="folder")
    # A predictions file written again, and one beside the model folder.
    (tmp_path / "old.jsonl").write_text("{}\n")
    check_output(tmp_path / "old.jsonl", "--out", reads=[("the input file", tmp_path / "table.csv")])
    model = _model_folder(tmp_path / "model")
    check_output(tmp_path / "p.jsonl", "--out", reads=[("the model folder being read", model)])
    # Object stores: compared with the inputs only.
    check_output("s3://bucket/out.jsonl", "--out", reads=[("the input file", tmp_path / "table.csv")])
    with pytest.raises(OutputRefused, match="lies inside the --artifacts folder s3://bucket/art"):
        check_output(
            "s3://bucket/art/x.json", "--out", reads=[("the --artifacts folder", "s3://bucket/art?x=1")]
        )


def test_data_reads_are_the_paths_that_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine").mkdir()
    config = {"in_domain": "mine", "ood": "synthetic_ood", "encoder": "minilm", "in_domain_root": None}
    assert data_reads(config) == [("the in-domain data", "mine")]
