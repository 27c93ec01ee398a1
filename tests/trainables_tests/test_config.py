"""The one parsing boundary: a flat Tune config becomes a typed TrialSpec, or a clear error."""

from __future__ import annotations

import pytest

from trainables.config import TrialSpec


def test_round_trip_and_stable_key() -> None:
    config = {
        "architecture": "two-phase",
        "strategy": "local",
        "ood": "synthetic_ood",
        "ood_pct": 10,
        "local_in_domain_pretrain_pct": 50,
        "learning_rate": 3e-5,
        "imbalance": "undersampling",
        "imbalance_params": {"max_ratio": 2.0},
    }
    spec = TrialSpec.from_config(config)
    assert spec.model.architecture == "two-phase" and spec.loop.learning_rate == 3e-5
    assert spec.data.regime.local_in_domain_pretrain_pct == 50
    again = TrialSpec.from_config(spec.to_config())
    assert again == spec and again.key() == spec.key()
    assert TrialSpec.from_config({**config, "seed": 1}).key() != spec.key()


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"lr": 0.1}, r"unknown trial config key\(s\) lr; valid: .*learning_rate"),
        ({"learning_rate": "2e-4"}, r"learning_rate: expected float or int, got '2e-4' \(str\)"),
        ({"max_epochs": 2.5}, r"max_epochs: expected int, got 2.5 \(float\)"),
        ({"dropout": True}, r"dropout: expected float or int, got True \(bool\)"),
        ({"learning_rate": -1.0}, r"learning_rate must be > 0, got -1.0"),
        ({"patience": 0}, r"patience must be >= 1"),
        ({"phase1_model": "bert"}, r"phase1_model must be one of none, seqcls, mlm, got 'bert'"),
        ({"in_domain_size": 1.5}, r"in_domain_size 1.5 as a fraction must be in \(0, 1\]"),
        ({"ood_pct": 150}, r"ood_pct must be between 0 and 100"),
    ],
)
def test_bad_values_name_the_key_the_value_and_what_is_allowed(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrialSpec.from_config(config)
