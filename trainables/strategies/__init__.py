"""Transfer strategies, registered by the names sweep configs use and results store.

* ``baseline`` — one stage on the in-domain subset;
* ``mixed`` — one stage on the in-domain subset plus ``ood_pct`` of OOD (multi-task over the
  union of labels);
* ``global`` — pre-train on ``ood_pct`` of OOD, then fine-tune on the in-domain subset;
* ``local`` — pre-train on ``ood_pct`` of OOD plus ``local_in_domain_pretrain_pct`` of the
  in-domain subset, then fine-tune on the in-domain subset.

For ``two-phase`` the plan applies to phase 2, as in the thesis. ::

    from trainables.strategies import STRATEGIES

    strategy = STRATEGIES.get("local")          # unknown names list the valid ones
    strategy.check(regime)                      # before any data is read
    stages = strategy.plan(regime_data)         # [StagePlan("pretrain", ...), StagePlan("finetune", ...)]

Adding one is its module (a :class:`BaseTransferStrategy` subclass) plus one registry line.
"""

from __future__ import annotations

from ._base import (
    STRATEGIES,
    BaseTransferStrategy,
    StagePart,
    StagePlan,
    in_domain_part,
    local_part,
    ood_part,
)
from .baseline import BaselineStrategy
from .global_ import GlobalStrategy
from .local import LocalStrategy
from .mixed import MixedStrategy

__all__ = [
    "STRATEGIES",
    "BaseTransferStrategy",
    "BaselineStrategy",
    "GlobalStrategy",
    "LocalStrategy",
    "MixedStrategy",
    "StagePart",
    "StagePlan",
    "TransferStrategy",
    "in_domain_part",
    "local_part",
    "ood_part",
]

# The name this seam's base had when strategies were one dataclass; kept for existing imports.
TransferStrategy = BaseTransferStrategy

for _strategy in (BaselineStrategy, MixedStrategy, GlobalStrategy, LocalStrategy):
    STRATEGIES.register(_strategy.name, _strategy)
