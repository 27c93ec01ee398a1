"""Model folders: every architecture trains, saves, loads in a fresh process and predicts the same;
nothing is unpickled; new sentences (marked text) are read without labels."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from trainables.architectures import ARCHITECTURES
from trainables.config import TrialSpec
from trainables.model_folder import ModelFolderError, RelationModel, load_model, save_model_folder
from trainables.testing import predict_in_fresh_process
from trainables.trial import prepare_trial

BASELINE = {"strategy": "baseline", "ood_pct": 0, "local_in_domain_pretrain_pct": 0}  # in-domain only


def _trained(
    architecture: str, tiny_bert: str, corpora: tuple[str, str], artifacts: Path, **extra: Any
) -> Any:
    in_domain, ood = corpora
    config = {
        "architecture": architecture,
        "encoder": tiny_bert,
        "in_domain": in_domain,
        "ood": ood,
        "strategy": "local",
        "ood_pct": 50,
        "local_in_domain_pretrain_pct": 10,
        "max_epochs": 2,
        "learning_rate": 1e-3,
        "phase1_max_epochs": 1,
        "max_length": 40,
        **extra,
    }
    prepared = prepare_trial(TrialSpec.from_config(config), artifacts=artifacts, keep_encoder=True)
    result = prepared.fit(report=lambda metrics, checkpoint: None)
    prepared.architecture.for_inference()
    return prepared, result


@pytest.mark.parametrize("architecture", ARCHITECTURES.names())
def test_a_model_folder_predicts_in_a_fresh_process_what_the_trained_model_does(
    architecture: str, tiny_bert: str, tiny_corpora: tuple[str, str], tmp_path: Path
) -> None:
    import pyarrow.parquet as pq

    prepared, result = _trained(architecture, tiny_bert, tiny_corpora, tmp_path / "artifacts")
    in_memory = RelationModel(prepared.architecture, {})
    expected = in_memory.predict(prepared.data.test)
    # What the loop scored on test (two-phase: from the artifact's features) is what predicting
    # the test records again gives (two-phase: featurised anew by the kept phase-1 encoder).
    from trainables.metrics import compute_metrics

    gold = prepared.data.test["label"].to_pylist()
    negative = prepared.label_space.negative
    again = compute_metrics(gold, expected.predicted, negative_labels=negative)
    assert again["f1_weighted"] == pytest.approx(result.best["test_f1_weighted"], abs=1e-6)

    folder = save_model_folder(tmp_path / "model", prepared.architecture, info={"scores": result.best})
    test_file = tmp_path / "test.parquet"
    pq.write_table(prepared.data.test, test_file)
    labels, scores = predict_in_fresh_process(folder, test_file)
    assert labels == expected.predicted
    np.testing.assert_allclose(np.array(scores), expected.scores, atol=1e-6, rtol=0)
    # Only safetensors and JSON/tokenizer text: no file a pickle could hide in.
    assert sorted(p.name for p in folder.rglob("*.safetensors"))
    assert not [p for p in folder.rglob("*") if p.suffix in (".pkl", ".pt", ".bin", ".pickle")]


def test_marked_text_is_predicted_without_labels_and_probabilities_rank_the_labels(
    tiny_bert: str, tiny_corpora: tuple[str, str], tmp_path: Path
) -> None:
    prepared, _ = _trained(
        "tfidf-linear", tiny_bert, tiny_corpora, tmp_path / "artifacts", learning_rate=0.05
    )
    model = load_model(save_model_folder(tmp_path / "model", prepared.architecture))
    texts = ["<e1>Ann</e1> works for <e2>ACME</e2> .", "The <e2>cup</e2> is in the <e1>box</e1> ."]
    predictions = model.predict(texts)
    assert predictions.ids == ["text-1", "text-2"]
    assert np.allclose(predictions.probabilities.sum(axis=1), 1.0, atol=1e-5)
    first, _ = predictions.rows(k=3)
    assert first["label"] == predictions.predicted[0] and len(first["top_k"]) == 3
    assert [alt["score"] for alt in first["top_k"]] == sorted(
        (alt["score"] for alt in first["top_k"]), reverse=True
    )
    assert set(model.labels) == set(prepared.label_space.in_domain)  # never an OOD-only label
    assert all(label in model.labels for label in predictions.predicted)
    # The vocabulary and idf weights are JSON, not a pickled vectorizer.
    document = json.loads((tmp_path / "model" / "vectorizer.json").read_text())
    assert len(document["vocabulary"]) == len(document["idf"]) == model.architecture.model.in_features


@pytest.mark.parametrize("name", ["extra.pkl", "weights.pt", "notes.txt"])
def test_a_planted_pickle_is_refused_before_anything_loads(
    name: str, tiny_bert: str, tiny_corpora: tuple[str, str], tmp_path: Path
) -> None:
    prepared, _ = _trained("tfidf-linear", tiny_bert, tiny_corpora, tmp_path / "artifacts")
    folder = save_model_folder(tmp_path / "model", prepared.architecture)
    load_model(folder)  # loads before the plant
    (folder / name).write_bytes(pickle.dumps({"x": 1}))  # by name, or by content under any name
    with pytest.raises(ModelFolderError, match=f"{name}: a pickle file in a model folder"):
        load_model(folder)


def test_a_bert_seqcls_folder_loads_with_transformers_itself(
    tiny_bert: str, tiny_corpora: tuple[str, str], tmp_path: Path
) -> None:
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    prepared, _ = _trained("bert-seqcls", tiny_bert, tiny_corpora, tmp_path / "artifacts", **BASELINE)
    folder = save_model_folder(tmp_path / "model", prepared.architecture)
    ours = load_model(folder)
    theirs = AutoModelForSequenceClassification.from_pretrained(folder)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    labels = prepared.label_space.labels
    assert theirs.config.id2label == dict(enumerate(labels))
    assert "<e1>" in tokenizer.get_vocab()  # the marker tokens travel with the tokenizer
    text = "<e1>Ann</e1> works for <e2>ACME</e2> ."
    expected = ours.predict([text]).scores[0]
    # The marked sentence as a transformers user would feed it.
    with torch.no_grad():
        logits = theirs.eval()(**tokenizer(text, return_tensors="pt")).logits[0]
    np.testing.assert_allclose(logits[: len(ours.labels)].numpy(), expected, atol=1e-5)


def test_a_folder_that_is_not_a_model_folder_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ModelFolderError, match="no such model folder"):
        load_model(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFolderError, match="not a resweep model folder"):
        load_model(tmp_path / "empty")
    (tmp_path / "newer").mkdir()
    (tmp_path / "newer" / "resweep_model.json").write_text(
        '{"format": "resweep-model", "format_version": 99}'
    )
    with pytest.raises(ModelFolderError, match="newer than this resweep reads"):
        load_model(tmp_path / "newer")


def test_saving_over_a_folder_needs_overwrite_and_a_failed_save_leaves_nothing(
    tiny_bert: str, tiny_corpora: tuple[str, str], tmp_path: Path
) -> None:
    prepared, _ = _trained("tfidf-linear", tiny_bert, tiny_corpora, tmp_path / "artifacts")
    folder = save_model_folder(tmp_path / "model", prepared.architecture)
    with pytest.raises(ModelFolderError, match="exists and is not empty"):
        save_model_folder(folder, prepared.architecture)
    save_model_folder(folder, prepared.architecture, overwrite=True)

    class Broken(Exception):
        pass

    def export(_: Path) -> None:
        raise Broken

    prepared.architecture.export = export  # type: ignore[method-assign]
    with pytest.raises(Broken):
        save_model_folder(tmp_path / "second", prepared.architecture)
    assert [p.name for p in tmp_path.iterdir() if p.name != "artifacts"] == ["model"]  # no temporary left


@pytest.mark.gpu
def test_a_model_folder_loads_onto_a_gpu_and_scores_as_on_the_cpu(
    tiny_bert: str, tiny_corpora: tuple[str, str], tmp_path: Path
) -> None:
    prepared, _ = _trained("entity-start", tiny_bert, tiny_corpora, tmp_path / "artifacts", **BASELINE)
    folder = save_model_folder(tmp_path / "model", prepared.architecture)
    on_cpu = load_model(folder).predict(prepared.data.test)
    on_gpu = load_model(folder, device="cuda").predict(prepared.data.test)
    # bf16 autocast on CUDA (trainables.loop): scores agree to bf16's precision.
    np.testing.assert_allclose(on_gpu.scores, on_cpu.scores, atol=0.05, rtol=0.02)


def test_training_a_model_reuses_the_sweeps_frozen_phase1_features(
    tiny_bert: str, tiny_corpora: tuple[str, str], tmp_path: Path
) -> None:
    """`resweep train` after a sweep: a frozen-encoder (`none`) artifact the sweep built without an
    encoder is reused, not built again; the encoder saved beside it yields the features it holds."""
    import torch

    from trainables.phase1 import ENCODER_FOLDER, extract_features

    in_domain, ood = tiny_corpora
    config = {
        "architecture": "two-phase",
        "phase1_model": "none",
        "encoder": tiny_bert,
        "in_domain": in_domain,
        "ood": ood,
        **BASELINE,
        "max_epochs": 1,
        "max_length": 40,
    }
    artifacts = tmp_path / "artifacts"
    swept = prepare_trial(TrialSpec.from_config(config), artifacts=artifacts)  # as a sweep's trial
    folder = swept.architecture.features.folder
    assert not (folder / ENCODER_FOLDER).exists()
    built = (folder / "features.safetensors").stat().st_mtime_ns

    kept = prepare_trial(TrialSpec.from_config(config), artifacts=artifacts, keep_encoder=True)
    assert kept.architecture.features.folder == folder  # the same artifact ...
    assert (folder / "features.safetensors").stat().st_mtime_ns == built  # ... not built again
    assert [p.name for p in artifacts.glob("phase1-*") if p.is_dir()] == [folder.name]
    kept.architecture.for_inference()
    test, style = kept.data.test, kept.spec.model.marker_style
    encoder, tokenizer = kept.architecture.encoder_, kept.architecture.tokenizer_
    again = extract_features(encoder, tokenizer, test, style, 40, torch.device("cpu"))
    np.testing.assert_allclose(again, swept.architecture.features.lookup(test), atol=1e-5, rtol=0)
