"""``none``: the unweighted loss over every training example, once per epoch."""

from __future__ import annotations

from ._base import BaseImbalance

__all__ = ["NoImbalance"]


class NoImbalance(BaseImbalance):
    """The baseline every other technique is compared against."""

    name = "none"
