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


def test_a_key_depends_only_on_what_was_set() -> None:
    import dataclasses

    from trainables.config import LoopConfig

    spec = TrialSpec.from_config({"architecture": "two-phase", "learning_rate": 1e-3, "ood_pct": 10})
    # Pinned: a key is a name that sweeps resume by; this value may only change with KEY_VERSION.
    assert spec.key() == "31c9dcc05c83c69c"
    # Spelling a default out, or an int for a float setting, names the same trial.
    same = {"architecture": "two-phase", "learning_rate": 1e-3, "ood_pct": 10.0, "dropout": 0.1}
    assert TrialSpec.from_config({**same, "batch_size": 16}).key() == spec.key()
    assert TrialSpec.from_config({**same, "batch_size": 32}).key() != spec.key()
    # A new setting with a default (here: the loop grows one) leaves the key as it was, so a sweep
    # resumed after such an upgrade finds its trials under their old names.
    grown = dataclasses.make_dataclass(
        "LoopConfig", [("new_setting", int, dataclasses.field(default=7))], bases=(LoopConfig,), frozen=True
    )
    upgraded = dataclasses.replace(spec, loop=grown(**dataclasses.asdict(spec.loop)))
    assert "new_setting" in upgraded.to_config() and upgraded.key() == spec.key()
    assert (
        dataclasses.replace(spec, loop=grown(**dataclasses.asdict(spec.loop), new_setting=8)).key()
        != spec.key()
    )
    # A count of one sentence is not the whole pool (1 vs 1.0 stay apart: no int-to-float here).
    counts = [TrialSpec.from_config({"in_domain_size": size}).key() for size in (1, 1.0)]
    assert counts[0] != counts[1]


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
