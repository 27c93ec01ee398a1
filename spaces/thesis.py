"""``thesis``: the grid of the thesis behind resweep.

``two-phase`` with a phase-1 encoder fine-tuned for sequence classification on both datasets
(``seqcls``/``joined``); strategies baseline/mixed/global/local; ``ood_pct`` in {10, 50, 100};
``local_in_domain_pretrain_pct`` in {10, 50, 100} (``local`` only); imbalance in
{none, class_weights, oversampling}. 48 configurations per in-domain size.
"""

from __future__ import annotations

import itertools
from typing import Any

from ._base import BaseSpace, Suggester

STRATEGIES = ("baseline", "mixed", "global", "local")
OOD_PCTS = (10, 50, 100)
LOCAL_PCTS = (10, 50, 100)
IMBALANCE = ("none", "class_weights", "oversampling")


class ThesisSpace(BaseSpace):
    name = "thesis"
    description = "the thesis grid: two-phase (seqcls, joined) x 4 strategies x OOD share x imbalance"

    def _fixed(self) -> dict[str, Any]:
        fixed: dict[str, Any] = {
            "architecture": "two-phase",
            "phase1_model": "seqcls",
            "phase1_finetune": "joined",
            "learning_rate": 1e-3,
            "hidden_units": 256,
            "dropout": 0.1,
            "batch_size": 32,
            "max_epochs": 60,
            "patience": 8,
        }
        if self.smoke:
            fixed.update(max_epochs=2, patience=2, phase1_max_epochs=1, hidden_units=16)
        return fixed

    def suggest(self, trial: Suggester) -> dict[str, Any]:
        strategy = trial.suggest_categorical("strategy", STRATEGIES)
        config = self._fixed()
        config.update(self.suggest_regime(trial, strategy, OOD_PCTS, LOCAL_PCTS))
        config["imbalance"] = trial.suggest_categorical("imbalance", IMBALANCE)
        return config

    def grid(self) -> list[dict[str, Any]]:
        configs = []
        for strategy, imbalance in itertools.product(STRATEGIES, IMBALANCE):
            for regime in self.regime_grid(strategy, OOD_PCTS, LOCAL_PCTS):
                configs.append({**self._fixed(), "strategy": strategy, "imbalance": imbalance, **regime})
        return configs
