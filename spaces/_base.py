"""The seam for search spaces: a study's hyper-parameters, proposed trial by trial.

A space is *define-by-run*: :meth:`BaseSpace.suggest` asks an Optuna trial for each value and
returns the flat trial config (see :class:`trainables.config.TrialSpec`), so conditional
parameters are natural — ``ood_pct`` is only asked for when the strategy uses OOD data. Every
space has a *smoke twin* (``smoke=True``): the same structure with tiny budgets, for tests and
quick checks. Spaces never run anything; the sweep merges their proposals with the sweep's fixed
context (datasets, in-domain size, seed, encoder).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from trainables.suggest import Suggester

__all__ = ["BaseSpace", "Suggester"]


class BaseSpace(ABC):
    """One study's search space; ``smoke`` selects its tiny twin."""

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, smoke: bool = False):
        self.smoke = smoke

    @abstractmethod
    def suggest(self, trial: Suggester) -> dict[str, Any]:
        """Ask ``trial`` for every value this space varies; return the flat trial config."""

    def grid(self) -> list[dict[str, Any]] | None:
        """Every configuration, for the grid searcher; None when the space is not finite."""
        return None

    # Shared pieces -----------------------------------------------------------------------
    @staticmethod
    def suggest_regime(trial: Suggester, strategy: str, ood_pcts: Any, local_pcts: Any) -> dict[str, Any]:
        """``ood_pct`` only for strategies that use OOD data, ``local_in_domain_pretrain_pct``
        only for ``local`` (the conditional part every study shares)."""
        config: dict[str, Any] = {"strategy": strategy, "ood_pct": 0.0, "local_in_domain_pretrain_pct": 0.0}
        if strategy != "baseline":
            config["ood_pct"] = float(trial.suggest_categorical("ood_pct", ood_pcts))
        if strategy == "local":
            config["local_in_domain_pretrain_pct"] = float(
                trial.suggest_categorical("local_in_domain_pretrain_pct", local_pcts)
            )
        return config
