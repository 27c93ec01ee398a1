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

from trainables.strategies import STRATEGIES
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
        only for those that read an in-domain share (``local``): the conditional part every study
        shares, asked of the strategy (:mod:`trainables.strategies`), not of its name."""
        chosen = STRATEGIES.get(strategy)
        config: dict[str, Any] = {"strategy": strategy, "ood_pct": 0.0, "local_in_domain_pretrain_pct": 0.0}
        if chosen.uses_ood:
            config["ood_pct"] = float(trial.suggest_categorical("ood_pct", ood_pcts))
        if chosen.uses_local_share:
            config["local_in_domain_pretrain_pct"] = float(
                trial.suggest_categorical("local_in_domain_pretrain_pct", local_pcts)
            )
        return config

    @staticmethod
    def regime_grid(strategy: str, ood_pcts: Any, local_pcts: Any) -> list[dict[str, Any]]:
        """Every ``(ood_pct, local_in_domain_pretrain_pct)`` a grid gives ``strategy``: the
        values of :meth:`suggest_regime`'s questions where the strategy asks them, else 0."""
        chosen = STRATEGIES.get(strategy)
        oods = ood_pcts if chosen.uses_ood else (0,)
        locals_ = local_pcts if chosen.uses_local_share else (0,)
        return [
            {"strategy": strategy, "ood_pct": float(ood), "local_in_domain_pretrain_pct": float(local)}
            for ood in oods
            for local in locals_
        ]
