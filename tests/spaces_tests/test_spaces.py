"""Every space (and smoke twin) proposes configurations that validate as trials."""

from __future__ import annotations

import functools
import pickle
from typing import Any

import optuna
import pytest

from search.config import SearchSection, question_cells
from spaces import SPACES, define_by_run, get_space, random_draws, space_names
from trainables.architectures import ARCHITECTURES
from trainables.config import TrialSpec
from trainables.strategies import STRATEGIES

CONTEXT = {"in_domain": "synthetic", "ood": "synthetic_ood", "in_domain_size": 0.1, "seed": 0}


def validate(config: dict[str, Any]) -> TrialSpec:
    spec = TrialSpec.from_config({**CONTEXT, **config})
    STRATEGIES.get(spec.strategy).check(spec.data.regime)  # conditional parameters are consistent
    ARCHITECTURES.get(spec.model.architecture).check(spec)  # no combination an architecture refuses
    return spec


@pytest.mark.parametrize("name", space_names())
def test_sampled_configurations_validate(name: str) -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    strategies = set()
    for _ in range(60):
        trial = study.ask()
        spec = validate(define_by_run(trial, name))
        strategies.add(spec.strategy)
        study.tell(trial, 0.5)
        # Conditional parameters: asked only where the strategy says they mean something.
        strategy = STRATEGIES.get(spec.strategy)
        assert ("ood_pct" in trial.params) == strategy.uses_ood
        assert ("local_in_domain_pretrain_pct" in trial.params) == strategy.uses_local_share
    assert strategies <= set(STRATEGIES.names())  # only registered strategies
    assert len(strategies) > 1  # a space compares strategies (every space's default question)


@pytest.mark.parametrize("name", space_names())
def test_the_default_question_gives_every_proposed_strategy_a_cell(name: str) -> None:
    # The default question is the transfer strategy: one cell per strategy the space proposes, in
    # the registry's order (a newly registered strategy a space proposes is a cell with no change).
    grid = get_space(name).grid()
    for searcher, configs in (("tpe", random_draws(name, 400)), ("grid", grid)):
        if configs is None:  # no grid: not a grid searcher's space
            continue
        search = SearchSection(space=name, searcher=searcher, budget=1000)
        assert search.question == ("strategy",)
        proposed = {config["strategy"] for config in configs}
        cells = [cell["strategy"] for cell in question_cells(search)]
        assert cells == [s for s in STRATEGIES.names() if s in proposed], searcher


def test_full_space_reaches_every_architecture_with_its_own_parameters() -> None:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen: dict[str, set[str]] = {}
    for _ in range(300):
        trial = study.ask()
        config = define_by_run(trial, "full")
        spec = validate(config)
        name = spec.model.architecture
        seen.setdefault(name, set()).update(trial.params)
        if name == "two-step":
            seen.setdefault("two-step:" + spec.model.settings_of("two-step").two_step_inner, set())
        study.tell(trial, 0.5)
    assert set(ARCHITECTURES.names()) <= set(seen)
    assert {"cnn_windows", "ranking_margin_positive", "ranking_threshold"} <= seen["cnn-mtl"]
    assert {"redn_threshold", "redn.projection_size"} <= seen["redn"]
    assert "bilinear.projection_size" in seen["bilinear"] and "two_step_negative_ratio" in seen["two-step"]
    assert "cnn_windows" not in seen["bilstm"]  # conditional: asked only where it means something
    assert sum(key.startswith("two-step:") for key in seen) >= 4  # two-step wraps several architectures


def test_thesis_grid_is_the_thesis_design() -> None:
    grid = get_space("thesis").grid()
    assert grid is not None and len(grid) == 48  # 3 + 2*3*3 + 3*3*3 per size
    for config in grid:
        spec = validate(config)
        phase1 = spec.model.settings_of("two-phase")
        assert (spec.model.architecture, phase1.phase1_model, phase1.phase1_finetune) == (
            "two-phase",
            "seqcls",
            "joined",
        )
        assert spec.imbalance in {"none", "class_weights", "oversampling"}
    assert {c["ood_pct"] for c in grid} == {0.0, 10.0, 50.0, 100.0}
    assert len({tuple(sorted(c.items())) for c in grid}) == 48


def test_smoke_twins_are_tiny() -> None:
    for name in SPACES:
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(30):  # every branch of a conditional space, not one draw's
            trial = study.ask()
            config = get_space(f"{name}-smoke").suggest(trial)
            assert config["max_epochs"] <= 2, (name, config)
            study.tell(trial, 0.0)


def test_define_by_run_pickles_and_unknown_space_lists_names() -> None:
    pickle.dumps(functools.partial(define_by_run, space="demo"))  # what OptunaSearch needs
    with pytest.raises(KeyError, match="unknown search space 'thesys'; valid: demo, demo-smoke, thesis"):
        get_space("thesys")
