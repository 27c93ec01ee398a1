"""MLflow: one parent run per sweep, one nested run per trial, the model folder registered.

Default store: ``sqlite:///<sweep>/mlflow/mlflow.db`` with artifacts in ``<sweep>/mlflow/artifacts``
(MLflow 3 deprecates its ``./mlruns`` file store and makes SQLite its own default). Runs are found
again by their tags (``resweep.sweep``, ``resweep.trial``), so a resume continues them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._base import BaseTracker, SettingError, TrialInfo, text_setting

__all__ = ["MlflowSettings", "MlflowTracker"]

STATUS = {"finished": "FINISHED", "stopped": "KILLED", "error": "FAILED"}
_PARAM_LIMIT = 6000  # characters of one parameter value (MLflow 3)
_BATCH = 100  # parameters (and tags) per log_batch request


# Tracking URI schemes MLflow has stores for (a database URL may name its driver: postgresql+psycopg).
MLFLOW_SCHEMES = (
    "file",
    "http",
    "https",
    "sqlite",
    "postgresql",
    "mysql",
    "mssql",
    "databricks",
    "databricks-uc",
)


@dataclass(frozen=True)
class MlflowSettings:
    """``mlflow_uri``: a tracking URI (``http://host:5000``, ``sqlite:///path.db``, ``databricks``);
    empty: a local store in the sweep's folder (``<sweep>/mlflow/mlflow.db`` and its artifacts
    beside it). ``mlflow_experiment``: default the sweep's name."""

    mlflow_uri: str = ""
    mlflow_experiment: str = ""

    def __post_init__(self) -> None:
        uri = text_setting("mlflow_uri", self.mlflow_uri)
        text_setting("mlflow_experiment", self.mlflow_experiment)
        scheme = (
            uri.split("://", 1)[0].split("+", 1)[0].lower()
            if "://" in uri or uri.startswith("databricks")
            else ""
        )
        if (
            scheme and scheme not in MLFLOW_SCHEMES
        ):  # MLflow would fail on it at the sweep's start (after Ray)
            raise SettingError(
                "mlflow_uri",
                f"unknown scheme {scheme!r} in {uri!r}; MLflow takes a folder, "
                + ", ".join(f"{s}://" for s in MLFLOW_SCHEMES if not s.startswith("databricks"))
                + " or databricks",
            )


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:_PARAM_LIMIT]


class MlflowTracker(BaseTracker):
    name = "mlflow"
    package = "mlflow"
    settings_class = MlflowSettings
    option_setting = "mlflow_uri"  # --tracking mlflow=URI
    settings: MlflowSettings

    @property
    def local(self) -> Path:
        return self.folder / "mlflow"

    @property
    def uri(self) -> str:
        return self.settings.mlflow_uri or f"sqlite:///{self.local / 'mlflow.db'}"

    def open(self, resuming: bool) -> None:
        # A far or dead server costs seconds, not MLflow's default minutes of retries.
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        import logging

        from mlflow import MlflowClient

        for name in ("mlflow", "alembic"):  # not a line per database migration on the sweep's stderr
            logging.getLogger(name).setLevel(logging.WARNING)

        if not self.settings.mlflow_uri:
            self.local.mkdir(parents=True, exist_ok=True)
        self.client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
        name = self.settings.mlflow_experiment or self.sweep
        experiment = self.client.get_experiment_by_name(name)
        if experiment is None:
            where = None if self.settings.mlflow_uri else (self.local / "artifacts").as_uri()
            self.experiment = self.client.create_experiment(name, artifact_location=where)
        else:
            self.experiment = experiment.experiment_id
            if experiment.lifecycle_stage == "deleted":
                self.client.restore_experiment(self.experiment)
        self.runs: dict[str, str] = {}  # trial name -> its run (made now or by an earlier run)
        self.active: dict[str, str] = {}  # the runs of trials this sweep run reports on, until they end
        parent = None
        for run in self._search(f"tags.`resweep.sweep` = '{self.sweep}'"):
            tags = run.data.tags
            if tags.get("resweep.kind") == "sweep":
                parent = run.info.run_id
            elif "resweep.trial" in tags:
                self.runs[tags["resweep.trial"]] = run.info.run_id
        if parent is None:
            parent = self.client.create_run(
                self.experiment,
                run_name=self.sweep,
                tags={"resweep.sweep": self.sweep, "resweep.kind": "sweep"},
            ).info.run_id
        elif resuming:  # the sweep runs again
            self.client.update_run(parent, status="RUNNING")
        self.parent = parent

    def _search(self, filter_string: str) -> list[Any]:
        runs: list[Any] = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment], filter_string=filter_string, max_results=1000, page_token=token
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def _run(self, trial: TrialInfo) -> str:
        """The trial's run: found (a resume: it runs again) or made, with its parameters and tags."""
        if trial.key in self.active:
            return self.active[trial.key]
        if trial.key in self.runs:
            self.client.update_run(self.runs[trial.key], status="RUNNING")
            self.active[trial.key] = self.runs[trial.key]
            return self.runs[trial.key]
        from mlflow.entities import Param

        run = self.client.create_run(
            self.experiment,
            run_name=trial.key,
            tags={**trial.tags, "resweep.kind": "trial", "mlflow.parentRunId": self.parent},
        )
        run_id = str(run.info.run_id)
        params = [Param(key, _text(value)) for key, value in sorted(trial.params.items())]
        for start in range(0, len(params), _BATCH):
            self.client.log_batch(run_id, params=params[start : start + _BATCH])
        self.runs[trial.key] = self.active[trial.key] = run_id
        return run_id

    def epoch(self, trial: TrialInfo, step: int, metrics: Mapping[str, float]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        run = self._run(trial)
        batch = [Metric(key, value, now, step) for key, value in metrics.items()]
        self.client.log_batch(run, metrics=batch)

    def ended(self, trial: TrialInfo, status: str, final: Mapping[str, float]) -> None:
        from mlflow.entities import Metric, RunTag

        now = int(time.time() * 1000)
        run = self._run(trial)
        self.client.log_batch(
            run,
            metrics=[Metric(key, value, now, 0) for key, value in final.items()],
            tags=[RunTag("resweep.status", status)],
        )
        self.client.set_terminated(run, STATUS.get(status, "FAILED"))
        self.active.pop(trial.key, None)

    def size_done(self, size: str, files: Mapping[str, Path]) -> None:
        for artifact, path in files.items():
            folder = str(Path(artifact).parent)
            self.client.log_artifact(self.parent, str(path), None if folder == "." else folder)
        self.client.set_tag(self.parent, f"resweep.done.{size}", "true")

    def close(self, complete: bool) -> None:
        for run in self.active.values():  # trials cut off mid-way: a resume sets them running again
            self.client.set_terminated(run, "KILLED")
        self.active.clear()
        self.client.set_terminated(self.parent, "FINISHED" if complete else "KILLED")

    def model(self, folder: Path, label: str, scores: Mapping[str, float]) -> str:
        """Log model folder ``folder`` in a run of its own under the sweep's, and register it as
        a new version of the registered model named after the sweep; return ``name/version``."""
        from mlflow.entities import Metric
        from mlflow.exceptions import MlflowException

        run = self.client.create_run(
            self.experiment,
            run_name=f"train {label}",
            tags={"resweep.sweep": self.sweep, "resweep.kind": "train", "mlflow.parentRunId": self.parent},
        )
        run_id = run.info.run_id
        now = int(time.time() * 1000)
        numbers = {k: float(v) for k, v in scores.items() if isinstance(v, (int, float))}
        self.client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in numbers.items()])
        self.client.log_artifacts(run_id, str(folder), "model")
        self.client.set_terminated(run_id, "FINISHED")
        try:
            self.client.create_registered_model(self.sweep, description=f"resweep sweep {self.sweep}")
        except MlflowException as err:
            if "already exists" not in str(err).lower() and err.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        version = self.client.create_model_version(
            self.sweep, f"{run.info.artifact_uri}/model", run_id=run_id, tags={"resweep.label": label}
        )
        return f"{self.sweep}/{version.version}"
