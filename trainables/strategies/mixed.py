"""``mixed``: one stage on the in-domain subset plus ``ood_pct`` of OOD (multi-task over the
union of labels)."""

from __future__ import annotations

from ..data.regimes import RegimeData
from ._base import BaseTransferStrategy, StagePlan, in_domain_part, ood_part

__all__ = ["MixedStrategy"]


class MixedStrategy(BaseTransferStrategy):
    name = "mixed"
    description = "in-domain and OOD data together, one stage"
    stages = ("train",)
    uses_ood = True

    @classmethod
    def _plan(cls, data: RegimeData) -> list[StagePlan]:
        return [StagePlan("train", (in_domain_part(data), ood_part(data)))]
