"""Data regimes: nested, stratified, deterministic, disjoint (property tests with hypothesis)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from trainables.data.datasets import RelationDataset
from trainables.data.records import Record, records_to_table
from trainables.data.regimes import Regime, resolve_size, sample_regime, stratified_order


def make_dataset(
    class_sizes: list[int], *, name: str = "d", test: bool = False, dev: bool = False
) -> RelationDataset:
    def records(split: str, sizes: list[int]) -> list[Record]:
        out = []
        for c, size in enumerate(sizes):
            for i in range(size):
                out.append(
                    Record(f"{name}-{split}-{c}-{i}", ("a", "b", "c"), 0, 1, 2, 3, f"L{c}", name, split)
                )
        return out

    splits = {"train": records_to_table(records("train", class_sizes))}
    if dev:
        splits["dev"] = records_to_table(records("dev", [1] * len(class_sizes)))
    if test:
        splits["test"] = records_to_table(records("test", [1] * len(class_sizes)))
    return RelationDataset(name, splits, frozenset({"L0"}), "memory")


class_sizes = st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=12)
fractions = st.floats(min_value=0.01, max_value=1.0)
seeds = st.integers(min_value=0, max_value=2**31)


def ids(table) -> set[str]:  # type: ignore[no-untyped-def]
    return set(table["id"].to_pylist())


@settings(max_examples=60, deadline=None)
@given(class_sizes, fractions, fractions, seeds)
def test_subsets_are_nested_for_one_seed(sizes: list[int], a: float, b: float, seed: int) -> None:
    dataset = make_dataset(sizes, test=True)
    small, large = sorted((a, b))
    sub_small = sample_regime(dataset, Regime(small, seed=seed))
    sub_large = sample_regime(dataset, Regime(large, seed=seed))
    sub_all = sample_regime(dataset, Regime(1.0, seed=seed))
    assert ids(sub_small.train) <= ids(sub_large.train) <= ids(sub_all.train)
    assert ids(sub_small.dev) == ids(sub_large.dev)  # one dev set serves every size of a seed


@settings(max_examples=60, deadline=None)
@given(class_sizes, fractions, seeds)
@example([1, 1, 1, 17], 0.125, 0)  # fewer examples than classes (found by this test)
def test_subsets_are_stratified(sizes: list[int], fraction: float, seed: int) -> None:
    dataset = make_dataset(sizes, test=True, dev=True)  # no carving: the pool is all of train
    data = sample_regime(dataset, Regime(fraction, seed=seed))
    n = data.train.num_rows
    counts = Counter(data.train["label"].to_pylist())
    total = sum(sizes)
    if n >= len(sizes):
        assert len(counts) == len(sizes), "every class keeps at least one example once the size allows"
    else:
        # Below one example per class, every example is a different class: proportions cannot
        # hold then (sizes [1, 1, 1, 17] at 3 examples give the big class 1, not 2.55).
        assert len(counts) == n, "below one example per class, every example is a different class"
        return
    for c, size in enumerate(sizes):
        # Round one gives each class one example, Sainte-Laguë keeps the rest near proportional.
        assert abs(counts.get(f"L{c}", 0) - n * size / total) <= 2 + 0.05 * n


@settings(max_examples=40, deadline=None)
@given(class_sizes, fractions, seeds)
def test_same_seed_same_subsets_and_carved_splits_are_disjoint(
    sizes: list[int], fraction: float, seed: int
) -> None:
    dataset = make_dataset(sizes)  # no dev, no test: both are carved
    first = sample_regime(dataset, Regime(fraction, seed=seed))
    again = sample_regime(dataset, Regime(fraction, seed=seed))
    assert first.train.equals(again.train) and first.dev.equals(again.dev) and first.test.equals(again.test)
    assert first.carved == ("test", "dev")
    train, dev, test = ids(first.train), ids(first.dev), ids(first.test)
    assert not (train & dev) and not (train & test) and not (dev & test)
    # A class's last example is never carved away from training.
    full = sample_regime(dataset, Regime(1.0, seed=seed))
    assert set(full.train["label"].to_pylist()) == {f"L{c}" for c in range(len(sizes))}


def test_carved_test_is_fixed_across_seeds_and_dev_varies_with_seed() -> None:
    dataset = make_dataset([40, 30, 20, 10])
    a, b = sample_regime(dataset, Regime(0.5, seed=1)), sample_regime(dataset, Regime(0.5, seed=2))
    assert ids(a.test) == ids(b.test)
    assert ids(a.dev) != ids(b.dev)
    assert a.test.num_rows == 20 and a.dev.num_rows == 8  # 20% of 100, then 10% of the 80 left


def test_different_seeds_give_different_subsets() -> None:
    dataset = make_dataset([50, 50, 50], test=True)
    assert ids(sample_regime(dataset, Regime(0.2, seed=0)).train) != ids(
        sample_regime(dataset, Regime(0.2, seed=1)).train
    )


@settings(max_examples=40, deadline=None)
@given(class_sizes, st.sampled_from([10.0, 50.0, 100.0]), st.sampled_from([10.0, 50.0, 100.0]), seeds)
def test_ood_and_local_pretrain_subsets_are_nested(sizes: list[int], p: float, q: float, seed: int) -> None:
    in_domain = make_dataset([5, 5], test=True)
    ood = make_dataset(sizes, name="ood")
    low, high = sorted((p, q))
    a = sample_regime(in_domain, Regime(1.0, low, low, seed), ood)
    b = sample_regime(in_domain, Regime(1.0, high, high, seed), ood)
    assert ids(a.ood_train) <= ids(b.ood_train)
    assert ids(a.local_pretrain) <= ids(b.local_pretrain) <= ids(b.train)
    assert b.ood_train.num_rows == max(0, int(np.floor(high / 100 * sum(sizes) + 0.5)))
    # Changing the OOD share never moves the in-domain subset.
    assert ids(a.train) == ids(b.train)


def test_counts_and_fractions() -> None:
    dataset = make_dataset([60, 30, 10], test=True, dev=True)
    assert sample_regime(dataset, Regime(25, seed=0)).train.num_rows == 25
    assert sample_regime(dataset, Regime(0.1, seed=0)).train.num_rows == 10
    assert sample_regime(dataset, Regime(1.0, seed=0)).train.num_rows == 100
    assert (
        sample_regime(dataset, Regime(0.5, local_in_domain_pretrain_pct=10, seed=0)).local_pretrain.num_rows
        == 5
    )
    with pytest.raises(ValueError, match="exceeds the 100 in-domain training sentences"):
        sample_regime(dataset, Regime(3000, seed=0))
    assert resolve_size(0.001, 100) == 1  # a fraction never rounds to nothing


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"in_domain_size": 0.0}, "must be in \\(0, 1\\]"),
        ({"in_domain_size": 1.5}, "must be in \\(0, 1\\]"),
        ({"in_domain_size": 0}, "as a count must be >= 1"),
        ({"in_domain_size": True}, "fraction in \\(0, 1\\] or a count"),
        ({"ood_pct": 120}, "ood_pct must be between 0 and 100"),
        ({"local_in_domain_pretrain_pct": -1}, "local_in_domain_pretrain_pct must be between"),
        ({"seed": -3}, "seed must be an int from 0 to 4294967295"),
        ({"seed": 2**32}, "seed must be an int from 0 to 4294967295"),
        ({"dev_fraction": 1.0}, "dev_fraction must be in"),
    ],
)
def test_bad_regimes_are_rejected(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Regime(**kwargs)


def test_ood_pct_without_an_ood_dataset_is_an_error() -> None:
    with pytest.raises(ValueError, match="no out-of-domain dataset"):
        sample_regime(make_dataset([3, 3], test=True), Regime(1.0, ood_pct=10))


def test_stratified_order_is_a_permutation_with_one_of_each_class_first() -> None:
    labels = ["a"] * 50 + ["b"] * 5 + ["c"]
    order = stratified_order(labels, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(56))
    assert {labels[i] for i in order[:3]} == {"a", "b", "c"}
