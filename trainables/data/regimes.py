"""Data regimes: which in-domain and out-of-domain examples one trial may train on.

A :class:`Regime` names an in-domain size (fraction or count), an OOD percentage, the share of
in-domain data mixed into ``local`` pre-training, and a seed. :func:`sample_regime` turns it into
record tables that are

* **deterministic** — a function of the data and the regime only;
* **stratified** — every class of the pool keeps at least one example once the size allows, and
  class shares follow the pool's (Sainte-Laguë apportionment, so counts stay within about one
  example of proportional);
* **nested** — for one seed, each subset is a prefix of one fixed ordering of the pool, so the
  10% subset lies inside the 50% subset, which lies inside 100%; the same holds for OOD subsets
  and the ``local`` pre-training share.

Carved splits. A dataset without a test split gets one carved from train with a *fixed* seed
(every regime and seed is scored on the same test set). A dataset without a dev split gets one
carved from what remains, per regime seed, *before* subsetting, so one dev set serves every
size of that seed. Carved splits are stratified and disjoint from all training subsets; a class
with a single example is never carved away from training.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ..errors import ResweepError
from .datasets import RelationDataset

__all__ = [
    "Regime",
    "RegimeData",
    "holdout",
    "require_splits",
    "resolve_size",
    "sample_regime",
    "stratified_order",
]

# Independent random streams per purpose, so e.g. changing ood_pct never moves in-domain subsets.
_STREAM_TEST, _STREAM_DEV, _STREAM_IN_DOMAIN, _STREAM_OOD, _STREAM_HOLDOUT = 1, 2, 3, 4, 5
TEST_CARVE_SEED = 0


@dataclass(frozen=True)
class Regime:
    """The data one trial may use.

    ``in_domain_size``: a float in (0, 1] is a fraction of the in-domain training pool (1.0 = all),
    an int >= 1 a number of sentences. ``ood_pct``: percent of the OOD training set (0-100).
    ``local_in_domain_pretrain_pct``: percent of the in-domain subset that ``local`` mixes into
    pre-training. ``dev_fraction``/``test_fraction``: the share carved from train when the
    dataset has no dev/test split.
    """

    in_domain_size: float | int = 1.0
    ood_pct: float = 0.0
    local_in_domain_pretrain_pct: float = 0.0
    seed: int = 0
    dev_fraction: float = 0.1
    test_fraction: float = 0.2

    def __post_init__(self) -> None:
        size = self.in_domain_size
        if isinstance(size, bool) or not isinstance(size, (int, float)):
            raise ResweepError(f"in_domain_size must be a fraction in (0, 1] or a count >= 1, got {size!r}")
        if isinstance(size, float) and not 0.0 < size <= 1.0:
            raise ResweepError(
                f"in_domain_size {size} as a fraction must be in (0, 1] (use an int for a count)"
            )
        if isinstance(size, int) and size < 1:
            raise ResweepError(f"in_domain_size {size} as a count must be >= 1")
        for name in ("ood_pct", "local_in_domain_pretrain_pct"):
            value = getattr(self, name)
            if not 0.0 <= value <= 100.0:
                raise ResweepError(f"{name} must be between 0 and 100, got {value}")
        for name in ("dev_fraction", "test_fraction"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise ResweepError(f"{name} must be in (0, 1), got {value}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            # numpy's and torch's generators take seeds below 2**32
            raise ResweepError(f"seed must be an int from 0 to {2**32 - 1}, got {self.seed!r}")


def require_splits(data: RegimeData, source: str, pool: int) -> RegimeData:
    """``data`` when its train, dev and test splits all hold records; else a :class:`ResweepError`
    naming ``source`` (a trial has nothing to learn from, stop on or score: refused before it
    starts, not as a library's error in it). ``pool``: the in-domain training records there are."""
    empty = [name for name in ("train", "dev", "test") if getattr(data, name).num_rows == 0]
    if empty:
        carved_from = f" ({' and '.join(data.carved)} carved from them)" if data.carved else ""
        raise ResweepError(
            f"{source}: the {' and '.join(empty)} split(s) would be empty: {pool} training "
            f"record(s){carved_from}; give more records, or dev and test files"
        )
    return data


@dataclass(frozen=True)
class RegimeData:
    """The tables of one regime. ``local_pretrain`` is the in-domain part of ``local`` pre-training
    (a prefix of ``train``); ``ood_train`` is the OOD subset (empty when ``ood_pct`` is 0)."""

    regime: Regime
    train: pa.Table
    dev: pa.Table
    test: pa.Table
    ood_train: pa.Table
    local_pretrain: pa.Table
    carved: tuple[str, ...]  # which splits were carved from train ("test", "dev")

    def counts(self) -> dict[str, int]:
        return {
            "train": self.train.num_rows,
            "dev": self.dev.num_rows,
            "test": self.test.num_rows,
            "ood_train": self.ood_train.num_rows,
            "local_pretrain": self.local_pretrain.num_rows,
        }


def _round(x: float) -> int:
    return math.floor(x + 0.5)  # half up, not Python's half-to-even


def resolve_size(size: float | int, available: int) -> int:
    """The number of examples ``size`` means for a pool of ``available``."""
    if isinstance(size, float):
        return max(1, _round(size * available)) if available else 0
    if size > available:
        raise ResweepError(
            f"in_domain_size {size} exceeds the {available} in-domain training sentences available"
        )
    return size


def stratified_order(
    labels: Sequence[str] | np.ndarray, rng: np.random.Generator, eligible: np.ndarray | None = None
) -> np.ndarray:
    """An ordering of ``range(len(labels))`` whose every prefix is a stratified sample.

    Round one takes one example of each class (classes in random order); after it, examples are
    ordered by the Sainte-Laguë priority ``(2k + 1) / n_c`` of the k-th example of class c, which
    keeps every prefix's class counts close to proportional. Only ``eligible`` indices are
    ordered when given.
    """
    label_array = np.asarray(labels, dtype=object)
    indices = np.arange(len(label_array)) if eligible is None else np.asarray(eligible)
    if indices.size == 0:
        return indices.astype(np.int64)
    classes, inverse = np.unique(label_array[indices].astype(str), return_inverse=True)
    class_rank = rng.permutation(len(classes))  # tie-break and round-one order
    keys_class, keys_k, keys_priority, members = [], [], [], []
    for c in range(len(classes)):
        member = indices[inverse == c]
        member = member[rng.permutation(member.size)]
        k = np.arange(member.size)
        # Round one (k = 0) sorts before everything; later items by Sainte-Laguë priority.
        priority = np.where(k == 0, -1.0, (2 * k + 1) / member.size)
        keys_class.append(np.full(member.size, class_rank[c]))
        keys_k.append(k)
        keys_priority.append(priority)
        members.append(member)
    order = np.lexsort((np.concatenate(keys_class), np.concatenate(keys_k), np.concatenate(keys_priority)))
    return np.concatenate(members)[order].astype(np.int64)


def _carve(labels: np.ndarray, pool: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Indices (from ``pool``) of a stratified carve of about ``fraction`` of the pool.

    Classes with a single example in the pool stay in the pool.
    """
    values, counts = np.unique(labels[pool].astype(str), return_counts=True)
    singletons = set(values[counts < 2])
    eligible = np.array([i for i in pool if labels[i] not in singletons], dtype=np.int64)
    wanted = min(_round(fraction * pool.size), eligible.size)
    order = stratified_order(labels, rng, eligible)
    # Never carve a class's last example: skip any pick that would empty its class in the pool.
    remaining = dict(zip(values, counts, strict=True))
    chosen: list[int] = []
    for index in order:
        if len(chosen) == wanted:
            break
        if remaining[labels[index]] > 1:
            remaining[labels[index]] -= 1
            chosen.append(int(index))
    return np.array(sorted(chosen), dtype=np.int64)


def holdout(table: pa.Table, fraction: float, seed: int) -> tuple[pa.Table, pa.Table]:
    """(rest, held out): a stratified ``fraction`` of ``table`` held out, e.g. as a stage's own dev
    set. Deterministic per seed; a class's last example stays in the rest."""
    labels = np.asarray(table["label"].to_pylist(), dtype=object)
    held = _carve(labels, np.arange(table.num_rows), fraction, _rng(seed, _STREAM_HOLDOUT))
    rest = np.setdiff1d(np.arange(table.num_rows), held)
    return table.take(rest), table.take(held)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def sample_regime(
    in_domain: RelationDataset, regime: Regime, ood: RelationDataset | None = None
) -> RegimeData:
    """The regime's train/dev/test tables for ``in_domain`` and its OOD subset of ``ood``."""
    if "train" not in in_domain.splits:
        raise ResweepError(
            f"dataset {in_domain.name!r} has no train split (has: {', '.join(in_domain.splits)}); "
            "to train on a single file, load it as the train split (split='train', --split train)"
        )
    full_train = in_domain["train"]
    labels = np.asarray(full_train["label"].to_pylist(), dtype=object)
    pool = np.arange(full_train.num_rows)
    carved: list[str] = []

    if "test" in in_domain.splits:
        test = in_domain["test"]
    else:
        test_idx = _carve(labels, pool, regime.test_fraction, _rng(TEST_CARVE_SEED, _STREAM_TEST))
        test = full_train.take(test_idx)
        pool = np.setdiff1d(pool, test_idx)
        carved.append("test")
    if "dev" in in_domain.splits:
        dev = in_domain["dev"]
    else:
        dev_idx = _carve(labels, pool, regime.dev_fraction, _rng(regime.seed, _STREAM_DEV))
        dev = full_train.take(dev_idx)
        pool = np.setdiff1d(pool, dev_idx)
        carved.append("dev")

    order = stratified_order(labels, _rng(regime.seed, _STREAM_IN_DOMAIN), pool)
    n = resolve_size(regime.in_domain_size, order.size)
    train_idx = order[:n]
    n_local = _round(regime.local_in_domain_pretrain_pct / 100 * n)
    train = full_train.take(train_idx)
    local_pretrain = full_train.take(train_idx[:n_local])

    if ood is None or regime.ood_pct == 0:
        if regime.ood_pct > 0:
            raise ResweepError(f"ood_pct is {regime.ood_pct} but no out-of-domain dataset was given")
        ood_train = full_train.schema.empty_table()
    else:
        if "train" not in ood.splits:
            raise ResweepError(
                f"out-of-domain dataset {ood.name!r} has no train split (has: {', '.join(ood.splits)})"
            )
        ood_table = ood["train"]
        ood_labels = ood_table["label"].to_pylist()
        ood_order = stratified_order(ood_labels, _rng(regime.seed, _STREAM_OOD))
        ood_train = ood_table.take(ood_order[: _round(regime.ood_pct / 100 * len(ood_labels))])
    return RegimeData(regime, train, dev, test, ood_train, local_pretrain, tuple(carved))
