"""The `resweep` command line: data info/validate/list/regimes/demo, exit codes and messages."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from search.cli import main


def test_info_on_the_synthetic_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "synthetic"]) == 0
    out = capsys.readouterr().out
    assert "synthetic  (generated)" in out
    assert "4,000 records, 11 labels, negative label(s): no_relation" in out
    assert "train    3,000" in out and "no dev split" in out


def test_info_json_is_machine_readable(
    fixtures: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copy(fixtures / "semeval_train.txt", tmp_path / "train.txt")
    shutil.copy(fixtures / "semeval_test.txt", tmp_path / "test.txt")
    assert main(["data", "info", str(tmp_path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["records"] == 6 and summary["negative_labels"] == ["Other"]
    train = summary["splits"]["train"]
    assert train["records"] == 4 and train["labels"] == 4 and train["imbalance_ratio"] == 1.0
    assert train["negative_share"] == 0.25 and set(train["length"]) >= {"p50", "p90", "p99", "max"}
    assert summary["splits"]["test"]["label_counts"] == {"Other": 1, "Product-Producer(e2,e1)": 1}


def test_validate_ok(fixtures: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "validate", str(fixtures / "tacred.json"), "--format", "tacred"]) == 0
    assert "OK: tacred: 2 records (train 2), 2 labels" in capsys.readouterr().out


def test_list_shows_every_named_dataset(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    from trainables.data.datasets import DATASETS

    for name in DATASETS.names():  # the required names are checked in test_datasets.py
        assert name in out


def test_regimes_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = [
        "data",
        "regimes",
        "synthetic",
        "--ood",
        "synthetic_ood",
        "--sizes",
        "0.1,500",
        "--ood-pct",
        "10",
        "--local-pct",
        "50",
    ]
    assert main(args) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    # size, ood_pct, train, labels, dev, test, ood_train, local_pretrain, carved
    assert rows == [
        ["0.1", "10", "270", "11", "300", "1,000", "300", "135", "dev"],
        ["500", "10", "500", "11", "300", "1,000", "300", "250", "dev"],
    ]


def test_bad_regime_argument_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "regimes", "synthetic", "--sizes", "1.5"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        "resweep: error: --sizes: in-domain size must be a fraction in (0, 1] like 0.1 or a count like 3000, "
        "got '1.5'"
    )
    assert main(["data", "regimes", "synthetic", "--sizes", "lots"]) == 1
    assert "must be a fraction in (0, 1] like 0.1 or a count like 3000" in capsys.readouterr().err


def test_demo_shows_both_domains_and_the_regimes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "synthetic  (generated)" in out and "synthetic_ood  (generated)" in out
    assert "Data regimes (seed 0)" in out


def test_console_script_exit_codes(tmp_path: Path) -> None:
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"tokens": ["a"], "head": [0, 1], "tail": [0, 1], "label": "x"}\n')
    done = subprocess.run(
        [sys.executable, "-m", "search.cli", "data", "info", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().startswith(
        f"resweep: error: {bad}:1: record 'train-1': head span [0, 1) and tail"
    )
    usage = subprocess.run(
        [sys.executable, "-m", "search.cli", "data", "nonsense"], capture_output=True, text=True, check=False
    )
    assert usage.returncode == 2 and "invalid choice" in usage.stderr


def test_trial_command_runs_one_trial_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from trainables.testing import build_tiny_bert

    encoder = build_tiny_bert(tmp_path / "tiny")
    out = tmp_path / "result.json"
    args = [
        "trial",
        f"encoder={encoder}",
        "in_domain_size=80",
        "max_epochs=2",
        "learning_rate=1e-3",
        "max_length=40",
        "--artifacts",
        str(tmp_path / "artifacts"),
        "--out",
        str(out),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "dev_f1_weighted" in printed and "selected epoch" in printed
    result = json.loads(out.read_text())
    assert result["config"]["learning_rate"] == 1e-3 and len(result["history"]) == 2
    assert result["selected"]["selected_epoch"] in (1, 2)
    assert main(["trial", "strategy=transfer"]) == 1
    assert "unknown transfer strategy 'transfer'" in capsys.readouterr().err


def test_size_queries_convert_between_fractions_and_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv

    table = tmp_path / "counts.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["in_domain_size", "strategy", "imbalance", "accuracy"])
        writer.writeheader()
        for size, strategy, score in ((100, "baseline", 0.5), (200, "local", 0.7), (200, "baseline", 0.6)):
            writer.writerow(
                {"in_domain_size": size, "strategy": strategy, "imbalance": "none", "accuracy": score}
            )
    # A fraction asked of a sweep in counts: half of a 400-sentence pool is the swept 200.
    assert main(["leaderboard", "--from-table", str(table), "--size", "0.5", "--pool", "400", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["size"] == 200 and answer["pool"] == 400
    assert main(["leaderboard", "--from-table", str(table), "--size", "0.5"]) == 1
    assert (
        "size 0.5 is a fraction but the sizes here are counts; give the pool (`--pool`"
        in capsys.readouterr().err
    )


def test_only_user_errors_are_one_line_and_a_bug_keeps_its_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import search.cli.app as cli
    from trainables.errors import ResweepError

    def mistake(args: object) -> int:
        raise ResweepError("sweep 'x': no such thing")

    def bug(args: object) -> int:
        raise ValueError("an internal invariant broke")

    monkeypatch.setattr(cli, "cmd_list", mistake)
    assert main(["list", "spaces"]) == 1
    assert capsys.readouterr().err == "resweep: error: sweep 'x': no such thing\n"
    monkeypatch.setattr(cli, "cmd_list", bug)
    with pytest.raises(ValueError, match="an internal invariant broke"):
        main(["list", "spaces"])
