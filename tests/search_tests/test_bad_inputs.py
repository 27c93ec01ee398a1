"""Bad input, table-driven: each case is one command a user might type, with what must come back
— a non-zero exit, one line naming the file and line, the config key or the argument, no
traceback, and nothing left behind in the storage folder. None of them starts Ray: every check
runs before the sweep starts."""

from __future__ import annotations

import csv
import json
import os
import re
from pathlib import Path

import pytest

from search.cli import main

BASE = {
    "name": "bad",
    "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1]},
    "search": {"space": "demo-smoke", "budget": 4},
}


def _yaml(document: dict) -> str:
    import yaml

    return yaml.safe_dump(document, sort_keys=False)


def _with(section: str, **values: object) -> str:
    document = json.loads(json.dumps(BASE))
    if section:
        document.setdefault(section, {}).update(values)
    else:
        document.update(values)
    return _yaml(document)


def _write_data(folder: Path) -> None:
    """Data files with problems, as a user's own: a broken JSONL line, a dev label train lacks,
    a TACRED offset given as text."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {"tokens": ["Ann", "works", "for", "ACME"], "head": [0, 1], "tail": [3, 4], "label": "works_for"}
    (folder / "broken").mkdir(exist_ok=True)
    (folder / "broken" / "train.jsonl").write_text(json.dumps({**record, "id": "a"}) + "\n{not json\n")
    (folder / "labels").mkdir(exist_ok=True)
    (folder / "labels" / "train.jsonl").write_text(json.dumps({**record, "id": "a"}) + "\n")
    (folder / "labels" / "dev.jsonl").write_text(json.dumps({**record, "id": "b", "label": "born_in"}) + "\n")
    tacred = {"id": "t", "token": ["Ann", "works", "for", "ACME"], "subj_start": "0", "subj_end": 0,
              "obj_start": 3, "obj_end": 3, "relation": "per:employee_of"}  # fmt: skip
    (folder / "tacred.json").write_text(json.dumps([tacred]))


# (case id, sweep config text, what the one line says, the key's line in the file or None)
CONFIGS: list[tuple[str, str, str, int | None]] = [
    (
        "missing-path",
        _with("data", in_domain="data/nope.jsonl"),
        "data.in_domain: data/nope.jsonl: no such file",
        3,
    ),
    (
        "data-broken-line",
        _with("data", in_domain="data/broken"),
        "data/broken/train.jsonl:2: invalid JSON",
        3,
    ),
    (
        "data-dev-label",
        _with("data", in_domain="data/labels"),
        "label 'born_in' in the dev split does not occur in train",
        3,
    ),
    (
        "data-tacred-offset",
        _with("data", in_domain="data/tacred.json", in_domain_format="tacred"),
        "span offsets must be integers, got subj_start='0'",
        3,
    ),
    ("size-over-pool", _with("data", sizes=[100, 5000]), "data.sizes: 5000: in_domain_size 5000 exceeds", 5),
    ("size-zero", _with("data", sizes=[0]), "data.sizes:", 5),
    ("size-negative", _with("data", sizes=[-3]), "data.sizes:", 5),
    ("size-fraction-over-one", _with("data", sizes=[1.5]), "data.sizes:", 5),
    ("sizes-repeat", _with("data", sizes=[0.1, 0.1]), "data.sizes: sizes repeat", 5),
    (
        "sizes-two-units",
        _with("data", sizes=[0.1, 0.5, 300]),
        "data.sizes: mixes fractions (0.1, 0.5) and counts (300)",
        5,
    ),
    ("seeds-repeat", _with("data", seeds=[0, 0]), "data.seeds: seeds repeat", None),
    ("seed-negative", _with("data", seeds=[-1]), "data.seeds: expected a list of integers from 0 to", None),
    (
        "format-unknown",
        _with("data", in_domain_format="xml"),
        "data.in_domain_format: unknown format 'xml'",
        None,
    ),
    (
        "label-mapping-list",
        _with("data", label_mapping=[1, 2]),
        "data.label_mapping: expected a mapping",
        None,
    ),
    (
        "label-mapping-number",
        _with("data", label_mapping={"a": 1}),
        "data.label_mapping: expected a mapping",
        None,
    ),
    ("no-in-domain", _yaml({"name": "bad", "data": {"ood": "synthetic_ood"}}), "missing data.in_domain", 2),
    ("ood-needed", _yaml({"name": "bad", "data": {"in_domain": "synthetic"}}), "data.ood is not set", 2),
    (
        "encoder-missing",
        _with("", encoder="./no/such/encoder"),
        "encoder: ./no/such/encoder: no such model folder",
        None,
    ),
    ("encoder-not-a-model", _with("", encoder="."), "encoder: ", None),
    (
        "trial-unknown-name",
        _with("trial", imbalance="nope"),
        "trial: unknown imbalance technique 'nope'",
        None,
    ),
    (
        "trial-unknown-key",
        _with("trial", learning_rat=0.1),
        "trial.learning_rat: unknown trial key; did you mean learning_rate?",
        None,
    ),
    (
        "trial-sets-size",
        _with("trial", in_domain_size=0.5),
        "trial.in_domain_size: set by the sweep itself; set data.sizes",
        None,
    ),
    ("trial-sets-seed", _with("trial", seed=3), "trial.seed: set by the sweep itself; set data.seeds", None),
    (
        "trial-sets-encoder",
        _with("trial", encoder="x"),
        "trial.encoder: set by the sweep itself; set encoder",
        None,
    ),
    ("trial-sets-dataset", _with("trial", in_domain="x"), "trial.in_domain: set by the sweep itself", None),
    ("trial-not-mapping", _with("", trial=[1]), "trial: expected a mapping", None),
    ("name-dotdot", _with("", name=".."), "name: expected a name of letters", 1),
    ("name-dot", _with("", name="."), "name: expected a name of letters", 1),
    ("name-hidden", _with("", name=".x"), "name: expected a name of letters", 1),
    ("name-slash", _with("", name="a/b"), "name: expected a name of letters", 1),
    ("name-space", _with("", name="a b"), "name: expected a name of letters", 1),
    ("name-number", _with("", name=3), "name: expected a name of letters", 1),
    ("budget-zero", _with("search", budget=0), "search.budget: expected an integer >= 1", None),
    ("budget-text", _with("search", budget="lots"), "search.budget: expected an integer >= 1", None),
    (
        "budget-below-cells",
        _with("search", budget=3),
        "search.budget: 3 is fewer than the 4 question cells",
        None,
    ),
    ("searcher-unknown", _with("search", searcher="bayes"), "search.searcher: got 'bayes'", None),
    ("scheduler-unknown", _with("search", scheduler="pbt"), "search.scheduler: got 'pbt'", None),
    ("space-unknown", _with("search", space="huge"), "search.space: got 'huge'", None),
    ("metric-unknown", _with("search", selection_metric="auc"), "search.selection_metric: got 'auc'", None),
    (
        "question-axis-unknown",
        _with("search", question=["colour"]),
        "search.question: unknown axis 'colour'",
        None,
    ),
    ("question-axis-fixed", _with("search", question=["architecture"]), "does not vary architecture", None),
    # Silently wrong answers (issue 25, item 2; more in test_leakage.py).
    (
        "trial-fixes-the-question-axis",
        _with("trial", strategy="local"),
        "trial.strategy: fixed to 'local', but search.question compares strategy",
        None,
    ),
    (
        "ood-is-the-in-domain-data",
        _with("data", ood="synthetic"),
        "data.ood: out-of-domain dataset 'synthetic' is the in-domain dataset",
        4,
    ),
    (
        "sizes-read-alike",
        _with("data", sizes=[1.0, 0.99999999]),
        "data.sizes: 0.99999999 and 1.0 are too close",
        5,
    ),
    (
        "confirm-negative",
        _with("search", confirm_top_k=-1),
        "search.confirm_top_k: expected an integer >= 0",
        None,
    ),
    ("transfer-text", _with("search", transfer="yes"), "search.transfer: expected true or false", None),
    (
        "keep-checkpoints-text",
        _with("search", keep_checkpoints="no"),
        "search.keep_checkpoints: expected true or false",
        None,
    ),
    ("tune-logs-text", _with("search", tune_logs="on"), "search.tune_logs: expected true or false", None),
    (
        "confirm-max-seeds-zero",
        _with("search", confirm_max_seeds=0),
        "search.confirm_max_seeds: expected an integer from 1 to 100",
        None,
    ),
    ("margin-negative", _with("decision", margin=-0.01), "decision.margin: expected a number >= 0", None),
    ("margin-text", _with("decision", margin="small"), "decision.margin: expected a number >= 0", None),
    (
        "confidence-certain",
        _with("decision", confidence=1),
        "decision.confidence: expected a number above 0.5 and below 1",
        None,
    ),
    ("decision-unknown", _with("decision", alpha=0.05), "decision.alpha: unknown key", None),
    (
        "concurrency-zero",
        _with("search", max_concurrent=0),
        "search.max_concurrent: expected an integer >= 1 or auto",
        None,
    ),
    (
        "study-url",
        _with("search", study_storage="db.sqlite"),
        "search.study_storage: expected an SQLAlchemy URL",
        None,
    ),
    ("cpus-negative", _with("resources", cpus=-1), "resources.cpus: expected a number >= 0", None),
    ("no-cpu-no-gpu", _with("resources", cpus=0, gpus=0), "resources: a trial needs some CPU or GPU", None),
    ("workers-zero", _with("resources", workers=0), "resources.workers: expected an integer >= 1", None),
    ("executor-unknown", _with("resources", executor="slurm"), "resources.executor: got 'slurm'", None),
    (
        "storage-credentials",
        _with("", storage="s3://AKIAEXAMPLE:Sekr3tValue@bucket/x"),
        "credentials do not belong in the URI",
        None,
    ),
    (
        "storage-secret-query",
        _with("", storage="s3://bucket/x?secret_key=Sekr3tValue"),
        "credentials do not belong in the URI",
        None,
    ),
    (
        "storage-scheme",
        _with("", storage="ftp://host/x"),
        "storage: storage 'ftp://host/x': unknown scheme 'ftp'",
        None,
    ),
    ("storage-no-bucket", _with("", storage="s3://"), "the URI names no bucket", None),
    ("unknown-top-key", _with("", budget=4), "budget: unknown key; valid top-level keys", None),
    (
        "unknown-search-key",
        _with("search", epochs=3),
        "search.epochs: unknown key; valid keys of search",
        None,
    ),
    ("section-not-mapping", _with("", search=[1]), "search: expected a mapping of keys", None),
    ("duplicate-key", _with("search") + "search:\n  budget: 8\n", "key 'search' given twice", None),
    ("bad-yaml", "name: bad\ndata: [unclosed\n", "invalid YAML", None),
    ("not-a-mapping", "- just\n- a list\n", "a sweep config is a YAML mapping", None),
    # Bounded waits and tracebacks turned into one line (issue 25, items 4 and 5). BASE is 9 lines.
    (
        "yaml-alias-bomb",
        _with("")
        + "trial:\n  imbalance_params: {bomb: ["
        + ", ".join(
            ["&a0 [x, x, x, x, x, x, x, x, x]"]
            + [f"&a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
        )
        + "]}\n",
        "YAML refused: its aliases expand to more than 100,000 values",
        11,
    ),
    (
        "yaml-alias-in-itself",
        _with("") + "trial:\n  imbalance_params: &s {self: *s}\n",
        "YAML refused: an alias refers to the value that holds it",
        11,
    ),
    ("yaml-nested-deep", _with("") + "encoder: " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply", None),
    ("yaml-nul", _with("") + "encoder: a\x00b\n", "invalid YAML: character '\\x00' is not allowed", 10),
    ("yaml-list-as-key", _with("") + "? [a, b]\n: 1\n", "invalid YAML: found unhashable key", 10),
    ("key-with-newline", _with("") + '"a\\nb": 1\n', "a\\nb: unknown key", 10),
    (
        "seed-beyond-numpy",
        _with("data", seeds=[2**32]),
        "data.seeds: expected a list of integers from 0 to",
        None,
    ),
    (
        "confirm-max-seeds-huge",
        _with("search", confirm_max_seeds=10**9),
        "from 1 to 100, got 1000000000",
        None,
    ),
    (
        "study-url-unknown-database",
        _with("search", study_storage="foo://host/db"),
        "search.study_storage: 'foo' is not a database SQLAlchemy knows",
        None,
    ),
    (
        "study-sqlite-folder-missing",
        _with("search", study_storage="sqlite:////no/such/folder/optuna.db"),
        "search.study_storage: the SQLite file's folder /no/such/folder does not exist",
        None,
    ),
    (
        "extensions-junk",
        _with("", extensions=[{"at": "t", "changes": {"space": 5}}]),
        "extensions: entry 1: changes.space: expected [old, new], got 5",
        None,
    ),
    (
        "tracking-timeout-endless",
        _with("tracking", timeout=float("inf")),
        "tracking.timeout: expected a number of seconds above 0 and at most 86400, got inf",
        None,
    ),
    (
        "storage-home-of-nobody",
        _with("", storage="~no_such_user_rs/x"),
        "storage: ~no_such_user_rs/x: ~no_such_user_rs names no user",
        None,
    ),
    (
        "gpus-this-machine-lacks",
        _with("resources", gpus=1, workers=64),
        "resources.gpus: a trial needs 64 GPUs (64 workers x 1);",
        11,
    ),
    (
        "cpus-this-machine-lacks",
        _with("resources", cpus=100000),
        "resources.cpus: a trial needs 100000 CPUs; ",
        11,
    ),
]
# The secret never reaches the output.
SECRETS = ("Sekr3tValue", "AKIAEXAMPLE")


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(("text", "says", "line"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS])
def test_a_bad_sweep_config_is_one_located_line_and_leaves_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    says: str,
    line: int | None,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("RESWEEP_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    _write_data(tmp_path / "data")
    config = tmp_path / "bad.yaml"
    config.write_text(text)
    storage = tmp_path / "results"
    # A config that names its storage is run with it (--storage would replace it unchecked).
    options = [] if "storage:" in text else ["--storage", str(storage)]
    code = main(["sweep", str(config), *options, "--quiet"])
    out = _one_line(capsys.readouterr().err)
    assert code == 1
    assert says in out, out
    assert out.startswith(f"resweep: error: {config}")
    if line is not None:
        assert out.startswith(f"resweep: error: {config}:{line}: "), out
    assert not any(secret in out for secret in SECRETS if secret in text and "credentials" in says)
    assert not storage.exists() and not (tmp_path / "bad").exists(), "the failed sweep left a folder"
    assert not list(tmp_path.rglob("*.tmp"))
    assert not list((tmp_path / "cache").rglob("*.parquet")), "a failed sweep left parse caches"


def test_the_storage_folder_as_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("")
    config = tmp_path / "bad.yaml"
    config.write_text(_with("", storage=str(tmp_path / "afile")))
    assert main(["sweep", str(config), "--quiet"]) == 1
    out = _one_line(capsys.readouterr().err)
    assert out.startswith(f"resweep: error: {config}:") and f"storage: {tmp_path / 'afile'} is a file" in out


def _table(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    path = tmp_path / "table.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


GOOD_ROWS = [
    {"in_domain_pct": 10, "strategy": "baseline", "imbalance": "none", "accuracy": 0.5},
    {"in_domain_pct": 10, "strategy": "local", "imbalance": "none", "accuracy": 0.6},
]

# (case id, arguments after `leaderboard --from-table TABLE`, rows or None for the good ones, says)
BOARD: list[tuple[str, list[str], list[dict[str, object]] | None, str]] = [
    ("epsilon-negative", ["--epsilon", "-1"], None, "argument --epsilon: expected a number >= 0, got '-1'"),
    ("epsilon-nan", ["--epsilon", "nan"], None, "argument --epsilon: expected a number >= 0, got 'nan'"),
    ("top-zero", ["--top", "0"], None, "argument --top: expected an integer >= 1, got '0'"),
    ("pool-negative", ["--pool", "-5"], None, "argument --pool: expected an integer >= 1, got '-5'"),
    ("size-negative", ["--size", "-3"], None, "in-domain size must be a fraction in (0, 1]"),
    ("size-zero", ["--size", "0"], None, "in-domain size must be a fraction in (0, 1]"),
    ("size-nan", ["--size", "nan"], None, "in-domain size must be a fraction in (0, 1]"),
    ("size-inf", ["--size", "inf"], None, "in-domain size must be a fraction in (0, 1]"),
    ("size-text", ["--size", "many"], None, "in-domain size must be a fraction in (0, 1]"),
    (
        "table-nan",
        [],
        [*GOOD_ROWS, {**GOOD_ROWS[0], "accuracy": "nan"}],
        "table.csv:4: accuracy: expected a finite number >= 0, got 'nan'",
    ),
    (
        "table-negative-pct",
        [],
        [*GOOD_ROWS, {**GOOD_ROWS[0], "in_domain_pct": -10}],
        "table.csv:4: in_domain_pct: expected a finite number >= 0",
    ),
    (
        "table-text",
        [],
        [*GOOD_ROWS, {**GOOD_ROWS[0], "accuracy": "high"}],
        "table.csv:4: accuracy: expected a number, got 'high'",
    ),
    ("table-no-columns", [], [{"x": 1}], "a result table needs the columns in_domain_pct, strategy"),
    (
        "table-percent-among-fractions",
        [],
        [*GOOD_ROWS, {**GOOD_ROWS[0], "accuracy": 20.0}],
        "table.csv:4: accuracy: expected a fraction from 0 to 1, got 20",
    ),
    (
        "table-pct-over-100",
        [],
        [*GOOD_ROWS, {**GOOD_ROWS[0], "in_domain_pct": 150}],
        "table.csv:4: in_domain_pct: expected a percentage from 0 to 100, got 150",
    ),
    (
        "count-over-the-pool",
        ["--size", "1000", "--pool", "10"],
        None,
        "size 1000 is more than the 10 in-domain training sentences of the pool",
    ),
]


@pytest.mark.parametrize(("arguments", "rows", "says"), [c[1:] for c in BOARD], ids=[c[0] for c in BOARD])
def test_a_bad_leaderboard_argument_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
    rows: list[dict[str, object]] | None,
    says: str,
) -> None:
    table = _table(tmp_path, rows or GOOD_ROWS)
    try:
        code = main(["leaderboard", "--from-table", str(table), *arguments])
    except SystemExit as exit_:  # argparse's usage errors
        code = int(exit_.code or 0)
    out = _one_line(capsys.readouterr().err)
    assert code in (1, 2) and says in out, out


# Commands on sweeps that do not exist or cannot take the change.
def _saved_sweep(tmp_path: Path) -> Path:
    from search.config import parse_sweep_text
    from search.plan import SweepPaths, write_sweep_config

    storage = tmp_path / "results"
    config = parse_sweep_text(_with("", storage=str(storage)), source="bad.yaml")
    write_sweep_config(config, SweepPaths.of(storage, "bad"))
    return storage


SWEEP_COMMANDS: list[tuple[str, list[str], str]] = [
    ("resume-absent", ["resume", "absent"], "no sweep named 'absent' here (no sweep.yaml); sweeps in"),
    ("status-absent-names-them", ["status", "absent"], ": bad (resweep list sweeps)"),
    ("extend-absent", ["extend", "absent", "--budget", "8"], "no sweep named 'absent' here"),
    ("extend-smaller-budget", ["extend", "bad", "--budget", "2"], "--budget 2 is below its 4"),
    ("extend-drop-size", ["extend", "bad", "--sizes", "0.5"], "--sizes drops 0.1"),
    ("extend-first-seed", ["extend", "bad", "--seeds", "1,0,2"], "--seeds must start with 0"),
    (
        "extend-seeds-text",
        ["extend", "bad", "--seeds", "a,b"],
        "--seeds: expected a comma-separated list of integers",
    ),
    ("extend-nothing", ["extend", "bad"], "nothing to change"),
    ("extend-narrow-space", ["extend", "bad", "--space", "full"], "a smoke space and a full one"),
    (
        "extend-size-text",
        ["extend", "bad", "--sizes", "0.1,lots"],
        "in-domain size must be a fraction in (0, 1]",
    ),
    ("resume-damaged-studies", ["resume", "bad"], "optuna.db: the Optuna studies cannot be read"),
    ("status-absent", ["status", "absent"], "no sweep named 'absent' here"),
    ("resume-name-escapes", ["resume", "../bad"], "sweep name: expected a name of letters"),
    ("status-name-space", ["status", "a b"], "sweep name: expected a name of letters"),
    ("leaderboard-name-absolute", ["leaderboard", "/tmp/bad"], "sweep name: expected a name of letters"),
    ("trial-bad-yaml", ["trial", "imbalance_params={bad json"], "imbalance_params={bad json: expected ','"),
    ("trial-no-equals", ["trial", "learning_rate"], "expected KEY=VALUE, got 'learning_rate'"),
    ("trial-unknown-key", ["trial", "learning_rat=0.1"], "unknown trial config key(s) learning_rat"),
    ("unknown-command", ["sweeps"], "invalid choice: 'sweeps'"),
    # Command-line values pass the checks config values do (issue 25, item 5).
    (
        "extend-budget-negative",
        ["extend", "bad", "--budget", "-3"],
        "argument --budget: expected an integer >= 1",
    ),
    (
        "extend-sizes-zero",
        ["extend", "bad", "--sizes", "0.1,0"],
        "--sizes: in-domain size must be a fraction",
    ),
    ("extend-size-one", ["extend", "bad", "--sizes", "0.1,1"], "--sizes: 1 is a count of one sentence"),
    ("extend-sizes-twice", ["extend", "bad", "--sizes", "0.1,0.5,0.5"], "--sizes: 0.5 given twice"),
    ("extend-seeds-twice", ["extend", "bad", "--seeds", "0,1,1"], "--seeds: 1 given twice"),
    (
        "extend-seed-beyond",
        ["extend", "bad", "--seeds", "0,1,2,4294967296"],
        "data.seeds: expected a list of",
    ),
    (
        "extend-top-k-negative",
        ["extend", "bad", "--confirm-top-k", "-1"],
        "argument --confirm-top-k: expected",
    ),
    (
        "train-seed-beyond",
        ["train", "bad", "--out", "m", "--seed", "4294967296"],
        "argument --seed: expected an",
    ),
    (
        "train-device-bogus",
        ["train", "bad", "--out", "m", "--device", "bogus"],
        "not a torch device: 'bogus'",
    ),
    (
        "train-device-meta",
        ["train", "bad", "--out", "m", "--device", "meta"],
        "resweep trains on cpu, cuda or mps",
    ),
    ("trial-seed-beyond", ["trial", "seed=99999999999999999999"], "seed must be an int from 0 to 4294967295"),
    (
        "board-margin-one",
        ["leaderboard", "bad", "--margin", "1"],
        "argument --margin: expected a number >= 0 and < 1",
    ),
    ("board-metric-not-a-score", ["leaderboard", "bad", "--metric", "wall_seconds"], "is not a score column"),
]


@pytest.mark.parametrize(
    ("arguments", "says"), [c[1:] for c in SWEEP_COMMANDS], ids=[c[0] for c in SWEEP_COMMANDS]
)
def test_a_bad_command_on_a_sweep_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    says: str,
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    storage = _saved_sweep(tmp_path)
    (storage / "bad" / "optuna.db").write_bytes(b"garbage " * 64)
    before = sorted(p.name for p in (storage / "bad").iterdir())
    options = [] if arguments[0] == "trial" or arguments == ["sweeps"] else ["--storage", str(storage)]
    try:
        code = main([*arguments, *options])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out = _one_line(capsys.readouterr().err)
    assert code in (1, 2) and says in out, out
    assert sorted(p.name for p in (storage / "bad").iterdir()) == before, (
        "the command changed the sweep folder"
    )
    assert re.match(r"resweep( \w+)?: error: ", out)


# Output paths that would destroy what a command did not create: each is refused before any work,
# --overwrite or not, and every file there before is byte-for-byte the same after. Placeholders:
# {tmp} the test's folder, {storage} a storage folder holding sweep `bad` (whose in-domain data
# is the folder {data}), {model} a model folder, {other} another one, {input} a file of
# sentences, {notes} a user's folder, {table} a result table, {config} a trial config file.
OUTPUTS: list[tuple[str, list[str], str]] = [
    (
        "train-out-is-the-storage",
        ["train", "bad", "--storage", "{storage}", "--out", "{storage}", "--overwrite"],
        "--out {storage}: is the storage folder of sweep 'bad'; choose another --out",
    ),
    (
        "train-out-is-the-sweep",
        ["train", "bad", "--storage", "{storage}", "--out", "{storage}/bad", "--overwrite"],
        "--out {storage}/bad: is the folder of sweep 'bad'",
    ),
    (
        "train-out-inside-the-sweep",
        ["train", "bad", "--storage", "{storage}", "--out", "{storage}/bad/model"],
        "lies inside the folder of sweep 'bad' {storage}/bad",
    ),
    (
        "train-out-inside-the-storage",
        ["train", "bad", "--storage", "{storage}", "--out", "{storage}/model"],
        "lies inside the storage folder of sweep 'bad' {storage}",
    ),
    (
        "train-out-holds-the-storage",
        ["train", "bad", "--storage", "{storage}", "--out", "{tmp}", "--overwrite"],
        "--out {tmp}: holds the folder of sweep 'bad' {storage}/bad",
    ),
    (
        "train-out-is-the-data",
        ["train", "bad", "--storage", "{storage}", "--out", "{data}", "--overwrite"],
        "--out {data}: is the in-domain data; choose another --out",
    ),
    (
        "train-out-inside-the-data",
        ["train", "bad", "--storage", "{storage}", "--out", "{data}/model"],
        "lies inside the in-domain data {data}",
    ),
    (
        "train-out-is-the-config",
        ["train", "bad", "--storage", "{storage}", "--config", "{config}", "--out", "{config}"],
        "--out {config}: is the --config file",
    ),
    (
        "train-out-holds-the-config",
        [
            "train",
            "bad",
            "--storage",
            "{storage}",
            "--config",
            "{model}/resweep_model.json",
            "--overwrite",
            "--out",
            "{model}",
        ],
        "--out {model}: holds the --config file {model}/resweep_model.json",
    ),
    (
        "train-overwrite-a-user-folder",
        ["train", "bad", "--storage", "{storage}", "--out", "{notes}", "--overwrite"],
        "--out {notes}: exists and is not empty, and is not a model folder resweep wrote",
    ),
    (
        "train-overwrite-a-file",
        ["train", "bad", "--storage", "{storage}", "--out", "{input}", "--overwrite"],
        "--out {input}: is a file, not a folder",
    ),
    (
        "train-model-without-overwrite",
        ["train", "bad", "--storage", "{storage}", "--out", "{model}"],
        "--out {model}: exists and is not empty (a model folder: --overwrite replaces it",
    ),
    (
        "train-out-inside-a-model",
        ["train", "bad", "--storage", "{storage}", "--out", "{model}/sub", "--overwrite"],
        "--out {model}/sub: lies inside the model folder {model}",
    ),
    (
        "train-overwrite-a-model-holding-a-sweep",
        ["train", "bad", "--storage", "{storage}", "--out", "{other}", "--overwrite"],
        "--out {other}: holds a sweep folder ({other}/old/kept)",
    ),
    (
        "predict-out-is-the-input",
        ["predict", "{model}", "{input}", "--out", "{input}"],
        "--out {input}: is the input file; choose another --out",
    ),
    (
        "predict-out-is-the-input-by-a-link",
        ["predict", "{model}", "{input}", "--out", "{tmp}/alias.jsonl"],
        "--out {tmp}/alias.jsonl: is the input file",
    ),
    (
        "predict-out-is-the-model-description",
        ["predict", "{model}", "{input}", "--out", "{model}/resweep_model.json"],
        "lies inside the model folder being read {model}",
    ),
    (
        "predict-out-inside-another-model",
        ["predict", "{model}", "{input}", "--out", "{other}/predictions.jsonl"],
        "--out {other}/predictions.jsonl: lies inside the model folder {other}",
    ),
    (
        "predict-out-inside-a-sweep",
        ["predict", "{model}", "{input}", "--out", "{storage}/bad/predictions.jsonl"],
        "lies inside the sweep folder {storage}/bad",
    ),
    (
        "predict-out-is-a-folder",
        ["predict", "{model}", "{input}", "--out", "{notes}"],
        "--out {notes}: is a folder; --out names the file to write",
    ),
    (
        "predict-out-under-a-file",
        ["predict", "{model}", "{input}", "--out", "{input}/p.jsonl"],
        "lies under {input}, which is a file",
    ),
    (
        "report-out-is-the-storage",
        ["report", "bad", "--storage", "{storage}", "--out", "{storage}"],
        "--out {storage}: is the storage folder of sweep 'bad'",
    ),
    (
        "report-out-is-the-sweep",
        ["report", "bad", "--storage", "{storage}", "--out", "{storage}/bad"],
        "--out {storage}/bad: is the folder of sweep 'bad'",
    ),
    (
        "report-out-inside-a-model",
        ["report", "bad", "--storage", "{storage}", "--out", "{model}/report"],
        "lies inside the model folder {model}",
    ),
    (
        "report-out-is-the-table",
        ["report", "--from-table", "{table}", "--out", "{table}"],
        "--out {table}: is the --from-table file",
    ),
    (
        "report-out-is-another-storage",
        ["report", "--from-table", "{table}", "--out", "{storage}"],
        "--out {storage}: is the storage folder of sweep(s) bad",
    ),
    (
        "trial-out-inside-the-data",
        ["trial", "in_domain={data}", "--out", "{data}/train.jsonl"],
        "--out {data}/train.jsonl: lies inside the in-domain data {data}",
    ),
    (
        "trial-checkpoints-in-a-sweep",
        ["trial", "--checkpoints", "{storage}/bad"],
        "--checkpoints {storage}/bad: is a sweep folder",
    ),
    (
        "fetch-root-is-a-model",
        ["data", "fetch", "semeval2010_task8", "--root", "{model}"],
        "--root {model}: is a model folder",
    ),
]


def _output_world(tmp_path: Path) -> dict[str, str]:
    """The files a user has around: a sweep, its data, model folders, inputs (see OUTPUTS)."""
    from search.config import parse_sweep_text
    from search.plan import SweepPaths, write_sweep_config

    storage, data = tmp_path / "results", tmp_path / "data"
    _write_data(tmp_path / "unused")
    data.mkdir()
    record = {"tokens": ["Ann", "works", "for", "ACME"], "head": [0, 1], "tail": [3, 4], "label": "works_for"}
    (data / "train.jsonl").write_text(json.dumps({**record, "id": "a"}) + "\n")
    config = parse_sweep_text(_with("data", in_domain=str(data)), source="bad.yaml")
    write_sweep_config(config, SweepPaths.of(storage, "bad"))
    (storage / "bad" / "results").mkdir()
    (storage / "bad" / "results" / "part-0.parquet").write_bytes(b"rows")
    for model in ("model", "other"):
        (tmp_path / model).mkdir()
        (tmp_path / model / "resweep_model.json").write_text('{"format": "resweep-model"}\n')
        (tmp_path / model / "model.safetensors").write_bytes(b"weights")
    (tmp_path / "other" / "old" / "kept").mkdir(parents=True)  # a sweep kept inside a model folder
    (tmp_path / "other" / "old" / "kept" / "sweep.yaml").write_text("name: kept\n")
    (tmp_path / "input.jsonl").write_text(json.dumps({**record, "id": "p"}) + "\n")
    (tmp_path / "alias.jsonl").symlink_to(tmp_path / "input.jsonl")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine\n")
    _table(tmp_path, GOOD_ROWS)
    (tmp_path / "recipe.yaml").write_text("architecture: tfidf-linear\n")
    return {
        "tmp": str(tmp_path),
        "storage": str(storage),
        "data": str(data),
        "model": str(tmp_path / "model"),
        "other": str(tmp_path / "other"),
        "input": str(tmp_path / "input.jsonl"),
        "notes": str(tmp_path / "notes"),
        "table": str(tmp_path / "table.csv"),
        "config": str(tmp_path / "recipe.yaml"),
    }


def _snapshot(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` with its content's SHA-256 (folders and links by what they are)."""
    import hashlib

    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            found[str(path)] = f"-> {os.readlink(path)}"
        elif path.is_file():
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[str(path)] = "folder"
    return found


@pytest.mark.parametrize(("arguments", "says"), [c[1:] for c in OUTPUTS], ids=[c[0] for c in OUTPUTS])
def test_an_output_over_what_the_command_did_not_create_is_refused_and_leaves_it_intact(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    arguments: list[str],
    says: str,
) -> None:
    world = _output_world(tmp_path / "w")
    monkeypatch.chdir(tmp_path / "w")  # trial's default --artifacts folder is there too
    before = _snapshot(tmp_path)
    code = main([a.format(**world) for a in arguments])
    out = _one_line(capsys.readouterr().err)
    assert code == 1 and says.format(**world) in out, out
    assert out.startswith("resweep: error: ")
    assert _snapshot(tmp_path) == before, "the command changed files it did not create"


# Sweep names and storage given on the command line pass the config's checks.
SWEEP_OPTIONS: list[tuple[str, list[str], str]] = [
    ("name-escapes", ["--name", "../x"], "--name: expected a name of letters, digits, '.', '_' and '-'"),
    ("name-space", ["--name", "a b"], "--name: expected a name of letters"),
    ("name-empty", ["--name", ""], "--name: expected a name of letters"),
    ("name-absolute", ["--name", "/tmp/x"], "--name: expected a name of letters"),
    ("storage-file", ["--storage", "{tmp}/afile"], "--storage: {tmp}/afile is a file; give a folder"),
    (
        "storage-under-file",
        ["--storage", "{tmp}/afile/sub"],
        "--storage: {tmp}/afile/sub lies under {tmp}/afile, which is a file",
    ),
    ("storage-scheme", ["--storage", "ftp://host/x"], "--storage: storage 'ftp://host/x': unknown scheme"),
]


@pytest.mark.parametrize(
    ("options", "says"), [c[1:] for c in SWEEP_OPTIONS], ids=[c[0] for c in SWEEP_OPTIONS]
)
def test_a_bad_sweep_name_or_storage_option_is_one_line_and_writes_nothing(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: list[str],
    says: str,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    (tmp_path / "afile").write_text("")
    config = work / "good.yaml"
    config.write_text(_with(""))
    given = [o.format(tmp=tmp_path) for o in options]
    storage = [] if "--storage" in given else ["--storage", str(work / "results")]
    before = _snapshot(tmp_path)
    code = main(["sweep", str(config), *given, *storage, "--quiet"])
    out = _one_line(capsys.readouterr().err)
    assert code == 1 and says.format(tmp=tmp_path) in out, out
    assert _snapshot(tmp_path) == before, "the refused sweep wrote something"


def test_resume_and_extend_are_refused_while_another_process_drives_the_sweep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The lock `sweep` takes (search.lock), held by another live process: resume and extend
    name it and change nothing; a second `sweep` of the name is refused as before."""
    import socket
    import subprocess
    import sys

    storage = _saved_sweep(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom search.lock import sweep_lock\n"
            "with sweep_lock(sys.argv[1], 'bad'):\n    print('held', flush=True)\n    sys.stdin.read()\n",
            str(storage / "bad"),
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        before = _snapshot(tmp_path)
        named = f"sweep 'bad' is driven by process {holder.pid} on {socket.gethostname()} (since "
        for arguments in (["resume", "bad"], ["extend", "bad", "--budget", "8"]):
            assert main([*arguments, "--storage", str(storage), "--quiet"]) == 1
            out = _one_line(capsys.readouterr().err)
            assert out.startswith(f"resweep: error: {named}") and "one driver at a time" in out, out
        config = tmp_path / "bad.yaml"
        config.write_text(_with(""))
        assert main(["sweep", str(config), "--storage", str(storage), "--quiet"]) == 1
        assert "a sweep named 'bad' exists; `resweep resume bad`" in _one_line(capsys.readouterr().err)
        assert _snapshot(tmp_path) == {**before, str(config): _snapshot(tmp_path)[str(config)]}
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(timeout=30)
    assert not (storage / "bad" / "driver.lock").exists()


def test_the_own_data_example_fits_300_sentences_without_dev_or_test(tmp_path: Path) -> None:
    """configs/own_data.yaml tells the story of ~300 annotated sentences and no dev/test files:
    its sizes must fit what is left to train on once dev and test are carved off."""
    import pyarrow.parquet as pq

    from search.config import ConfigError, parse_sweep_text
    from search.driver.preflight import check_inputs
    from search.plan import plan_sweep
    from trainables.data import load_dataset

    company = tmp_path / "company"
    company.mkdir()
    pq.write_table(load_dataset("synthetic")["train"].slice(0, 300), company / "train.parquet")
    root = Path(__file__).resolve().parents[2]
    text = (root / "configs" / "own_data.yaml").read_text()
    text = text.replace("data/company", str(company)).replace(
        "in_domain_format: jsonl", "in_domain_format: parquet"
    )
    text = text.replace("ood: semeval2010_task8", "ood: synthetic_ood")  # no SemEval files in a clone
    config = parse_sweep_text(text, source="own_data.yaml")
    check_inputs(config, plan_sweep(config))
    too_big = parse_sweep_text(
        text.replace("sizes: [50, 100, 200]", "sizes: [100, 200, 300]"), source="x.yaml"
    )
    with pytest.raises(ConfigError, match=r"data\.sizes: 300: in_domain_size 300 exceeds the 216"):
        check_inputs(too_big, plan_sweep(too_big))


# Options whose value the command could not use, before any work (issue 25, items 4 and 5).
# Placeholders: {tmp} the test's folder, {table} a good result table, {file} a regular file.
OPTIONS: list[tuple[str, list[str], str]] = [
    ("status-storage-file", ["status", "x", "--storage", "{file}"], "argument --storage: {file} is a file"),
    ("list-storage-file", ["list", "sweeps", "--storage", "{file}"], "argument --storage: {file} is a file"),
    ("list-storage-scheme", ["list", "sweeps", "--storage", "ftp://h/x"], "unknown scheme 'ftp'"),
    (
        "storage-one-slash",
        ["status", "x", "--storage", "s3:/bucket/x"],
        "two slashes after its scheme: s3://bucket/x",
    ),
    ("storage-file-host", ["status", "x", "--storage", "file://host/x"], "a file:// URI names a host (host)"),
    ("storage-no-user", ["status", "x", "--storage", "~no_such_user_rs/x"], "~no_such_user_rs names no user"),
    (
        "regimes-sizes-zero",
        ["data", "regimes", "synthetic", "--sizes", "0,2"],
        "--sizes: in-domain size must be",
    ),
    (
        "regimes-seed-beyond",
        ["data", "regimes", "synthetic", "--seed", "2147483648"],
        "argument --seed: expected",
    ),
    (
        "board-both-sources",
        ["leaderboard", "x", "--from-table", "{table}"],
        "both a sweep (x) and --from-table",
    ),
    (
        "board-size-one",
        ["leaderboard", "--from-table", "{table}", "--size", "1"],
        "--size: 1 is a count of one",
    ),
    (
        "board-metric-text",
        ["leaderboard", "--from-table", "{table}", "--metric", "strategy"],
        "not a score column",
    ),
    (
        "board-empty-table",
        ["leaderboard", "--from-table", "{tmp}/empty.csv"],
        "no row has a score to rank by",
    ),
    (
        "tracking-mlflow-scheme",
        ["sweep", "{tmp}/good.yaml", "--tracking", "mlflow=foo://x"],
        "unknown scheme 'foo'",
    ),
    ("data-gzip", ["data", "info", "{tmp}/data.jsonl.gz"], "is gzip-compressed; decompress it first"),
    ("data-utf16", ["data", "info", "{tmp}/data16.jsonl"], "is UTF-16 text; re-save it as UTF-8"),
    (
        "data-split-is-a-folder",
        ["data", "validate", "{tmp}/split"],
        "train.jsonl: is a folder, not a file; the train",
    ),
    (
        "data-one-record",
        ["sweep", "{tmp}/one.yaml", "--dry-run"],
        "the dev and test split(s) would be empty: 1 training",
    ),
]


@pytest.mark.parametrize(("arguments", "says"), [c[1:] for c in OPTIONS], ids=[c[0] for c in OPTIONS])
def test_a_value_the_command_cannot_use_is_one_line_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], says: str
) -> None:
    import gzip

    record = {"tokens": ["Ann", "works", "for", "ACME"], "head": [0, 1], "tail": [3, 4], "label": "works_for"}
    line = json.dumps({**record, "id": "a"}) + "\n"
    (tmp_path / "data.jsonl.gz").write_bytes(gzip.compress(line.encode()))
    (tmp_path / "data16.jsonl").write_bytes(line.encode("utf-16"))
    (tmp_path / "split" / "train.jsonl").mkdir(parents=True)
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "train.jsonl").write_text(line)
    (tmp_path / "empty.csv").write_text("in_domain_pct,strategy,accuracy\n")
    (tmp_path / "afile").write_text("")
    (tmp_path / "good.yaml").write_text(_with("", storage=str(tmp_path / "results")))
    one = json.loads(json.dumps(BASE))
    one["data"].update(in_domain=str(tmp_path / "one"), sizes=[1.0])
    (tmp_path / "one.yaml").write_text(_yaml({**one, "storage": str(tmp_path / "results")}))
    _table(tmp_path, GOOD_ROWS)
    names = {"tmp": str(tmp_path), "table": str(tmp_path / "table.csv"), "file": str(tmp_path / "afile")}
    before = _snapshot(tmp_path)
    try:
        code = main([a.format(**names) for a in arguments])
    except SystemExit as exit_:  # argparse's usage errors
        code = int(exit_.code or 0)
    out = _one_line(capsys.readouterr().err)
    assert code in (1, 2) and says.format(**names) in out, out
    assert re.match(r"resweep( [\w ]+)?: error: ", out), out
    assert _snapshot(tmp_path) == before, "the refused command wrote something"
