"""``ground-truth``: a finite space small enough to train every configuration to the end.

It exists for ``bench/ground_truth.py`` (the exhaustive table: every configuration, several seeds,
several sizes, per-epoch dev scores) and ``bench/search_correctness.py`` (resweep's searcher and
scheduler replayed against that table). It is chosen so that the answer is not trivial: some
choices are clearly worse than others.

* ``two-phase`` on frozen encoder features (phase 1 ``none``: one artifact per dataset pair) —
  the four strategies; ``ood_pct`` in {20, 100} where OOD data is used; ``local`` mixes 50% of
  the in-domain subset into pre-training; imbalance ``none``/``oversampling``/``class_weights``;
  a learning rate that trains (1e-3) and one that is too small for small data (1e-4).
* ``tfidf-linear`` (the classical floor): the four strategies, the same OOD shares and imbalance
  techniques, one learning rate.

63 configurations. Every trial runs to the loop's own early stopping (``max_epochs`` 30,
``patience`` 5; batches of 128 for the MLP: on a CPU its steps cost little more than their
Python overhead).
"""

from __future__ import annotations

import itertools
from typing import Any

from ._base import BaseSpace, Suggester

STRATEGIES = ("baseline", "mixed", "global", "local")
IMBALANCE = ("none", "oversampling", "class_weights")
MLP_LEARNING_RATES = (1e-3, 1e-4)
OOD_PCTS = (20, 100)
LINEAR_LEARNING_RATE = 5e-3
LOCAL_PCT = 50


class GroundTruthSpace(BaseSpace):
    name = "ground-truth"
    description = "finite (63 configurations): frozen-feature two-phase and tfidf-linear, for the benchmark"

    def _fixed(self, architecture: str) -> dict[str, Any]:
        fixed: dict[str, Any] = {
            "architecture": architecture,
            "max_epochs": 2 if self.smoke else 30,
            "patience": 2 if self.smoke else 5,
            "eval_batch_size": 512,
            "test_every_epoch": False,  # the selected epoch's test scores stay exact
        }
        if architecture == "two-phase":
            fixed.update(phase1_model="none", hidden_units=16 if self.smoke else 256, batch_size=128)
        else:  # the floor's recipe (spaces.FLOOR): short, since longer runs overfit
            fixed.update(
                batch_size=16,
                learning_rate=LINEAR_LEARNING_RATE,
                max_epochs=2 if self.smoke else 5,
                patience=2,
            )
        return fixed

    def suggest(self, trial: Suggester) -> dict[str, Any]:
        strategy = trial.suggest_categorical("strategy", STRATEGIES)
        architecture = trial.suggest_categorical("architecture", ["two-phase", "tfidf-linear"])
        config = self._fixed(architecture)
        # The in-domain share has one value: asked all the same, so the space reads like every other.
        config.update(self.suggest_regime(trial, strategy, OOD_PCTS, [LOCAL_PCT]))
        config["imbalance"] = trial.suggest_categorical("imbalance", IMBALANCE)
        if architecture == "two-phase":
            config["learning_rate"] = float(trial.suggest_categorical("learning_rate", MLP_LEARNING_RATES))
        return config

    def grid(self) -> list[dict[str, Any]]:
        configs = []
        for strategy, architecture, imbalance in itertools.product(
            STRATEGIES, ("two-phase", "tfidf-linear"), IMBALANCE
        ):
            mlp = architecture == "two-phase"
            regimes = self.regime_grid(strategy, OOD_PCTS, (LOCAL_PCT,))
            rates = MLP_LEARNING_RATES if mlp else (LINEAR_LEARNING_RATE,)
            for regime, rate in itertools.product(regimes, rates):
                configs.append(
                    {
                        **self._fixed(architecture),
                        **regime,
                        "imbalance": imbalance,
                        "learning_rate": float(rate),
                    }
                )
        return configs
