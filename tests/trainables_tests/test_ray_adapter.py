"""The Ray side of a trial: the inline executor, a 2-worker Train job, and one phase-1 artifact
shared by 4 concurrent trials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trainables.artifacts import builds
from trainables.ray_adapter import TrialRuntime, choose_executor, resweep_trial

pytestmark = pytest.mark.ray


def base_config(tiny_bert: str, **overrides: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "in_domain": "synthetic",
        "in_domain_size": 100,
        "encoder": tiny_bert,
        "max_length": 40,
        "batch_size": 16,
        "learning_rate": 1e-3,
        "max_epochs": 2,
        "hidden_units": 16,
    }
    config.update(overrides)
    return config


def run(tmp_path: Path, configs: list[dict[str, Any]], runtime: TrialRuntime, resources: dict[str, float]):  # type: ignore[no-untyped-def]
    """Run each config as one Tune trial (the flat config is what Tune hands the trainable)."""
    from ray import tune

    def trial(config: dict[str, Any]) -> None:
        resweep_trial(config["trial"], runtime)

    trainable = tune.with_resources(trial, resources)
    tuner = tune.Tuner(
        trainable,
        param_space={"trial": tune.grid_search(configs)},
        tune_config=tune.TuneConfig(max_concurrent_trials=len(configs)),
        run_config=tune.RunConfig(storage_path=str(tmp_path / "tune"), name="t", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors, results.errors
    return results


def test_executor_choice() -> None:
    # The driver resolves `auto` from the trial's resources (cluster.resources.resolve_executor):
    # a runtime names what runs.
    from cluster.resources import resolve_executor

    assert choose_executor(TrialRuntime("a", "s")) == "inline"
    assert (
        choose_executor(TrialRuntime("a", "s", executor=resolve_executor("auto", 2), num_workers=2))
        == "train"
    )
    assert choose_executor(TrialRuntime("a", "s", use_gpu=True)) == "inline"  # one process on a GPU
    assert choose_executor(TrialRuntime("a", "s", executor="train")) == "train"
    with pytest.raises(ValueError, match="executor 'inline' runs one process"):
        TrialRuntime("a", "s", executor="inline", num_workers=2)
    with pytest.raises(ValueError, match="executor must be one of inline, train"):
        TrialRuntime("a", "s", executor="auto")


def test_inline_trial_reports_every_epoch_with_a_checkpoint(
    ray_session, tiny_bert: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    runtime = TrialRuntime(str(tmp_path / "artifacts"), str(tmp_path / "train"), executor="inline")
    config = base_config(tiny_bert, architecture="two-phase", phase1_model="none")
    results = run(tmp_path, [config], runtime, {"cpu": 1})
    result = results[0]
    assert result.metrics["epochs_done"] == 2 and result.metrics["workers"] == 1
    assert 0 <= result.metrics["dev_f1_weighted"] <= 1
    assert result.checkpoint is not None
    with result.checkpoint.as_directory() as directory:
        assert (Path(directory) / "model.safetensors").is_file()


def test_two_worker_train_job_on_gloo(ray_session, tiny_bert: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runtime = TrialRuntime(str(tmp_path / "artifacts"), str(tmp_path / "train"), "train", num_workers=2)
    results = run(tmp_path, [base_config(tiny_bert, max_epochs=1)], runtime, {"cpu": 0, "TRAIN_DRIVER": 1})
    result = results[0]
    assert result.metrics["workers"] == 2 and result.metrics["epochs_done"] == 1
    # Train owns its checkpoints (Tune gets their path): the run is named after the config hash.
    runs = [p for p in (tmp_path / "train").iterdir() if p.name.startswith("train-")]
    assert len(runs) == 1
    assert list(runs[0].rglob("model.safetensors")), sorted(str(p) for p in runs[0].rglob("*"))[:20]
    assert Path(result.metrics["checkpoint_path"]).is_relative_to(runs[0])


@pytest.mark.s3
def test_two_worker_train_job_with_its_storage_in_s3(
    ray_session, tiny_bert: str, tmp_path: Path, s3_storage: str
) -> None:  # type: ignore[no-untyped-def]
    from cluster.storage import Location

    root = Location.parse(s3_storage)
    runtime = TrialRuntime(str(root / "artifacts"), str(root / "train"), "train", num_workers=2)
    config = base_config(tiny_bert, architecture="two-phase", phase1_model="none", max_epochs=1)
    results = run(tmp_path, [config], runtime, {"cpu": 0, "TRAIN_DRIVER": 1})
    assert results[0].metrics["workers"] == 2 and results[0].metrics["epochs_done"] == 1
    (run_folder,) = (root / "train").children()
    assert run_folder.name.startswith("train-")
    import pyarrow.fs

    files = run_folder.filesystem.get_file_info(pyarrow.fs.FileSelector(run_folder.path, recursive=True))
    assert any(f.base_name == "model.safetensors" for f in files)  # Train's checkpoint, in the bucket
    (artifact,) = [c for c in (root / "artifacts").children() if c.name.startswith("phase1-")]
    assert (artifact / "COMPLETE").is_file() and len(builds(root / "artifacts")) == 1


def test_one_phase1_artifact_for_four_concurrent_trials(ray_session, tiny_bert: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    artifacts = tmp_path / "artifacts"
    runtime = TrialRuntime(str(artifacts), str(tmp_path / "train"), executor="inline")
    configs = [
        base_config(
            tiny_bert, architecture="two-phase", phase1_model="none", imbalance=imbalance, max_epochs=1
        )
        for imbalance in ("none", "class_weights", "inv_sqrt_weights", "oversampling")
    ]
    results = run(tmp_path, configs, runtime, {"cpu": 0.5})
    assert len(results) == 4 and all(r.metrics["epochs_done"] == 1 for r in results)
    keys = [p.name for p in artifacts.iterdir() if p.is_dir() and p.name.startswith("phase1-")]
    assert len(keys) == 1
    assert len(builds(artifacts, keys[0])) == 1, "the artifact must be computed exactly once"
