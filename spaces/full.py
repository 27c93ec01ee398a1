"""``full``: every registered architecture, transfer strategy and imbalance technique, and the
loop's hyper-parameters. Too large to exhaust; meant for TPE with a budget."""

from __future__ import annotations

from typing import Any

from trainables.architectures import ARCHITECTURES
from trainables.imbalance import IMBALANCE
from trainables.strategies import STRATEGIES

from ._base import BaseSpace, Suggester

# Imbalance techniques an architecture refuses (its ``check`` says why); the space never asks.
REFUSED_IMBALANCE = {"two-step": ("negative_sampling",)}
WORD_MODELS = ("bilstm", "cnn-mtl")  # no transformer: their own learning rates and widths


class FullSpace(BaseSpace):
    name = "full"
    description = "every architecture, strategy and imbalance technique, and the loop's hyper-parameters"

    def suggest(self, trial: Suggester) -> dict[str, Any]:
        architecture = trial.suggest_categorical("architecture", ARCHITECTURES.names())
        strategy = trial.suggest_categorical("strategy", STRATEGIES.names())
        config: dict[str, Any] = {"architecture": architecture}
        config.update(self.suggest_regime(trial, strategy, [10, 25, 50, 100], [10, 50, 100]))
        refused = REFUSED_IMBALANCE.get(architecture, ())
        techniques = [name for name in IMBALANCE.names() if name not in refused]
        # Optuna keeps one set of choices per name: a narrower set needs its own name.
        imbalance = trial.suggest_categorical(
            f"{architecture}.imbalance" if refused else "imbalance", techniques
        )
        config["imbalance"] = imbalance
        if imbalance == "undersampling":
            config["imbalance_params"] = {
                "max_ratio": trial.suggest_float("undersampling_max_ratio", 1.0, 10.0, log=True)
            }
        elif imbalance == "negative_sampling":
            config["imbalance_params"] = {
                "ratio": trial.suggest_float("negative_sampling_ratio", 0.5, 5.0, log=True)
            }
        if architecture == "two-step":
            inner = trial.suggest_categorical(
                "two_step_inner", [n for n in ARCHITECTURES.names() if n != "two-step"]
            )
            config["two_step_inner"] = inner
            config["two_step_negative_ratio"] = trial.suggest_float(
                "two_step_negative_ratio", 1.0, 10.0, log=True
            )
            config.update(self.suggest_architecture(trial, inner, prefix="two-step."))
        else:
            config.update(self.suggest_architecture(trial, architecture))
        config["dropout"] = trial.suggest_float("dropout", 0.0, 0.5)
        config["patience"] = trial.suggest_int("patience", 2, 8)
        config["max_epochs"] = 2 if self.smoke else trial.suggest_int("max_epochs", 3, 30)
        if self.smoke:
            config.update(patience=2, phase1_max_epochs=1, hidden_units=16)
        return config

    @staticmethod
    def suggest_architecture(trial: Suggester, architecture: str, prefix: str = "") -> dict[str, Any]:
        """An architecture's own hyper-parameters. Ranges differ per architecture, so do the names
        (Optuna keeps one range per name); ``prefix`` keeps a wrapped architecture's apart."""
        name = f"{prefix}{architecture}"
        config: dict[str, Any] = {}
        if architecture == "two-phase":
            config["phase1_model"] = trial.suggest_categorical(
                f"{prefix}phase1_model", ["none", "seqcls", "mlm"]
            )
            if config["phase1_model"] != "none":
                config["phase1_finetune"] = trial.suggest_categorical(
                    f"{prefix}phase1_finetune", ["separate", "joined"]
                )
            config["hidden_units"] = trial.suggest_categorical(f"{name}.hidden_units", [64, 128, 256, 512])
            config["learning_rate"] = trial.suggest_float(f"{name}.learning_rate", 1e-4, 3e-3, log=True)
            config["batch_size"] = trial.suggest_categorical(f"{name}.batch_size", [16, 32, 64])
            return config
        if architecture == "tfidf-linear":
            # Logistic regression on TF-IDF: no encoder, no width. SemEval (batch 16) wants 3e-3 to
            # 1e-2; small data with few steps an epoch up to 1e-1 (see tfidf_linear's docstring).
            config["learning_rate"] = trial.suggest_float(f"{name}.learning_rate", 2e-3, 1e-1, log=True)
            config["batch_size"] = trial.suggest_categorical(f"{name}.batch_size", [16, 32, 64])
            return config
        if architecture in WORD_MODELS:
            config["learning_rate"] = trial.suggest_float(f"{name}.learning_rate", 3e-4, 3e-3, log=True)
            config["batch_size"] = trial.suggest_categorical(f"{name}.batch_size", [16, 32, 64])
            config["hidden_units"] = trial.suggest_categorical(f"{name}.hidden_units", [64, 128, 256])
            config["word_embeddings"] = trial.suggest_categorical(
                f"{prefix}word_embeddings", ["encoder", "random"]
            )
        else:
            config["learning_rate"] = trial.suggest_float(f"{name}.learning_rate", 1e-5, 3e-4, log=True)
            config["batch_size"] = trial.suggest_categorical(f"{name}.batch_size", [8, 16, 32])
        if architecture == "rbert":
            config["marker_style"] = "rbert"  # the paper's $ ... $ and # ... # markers
        elif architecture in ("bilinear", "redn"):
            config["projection_size"] = trial.suggest_categorical(f"{name}.projection_size", [64, 128, 256])
            if architecture == "redn":
                config["redn_threshold"] = trial.suggest_float(f"{prefix}redn_threshold", 0.3, 0.7)
        elif architecture == "entity-start":
            config["entity_start_layer_norm"] = trial.suggest_categorical(
                f"{prefix}entity_start_layer_norm", [True, False]
            )
        elif architecture == "cnn-mtl":
            config["cnn_windows"] = trial.suggest_categorical(
                f"{prefix}cnn_windows", ["2,3", "2,3,4", "3,4,5", "2,3,4,5"]
            )
            config["ranking_margin_positive"] = trial.suggest_float(
                f"{prefix}ranking_margin_positive", 1.5, 3.5
            )
            config["ranking_margin_negative"] = trial.suggest_float(
                f"{prefix}ranking_margin_negative", 0.1, 1.0
            )
            config["ranking_scale"] = trial.suggest_float(f"{prefix}ranking_scale", 1.0, 3.0)
            config["ranking_threshold"] = trial.suggest_float(f"{prefix}ranking_threshold", -1.0, 1.0)
            config["mtl_identification_weight"] = trial.suggest_float(
                f"{prefix}mtl_identification_weight", 0.1, 2.0, log=True
            )
        return config
