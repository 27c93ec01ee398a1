"""``local``: pre-train on ``ood_pct`` of OOD plus ``local_in_domain_pretrain_pct`` of the
in-domain subset, then fine-tune on the in-domain subset."""

from __future__ import annotations

from ..data.regimes import RegimeData
from ._base import BaseTransferStrategy, StagePart, StagePlan, in_domain_part, local_part, ood_part

__all__ = ["LocalStrategy"]


class LocalStrategy(BaseTransferStrategy):
    name = "local"
    description = "pre-train on OOD plus some in-domain data, fine-tune on in-domain data"
    stages = ("pretrain", "finetune")
    uses_ood = True
    uses_local_share = True

    @classmethod
    def _plan(cls, data: RegimeData) -> list[StagePlan]:
        # An empty share (0%, or too small a subset) leaves OOD-only pre-training, as `global`'s.
        pretrain: tuple[StagePart, ...] = (ood_part(data),)
        if data.local_pretrain.num_rows:
            pretrain += (local_part(data),)
        return [StagePlan("pretrain", pretrain), StagePlan("finetune", (in_domain_part(data),))]
