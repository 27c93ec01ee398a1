"""``full``: every registered architecture, transfer strategy and imbalance technique, and the
loop's hyper-parameters. Too large to exhaust; meant for TPE with a budget."""

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
        architecture = trial.suggest_categorical("architecture", ARCHITECTURES.names())
        strategy = trial.suggest_categorical("strategy", STRATEGIES.names())
        config: dict[str, Any] = {"architecture": architecture}
        config.update(self.suggest_regime(trial, strategy, [10, 25, 50, 100], [10, 50, 100]))
        imbalance = trial.suggest_categorical("imbalance", IMBALANCE.names())
        config["imbalance"] = imbalance
        if imbalance == "undersampling":
            config["imbalance_params"] = {
                "max_ratio": trial.suggest_float("undersampling_max_ratio", 1.0, 10.0, log=True)
            }
        elif imbalance == "negative_sampling":
            config["imbalance_params"] = {
                "ratio": trial.suggest_float("negative_sampling_ratio", 0.5, 5.0, log=True)
            }
        if architecture == "two-phase":
            config["phase1_model"] = trial.suggest_categorical("phase1_model", ["none", "seqcls", "mlm"])
            if config["phase1_model"] != "none":
                config["phase1_finetune"] = trial.suggest_categorical(
                    "phase1_finetune", ["separate", "joined"]
                )
            config["hidden_units"] = trial.suggest_categorical("hidden_units", [64, 128, 256, 512])
            # Ranges differ per architecture, so do the names (Optuna keeps one range per name).
            config["learning_rate"] = trial.suggest_float("two-phase.learning_rate", 1e-4, 3e-3, log=True)
            config["batch_size"] = trial.suggest_categorical("two-phase.batch_size", [16, 32, 64])
        elif architecture == "bilstm":  # no transformer: LSTM learning rates, its own width
            config["learning_rate"] = trial.suggest_float("bilstm.learning_rate", 3e-4, 3e-3, log=True)
            config["batch_size"] = trial.suggest_categorical("bilstm.batch_size", [16, 32, 64])
            config["hidden_units"] = trial.suggest_categorical("bilstm.hidden_units", [64, 128, 256])
            config["word_embeddings"] = trial.suggest_categorical("word_embeddings", ["encoder", "random"])
        else:
            config["learning_rate"] = trial.suggest_float(
                f"{architecture}.learning_rate", 1e-5, 3e-4, log=True
            )
            config["batch_size"] = trial.suggest_categorical(f"{architecture}.batch_size", [8, 16, 32])
            if architecture == "rbert":
                config["marker_style"] = "rbert"  # the paper's $ ... $ and # ... # markers
            elif architecture == "bilinear":
                config["projection_size"] = trial.suggest_categorical("projection_size", [64, 128, 256])
            elif architecture == "entity-start":
                config["entity_start_layer_norm"] = trial.suggest_categorical(
                    "entity_start_layer_norm", [True, False]
                )
        config["dropout"] = trial.suggest_float("dropout", 0.0, 0.5)
        config["patience"] = trial.suggest_int("patience", 2, 8)
        config["max_epochs"] = 2 if self.smoke else trial.suggest_int("max_epochs", 3, 30)
        if self.smoke:
            config.update(patience=2, phase1_max_epochs=1, hidden_units=16)
        return config
