"""Conformance checks every registered tracker must pass (its settings declared beside it, checked
at their keys, round-tripped through sweep.yaml and ``--tracking``), and a new tracker as one
module plus one registry line. No Ray: the section and the tracking thread alone."""

from __future__ import annotations

import dataclasses
import json
import pickle
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from search.config import ConfigError, parse_sweep_text
from search.tracking import TRACKERS, BaseTracker, TrackingSection, TrialInfo, tracker_names, tracking_option


def parse(tracking: Any) -> TrackingSection:
    """``tracking`` as the ``tracking:`` section of a sweep config file."""
    document = {
        "name": "tracked",
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1], "seeds": [0]},
        "search": {"space": "demo-smoke", "budget": 4},
        "tracking": tracking,
    }
    return parse_sweep_text(yaml.safe_dump(document, sort_keys=False), source="tracked.yaml").tracking


def located(tracking: Any) -> str:
    """The one-line error a bad ``tracking`` section makes."""
    with pytest.raises(ConfigError) as caught:
        parse(tracking)
    message = str(caught.value)
    assert message.startswith("tracked.yaml:") and "\n" not in message, message
    return message


# Values other than the defaults, per tracker, for the round trip (a tracker not listed here
# round-trips with its defaults).
EXAMPLES: dict[str, dict[str, Any]] = {
    "mlflow": {"mlflow_uri": "http://127.0.0.1:5000", "mlflow_experiment": "mine"},
    "wandb": {"wandb_mode": "online", "wandb_project": "re", "wandb_entity": "lab"},
}


def _wrong_type(value: Any) -> Any:
    return 5 if isinstance(value, str) else "five"


@pytest.mark.parametrize("name", tracker_names())
def test_tracker_conformance(name: str, tmp_path: Path) -> None:
    cls = TRACKERS.get(name)
    assert issubclass(cls, BaseTracker) and cls.name == name and cls.package
    # Its settings: a frozen dataclass beside it, keys named after it (no two trackers share one).
    settings = cls.settings_class
    assert dataclasses.is_dataclass(settings) and settings.__dataclass_params__.frozen  # type: ignore[attr-defined]
    defaults = settings()
    keys = cls.setting_names()
    assert all(key.startswith(f"{name}_") for key in keys), keys
    assert set(keys) <= set(TrackingSection.valid_keys())
    assert cls.option_setting is None or cls.option_setting in keys
    # An unknown setting, and a value of the wrong type for each of its own, are one located line.
    message = located({"trackers": [name], f"{name}_nope": 1})
    assert f"tracking.{name}_nope: unknown key; valid keys of tracking: trackers, " in message
    assert all(key in message for key in keys)
    for key in keys:
        assert f"tracking.{key}: " in located({"trackers": [name], key: _wrong_type(getattr(defaults, key))})
    # Round trips: sweep.yaml's document, the flat constructor, pickle (Ray ships configs).
    for given in ({}, EXAMPLES.get(name, {})):
        section = parse({"trackers": [name], **given})
        assert section.trackers == (name,) and section.on
        own = section.settings_of(cls)
        assert isinstance(own, settings) and all(getattr(own, k) == v for k, v in given.items())
        assert parse(section.document()) == section
        assert TrackingSection(**{**section.document(), "trackers": (name,)}) == section
        assert pickle.loads(pickle.dumps(section)) == section
        assert cls(section, "x", tmp_path).settings == own  # the tracker is handed its own settings
    # --tracking NAME (and NAME=VALUE where it takes one) over a config's section.
    assert tracking_option(name, TrackingSection()).trackers == (name,)
    if cls.option_setting is None:
        with pytest.raises(ValueError, match=f"--tracking: {name} takes no value"):
            tracking_option(f"{name}=x", TrackingSection())
    elif name in EXAMPLES:
        value = EXAMPLES[name][cls.option_setting]
        over = tracking_option(f"{name}={value}", TrackingSection())
        assert getattr(over.settings_of(cls), cls.option_setting) == value


def test_tracker_names_come_from_the_registry() -> None:
    assert tracker_names() == ("mlflow", "wandb", "tensorboard")
    message = located(["mlfow"])
    assert "tracking.trackers: unknown tracker 'mlfow'; trackers: mlflow, wandb, tensorboard" in message


# A new tracker: one module (written here into a temporary folder, as a user's would be) plus one
# registry line. Nothing shared knows it: the section parses its name and settings, `--tracking`
# sets its option, and the tracking thread runs it.
JSONL_MODULE = '''
"""``jsonl``: every event as one JSON line in a file of the sweep's folder."""

import json
from dataclasses import dataclass

from search.tracking import BaseTracker, SettingError, text_setting


@dataclass(frozen=True)
class JsonlSettings:
    jsonl_file: str = "events.jsonl"  # under the sweep's folder

    def __post_init__(self):
        text_setting("jsonl_file", self.jsonl_file)
        if not self.jsonl_file.endswith(".jsonl"):
            raise SettingError("jsonl_file", f"expected a .jsonl file name, got {self.jsonl_file!r}")


class JsonlTracker(BaseTracker):
    name = "jsonl"
    package = "json"
    settings_class = JsonlSettings
    option_setting = "jsonl_file"

    def open(self, resuming):
        self.path = self.folder / self.settings.jsonl_file
        self._write("open", resuming=resuming)

    def epoch(self, trial, step, metrics):
        self._write("epoch", trial=trial.key, step=step, **metrics)

    def ended(self, trial, status, final):
        self._write("ended", trial=trial.key, status=status, **final)

    def close(self, complete):
        self._write("close", complete=complete)

    def _write(self, event, **fields):
        with self.path.open("a") as handle:
            handle.write(json.dumps({"event": event, **fields}) + "\\n")
'''


@pytest.fixture
def jsonl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[BaseTracker]]:
    folder = tmp_path / "module"
    folder.mkdir()
    (folder / "jsonl_tracker.py").write_text(textwrap.dedent(JSONL_MODULE))
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.setattr(TRACKERS, "_entries", dict(TRACKERS._entries))  # undone after the test
    TRACKERS.register("jsonl", "jsonl_tracker:JsonlTracker")  # the one line a new tracker adds
    yield TRACKERS.get("jsonl")
    sys.modules.pop("jsonl_tracker", None)


def test_a_new_tracker_is_one_module_plus_one_registry_line(jsonl: type[BaseTracker], tmp_path: Path) -> None:
    from search.tracking import TrackingHub

    test_tracker_conformance("jsonl", tmp_path)  # the checks every registered tracker passes
    assert "trackers: mlflow, wandb, tensorboard, jsonl" in located(["jsonl", "nope"])
    from search.cli.app import build_parser  # --tracking's help names it too

    help_text = " ".join(build_parser()._subparsers._group_actions[0].choices["sweep"].format_help().split())
    assert "section: mlflow, wandb, tensorboard, jsonl (comma-" in help_text
    assert "tracking.jsonl_file: expected a .jsonl file name, got 'x.txt'" in located(
        {"trackers": ["jsonl"], "jsonl_file": "x.txt"}
    )
    section = parse({"trackers": ["jsonl", "tensorboard"], "jsonl_file": "mine.jsonl"})
    assert section.jsonl_file == "mine.jsonl" and section.document()["jsonl_file"] == "mine.jsonl"
    section = tracking_option("jsonl=run.jsonl", section)  # --tracking sets its option
    assert section.trackers == ("jsonl",) and section.jsonl_file == "run.jsonl"

    # It runs on the tracking thread like every tracker.
    hub = TrackingHub(section, "x", tmp_path)
    hub.start(resuming=False, prior=[])
    trial = TrialInfo("t", "x", "id0.1", "local", "search", 0)
    for step in (1, 2):
        hub.epoch(trial, step, {"dev_f1_weighted": 0.1 * step})
    hub.ended(trial, "finished", {"selected_epoch": 2.0})
    hub.close(complete=True)
    events = [json.loads(line) for line in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert [e["event"] for e in events] == ["open", "epoch", "epoch", "ended", "close"]
    assert events[2] == {"event": "epoch", "trial": "t", "step": 2, "dev_f1_weighted": 0.2}
