"""Transfer strategies as stage plans over a regime's data.

* ``baseline`` — one stage on the in-domain subset;
* ``mixed`` — one stage on the in-domain subset plus ``ood_pct`` of OOD (multi-task over the
  union of labels);
* ``global`` — pre-train on ``ood_pct`` of OOD, then fine-tune on the in-domain subset;
* ``local`` — pre-train on ``ood_pct`` of OOD plus ``local_in_domain_pretrain_pct`` of the
  in-domain subset, then fine-tune on the in-domain subset.

For ``two-phase`` the plan applies to phase 2, as in the thesis.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from .data.regimes import Regime, RegimeData
from .errors import ResweepError
from .registry import Registry

__all__ = ["STRATEGIES", "StagePlan", "TransferStrategy"]

# (table, is OOD) parts of one stage
StagePart = tuple[pa.Table, bool]


@dataclass(frozen=True)
class StagePlan:
    name: str
    parts: tuple[StagePart, ...]


@dataclass(frozen=True)
class TransferStrategy:
    name: str
    uses_ood: bool
    description: str

    def check(self, regime: Regime) -> None:
        """A clear error when the regime does not fit this strategy (before any data is read)."""
        if self.uses_ood and regime.ood_pct == 0:
            raise ResweepError(f"strategy {self.name!r} trains on OOD data: ood_pct must be > 0")
        if not self.uses_ood and regime.ood_pct > 0:
            raise ResweepError(
                f"strategy {self.name!r} uses no OOD data: set ood_pct to 0, not {regime.ood_pct:g}"
            )
        if self.name != "local" and regime.local_in_domain_pretrain_pct > 0:
            raise ResweepError(
                f"local_in_domain_pretrain_pct only applies to strategy 'local', not {self.name!r}"
            )

    def plan(self, data: RegimeData) -> list[StagePlan]:
        """The stages of this strategy for ``data``."""
        self.check(data.regime)
        in_domain: StagePart = (data.train, False)
        ood: StagePart = (data.ood_train, True)
        if self.name == "baseline":
            return [StagePlan("train", (in_domain,))]
        if self.name == "mixed":
            return [StagePlan("train", (in_domain, ood))]
        if self.name == "global":
            return [StagePlan("pretrain", (ood,)), StagePlan("finetune", (in_domain,))]
        pretrain = (ood, (data.local_pretrain, False)) if data.local_pretrain.num_rows else (ood,)
        return [StagePlan("pretrain", pretrain), StagePlan("finetune", (in_domain,))]


STRATEGIES: Registry[TransferStrategy] = Registry("transfer strategy")
for _strategy in (
    TransferStrategy("baseline", False, "in-domain data only"),
    TransferStrategy("mixed", True, "in-domain and OOD data together, one stage"),
    TransferStrategy("global", True, "pre-train on OOD data, fine-tune on in-domain data"),
    TransferStrategy("local", True, "pre-train on OOD plus some in-domain data, fine-tune on in-domain data"),
):
    STRATEGIES.register(_strategy.name, _strategy)
