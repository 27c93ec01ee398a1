"""The seam for transfer strategies: the stages a trial trains through, and on which data.

A strategy turns a regime's tables (:class:`~trainables.data.regimes.RegimeData`) into a list of
stages (:class:`StagePlan`), trained one after the other, each on the union of its parts: the
in-domain subset, the OOD subset, or the share of the in-domain subset that ``local`` mixes into
pre-training. It also says what it reads, so that search spaces ask it instead of knowing names:
``uses_ood`` (an ``ood_pct`` above 0, and the OOD dataset, are required) and
``uses_local_share`` (``local_in_domain_pretrain_pct`` means something).

A strategy has no parameters: the registry holds the classes, whose class methods are the
public surface. :meth:`BaseTransferStrategy.plan` validates the regime, then calls the one
``_plan`` a strategy overrides.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import pyarrow as pa

from ..data.regimes import Regime, RegimeData
from ..errors import ResweepError
from ..registry import Registry

__all__ = [
    "STRATEGIES",
    "BaseTransferStrategy",
    "StagePart",
    "StagePlan",
    "in_domain_part",
    "local_part",
    "ood_part",
]

# (table, is OOD) parts of one stage
StagePart = tuple[pa.Table, bool]


@dataclass(frozen=True)
class StagePlan:
    """One stage of a trial: its name (what reports call ``stage``) and the parts it trains on."""

    name: str
    parts: tuple[StagePart, ...]


def in_domain_part(data: RegimeData) -> StagePart:
    """The in-domain training subset."""
    return (data.train, False)


def ood_part(data: RegimeData) -> StagePart:
    """The OOD training subset (``ood_pct`` of the OOD training set)."""
    return (data.ood_train, True)


def local_part(data: RegimeData) -> StagePart:
    """The share of the in-domain subset mixed into pre-training (``local_in_domain_pretrain_pct``)."""
    return (data.local_pretrain, False)


class BaseTransferStrategy(ABC):
    """One transfer strategy: ``stages`` names the stages :meth:`plan` returns, in order."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line, for `resweep list strategies`
    stages: ClassVar[tuple[str, ...]]
    uses_ood: ClassVar[bool] = False  # trains on OOD data: ood_pct > 0 and an OOD dataset required
    uses_local_share: ClassVar[bool] = False  # reads local_in_domain_pretrain_pct of the in-domain subset

    @classmethod
    def check(cls, regime: Regime) -> None:
        """A clear error when the regime does not fit this strategy (before any data is read)."""
        if cls.uses_ood and regime.ood_pct == 0:
            raise ResweepError(f"strategy {cls.name!r} trains on OOD data: ood_pct must be > 0")
        if not cls.uses_ood and regime.ood_pct > 0:
            raise ResweepError(
                f"strategy {cls.name!r} uses no OOD data: set ood_pct to 0, not {regime.ood_pct:g}"
            )
        if not cls.uses_local_share and regime.local_in_domain_pretrain_pct > 0:
            raise ResweepError(
                f"local_in_domain_pretrain_pct only applies to {_local_share_owners()}, not {cls.name!r}"
            )

    @classmethod
    def plan(cls, data: RegimeData) -> list[StagePlan]:
        """The stages of this strategy for ``data`` (its regime checked first)."""
        cls.check(data.regime)
        return list(cls._plan(data))

    @classmethod
    @abstractmethod
    def _plan(cls, data: RegimeData) -> list[StagePlan]:
        """The stages for ``data``, whose regime fits (overridden by every strategy)."""


# Filled by the package (one line per strategy); here, so that the base reads it without
# importing the package that imports the strategies.
STRATEGIES: Registry[type[BaseTransferStrategy]] = Registry("transfer strategy")


def _local_share_owners() -> str:
    """``strategy 'local'`` (or ``strategies 'a', 'b'``): the registered strategies that read the
    in-domain share, for messages."""
    owners = [name for name in STRATEGIES if STRATEGIES.get(name).uses_local_share]
    quoted = ", ".join(repr(name) for name in owners)
    return f"strategy {quoted}" if len(owners) == 1 else f"strategies {quoted}"
