"""``global``: pre-train on ``ood_pct`` of OOD, then fine-tune on the in-domain subset.

(The module is ``global_``: ``global`` is a Python keyword and cannot be imported by name.)
"""

from __future__ import annotations

from ..data.regimes import RegimeData
from ._base import BaseTransferStrategy, StagePlan, in_domain_part, ood_part

__all__ = ["GlobalStrategy"]


class GlobalStrategy(BaseTransferStrategy):
    name = "global"
    description = "pre-train on OOD data, fine-tune on in-domain data"
    stages = ("pretrain", "finetune")
    uses_ood = True

    @classmethod
    def _plan(cls, data: RegimeData) -> list[StagePlan]:
        # An OOD-only stage stops early on its own held-out share (see trainables.trial).
        return [StagePlan("pretrain", (ood_part(data),)), StagePlan("finetune", (in_domain_part(data),))]
