"""optuna-dashboard, a real server on 127.0.0.1, shows what a sweep's studies hold: a trial the
scheduler stopped is *Pruned* with its per-epoch curve, a finished one *Complete*, each with the
sweep's user attributes (size, cell, Tune trial id)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from search.driver.schedulers import SCHEDULER_TIME
from search.driver.searchers import Slots, make_searcher
from trainables.report_keys import TRAINING_DONE

pytest.importorskip("optuna_dashboard", reason="optuna-dashboard is a test extra (pip install -e .[dev])")

METRIC = "dev_f1_weighted"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, deadline: float) -> Any:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_dashboard_lists_a_stopped_trial_as_pruned_with_its_curve(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    searcher = make_searcher(
        slots=Slots(budgets={"id0.1/local": 2}, sizes={"id0.1/local": 0.1}, cells={"id0.1/local": "local"}),
        kind="tpe",
        space="demo-smoke",
        metric=METRIC,
        seed=0,
        storage_url=url,
        study_prefix="dash",
        cell_values={"local": {"strategy": "local"}},
        max_concurrent=4,
        intermediate=METRIC,
    )
    for trial_id in ("stopped", "finished"):
        assert searcher.suggest(trial_id)["strategy"] == "local"
    for epoch, score in ((1, 0.3), (2, 0.4)):
        for trial_id in ("stopped", "finished"):
            searcher.on_trial_result(trial_id, {SCHEDULER_TIME: epoch, METRIC: score})
    searcher.on_trial_complete("stopped", {METRIC: 0.4, TRAINING_DONE: False})
    searcher.on_trial_result("finished", {SCHEDULER_TIME: 3, METRIC: 0.5})
    searcher.on_trial_complete("finished", {METRIC: 0.5, TRAINING_DONE: True})

    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from optuna_dashboard._cli import main; main()",
            url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        base = f"http://127.0.0.1:{port}/api/studies"
        studies = _get(base, deadline)["study_summaries"]
        assert [s["study_name"] for s in studies] == ["dash-id0.1/local"]
        trials = _get(f"{base}/{studies[0]['study_id']}", deadline)["trials"]
        by_id = {next(a["value"] for a in t["user_attrs"] if a["key"] == "tune_trial_id"): t for t in trials}
        stopped, finished = by_id["stopped"], by_id["finished"]
        assert stopped["state"] == "Pruned"
        assert [(v["step"], v["value"]) for v in stopped["intermediate_values"]] == [(1, 0.3), (2, 0.4)]
        assert finished["state"] == "Complete" and finished["values"] == [0.5]
        attrs = {a["key"]: a["value"] for a in stopped["user_attrs"]}
        assert attrs["cell"] == "local" and attrs["sweep"] == "dash" and float(attrs["size"]) == 0.1
    finally:
        server.terminate()
        server.wait(timeout=10)
