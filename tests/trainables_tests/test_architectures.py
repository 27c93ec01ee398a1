"""Conformance checks every registered architecture must pass, and the phase-1 variants."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from trainables.architectures import ARCHITECTURES, PrepareContext
from trainables.artifacts import builds
from trainables.config import TrialSpec
from trainables.data.datasets import load_dataset
from trainables.data.regimes import sample_regime
from trainables.imbalance import IMBALANCE
from trainables.loop import training_loss
from trainables.phase1 import phase1_features
from trainables.strategies import STRATEGIES
from trainables.trial import build_label_space, run_trial


def context_for(tiny_bert: str, artifacts: Path, **overrides: object) -> tuple[TrialSpec, PrepareContext]:
    config = {
        "in_domain": "synthetic",
        "ood": "synthetic_ood",
        "in_domain_size": 60,
        "encoder": tiny_bert,
        "max_length": 40,
        "phase1_max_epochs": 1,
        "phase1_model": "none",
        "hidden_units": 8,
    }
    config.update(overrides)
    spec = TrialSpec.from_config(config)
    in_domain, ood = load_dataset("synthetic"), load_dataset("synthetic_ood")
    data = sample_regime(in_domain, spec.data.regime, ood if spec.data.regime.ood_pct else None)
    return spec, PrepareContext(spec, data, in_domain, ood, artifacts, torch.device("cpu"))


@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_architecture_conformance(name: str, tiny_bert: str, artifacts: Path) -> None:
    spec, context = context_for(tiny_bert, artifacts, architecture=name, ood_pct=10, strategy="mixed")
    space = build_label_space(spec, context.in_domain, context.ood)
    architecture = ARCHITECTURES.get(name)(spec, space)
    assert architecture.name == name
    architecture.prepare(context)
    train = architecture.encode(context.data.train)
    ood = architecture.encode(context.data.ood_train, ood=True)
    assert len(train) == context.data.train.num_rows and len(ood) == context.data.ood_train.num_rows
    assert train.labels.dtype == np.int64 and train.labels.max() < len(space)
    assert ood.labels.min() >= 0  # OOD labels map into the union label space
    again = architecture.encode(context.data.train)
    assert np.array_equal(again.labels, train.labels) and np.array_equal(again.lengths, train.lengths)

    torch.manual_seed(0)
    model = architecture.build_model()
    assert architecture.model is model
    batch = architecture.collate(train, np.arange(5))
    assert batch["labels"].shape == (5,)
    logits = architecture.logits(model, batch)
    assert logits.shape == (5, len(space))
    training_loss(architecture, model, batch, None).backward()  # the architecture's own loss
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
    model.zero_grad()
    weights = torch.linspace(0.5, 2.0, len(space))  # class weights reach every loss
    weighted = training_loss(architecture, model, batch, weights)
    assert torch.isfinite(weighted) and weighted.requires_grad

    # Save/load round trip: a fresh model with the saved weights gives the same scores.
    from trainables.checkpoint import load_checkpoint, save_checkpoint

    model.eval()
    with torch.no_grad():
        expected = architecture.logits(model, batch)
    save_checkpoint(artifacts / f"ckpt-{name}", model=model, best_state=None, tensors={}, trainer_state={})
    torch.manual_seed(1)
    fresh = architecture.build_model()
    load_checkpoint(artifacts / f"ckpt-{name}", fresh)
    fresh.eval()
    with torch.no_grad():
        assert torch.allclose(architecture.logits(fresh, batch), expected, atol=1e-5)


def test_the_settings_a_config_check_reads_are_the_architectures_own() -> None:
    """A config is checked with trainables.architectures.settings (no torch); a trial runs with
    the architecture's ``settings_class`` and ``settings_readers``: they must be the same."""
    from trainables.architectures import settings_readers
    from trainables.architectures.settings import SETTINGS

    assert sorted(SETTINGS) == sorted(ARCHITECTURES.names())
    for name in ARCHITECTURES.names():
        architecture = ARCHITECTURES.get(name)
        assert SETTINGS[name] is architecture.settings_class, name
        for inner in ("bert-seqcls", "redn"):
            config = {"architecture": name, "two_step_inner": inner}
            assert settings_readers(name, config) == architecture.settings_readers(config)
    assert settings_readers("two-step", {"two_step_inner": "redn"}) == ("two-step", "redn")
    # Only two-step has rules of its own (check_supported holds them); any other would be skipped.
    from trainables.architectures import BaseArchitecture

    base = BaseArchitecture.check.__func__  # type: ignore[attr-defined]
    own_rules = [n for n in ARCHITECTURES.names() if ARCHITECTURES.get(n).check.__func__ is not base]
    assert own_rules == ["two-step"]


def test_checking_trial_configs_imports_no_torch() -> None:
    """Every process that checks a config (the driver, each `resweep` command that reads a sweep)
    would otherwise pay for torch's import: 1.5-2 s on a small machine."""
    code = (
        "import sys\n"
        "from trainables.architectures import ARCHITECTURES\n"
        "from trainables.config import TrialSpec\n"
        "for name in ARCHITECTURES.names():\n"
        "    TrialSpec.from_config({'architecture': name})\n"
        "spec = TrialSpec.from_config({'architecture': 'two-step', 'two_step_inner': 'redn', "
        "'redn_threshold': 0.3, 'projection_size': 8, 'cnn_windows': '2,3'})\n"
        "assert spec.model.settings_of('redn').redn_threshold == 0.3\n"
        "assert sorted(spec.model.settings) == ['redn', 'two-step']  # cnn_windows: checked, not read\n"
        "from search.config import load_sweep_config\n"
        "load_sweep_config('configs/thesis.yaml')\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules))"
    )
    root = Path(__file__).parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def tiny_trial(tiny_bert: str, corpora: tuple[str, str], **overrides: Any) -> dict[str, Any]:
    """A whole trial on the tiny corpora and tiny BERT, one epoch: a second or so."""
    return {
        "in_domain": corpora[0],
        "ood": corpora[1],
        "in_domain_size": 1.0,
        "encoder": tiny_bert,
        "max_length": 32,
        "hidden_units": 8,
        "max_epochs": 1,
        "learning_rate": 1e-3,
        **overrides,
    }


# (architecture, imbalance technique) pairs an architecture refuses, and a word its message must say.
REFUSED = {("two-step", "negative_sampling"): "samples negatives itself"}
IMBALANCE_PARAMS = {"undersampling": {"max_ratio": 3.0}, "negative_sampling": {"ratio": 1.0}}


@pytest.mark.parametrize("name", ARCHITECTURES.names())
def test_every_imbalance_technique_and_strategy_trains_or_is_refused_by_name(
    name: str, tiny_bert: str, tiny_corpora: tuple[str, str], artifacts: Path
) -> None:
    base = tiny_trial(tiny_bert, tiny_corpora, architecture=name, phase1_model="none")
    combinations = [
        {"imbalance": i, "imbalance_params": IMBALANCE_PARAMS.get(i, {})} for i in IMBALANCE.names()
    ]
    # Every other strategy (baseline, the default, is the imbalance combinations'), with the
    # regime keys it says it reads.
    for strategy in (STRATEGIES.get(s) for s in STRATEGIES.names() if s != "baseline"):
        regime = {"ood_pct": 50} if strategy.uses_ood else {}
        if strategy.uses_local_share:
            regime["local_in_domain_pretrain_pct"] = 50
        combinations.append({"strategy": strategy.name, **regime})
    for combination in combinations:
        spec = TrialSpec.from_config({**base, **combination})
        refusal = REFUSED.get((name, spec.imbalance))
        if refusal:
            with pytest.raises(ValueError, match=f"architecture '{name}'.*'{spec.imbalance}'.*{refusal}"):
                run_trial(spec, report=lambda *_: None, artifacts=artifacts)
            continue
        reports: list[dict[str, object]] = []
        result = run_trial(spec, report=lambda m, _, seen=reports: seen.append(m), artifacts=artifacts)
        stages = len(STRATEGIES.get(spec.strategy).stages)
        assert result.epochs_done == stages == len(reports), combination
        assert 0.0 <= float(reports[-1]["dev_f1_weighted"]) <= 1.0  # type: ignore[arg-type]
        assert np.isfinite(float(reports[-1]["train_loss"])), combination  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("variant", "finetune", "strategy", "ood_pct"),
    [
        ("none", "joined", "baseline", 0),
        ("seqcls", "joined", "baseline", 0),
        ("seqcls", "separate", "global", 10),
        ("mlm", "joined", "baseline", 0),
        ("mlm", "separate", "mixed", 10),
    ],
)
def test_phase1_variants_build_features_once(
    variant: str, finetune: str, strategy: str, ood_pct: int, tiny_bert: str, artifacts: Path
) -> None:
    spec, context = context_for(
        tiny_bert,
        artifacts,
        architecture="two-phase",
        phase1_model=variant,
        phase1_finetune=finetune,
        strategy=strategy,
        ood_pct=ood_pct,
    )
    space = build_label_space(spec, context.in_domain, context.ood if ood_pct else None)
    features = phase1_features(context, space)
    assert features.dim == 3 * 32  # [CLS; mean head; mean tail] of a hidden-32 encoder
    for table in (context.data.train, context.data.dev, context.data.test, context.ood["train"]):
        matrix = features.lookup(table)
        assert matrix.shape == (table.num_rows, 96) and np.isfinite(matrix).all()
    again = phase1_features(context, space)
    assert again.folder == features.folder
    assert len(builds(artifacts)) == 1


SEQCLS_JOINED = {"architecture": "two-phase", "phase1_model": "seqcls", "phase1_finetune": "joined"}


def test_seqcls_artifact_depends_on_the_data_it_saw(tiny_bert: str, artifacts: Path) -> None:
    spec_a, context_a = context_for(tiny_bert, artifacts, **SEQCLS_JOINED, in_domain_size=60)
    spec_b, context_b = context_for(tiny_bert, artifacts, **SEQCLS_JOINED, in_domain_size=80)
    a = phase1_features(context_a, build_label_space(spec_a, context_a.in_domain, None))
    b = phase1_features(context_b, build_label_space(spec_b, context_b.in_domain, None))
    assert a.folder != b.folder  # another in-domain subset: another encoder
    # ...while a different strategy or imbalance on the same data shares it.
    spec_c, context_c = context_for(
        tiny_bert, artifacts, **SEQCLS_JOINED, in_domain_size=60, imbalance="oversampling"
    )
    assert phase1_features(context_c, build_label_space(spec_c, context_c.in_domain, None)).folder == a.folder


def test_minilm_resolves_offline() -> None:
    from trainables.encoders import resolve_encoder

    path = Path(resolve_encoder("minilm"))
    assert (path / "config.json").is_file() and (path / "model.safetensors").is_file()
    with pytest.raises(ValueError, match="not a model folder"):
        resolve_encoder(str(Path(__file__).parent))


def test_phase_two_mlp_standardises_with_training_statistics() -> None:
    from trainables.architectures.two_phase import PhaseTwoMLP

    rng = np.random.default_rng(0)
    features = (5.0 + 0.01 * rng.standard_normal((50, 6))).astype(np.float32)  # far from 0, little spread
    model = PhaseTwoMLP(6, 4, 3, dropout=0.0)
    model.fit_standardisation(features)
    assert torch.allclose(model.mean, torch.from_numpy(features.mean(0)))
    assert {"mean", "std"} <= set(model.state_dict())  # part of every checkpoint
    standardised = (torch.from_numpy(features) - model.mean) / model.std
    assert standardised.mean().abs() < 1e-4 and (standardised.std(0) - 1).abs().max() < 0.05
