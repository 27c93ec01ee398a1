"""The files in cluster/ parse, and say what resweep relies on: images and Ray versions that match
the pinned Ray, GPU resources, a head without trial CPUs, entrypoints that run a sweep with
storage, dashboards on 127.0.0.1."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ROOT / "cluster"


def pinned_ray() -> str:
    """The Ray version pyproject.toml pins, as ``2.60``."""
    match = re.search(r'"ray\[[^\]]*\]==(\d+\.\d+)\.\*"', (ROOT / "pyproject.toml").read_text())
    assert match, "pyproject.toml pins ray at minor level"
    return match.group(1)


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("name", ["aws.yaml", "gcp.yaml"])
def test_cluster_launcher_configs(name: str) -> None:
    config = load(CLUSTER / name)
    assert config["provider"]["type"] == name.removesuffix(".yaml")
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"]["CPU"] == 0 and head["resources"]["TRAIN_DRIVER"] >= 1  # drivers only
    workers = [t for n, t in types.items() if n != config["head_node_type"]]
    assert workers and all(t["resources"].get("GPU", 0) >= 1 for t in workers)
    assert sum(t["max_workers"] for t in workers) <= config["max_workers"]
    assert all(t["min_workers"] <= t["max_workers"] for t in types.values())
    assert config["file_mounts"] == {"~/resweep": "."}
    setup = " && ".join(config["setup_commands"])
    assert "pip install -e ~/resweep" in setup and "python3.11" in setup
    assert "/mnt/shared" in config["setup_commands"][0]  # the sweep storage every node shares
    head_start = " ".join(config["head_start_ray_commands"])
    assert "--head" in head_start and "--dashboard-host=127.0.0.1" in head_start
    assert any("--address=$RAY_HEAD_IP:6379" in c for c in config["worker_start_ray_commands"])
    if name == "gcp.yaml":
        accelerators = [a for t in workers for a in t["node_config"]["guestAccelerators"]]
        assert accelerators and all(a["acceleratorCount"] >= 1 for a in accelerators)
        assert all({"onHostMaintenance": "TERMINATE"} in t["node_config"]["scheduling"] for t in workers)
    else:
        assert all(t["node_config"]["InstanceType"].startswith(("g", "p")) for t in workers)


def cluster_spec(manifest: dict[str, Any]) -> dict[str, Any]:
    """The RayCluster spec of a RayCluster, or the one a RayJob creates."""
    return manifest["spec"] if manifest["kind"] == "RayCluster" else manifest["spec"]["rayClusterSpec"]


def pods(spec: dict[str, Any]) -> list[dict[str, Any]]:
    groups = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    return [c for group in groups for c in group["template"]["spec"]["containers"]]


def image_tag_matches_ray(image: str) -> bool:
    return f"ray{pinned_ray()}." in image.rpartition(":")[2] and "py311" in image


@pytest.mark.parametrize("name", ["raycluster.yaml", "rayjob.yaml"])
def test_kuberay_manifests(name: str) -> None:
    manifest = load(CLUSTER / "kuberay" / name)
    assert manifest["apiVersion"] == "ray.io/v1"
    assert manifest["kind"] == ("RayCluster" if name == "raycluster.yaml" else "RayJob")
    cluster = cluster_spec(manifest)
    assert cluster["rayVersion"].startswith(pinned_ray() + ".")
    containers = pods(cluster)
    assert len({c["image"] for c in containers}) == 1 and image_tag_matches_ray(containers[0]["image"])
    head = cluster["headGroupSpec"]
    assert head["rayStartParams"]["num-cpus"] == "0"
    assert "TRAIN_DRIVER" in head["rayStartParams"]["resources"]
    # Every pod mounts the shared volume the sweep's storage lives on.
    for group in [head, *cluster["workerGroupSpecs"]]:
        pod = group["template"]["spec"]
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]}
        for container in pod["containers"]:
            mounts = {m["mountPath"]: claims[m["name"]] for m in container["volumeMounts"]}
            assert mounts.get("/mnt/shared") == "resweep-shared"
    for group in cluster["workerGroupSpecs"]:
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        for container in group["template"]["spec"]["containers"]:
            resources = container["resources"]
            assert resources["requests"] == resources["limits"]  # guaranteed pods
            assert int(resources["limits"]["nvidia.com/gpu"]) >= 1
    if manifest["kind"] == "RayJob":
        spec = manifest["spec"]
        command = shlex.split(spec["entrypoint"])
        assert command[:4] == ["python", "-m", "search.cli", "sweep"]
        assert (ROOT / command[4]).is_file()  # a config that exists
        storage = command[command.index("--storage") + 1]
        assert storage.startswith(("s3://", "gs://", "/mnt/shared/"))
        assert spec["shutdownAfterJobFinishes"] is True
        runtime_env = yaml.safe_load(spec["runtimeEnvYAML"])
        assert runtime_env["working_dir"] == "/home/ray/resweep"  # where cluster/Dockerfile puts it
        assert runtime_env["env_vars"]["HF_HUB_OFFLINE"] == "1"


def test_dockerfile_builds_on_the_pinned_ray_image() -> None:
    text = (CLUSTER / "Dockerfile").read_text()
    base = re.search(r"^FROM (\S+)", text, re.MULTILINE)
    assert base and base.group(1) == f"rayproject/ray:{pinned_ray()}.0-py311-gpu"
    assert "pip install --no-cache-dir -e /home/ray/resweep" in text
    manifests = [load(CLUSTER / "kuberay" / name) for name in ("raycluster.yaml", "rayjob.yaml")]
    images = {c["image"] for manifest in manifests for c in pods(cluster_spec(manifest))}
    tag = re.search(r"-t (\S+)", text)
    assert tag and images == {tag.group(1)}  # the manifests run the image the Dockerfile builds
