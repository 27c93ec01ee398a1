"""No silent leakage or mislabelling (issue 25, item 2): in-domain records never train as OOD
ones, a fixed trial key never contradicts the question, a recipe trains on its sweep's data,
result tables are in one unit with one size, sizes that read alike are refused, a model folder
whose description was edited is refused, and a mention of only whitespace is no mention.

Every refusal is one located line and a non-zero exit, and writes nothing."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from search.cli import main

RECORD = {"tokens": ["Ann", "works", "for", "ACME"], "head": [0, 1], "tail": [3, 4], "label": "works_for"}


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _snapshot(folder: Path) -> dict[str, bytes | str]:
    return {
        str(p): (p.read_bytes() if p.is_file() else "folder")
        for p in sorted(folder.rglob("*"))
        if "cache" not in p.relative_to(folder).parts
    }


def _corpus(folder: Path, n: int = 6, *, words: tuple[str, ...] = ("Ann", "Bob")) -> Path:
    """A tiny train/dev/test dataset: ``n`` records per split, two labels."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "dev", "test"):
        lines = []
        for i in range(n):
            tokens = [words[i % len(words)], "met", f"{split}{i}", "in", "Rome"]
            label = "met" if i % 2 else "no_relation"
            lines.append(json.dumps({"id": f"{split}-{i}", "tokens": tokens, "head": [0, 1], "tail": [4, 5],
                                     "label": label}))  # fmt: skip
        (folder / f"{split}.jsonl").write_text("\n".join(lines) + "\n")
    return folder


def _sweep_yaml(**data: object) -> str:
    import yaml

    document = {
        "name": "leak",
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.5], **data},
        "search": {"space": "demo-smoke", "budget": 4},
    }
    return yaml.safe_dump(document, sort_keys=False)


# (case id, the config's data: keys, what the one line says)
OVERLAPS: list[tuple[str, dict[str, object], str]] = [
    (
        "ood-is-the-in-domain-name",
        {"ood": "synthetic"},
        "data.ood: out-of-domain dataset 'synthetic' is the in-domain dataset: all its 3,000 training "
        "records are in-domain records (same tokens and spans); name another dataset",
    ),
    (
        "ood-reads-an-in-domain-file",
        {"in_domain": "mine", "ood": "mine/train.jsonl"},
        "data.ood: the out-of-domain data reads mine/train.jsonl, a file of the in-domain data",
    ),
    (
        "ood-is-a-copy",
        {"in_domain": "mine", "ood": "copy"},
        "data.ood: out-of-domain dataset 'copy' is a copy of the in-domain data: all its 6 training records",
    ),
]


@pytest.mark.parametrize(("data", "says"), [c[1:] for c in OVERLAPS], ids=[c[0] for c in OVERLAPS])
def test_an_ood_dataset_that_is_the_in_domain_one_is_refused_before_the_sweep(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    data: dict[str, object],
    says: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _corpus(tmp_path / "mine")
    shutil.copytree(tmp_path / "mine", tmp_path / "copy")
    config = tmp_path / "leak.yaml"
    config.write_text(_sweep_yaml(**data))
    before = _snapshot(tmp_path)
    code = main(["sweep", str(config), "--storage", str(tmp_path / "results"), "--quiet"])
    out = _one_line(capsys.readouterr().err)
    assert code == 1 and says in out, out
    assert out.startswith(f"resweep: error: {config}:4: "), out  # the line of data.ood
    assert _snapshot(tmp_path) == before


def _partly_shared(tmp_path: Path) -> tuple[Path, Path]:
    """An in-domain dataset, and an OOD one holding 2 of its test records (one relabelled) among
    8 of its own."""
    mine = _corpus(tmp_path / "mine")
    other = _corpus(tmp_path / "other", n=8, words=("Cleo", "Dan"))
    shared = [json.loads(line) for line in (mine / "test.jsonl").read_text().splitlines()[:2]]
    shared[1]["label"] = "met"  # the same sentence and spans under another label is the same record
    with open(other / "train.jsonl", "a") as handle:
        handle.writelines(json.dumps({**r, "id": f"copied-{r['id']}"}) + "\n" for r in shared)
    return mine, other


def test_records_the_ood_data_shares_with_the_in_domain_data_are_left_out_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from search.config import parse_sweep_text
    from search.driver.preflight import check_inputs
    from search.plan import plan_sweep
    from trainables.data import Regime, load_dataset, sample_regime
    from trainables.data.overlap import record_keys, without_shared

    mine, other = _partly_shared(tmp_path)
    config = parse_sweep_text(_sweep_yaml(in_domain=str(mine), ood=str(other)), source="leak.yaml")
    datasets = check_inputs(config, plan_sweep(config))
    warning = _one_line(capsys.readouterr().err)
    assert warning == (
        "resweep: warning: data.ood: 2 of the 26 records of out-of-domain dataset 'other' are also "
        "in-domain records (same tokens and spans): left out of the out-of-domain data"
    )
    assert datasets["ood"]["train"].num_rows == 8
    # Every trial leaves them out too: no in-domain test or dev record in an OOD training set.
    in_domain = load_dataset(str(mine))
    ood, left_out = without_shared(in_domain, load_dataset(str(other)))
    assert left_out == 2
    data = sample_regime(in_domain, Regime(0.5, ood_pct=100), ood)
    held_out = set(record_keys(data.test)) | set(record_keys(data.dev))
    assert not held_out & set(record_keys(data.ood_train))

    # `resweep data regimes` says it the same way, and counts without them.
    assert (
        main(["data", "regimes", str(mine), "--ood", str(other), "--sizes", "1.0", "--ood-pct", "100"]) == 0
    )
    captured = capsys.readouterr()
    assert "resweep: warning: --ood " in captured.err and "2 of the 26 records" in captured.err


def test_data_regimes_refuses_the_in_domain_data_as_ood(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = _corpus(tmp_path / "mine")
    assert main(["data", "regimes", str(mine), "--ood", str(mine / "test.jsonl")]) == 1
    out = _one_line(capsys.readouterr().err)
    assert out.startswith(f"resweep: error: --ood {mine / 'test.jsonl'}: the out-of-domain data reads "), out


# (case id, data.sizes, config text after name: and data:, what the one line says, the line it names)
CONFIGS: list[tuple[str, str, str, str, int]] = [
    (
        "trial-fixes-a-question-axis",
        "[0.5]",
        "search: {space: demo-smoke, budget: 6, question: [imbalance]}\ntrial: {imbalance: oversampling}\n",
        "trial.imbalance: fixed to 'oversampling', but search.question compares imbalance (none, "
        "class_weights, oversampling): remove trial.imbalance, or take imbalance out of search.question",
        4,
    ),
    (
        "trial-fixes-the-strategy",
        "[0.5]",
        "search: {space: demo-smoke, budget: 4}\ntrial:\n  learning_rate: 0.001\n  strategy: baseline\n",
        "trial.strategy: fixed to 'baseline', but search.question compares strategy",
        6,
    ),
    (
        "sizes-too-close",
        "[1.0, 0.99999999]",
        "",
        "data.sizes: 0.99999999 and 1.0 are too close to tell apart (both read 100%, id1): give "
        "fractions at least 0.0001 (0.01%) apart",
        2,
    ),
]


@pytest.mark.parametrize(
    ("sizes", "extra", "says", "line"), [c[1:] for c in CONFIGS], ids=[c[0] for c in CONFIGS]
)
def test_a_config_that_would_answer_wrongly_is_one_located_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], sizes: str, extra: str, says: str, line: int
) -> None:
    config = tmp_path / "q.yaml"
    config.write_text(f"name: q\ndata: {{in_domain: synthetic, ood: synthetic_ood, sizes: {sizes}}}\n{extra}")
    storage = tmp_path / "results"
    assert main(["sweep", str(config), "--storage", str(storage), "--quiet"]) == 1
    out = _one_line(capsys.readouterr().err)
    assert out.startswith(f"resweep: error: {config}:{line}: ") and says in out, out
    assert not storage.exists()


def _saved_sweep(tmp_path: Path) -> Path:
    from search.config import parse_sweep_text
    from search.plan import SweepPaths, write_sweep_config

    storage = tmp_path / "results"
    config = parse_sweep_text(_sweep_yaml(), source="leak.yaml")
    write_sweep_config(config, SweepPaths.of(storage, "leak"))
    return storage


@pytest.mark.parametrize(
    ("recipe", "says"),
    [
        (
            "architecture: tfidf-linear\nin_domain: other\n",
            "recipe.yaml:2: in_domain: 'other' is not the sweep's data.in_domain ('synthetic'): a recipe "
            "trains on its sweep's data; remove in_domain",
        ),
        (
            "config:\n  architecture: tfidf-linear\n  ood: synthetic\n",
            "recipe.yaml:3: ood: 'synthetic' is not the sweep's data.ood ('synthetic_ood')",
        ),
        (
            "architecture: tfidf-linear\nlabel_mapping: {a: b}\n",
            "recipe.yaml:2: label_mapping: {'a': 'b'} is not",
        ),
    ],
    ids=["in-domain", "ood-in-a-leaderboard-row", "label-mapping"],
)
def test_train_config_cannot_change_the_sweeps_datasets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], recipe: str, says: str
) -> None:
    storage = _saved_sweep(tmp_path)
    (tmp_path / "recipe.yaml").write_text(recipe)
    before = _snapshot(tmp_path)
    code = main(["train", "leak", "--storage", str(storage), "--config", str(tmp_path / "recipe.yaml"),
                 "--out", str(tmp_path / "model")])  # fmt: skip
    out = _one_line(capsys.readouterr().err)
    assert code == 1 and f"resweep: error: {tmp_path}/{says}" in out, out
    assert _snapshot(tmp_path) == before


def test_train_config_naming_the_sweeps_own_datasets_is_accepted() -> None:
    from search.models.train import _same_data

    assert _same_data("synthetic", "synthetic") and _same_data(None, None) and _same_data({}, None)


GOOD = [
    {"in_domain_pct": 10, "strategy": "baseline", "imbalance": "none", "accuracy": 0.5},
    {"in_domain_pct": 10, "strategy": "local", "imbalance": "none", "accuracy": 0.6},
]

# (case id, header, rows, what the one line says)
TABLES: list[tuple[str, list[str], list[list[object]], str]] = [
    (
        "duplicate-column",
        ["in_domain_pct", "strategy", "accuracy", "accuracy"],
        [[10, "baseline", 0.5, 0.9]],
        "table.csv:1: column 'accuracy' given twice (columns 3 and 4): keep one",
    ),
    (
        "percent-among-fractions",
        ["in_domain_pct", "strategy", "accuracy"],
        [[10, "baseline", 0.5], [10, "local", 20.0]],
        "table.csv:3: accuracy: expected a fraction from 0 to 1, got 20 (a percentage? give every score as "
        "a fraction, 0.2)",
    ),
    (
        "dev-score-percent",
        ["in_domain_pct", "strategy", "dev_f1_weighted", "accuracy"],
        [[10, "baseline", 55, 0.5]],
        "table.csv:2: dev_f1_weighted: expected a fraction from 0 to 1, got 55",
    ),
    (
        "two-size-columns",
        ["in_domain_pct", "in_domain_size", "strategy", "accuracy"],
        [[10, 0.1, "baseline", 0.5], [50, 0.1, "local", 0.6]],
        "table.csv:3: in_domain_size 0.1 and in_domain_pct 50 name different sizes: give one size column",
    ),
    (
        "pct-over-100",
        ["in_domain_pct", "strategy", "accuracy"],
        [[150, "baseline", 0.5]],
        "table.csv:2: in_domain_pct: expected a percentage from 0 to 100, got 150",
    ),
    (
        "ood-pct-over-100",
        ["in_domain_pct", "strategy", "ood_pct", "accuracy"],
        [[10, "mixed", 200, 0.5]],
        "table.csv:2: ood_pct: expected a percentage from 0 to 100, got 200",
    ),
    (
        "pct-zero",
        ["in_domain_pct", "strategy", "accuracy"],
        [[0, "baseline", 0.5]],
        "table.csv:2: in_domain_pct: expected a percentage above 0, got 0",
    ),
    (
        "no-size",
        ["in_domain_pct", "strategy", "accuracy"],
        [["", "baseline", 0.5]],
        "table.csv:2: no in-domain size (in_domain_pct or in_domain_size is empty)",
    ),
    (
        "size-fractional-count",
        ["in_domain_size", "strategy", "accuracy"],
        [[2.5, "baseline", 0.5]],
        "table.csv:2: in_domain_size: expected a fraction in (0, 1] or a count of sentences, got 2.5",
    ),
    (
        "seed-fractional",
        ["in_domain_pct", "strategy", "seed", "accuracy"],
        [[10, "baseline", 1.5, 0.5]],
        "table.csv:2: seed: expected an integer, got 1.5",
    ),
]


@pytest.mark.parametrize(("header", "rows", "says"), [c[1:] for c in TABLES], ids=[c[0] for c in TABLES])
@pytest.mark.parametrize("command", ["leaderboard", "report"])
def test_a_result_table_gets_a_schema_check(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
    header: list[str],
    rows: list[list[object]],
    says: str,
) -> None:
    table = tmp_path / "table.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    before = _snapshot(tmp_path)
    code = main([command, "--from-table", str(table)])
    out = _one_line(capsys.readouterr().err)
    assert code == 1 and out.startswith(f"resweep: error: {tmp_path}/{says}"), out
    assert _snapshot(tmp_path) == before


def test_the_results_stores_two_size_columns_pass_when_they_agree(tmp_path: Path) -> None:
    from search.answer.leaderboard import read_table

    table = tmp_path / "table.csv"
    table.write_text(
        "in_domain_size,in_domain_pct,strategy,accuracy\n0.1,10,baseline,0.5\n300,,local,0.6\n0.5,50,local,0.7\n"
    )
    assert [r["in_domain_size"] for r in read_table(str(table))] == [0.1, 300.0, 0.5]


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (
            ["--size", "1000", "--pool", "10"],
            "size 1000 is more than the 10 in-domain training sentences of the pool (--pool",
        ),
        (["--size", "0.01", "--pool", "10"], "size 0.01 of a pool of 10 sentences is less than one sentence"),
    ],
    ids=["count-over-the-pool", "fraction-under-one-sentence"],
)
def test_a_size_the_pool_cannot_hold_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], says: str
) -> None:
    """A count is converted to the table's fractions, a fraction to its counts: neither may leave
    the pool (``--size 1000 --pool 10`` answered for size 100 without a word)."""
    counts = "--size" in arguments and "." in arguments[arguments.index("--size") + 1]
    rows = [{**{k: v for k, v in r.items() if k != "in_domain_pct"}, "in_domain_size": 5} for r in GOOD]
    table = tmp_path / "table.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list((rows if counts else GOOD)[0]))
        writer.writeheader()
        writer.writerows(rows if counts else GOOD)
    assert main(["leaderboard", "--from-table", str(table), *arguments]) == 1
    out = _one_line(capsys.readouterr().err)
    assert out.startswith("resweep: error: ") and says in out, out


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tfidf-linear model folder trained on the small synthetic corpus (no encoder: fast)."""
    from trainables.config import TrialSpec
    from trainables.model_folder import save_model_folder
    from trainables.testing import write_small_corpora
    from trainables.trial import prepare_trial

    folder = tmp_path_factory.mktemp("model")
    in_domain, _ = write_small_corpora(folder / "corpora")
    config = {"architecture": "tfidf-linear", "in_domain": str(in_domain), "strategy": "baseline",
              "ood_pct": 0, "local_in_domain_pretrain_pct": 0, "max_epochs": 1}  # fmt: skip
    prepared = prepare_trial(TrialSpec.from_config(config), artifacts=folder / "artifacts")
    prepared.fit(report=lambda metrics, checkpoint: None)
    prepared.architecture.for_inference()
    model = save_model_folder(folder / "model", prepared.architecture)
    (folder / "input.jsonl").write_text(json.dumps({**RECORD, "id": "p"}) + "\n")
    return model


def _edited(model_folder: Path, tmp_path: Path, edit: object) -> Path:
    copy = tmp_path / "edited"
    shutil.copytree(model_folder, copy)
    description = copy / "resweep_model.json"
    info = json.loads(description.read_text())
    edit(info)  # type: ignore[operator]
    description.write_text(json.dumps(info, indent=1))
    return copy


def _reorder(info: dict) -> None:
    info["labels"]["in_domain"] = list(reversed(info["labels"]["in_domain"]))


def _reorder_unsigned(info: dict) -> None:
    """A folder without a checksum (written before there was one), its label list reordered."""
    info.pop("checksum")
    _reorder(info)


def _drop_a_label_everywhere(info: dict) -> None:
    info.pop("checksum")
    dropped = info["labels"]["in_domain"].pop()
    info["labels"]["all"] = [e for e in info["labels"]["all"] if e["label"] != dropped]


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (_reorder, "edited/resweep_model.json: the description was changed after `resweep train` wrote it "
         "(its checksum does not match)"),
        (_reorder_unsigned, "edited/resweep_model.json: labels: in_domain and ood_only ("),
        (_drop_a_label_everywhere, "edited/resweep_model.json: labels: "),
    ],
    ids=["labels-reordered", "unsigned-labels-reordered", "a-label-removed"],
)  # fmt: skip
def test_a_model_folder_whose_description_does_not_match_its_weights_is_refused(
    model_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: object, says: str
) -> None:
    from trainables.model_folder import load_model

    load_model(model_folder)  # the folder as written loads
    copy = _edited(model_folder, tmp_path, edit)
    out_file = tmp_path / "predictions.jsonl"
    before = _snapshot(tmp_path)
    code = main(["predict", str(copy), str(model_folder.parent / "input.jsonl"), "--out", str(out_file)])
    out = _one_line(capsys.readouterr().err)
    assert code == 1 and out.startswith(f"resweep: error: {tmp_path}/{says}"), out
    if says.endswith("labels: "):
        assert "but the weights (model.safetensors" in out and "the description does not belong" in out
    assert not out_file.exists() and _snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "mention", ["\u00a0", " ", "\u200b", "\t\u3000"], ids=["nbsp", "space", "zwsp", "tab-ideographic"]
)
def test_a_mention_of_only_whitespace_fails_validation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mention: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    tokens = ["Ann", "works", "for", mention, "today"]
    bad = {"id": "b", "tokens": tokens, "head": [0, 1], "tail": [3, 4], "label": "works_for"}
    (data / "train.jsonl").write_text(json.dumps({**RECORD, "id": "a"}) + "\n" + json.dumps(bad) + "\n")
    assert main(["data", "validate", str(data)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert (
        err[0]
        == f"{data / 'train.jsonl'}:2: record 'b': tail mention {mention!r} at [3, 4) is only whitespace"
    )
    assert err[1] == "1 problem(s) found"
