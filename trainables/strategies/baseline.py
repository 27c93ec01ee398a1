"""``baseline``: one stage on the in-domain subset; what every transfer strategy must beat."""

from __future__ import annotations

from ..data.regimes import RegimeData
from ._base import BaseTransferStrategy, StagePlan, in_domain_part

__all__ = ["BaselineStrategy"]


class BaselineStrategy(BaseTransferStrategy):
    name = "baseline"
    description = "in-domain data only"
    stages = ("train",)

    @classmethod
    def _plan(cls, data: RegimeData) -> list[StagePlan]:
        return [StagePlan("train", (in_domain_part(data),))]
