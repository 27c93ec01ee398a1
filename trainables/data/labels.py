"""Label spaces for training on in-domain plus out-of-domain data.

In-domain and OOD label sets may be disjoint or overlap: labels with the same name are the same
class, and a user mapping can declare more (``{"Employer": "works_for"}``: OOD name -> in-domain
name). ``mixed`` and ``local`` train over the union; evaluation on in-domain test masks the
OOD-only labels out of the predictions (the thesis masked SemEval relations when scoring its
Wikipedia data). Negative labels (``Other``, ``no_relation``, ...) are known per dataset, because
RE metrics exclude them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ResweepError

__all__ = ["LabelSpace", "label_space_of"]


@dataclass(frozen=True)
class LabelSpace:
    """The union of in-domain and (mapped) OOD labels, in a fixed order: in-domain labels sorted,
    then OOD-only labels sorted. Class ids index :attr:`labels`."""

    in_domain: tuple[str, ...]
    ood: tuple[str, ...] = ()
    negative: frozenset[str] = frozenset()
    mapping: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        in_domain: Iterable[str],
        ood: Iterable[str] = (),
        *,
        negative: Iterable[str] = (),
        mapping: Mapping[str, str] | None = None,
    ) -> LabelSpace:
        """Validate a mapping (keys must be OOD labels, values in-domain labels) and build."""
        in_domain_set = set(in_domain)
        ood_set = set(ood)
        mapping = dict(mapping or {})
        for source, target in mapping.items():
            if source not in ood_set:
                raise ResweepError(f"label mapping: {source!r} is not an out-of-domain label")
            if target not in in_domain_set:
                raise ResweepError(
                    f"label mapping: {source!r} -> {target!r}, but {target!r} is not an in-domain label"
                )
        mapped = {mapping.get(label, label) for label in ood_set}
        return cls(tuple(sorted(in_domain_set)), tuple(sorted(mapped)), frozenset(negative), mapping)

    @property
    def labels(self) -> tuple[str, ...]:
        in_domain = set(self.in_domain)
        return self.in_domain + tuple(label for label in self.ood if label not in in_domain)

    @property
    def shared(self) -> tuple[str, ...]:
        """Labels of both datasets (after mapping)."""
        return tuple(label for label in self.in_domain if label in set(self.ood))

    @property
    def ood_only(self) -> tuple[str, ...]:
        return self.labels[len(self.in_domain) :]

    def __len__(self) -> int:
        return len(self.labels)

    def map_ood(self, label: str) -> str:
        """An OOD label's name in the union."""
        return self.mapping.get(label, label)

    def index(self, label: str, *, ood: bool = False) -> int:
        name = self.map_ood(label) if ood else label
        try:
            return self.labels.index(name)
        except ValueError:
            raise KeyError(f"label {label!r} is not in the label space") from None

    def encode(self, labels: Iterable[str], *, ood: bool = False) -> np.ndarray:
        lookup = {label: i for i, label in enumerate(self.labels)}
        try:
            return np.array([lookup[self.map_ood(x) if ood else x] for x in labels], dtype=np.int64)
        except KeyError as err:
            raise KeyError(f"label {err.args[0]!r} is not in the label space") from None

    @property
    def in_domain_mask(self) -> np.ndarray:
        """(C,) bool: True for classes an in-domain prediction may take."""
        mask = np.zeros(len(self.labels), dtype=bool)
        mask[: len(self.in_domain)] = True
        return mask

    @property
    def negative_ids(self) -> tuple[int, ...]:
        """Class ids that metrics exclude."""
        return tuple(i for i, label in enumerate(self.labels) if label in self.negative)

    def predict_in_domain(self, scores: np.ndarray) -> np.ndarray:
        """(N, C) scores -> (N,) class ids, never an OOD-only class."""
        masked = np.where(self.in_domain_mask[None, :], scores, -np.inf)
        return masked.argmax(axis=1)


def label_space_of(in_domain: Any, ood: Any, mapping: Mapping[str, str]) -> LabelSpace:
    """A trial's labels: the in-domain dataset's, plus the OOD dataset's when the strategy trains
    on OOD data (``ood`` is None otherwise), under the trial's label mapping."""
    negative = set(in_domain.negative_labels) | (set(ood.negative_labels) if ood is not None else set())
    return LabelSpace.build(
        in_domain.labels,
        ood.labels if ood is not None else (),
        negative=negative,
        mapping=mapping,
    )
