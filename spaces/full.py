"""``full``: every registered architecture, transfer strategy and imbalance technique, and the
loop's hyper-parameters. Too large to exhaust; meant for TPE with a budget.

What is asked for an architecture or an imbalance technique is theirs to say
(:meth:`~trainables.architectures.BaseArchitecture.search_dimensions`,
:meth:`~trainables.imbalance.BaseImbalance.search_dimensions`): a newly registered one is in this
space with no change here.
"""

from __future__ import annotations

from typing import Any

from trainables.architectures import ARCHITECTURES
from trainables.imbalance import IMBALANCE
from trainables.strategies import STRATEGIES

from ._base import BaseSpace, Suggester


class FullSpace(BaseSpace):
    name = "full"
    description = "every architecture, strategy and imbalance technique, and the loop's hyper-parameters"

    def suggest(self, trial: Suggester) -> dict[str, Any]:
        name = trial.suggest_categorical("architecture", ARCHITECTURES.names())
        architecture = ARCHITECTURES.get(name)
        strategy = trial.suggest_categorical("strategy", STRATEGIES.names())
        config: dict[str, Any] = {"architecture": name}
        config.update(self.suggest_regime(trial, strategy, [10, 25, 50, 100], [10, 50, 100]))
        refused = architecture.refused_imbalance
        techniques = [t for t in IMBALANCE.names() if t not in refused]
        # Optuna keeps one set of choices per name: a narrower set needs its own name.
        imbalance = trial.suggest_categorical(f"{name}.imbalance" if refused else "imbalance", techniques)
        config["imbalance"] = imbalance
        params = IMBALANCE.get(imbalance).search_dimensions(trial)
        if params:
            config["imbalance_params"] = params
        config.update(architecture.search_dimensions(trial))
        config["dropout"] = trial.suggest_float("dropout", 0.0, 0.5)
        config["patience"] = trial.suggest_int("patience", 2, 8)
        config["max_epochs"] = 2 if self.smoke else trial.suggest_int("max_epochs", 3, 30)
        if self.smoke:
            config.update(patience=2, hidden_units=16)
            if "phase1_model" in config:  # two-phase, or a wrapper of it: a short phase 1
                config["phase1_max_epochs"] = 1
        return config
