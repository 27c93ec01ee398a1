"""One trial end to end on tiny random BERTs: architectures x strategies, reporting, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from trainables.config import TrialSpec
from trainables.imbalance import IMBALANCE
from trainables.strategies import STRATEGIES
from trainables.trial import run_trial

REPORTED = {
    "stage",
    "stage_epoch",
    "train_loss",
    "examples_per_second",
    "elapsed_seconds",
    "epochs_done",
    "dev_accuracy",
    "dev_f1_weighted",
    "dev_f1_micro_positive",
    "test_accuracy",
    "test_f1_weighted",
}


def spec_for(tiny_bert: str, **overrides: Any) -> TrialSpec:
    config: dict[str, Any] = {
        "in_domain": "synthetic",
        "ood": "synthetic_ood",
        "in_domain_size": 120,
        "encoder": tiny_bert,
        "max_length": 48,
        "batch_size": 16,
        "learning_rate": 1e-3,
        "max_epochs": 2,
        "patience": 5,
        "hidden_units": 32,
        "phase1_max_epochs": 1,
        "phase1_learning_rate": 1e-3,
    }
    config.update(overrides)
    return TrialSpec.from_config(config)


class Reports:
    def __init__(self, stop_after: int | None = None):
        self.metrics: list[dict[str, Any]] = []
        self.checkpoints: list[Path | None] = []
        self.stop_after = stop_after

    def __call__(self, metrics: dict[str, Any], checkpoint: Path | None) -> None:
        self.metrics.append(metrics)
        self.checkpoints.append(checkpoint)
        if self.stop_after is not None and len(self.metrics) == self.stop_after:
            raise KeyboardInterrupt("simulated crash")


@pytest.mark.parametrize("architecture", ["bert-seqcls", "two-phase"])
@pytest.mark.parametrize(
    ("strategy", "extra"),
    [
        ("baseline", {}),
        ("mixed", {"ood_pct": 10}),
        ("global", {"ood_pct": 10}),
        ("local", {"ood_pct": 10, "local_in_domain_pretrain_pct": 50}),
    ],
)
def test_every_architecture_and_strategy_trains_and_reports(
    architecture: str, strategy: str, extra: dict[str, Any], tiny_bert: str, artifacts: Path, tmp_path: Path
) -> None:
    spec = spec_for(tiny_bert, architecture=architecture, strategy=strategy, phase1_model="none", **extra)
    reports = Reports()
    result = run_trial(spec, report=reports, artifacts=artifacts, checkpoint_root=tmp_path / "ckpt")
    stages = len(STRATEGIES.get(strategy).stages)
    assert len(reports.metrics) == 2 * stages == result.epochs_done
    assert [m["epochs_done"] for m in reports.metrics] == list(range(1, 2 * stages + 1))
    for metrics in reports.metrics:
        assert set(metrics) >= REPORTED
        assert 0.0 <= metrics["dev_f1_weighted"] <= 1.0
    assert reports.metrics[-1]["stage"] == ("finetune" if stages == 2 else "train")
    assert all(c is not None for c in reports.checkpoints)
    # Only the newest checkpoint is kept on disk (a reporter copies each one when it is reported).
    assert reports.checkpoints[-1].is_dir() and not any(c.exists() for c in reports.checkpoints[:-1])
    assert result.best["dev_f1_weighted"] == max(m["dev_f1_weighted"] for m in reports.metrics[-2:])


def test_resume_gives_the_same_metrics_as_an_uninterrupted_run(
    tiny_bert: str, artifacts: Path, tmp_path: Path
) -> None:
    # Two stages (global), dropout on, 4 epochs per stage: the crash lands inside the first stage.
    spec = spec_for(tiny_bert, strategy="global", ood_pct=10, max_epochs=4, patience=10)
    full = Reports()
    run_trial(spec, report=full, artifacts=artifacts, checkpoint_root=tmp_path / "full")

    crashed = Reports(stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        run_trial(spec, report=crashed, artifacts=artifacts, checkpoint_root=tmp_path / "resumed")
    resumed = Reports()
    run_trial(
        spec,
        report=resumed,
        artifacts=artifacts,
        checkpoint_root=tmp_path / "resumed",
        resume_from=crashed.checkpoints[-1],
    )
    combined = crashed.metrics + resumed.metrics
    assert len(combined) == len(full.metrics) == 8
    for expected, got in zip(full.metrics, combined, strict=True):
        for key in ("train_loss", "dev_f1_weighted", "dev_accuracy", "test_f1_weighted", "test_accuracy"):
            assert got[key] == pytest.approx(expected[key], abs=1e-6), key
        assert got["epochs_done"] == expected["epochs_done"] and got["stage"] == expected["stage"]


def test_early_stopping_restores_the_best_epoch(tiny_bert: str, artifacts: Path) -> None:
    # A learning rate this large wrecks the model after the first epochs: patience must stop it.
    spec = spec_for(tiny_bert, max_epochs=6, patience=1, learning_rate=0.5)
    reports = Reports()
    result = run_trial(spec, report=reports, artifacts=artifacts)
    scores = [m["dev_f1_weighted"] for m in reports.metrics]
    assert len(scores) < 6 or scores == sorted(scores)
    assert result.best["dev_f1_weighted"] == max(scores)
    assert result.best["epochs_done"] == result.best["selected_epoch"]


def test_bad_configs_fail_before_any_work(tiny_bert: str, artifacts: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown trial config key\(s\) lr; valid: .*learning_rate"):
        TrialSpec.from_config({"lr": 0.1})
    with pytest.raises(ValueError, match="trains on OOD data: ood_pct must be > 0"):
        run_trial(spec_for(tiny_bert, strategy="global"), report=Reports(), artifacts=artifacts)
    with pytest.raises(ValueError, match="uses no OOD data: set ood_pct to 0"):
        run_trial(spec_for(tiny_bert, ood_pct=50), report=Reports(), artifacts=artifacts)
    with pytest.raises(
        KeyError, match=r"unknown transfer strategy 'transfer'; valid: baseline, mixed, global, local"
    ):
        run_trial(spec_for(tiny_bert, strategy="transfer"), report=Reports(), artifacts=artifacts)
    with pytest.raises(ValueError, match=r"in_domain_size 0 as a count"):
        spec_for(tiny_bert, in_domain_size=0)


# Parameters for techniques that need them; every registered technique runs in a trial below.
IMBALANCE_PARAMS = {"undersampling": {"max_ratio": 3.0}, "negative_sampling": {"ratio": 1.0}}


@pytest.mark.parametrize("imbalance", IMBALANCE.names())
def test_every_imbalance_technique_in_a_trial(imbalance: str, tiny_bert: str, artifacts: Path) -> None:
    spec = spec_for(
        tiny_bert,
        architecture="two-phase",
        phase1_model="none",
        imbalance=imbalance,
        imbalance_params=IMBALANCE_PARAMS.get(imbalance, {}),
        max_epochs=2,
    )
    reports = Reports()
    run_trial(spec, report=reports, artifacts=artifacts)
    assert len(reports.metrics) == 2 and all(m["train_loss"] > 0 for m in reports.metrics)


def test_ood_only_pretraining_stops_on_its_own_held_out_data(tiny_bert: str, artifacts: Path) -> None:
    spec = spec_for(tiny_bert, architecture="two-phase", phase1_model="none", strategy="global", ood_pct=20)
    reports = Reports()
    run_trial(spec, report=reports, artifacts=artifacts)
    pretrain = [m for m in reports.metrics if m["stage"] == "pretrain"]
    finetune = [m for m in reports.metrics if m["stage"] == "finetune"]
    assert pretrain and finetune
    # In-domain dev/test are still reported in every epoch; OOD pre-training adds its own dev.
    assert all("stage_dev_f1_weighted" in m and "dev_f1_weighted" in m for m in pretrain)
    assert not any("stage_dev_f1_weighted" in m for m in finetune)


def test_baseline_and_ood_trials_share_a_none_artifact(tiny_bert: str, artifacts: Path) -> None:
    from trainables.artifacts import builds

    for strategy, ood_pct in (("baseline", 0), ("global", 10)):
        spec = spec_for(
            tiny_bert,
            architecture="two-phase",
            phase1_model="none",
            strategy=strategy,
            ood_pct=ood_pct,
            max_epochs=1,
        )
        run_trial(spec, report=Reports(), artifacts=artifacts)
    assert len(builds(artifacts)) == 1


def test_test_every_epoch_off_scores_test_only_when_dev_improves(tiny_bert: str, artifacts: Path) -> None:
    every, improving = Reports(), Reports()
    run_trial(spec_for(tiny_bert, max_epochs=4, patience=4), report=every, artifacts=artifacts)
    run_trial(
        spec_for(tiny_bert, max_epochs=4, patience=4, test_every_epoch=False),
        report=improving,
        artifacts=artifacts,
    )
    best = float("-inf")
    for full, lean in zip(every.metrics, improving.metrics, strict=True):
        improved = lean["dev_f1_weighted"] > best
        best = max(best, lean["dev_f1_weighted"])
        assert ("test_f1_weighted" in lean) == improved
        # The selected epoch's test scores are exact: the same as with test scored every epoch.
        assert lean["selected_test_f1_weighted"] == pytest.approx(full["selected_test_f1_weighted"], abs=1e-6)
    assert any("test_f1_weighted" not in m for m in improving.metrics)  # some epoch skipped test


def test_a_phase1_build_says_how_far_it_is(
    tiny_bert: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Featurising writes its progress (sentences done of all) while it runs, and removes it."""
    import trainables.phase1 as phase1
    from trainables.artifacts import BuildProgress, build_progress

    seen: list[list[dict]] = []

    class Watched(BuildProgress):
        def add(self, count: int) -> None:
            self.every = 0  # every batch, to watch
            super().add(count)
            seen.append(build_progress(tmp_path / "artifacts"))

    monkeypatch.setattr(phase1, "BuildProgress", Watched)
    spec = spec_for(tiny_bert, architecture="two-phase", phase1_model="none", max_epochs=1)
    run_trial(spec, report=Reports(), artifacts=tmp_path / "artifacts")
    done = [records[0]["done"] for records in seen]
    assert len(done) > 1 and done == sorted(done) and seen[-1][0]["done"] == seen[-1][0]["total"]
    assert build_progress(tmp_path / "artifacts") == []  # removed when the build ended


def test_a_phase1_fine_tuning_says_how_far_it_is(
    tiny_bert: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fine-tuning the phase-1 encoder (most of a build's time) has its own sign of life: the
    sentences trained on, of the epochs' upper bound, growing batch by batch, then removed."""
    import trainables.phase1 as phase1
    from trainables.artifacts import BuildProgress, build_progress

    seen: list[list[dict]] = []

    class Watched(BuildProgress):
        def add(self, count: int) -> None:
            self.every = 0
            super().add(count)
            seen.append(build_progress(tmp_path / "artifacts"))

    monkeypatch.setattr(phase1, "BuildProgress", Watched)
    spec = spec_for(tiny_bert, architecture="two-phase", phase1_model="seqcls", max_epochs=1)
    run_trial(spec, report=Reports(), artifacts=tmp_path / "artifacts")
    tuning = [r for records in seen for r in records if r["what"] == "phase-1 fine-tuning (seqcls)"]
    done = [r["done"] for r in tuning]
    assert (
        len(done) > 1
        and done == sorted(done)
        and all(0 < d <= r["total"] for d, r in zip(done, tuning, strict=True))
    )
    assert any(r["what"].startswith("phase-1 features") for records in seen for r in records)
    assert build_progress(tmp_path / "artifacts") == []
