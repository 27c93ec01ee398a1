"""Resource requests per trial, concurrency from the cluster's resources, and what a driver
ships to a cluster's workers."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.connect import PACKAGES, runtime_env
from cluster.resources import TrialResources
from search.config import ConfigError, load_sweep_config


def test_fractional_gpu_trials_run_inline_and_pack_onto_cards() -> None:
    quarter = TrialResources(cpus=2, gpus=0.25)
    assert quarter.resolved_executor == "inline"
    assert quarter.request() == {"cpu": 2, "gpu": 0.25}  # what Tune reserves for the trial itself
    # Four quarter-GPU trials share a card: 2 GPUs -> 8 trials, unless CPUs run out first.
    assert quarter.fits({"CPU": 64, "GPU": 2}) == 8
    assert quarter.fits({"CPU": 10, "GPU": 2}) == 5
    assert quarter.concurrency("auto", {"CPU": 64, "GPU": 2}) == (8, None)


def test_multi_gpu_trials_are_train_jobs_whose_driver_takes_no_cpu() -> None:
    ddp = TrialResources(cpus=4, gpus=1, workers=4)
    assert ddp.resolved_executor == "train"
    assert ddp.request() == {"cpu": 0, "TRAIN_DRIVER": 1}
    # A cluster from a plain `ray start` has no TRAIN_DRIVER: the driver then asks for nothing.
    assert ddp.request({"CPU": 8.0, "TRAIN_DRIVER": 64.0}) == {"cpu": 0, "TRAIN_DRIVER": 1}
    assert ddp.request({"CPU": 8.0}) == {"cpu": 0, "memory": 2**20}
    assert ddp.per_trial() == {"CPU": 16, "GPU": 4}
    assert ddp.fits({"CPU": 64, "GPU": 8, "TRAIN_DRIVER": 64}) == 2
    count, warning = ddp.concurrency(4, {"CPU": 64, "GPU": 8})
    assert count == 4 and warning and "fits 2 trial(s)" in warning  # explicit: kept, with a warning


def test_a_trial_the_cluster_cannot_hold_fails_before_starting() -> None:
    with pytest.raises(
        ValueError, match=r"a trial needs 1 CPU, 1 GPU; the cluster has 2 CPU, 0 GPU: no trial can start"
    ):
        TrialResources(cpus=1, gpus=1).concurrency("auto", {"CPU": 2})
    assert TrialResources(cpus=1).concurrency("auto", {"CPU": 2, "GPU": 0}) == (2, None)


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({"executor": "inline", "workers": 2}, "inline' runs one process"),
        ({"gpus": 1.5}, "gpus above 1 must be whole"),
        ({"gpus": 2}, "use workers: 2 with gpus: 1"),
        ({"workers": 0}, "expected an integer >= 1"),
    ],
)
def test_bad_resources_fail_with_the_config_location(
    tmp_path: Path, resources: dict[str, object], message: str
) -> None:
    lines = [f"  {key}: {value}" for key, value in resources.items()]
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\ndata:\n  in_domain: synthetic\n  sizes: [0.1]\nresources:\n" + "\n".join(lines) + "\n"
    )
    with pytest.raises(ConfigError, match=message) as error:
        load_sweep_config(path)
    assert "bad.yaml" in str(error.value)


def test_max_concurrent_is_auto_by_default(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("name: x\ndata:\n  in_domain: synthetic\n  ood: synthetic_ood\n  sizes: [0.1]\n")
    assert load_sweep_config(path).search.max_concurrent == "auto"
    path.write_text(
        "name: x\ndata:\n  in_domain: synthetic\n  sizes: [0.1]\nsearch:\n  max_concurrent: many\n"
    )
    with pytest.raises(ConfigError, match=r"max_concurrent.*integer >= 1 or auto"):
        load_sweep_config(path)


def test_driver_ships_resweep_packages_unless_inside_a_ray_job(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_JOB_CONFIG_JSON_ENV_VAR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    env = runtime_env()
    assert env is not None
    shipped = [Path(p) for p in env["py_modules"]]
    assert [p.name for p in shipped] == list(PACKAGES) and all((p / "__init__.py").is_file() for p in shipped)
    assert env["env_vars"]["HF_HUB_OFFLINE"] == "1"
    # A submitted job's working directory already carries the code; Ray refuses a second env.
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", '{"runtime_env": {"working_dir": "x"}}')
    assert runtime_env() is None
