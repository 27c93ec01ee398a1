"""``demo``: small enough for a laptop CPU in minutes.

``two-phase`` on frozen pre-trained features (phase 1 ``none``: one artifact, computed once, shared
by every trial and size), the four strategies, OOD share and imbalance, and a phase-2 learning rate
and width. Each trial then computes for seconds.
"""

from __future__ import annotations

from typing import Any

from ._base import BaseSpace, Suggester


class DemoSpace(BaseSpace):
    name = "demo"
    description = "laptop-sized: two-phase on frozen features, 4 strategies, OOD share, imbalance, lr, width"

    def suggest(self, trial: Suggester) -> dict[str, Any]:
        strategy = trial.suggest_categorical("strategy", ["baseline", "mixed", "global", "local"])
        config: dict[str, Any] = {
            "architecture": "two-phase",
            "phase1_model": "none",
            "batch_size": 32,
            "max_epochs": 2 if self.smoke else 40,
            "patience": 2 if self.smoke else 6,
        }
        config.update(self.suggest_regime(trial, strategy, [10, 50, 100], [10, 50]))
        config["imbalance"] = trial.suggest_categorical(
            "imbalance", ["none", "class_weights", "oversampling"]
        )
        config["learning_rate"] = trial.suggest_float("learning_rate", 3e-4, 3e-3, log=True)
        config["hidden_units"] = trial.suggest_categorical(
            "hidden_units", [16] if self.smoke else [64, 128, 256]
        )
        return config
