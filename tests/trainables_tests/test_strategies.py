"""Conformance checks every registered transfer strategy must pass, the four strategies' stages
pinned, and a new strategy as one module plus one registry line."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pyarrow as pa
import pytest

from spaces import define_by_run
from trainables.config import TrialSpec
from trainables.data.datasets import load_dataset
from trainables.data.regimes import Regime, RegimeData, sample_regime
from trainables.errors import ResweepError
from trainables.registry import UnknownNameError
from trainables.strategies import STRATEGIES, BaseTransferStrategy
from trainables.trial import run_trial


def regime_for(strategy: type[BaseTransferStrategy], **overrides: Any) -> dict[str, Any]:
    """The regime keys a strategy needs, read off what it says it uses."""
    keys = {
        "strategy": strategy.name,
        "ood_pct": 50.0 if strategy.uses_ood else 0.0,
        "local_in_domain_pretrain_pct": 50.0 if strategy.uses_local_share else 0.0,
    }
    return {**keys, **overrides}


def regime_data(tiny_corpora: tuple[str, str], strategy: type[BaseTransferStrategy]) -> RegimeData:
    keys = regime_for(strategy)
    regime = Regime(1.0, keys["ood_pct"], keys["local_in_domain_pretrain_pct"], seed=0)
    ood = load_dataset(tiny_corpora[1]) if strategy.uses_ood else None
    return sample_regime(load_dataset(tiny_corpora[0]), regime, ood)


def tiny_trial(tiny_bert: str, corpora: tuple[str, str], **overrides: Any) -> TrialSpec:
    """A whole trial on the tiny corpora and tiny BERT, one epoch per stage."""
    config = {
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
    return TrialSpec.from_config(config)


def check_stages(strategy: type[BaseTransferStrategy], data: RegimeData) -> None:
    """What every strategy's plan must be: its declared stages, each on parts of the regime's
    tables flagged OOD exactly when they are OOD; OOD data only when the strategy says so; the
    in-domain share only when it says so; the in-domain subset trained on."""
    plan = strategy.plan(data)
    assert tuple(stage.name for stage in plan) == strategy.stages
    tables = [(table, is_ood) for stage in plan for table, is_ood in stage.parts]
    assert tables and all(isinstance(table, pa.Table) for table, _ in tables)
    for table, is_ood in tables:
        assert is_ood == (table is data.ood_train), strategy.name
        assert table is data.ood_train or table is data.train or table is data.local_pretrain
    assert any(table is data.train for table, _ in tables), "every strategy trains on the in-domain subset"
    assert any(is_ood for _, is_ood in tables) == strategy.uses_ood
    if any(table is data.local_pretrain for table, _ in tables):
        assert strategy.uses_local_share and data.local_pretrain.num_rows > 0


def check_refusals(strategy: type[BaseTransferStrategy]) -> None:
    """A regime that does not fit the strategy is refused by name, before any data is read."""
    strategy.check(Regime(0.5, **{k: v for k, v in regime_for(strategy).items() if k != "strategy"}))
    if strategy.uses_ood:
        with pytest.raises(ResweepError, match=f"strategy {strategy.name!r} trains on OOD data"):
            strategy.check(Regime(0.5, ood_pct=0.0))
    else:
        with pytest.raises(ResweepError, match=f"strategy {strategy.name!r} uses no OOD data"):
            strategy.check(Regime(0.5, ood_pct=10.0))
    if not strategy.uses_local_share:
        with pytest.raises(
            ResweepError, match=f"local_in_domain_pretrain_pct only applies to .*{strategy.name!r}"
        ):
            strategy.check(
                Regime(0.5, ood_pct=10.0 if strategy.uses_ood else 0.0, local_in_domain_pretrain_pct=10)
            )


def check_runs(
    strategy: type[BaseTransferStrategy], tiny_bert: str, corpora: tuple[str, str], artifacts: Path
) -> None:
    """The strategy's stages run through the trial's loop, one epoch each, reported in order."""
    spec = tiny_trial(tiny_bert, corpora, architecture="bert-seqcls", **regime_for(strategy))
    reports: list[dict[str, Any]] = []
    result = run_trial(spec, report=lambda metrics, _: reports.append(metrics), artifacts=artifacts)
    assert [m["stage"] for m in reports] == list(strategy.stages)
    assert result.epochs_done == len(strategy.stages)
    assert 0.0 <= float(reports[-1]["dev_f1_weighted"]) <= 1.0


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_strategy_conformance(
    name: str, tiny_bert: str, tiny_corpora: tuple[str, str], artifacts: Path
) -> None:
    strategy = STRATEGIES.get(name)
    assert issubclass(strategy, BaseTransferStrategy) and strategy.name == name
    assert strategy.description and "\n" not in strategy.description
    assert strategy.stages and len(set(strategy.stages)) == len(strategy.stages)
    assert not strategy.uses_local_share or strategy.uses_ood  # the share is mixed with OOD data
    check_refusals(strategy)
    check_stages(strategy, regime_data(tiny_corpora, strategy))
    check_runs(strategy, tiny_bert, tiny_corpora, artifacts)


# The four strategies' stages, pinned: (stage, [part, ...]) with parts named by their table.
PLANS = {
    "baseline": [("train", ["train"])],
    "mixed": [("train", ["train", "ood_train"])],
    "global": [("pretrain", ["ood_train"]), ("finetune", ["train"])],
    "local": [("pretrain", ["ood_train", "local_pretrain"]), ("finetune", ["train"])],
}


def _named(data: RegimeData, strategy: str) -> list[tuple[str, list[str]]]:
    names = {id(getattr(data, n)): n for n in ("train", "ood_train", "local_pretrain")}
    return [
        (stage.name, [names[id(t)] for t, _ in stage.parts]) for stage in STRATEGIES.get(strategy).plan(data)
    ]


@pytest.mark.parametrize("name", sorted(PLANS))
def test_the_four_strategies_keep_their_stages(name: str, tiny_corpora: tuple[str, str]) -> None:
    data = regime_data(tiny_corpora, STRATEGIES.get(name))
    assert _named(data, name) == PLANS[name]


def test_local_without_an_in_domain_share_pretrains_on_ood_alone(tiny_corpora: tuple[str, str]) -> None:
    regime = Regime(1.0, ood_pct=50.0, local_in_domain_pretrain_pct=0.0)
    data = sample_regime(load_dataset(tiny_corpora[0]), regime, load_dataset(tiny_corpora[1]))
    assert _named(data, "local") == PLANS["global"]


def test_the_registry_keeps_its_names_and_lists_them_for_an_unknown_one() -> None:
    assert STRATEGIES.names() == ["baseline", "mixed", "global", "local"]  # results store these
    with pytest.raises(
        UnknownNameError, match=r"unknown transfer strategy 'transfer'; valid: baseline, mixed"
    ):
        STRATEGIES.get("transfer")
    message = "local_in_domain_pretrain_pct only applies to strategy 'local', not 'global'"
    with pytest.raises(ResweepError, match=message):
        STRATEGIES.get("global").check(Regime(0.5, ood_pct=10.0, local_in_domain_pretrain_pct=10.0))


# A new strategy: one module (written here into a temporary folder, as a user's would be) plus
# one registry line. Nothing shared knows it; spaces ask it what it uses.
WARMUP_MODULE = '''
"""``warmup``: in-domain and OOD data together, then the in-domain subset alone."""

from trainables.strategies import BaseTransferStrategy, StagePlan, in_domain_part, ood_part


class WarmupStrategy(BaseTransferStrategy):
    name = "warmup"
    description = "in-domain and OOD data together, then in-domain data alone"
    stages = ("warmup", "finetune")
    uses_ood = True

    @classmethod
    def _plan(cls, data):
        return [
            StagePlan("warmup", (in_domain_part(data), ood_part(data))),
            StagePlan("finetune", (in_domain_part(data),)),
        ]
'''


@pytest.fixture
def warmup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[type[BaseTransferStrategy]]:
    (tmp_path / "warmup_strategy.py").write_text(textwrap.dedent(WARMUP_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(STRATEGIES, "_entries", dict(STRATEGIES._entries))  # undone after the test
    STRATEGIES.register("warmup", "warmup_strategy:WarmupStrategy")  # the one line a new strategy adds
    yield STRATEGIES.get("warmup")
    sys.modules.pop("warmup_strategy", None)


def test_a_new_strategy_is_one_module_plus_one_registry_line(
    warmup: type[BaseTransferStrategy], tiny_bert: str, tiny_corpora: tuple[str, str], artifacts: Path
) -> None:
    assert "warmup" in STRATEGIES.names()
    # Proposed by the space that proposes every registered strategy, with its conditional questions.
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    proposed = []
    for _ in range(60):
        trial = study.ask()
        config = define_by_run(trial, "full-smoke")
        study.tell(trial, 0.0)
        if config["strategy"] == "warmup":
            proposed.append((config, trial.params))
    assert proposed
    for config, params in proposed:
        assert "ood_pct" in params and "local_in_domain_pretrain_pct" not in params
        spec = TrialSpec.from_config(config)
        warmup.check(spec.data.regime)  # validated: the space asked what the strategy needs
    # Validated, refused by name, planned and run: the same checks as every registered strategy.
    check_refusals(warmup)
    check_stages(warmup, regime_data(tiny_corpora, warmup))
    check_runs(warmup, tiny_bert, tiny_corpora, artifacts)
