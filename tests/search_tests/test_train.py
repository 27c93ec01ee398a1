"""From a sweep to a model and its predictions: `resweep train` and `resweep predict`, on a real
(in-process) sweep whose trials are stand-ins, so the recipe is known; training itself is real."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from search.answer.curves import recommend
from search.answer.leaderboard import leaderboard
from search.cli import main
from search.models.predict import predict_file, read_input
from search.models.train import choose_recipe, train_model
from trainables.model_folder import load_model
from trainables.testing import predict_in_fresh_process

pytestmark = pytest.mark.ray

NAME = "fortrain"


@pytest.fixture(scope="module")
def sweep(ray_session: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A finished sweep at sizes 0.1 and 0.5 (stand-in trials: scores a fixed function of the
    configuration) on small synthetic corpora and a tiny random BERT."""
    import yaml

    from search.config import parse_sweep_text
    from search.driver.sweep import run_sweep
    from trainables.testing import build_tiny_bert, stand_in_trial, write_small_corpora

    root = tmp_path_factory.mktemp("train")
    encoder = build_tiny_bert(root / "tiny")
    in_domain, ood = write_small_corpora(root / "data")
    document = {
        "name": NAME,
        "data": {"in_domain": str(in_domain), "ood": str(ood), "sizes": [0.1, 0.5], "seeds": [0, 1]},
        "search": {
            "space": "demo-smoke",
            "budget": 4,
            "max_concurrent": 2,
            "confirm_top_k": 1,
            "confirm_max_seeds": 2,
        },
        "encoder": str(encoder),
        "storage": str(root / "results"),
        "trial": {"max_length": 40},
    }
    config = parse_sweep_text(yaml.safe_dump(document, sort_keys=False), source="fortrain.yaml")
    run_sweep(config, verbose=0, trial_function=stand_in_trial)
    return {"storage": str(root / "results"), "root": root, "in_domain": in_domain}


def _on_the_pool(key: str) -> dict[str, Any]:
    """A leaderboard configuration (its key: the config without a seed) as trained on the pool."""
    from trainables.config import TrialSpec

    return TrialSpec.from_config({**json.loads(key), "in_domain_size": 1.0, "seed": 0}).to_config()


@pytest.fixture(scope="module")
def trained(sweep: dict[str, Any]) -> Any:
    return train_model(NAME, storage=sweep["storage"], out=sweep["root"] / "model")


def test_train_takes_the_recommended_configuration_onto_the_whole_pool(
    sweep: dict[str, Any], trained: Any
) -> None:
    boards = leaderboard(NAME, storage=sweep["storage"])
    # The default size is the whole pool (1.0): not swept here, so the recipe is what the
    # leaderboard recommends there, from the nearest swept size (0.5).
    expected = recommend(boards, 1.0)
    assert not expected.swept and expected.source.size == 0.5
    recipe = trained.recipe
    assert recipe.config == _on_the_pool(expected.entry.key)
    assert recipe.config["in_domain_size"] == 1.0 and recipe.config["seed"] == 0
    # All of the pool: the synthetic corpus cut to 8 records per label, minus the carved dev split.
    in_domain = read_input(Path(sweep["in_domain"]) / "train.parquet")
    assert trained.data["train"] + trained.data["dev"] == in_domain.num_rows
    assert recipe.evidence["source_size"] == 0.5 and recipe.evidence["n_seeds"] == expected.entry.n_seeds
    assert recipe.evidence["estimate"]["strategy"] == expected.estimate.strategy


def test_the_folder_reloads_in_a_fresh_process_with_the_same_scores(
    sweep: dict[str, Any], trained: Any
) -> None:
    test_file = sweep["root"] / "test.parquet"
    in_domain = read_input(Path(sweep["in_domain"]) / "test.parquet")
    pq.write_table(in_domain, test_file)
    expected = trained.model.predict(in_domain)
    labels, scores = predict_in_fresh_process(trained.folder, test_file)
    assert labels == expected.predicted
    np.testing.assert_allclose(np.array(scores), expected.scores, atol=1e-6, rtol=0)
    # The test metrics the trained model reported are those of predicting the test file again.
    summary = predict_file(trained.folder, test_file)
    assert summary.metrics is not None
    for key, value in trained.scores["test"].items():
        assert summary.metrics[key] == pytest.approx(value, abs=1e-6), key


def test_the_model_trained_is_the_trial_the_sweep_runs_on_the_pool(
    sweep: dict[str, Any], trained: Any
) -> None:
    """Train's own phase-1 artifact (its encoder kept) holds the features a sweep trial's has, so
    the model is exactly the trial of that configuration on the whole pool, epoch by epoch."""
    from trainables.config import TrialSpec
    from trainables.trial import run_trial

    spec = TrialSpec.from_config(trained.recipe.config)
    result = run_trial(spec, report=lambda metrics, checkpoint: None, artifacts=sweep["root"] / "other")
    keys = ("dev_f1_weighted", "test_f1_weighted", "train_loss")
    assert [[epoch[k] for k in keys] for epoch in result.history] == [
        [epoch[k] for k in keys] for epoch in trained.result.history
    ]


def test_the_model_folder_describes_itself(sweep: dict[str, Any], trained: Any) -> None:
    folder = trained.folder
    info = json.loads((folder / "resweep_model.json").read_text())
    config = trained.recipe.config
    assert info["architecture"] == config["architecture"] and info["config"]["strategy"] == config["strategy"]
    assert info["marker_style"] == config["marker_style"] and info["max_length"] == 40
    labels = info["labels"]
    assert [entry["label"] for entry in labels["all"]][: len(labels["in_domain"])] == labels["in_domain"]
    assert all(entry["negative"] == (entry["label"] in labels["negative"]) for entry in labels["all"])
    evidence = info["evidence"]
    for key in ("size", "n_seeds", "mean", "interval", "tie", "chosen_over"):
        assert key in evidence
    assert info["scores"]["test"]["f1_weighted"] == pytest.approx(trained.scores["test"]["f1_weighted"])
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["kind"] == "train" and manifest["packages"]["torch"]
    assert manifest["datasets"]["in_domain"]["files"]["train"]["sha256"]
    card = (folder / "MODEL_CARD.md").read_text()
    assert str(sweep["in_domain"]) in card  # the data
    for key in ("architecture", "strategy", "imbalance", "learning_rate"):
        assert f"| {key} | `{config[key]}` |" in card  # the recipe
    assert "## Known limits" in card and "Chosen over" in card


def test_an_unswept_size_trains_what_the_leaderboard_recommends_there(
    sweep: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["leaderboard", NAME, "--storage", sweep["storage"], "--size", "0.3", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    recipe = choose_recipe(NAME, storage=sweep["storage"], size=0.3)
    assert recipe.config == _on_the_pool(answer["recommended_config"]["config"])
    assert recipe.config["strategy"] == answer["recommended"]
    assert recipe.evidence["source_size"] == answer["recommended_config"]["from_size"]
    # A swept size: its board's recommendation; --rank takes another.
    boards = leaderboard(NAME, storage=sweep["storage"])
    at = next(b for b in boards if b.size == 0.1)
    assert choose_recipe(NAME, storage=sweep["storage"], size=0.1).evidence["label"] == at.recommended.label
    second = choose_recipe(NAME, storage=sweep["storage"], size=0.1, rank=2)
    assert second.evidence["rank"] == 2 and second.evidence["label"] == at.entries[1].label
    # --floor: the size's tfidf-linear floor run (an unswept size: the nearest swept size's).
    floor = choose_recipe(NAME, storage=sweep["storage"], size=0.1, floor=True)
    assert floor.config["architecture"] == "tfidf-linear" and floor.evidence["label"] == at.floor.label
    assert choose_recipe(NAME, storage=sweep["storage"], size=0.4, floor=True).evidence["source_size"] == 0.5


def test_wrong_choices_are_one_line(
    sweep: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = sweep["storage"]
    cases = [
        (["--size", "0.3", "--rank", "1"], "--rank needs a swept size; 0.3 was not swept"),
        (["--size", "0.1", "--rank", "99"], "no rank 99"),
        (["--config", str(tmp_path / "absent.yaml")], "absent.yaml"),
    ]
    (tmp_path / "bad.yaml").write_text("architecture: two-phase\nlearnig_rate: 0.1\n")
    cases.append((["--config", str(tmp_path / "bad.yaml")], "unknown trial config key(s) learnig_rate"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    cases.append((["--out", str(tmp_path / "full")], "exists and is not empty"))
    for extra, message in cases:
        out = [] if "--out" in extra else ["--out", str(tmp_path / "model")]
        assert main(["train", NAME, "--storage", storage, *out, *extra]) == 1, extra
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "model").exists()


def test_an_explicit_config_trains_through_the_cli_and_predicts_every_format(
    sweep: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        "architecture: tfidf-linear\nstrategy: baseline\nimbalance: oversampling\nlearning_rate: 0.05\n"
    )
    out = tmp_path / "floor"
    assert (
        main(
            [
                "train",
                NAME,
                "--storage",
                sweep["storage"],
                "--config",
                str(recipe),
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "trained on" in printed and "test (" in printed and f"model folder: {out}" in printed
    assert "no leaderboard estimate" in printed

    records = read_input(Path(sweep["in_domain"]) / "test.parquet")
    model = load_model(out)
    typed = model.predict(records).predicted
    # Marked text carries no entity types (a feature of tfidf-linear): predicted without them.
    no_types = pa.nulls(records.num_rows, pa.string())
    untyped = records.set_column(records.schema.get_field_index("head_type"), "head_type", no_types)
    untyped = untyped.set_column(records.schema.get_field_index("tail_type"), "tail_type", no_types)
    expected = model.predict(untyped).predicted
    files = _in_every_format(records, tmp_path)
    for name, path in files.items():
        result = predict_file(out, path)
        assert result.predictions.predicted == (typed if name in ("tacred", "parquet") else expected), name
        assert result.predictions.ids == records["id"].to_pylist(), name
        assert (result.metrics is None) == (name == "jsonl-unlabeled"), name
    # Outputs: JSONL (stdout and file), CSV, Parquet, all with id/label/score/top_k.
    assert main(["predict", str(out), str(files["jsonl-text"]), "--top-k", "2"]) == 0
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [line["label"] for line in lines] == expected
    assert all(set(line) == {"id", "label", "score", "top_k"} and len(line["top_k"]) == 2 for line in lines)
    assert "against the input's labels" in captured.err
    for suffix in ("jsonl", "csv", "parquet"):
        target = tmp_path / f"out.{suffix}"
        assert main(["predict", str(out), str(files["semeval"]), "--out", str(target)]) == 0
        if suffix == "parquet":
            rows = pq.read_table(target).to_pylist()
        elif suffix == "csv":
            with open(target) as handle:
                rows = [{**r, "top_k": json.loads(r["top_k"])} for r in csv.DictReader(handle)]
        else:
            rows = [json.loads(line) for line in target.read_text().splitlines()]
        assert [r["label"] for r in rows] == expected and [r["id"] for r in rows] == records["id"].to_pylist()
        assert all(r["top_k"][0]["label"] == r["label"] for r in rows)
    capsys.readouterr()
    assert main(["predict", str(out), str(files["semeval"]), "--out", str(tmp_path / "x.txt")]) == 1
    assert "cannot tell the output format" in capsys.readouterr().err


def _in_every_format(records: pa.Table, folder: Path) -> dict[str, Path]:
    """``records`` written in each input format resweep reads (one unlabeled)."""
    rows = records.to_pylist()
    files: dict[str, Path] = {}

    def marked(row: dict[str, Any]) -> str:
        words = list(row["tokens"])
        for start, end, tag in sorted(
            [(row["head_start"], row["head_end"], "e1"), (row["tail_start"], row["tail_end"], "e2")],
            reverse=True,
        ):
            words[start:end] = [f"<{tag}>" + " ".join(words[start:end]) + f"</{tag}>"]
        return " ".join(words)

    files["semeval"] = folder / "in.txt"
    files["semeval"].write_text(
        "".join(f'{row["id"]}\t"{marked(row)}"\n{row["label"]}\nComment:\n\n' for row in rows)
    )
    files["jsonl-text"] = folder / "text.jsonl"
    files["jsonl-text"].write_text(
        "".join(json.dumps({"id": r["id"], "text": marked(r), "label": r["label"]}) + "\n" for r in rows)
    )
    files["jsonl-unlabeled"] = folder / "unlabeled.jsonl"
    files["jsonl-unlabeled"].write_text(
        "".join(json.dumps({"id": r["id"], "text": marked(r)}) + "\n" for r in rows)
    )
    files["tacred"] = folder / "in.json"
    files["tacred"].write_text(
        json.dumps(
            [
                {
                    "id": r["id"],
                    "token": list(r["tokens"]),
                    "subj_start": r["head_start"],
                    "subj_end": r["head_end"] - 1,
                    "obj_start": r["tail_start"],
                    "obj_end": r["tail_end"] - 1,
                    "relation": r["label"],
                    "subj_type": r["head_type"],
                    "obj_type": r["tail_type"],
                }
                for r in rows
            ]
        )
    )
    files["parquet"] = folder / "in.parquet"
    pq.write_table(records, files["parquet"])
    return files
