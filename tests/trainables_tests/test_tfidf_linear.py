"""What is particular to ``tfidf-linear``: its features, a vocabulary fitted on training text only,
no encoder anywhere, and whole trials (it learns, transfer, resume) in a second or two each."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse
import torch

from trainables.architectures import PrepareContext, concat_splits
from trainables.architectures.tfidf_linear import MAX_FEATURES, TfidfLinear, record_features
from trainables.config import TrialSpec
from trainables.data.datasets import load_dataset
from trainables.data.records import Record, table_to_records
from trainables.data.regimes import sample_regime
from trainables.loop import EncodedSplit
from trainables.trial import build_label_space, run_trial

from .test_trial import Reports

# The synthetic corpus is small and templated: it wants a larger rate than SemEval's default
# (5e-3, see trainables.architectures.tfidf_linear) to learn within a second or two.
RECIPE = {"architecture": "tfidf-linear", "learning_rate": 3e-2, "max_epochs": 5, "patience": 2}


def spec_for(**overrides: Any) -> TrialSpec:
    return TrialSpec.from_config({"in_domain": "synthetic", "in_domain_size": 0.5, **RECIPE, **overrides})


def prepared(**overrides: Any) -> tuple[TfidfLinear, PrepareContext]:
    spec = spec_for(**overrides)
    in_domain = load_dataset("synthetic")
    ood = load_dataset("synthetic_ood") if spec.data.ood_pct else None
    data = sample_regime(in_domain, spec.data.regime, ood)
    context = PrepareContext(spec, data, in_domain, ood, "unused", torch.device("cpu"))
    architecture = TfidfLinear(spec, build_label_space(spec, in_domain, ood))
    architecture.prepare(context)
    return architecture, context


def words(table: Any) -> set[str]:
    return {token.lower() for record in table_to_records(table) for token in record.tokens}


def test_record_features_mark_the_pair() -> None:
    record = Record(
        id="r",
        tokens=("Ada", "Lovelace", "was", "born", "in", "London"),
        head_start=0,
        head_end=2,
        tail_start=5,
        tail_end=6,
        label="born_in",
        dataset="d",
        split="train",
        head_type="PERSON",
        tail_type=None,
    )
    features = record_features(record)
    assert features[:4] == ["<e1>", "ada", "lovelace", "</e1>"]  # the marked sentence, lowercased
    assert {"</e1> was", "in <e2>", "london"} <= set(features)  # its bigrams cross the markers
    assert {"h=ada", "h=lovelace", "t=london", "b=was", "b=born", "b=in", "b2=was born"} <= set(features)
    assert {"order=head_first", "dist<=3", "types=person|-", "ht=person", "tt=-"} <= set(features)
    swapped = Record(**{**record.__dict__, "head_start": 5, "head_end": 6, "tail_start": 0, "tail_end": 2})
    assert "order=tail_first" in record_features(swapped) and "h=london" in record_features(swapped)
    untyped = Record(**{**record.__dict__, "head_type": None})
    assert not any(f.startswith(("types=", "ht=", "tt=")) for f in record_features(untyped))


def test_the_vocabulary_comes_from_training_text_only() -> None:
    architecture, context = prepared(strategy="mixed", ood="synthetic_ood", ood_pct=50)
    data = context.data
    vocabulary = architecture.vectorizer_.vocabulary_
    assert len(vocabulary) < MAX_FEATURES  # nothing below was cut by the cap
    pair = ("types=", "ht=", "tt=", "order=", "dist")  # entity types and buckets are not words
    parts = {
        part for feature in vocabulary if not feature.startswith(pair) for part in re.split(r"[ =]", feature)
    }
    trained_on = words(data.train) | words(data.ood_train)
    held_out = (words(data.dev) | words(data.test)) - trained_on
    assert held_out and not held_out & parts  # e.g. names that only test sentences mention
    assert (words(data.ood_train) - words(data.train)) <= parts  # the OOD share is training text


def test_it_learns_well_above_the_majority_rate() -> None:
    reports = Reports()
    result = run_trial(spec_for(), report=reports, artifacts="unused")
    test_labels = table_to_records(load_dataset("synthetic")["test"])
    majority = max(Counter(r.label for r in test_labels).values()) / len(test_labels)
    assert majority < 0.45 and result.best["test_f1_weighted"] > majority + 0.35


def test_no_encoder_or_tokenizer_is_ever_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    import trainables.encoders

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("tfidf-linear loaded an encoder or tokenizer")

    for name in ("from_pretrained", "load_tokenizer", "resolve_encoder"):
        monkeypatch.setattr(trainables.encoders, name, refuse)
    monkeypatch.setitem(sys.modules, "transformers", None)  # any `import transformers` now fails
    spec = spec_for(encoder="no-such-encoder", max_epochs=1, in_domain_size=300)
    assert run_trial(spec, report=lambda *_: None, artifacts="unused").epochs_done == 1


def test_global_pretraining_then_finetuning_reports_both_stages() -> None:
    reports = Reports()
    spec = spec_for(strategy="global", ood="synthetic_ood", ood_pct=30, max_epochs=2, in_domain_size=300)
    run_trial(spec, report=reports, artifacts="unused")
    stages = [m["stage"] for m in reports.metrics]
    assert stages == ["pretrain", "pretrain", "finetune", "finetune"]
    assert all("stage_dev_f1_weighted" in m for m in reports.metrics[:2])  # OOD pre-training's own dev
    assert reports.metrics[-1]["dev_f1_weighted"] > 0.5


def test_resume_gives_the_same_metrics_as_an_uninterrupted_run(tmp_path: Path) -> None:
    spec = spec_for(
        strategy="global", ood="synthetic_ood", ood_pct=20, max_epochs=3, patience=10, in_domain_size=300
    )
    full = Reports()
    run_trial(spec, report=full, artifacts="unused", checkpoint_root=tmp_path / "full")
    crashed = Reports(stop_after=2)  # inside pre-training
    with pytest.raises(KeyboardInterrupt):
        run_trial(spec, report=crashed, artifacts="unused", checkpoint_root=tmp_path / "resumed")
    resumed = Reports()
    run_trial(
        spec,
        report=resumed,
        artifacts="unused",
        checkpoint_root=tmp_path / "resumed",
        resume_from=crashed.checkpoints[-1],
    )
    combined = crashed.metrics + resumed.metrics
    assert len(combined) == len(full.metrics) == 6
    for expected, got in zip(full.metrics, combined, strict=True):
        for key in ("train_loss", "dev_f1_weighted", "test_f1_weighted"):
            assert got[key] == pytest.approx(expected[key], abs=1e-6), key
        assert got["stage"] == expected["stage"]


def test_concat_splits_keeps_sparse_inputs_sparse() -> None:
    parts = [
        EncodedSplit(scipy.sparse.csr_matrix(np.eye(3, 4, k, dtype=np.float32)), np.arange(3), np.ones(3))
        for k in (0, 1)
    ]
    joined = concat_splits(parts)
    assert scipy.sparse.issparse(joined.inputs) and joined.inputs.format == "csr"
    assert np.array_equal(joined.inputs.toarray(), np.vstack([np.eye(3, 4, 0), np.eye(3, 4, 1)]))
    assert len(joined) == 6


def test_the_estimate_counts_no_encoder_work(tmp_path: Path) -> None:
    from search.config import parse_sweep_config
    from search.driver.estimate import estimate_sweep
    from search.plan import plan_sweep

    config = parse_sweep_config(
        {
            "name": "floor",
            "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1]},
            # every configuration: frozen-feature two-phase (no training) or tfidf-linear
            "search": {"space": "ground-truth-smoke", "searcher": "grid", "budget": 100},
            "storage": str(tmp_path),
        }
    )
    (estimate,) = estimate_sweep(config, plan_sweep(config))
    assert estimate.trials > 0 and estimate.train_sequences == 0
