"""Imbalance techniques: the shared contract (run for every registered name), then each technique's
own arithmetic and guarantees (property tests with hypothesis where a bound must always hold)."""

from __future__ import annotations

import math
from collections import Counter

# The resamplers import imbalanced-learn (and with it scikit-learn) on first use; importing it here
# keeps that one-off second out of whichever test happens to run first.
import imblearn.over_sampling  # noqa: F401
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainables.imbalance import IMBALANCE, BaseImbalance, make_imbalance
from trainables.registry import UnknownNameError

NEGATIVE = (0,)
N_CLASSES = 5  # class 4 never occurs: techniques must cope with absent classes


def imbalanced_labels(seed: int = 0) -> np.ndarray:
    """Shuffled labels with counts 20 (negative class 0), 7, 3, 1 and an absent class 4."""
    labels = np.repeat(np.arange(4), [20, 7, 3, 1]).astype(np.int64)
    return np.random.default_rng(seed).permutation(labels)


def epoch(technique: BaseImbalance, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    return technique.indices(labels, negative_ids=NEGATIVE, rng=np.random.default_rng(seed))


label_vectors = st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=80).map(
    lambda xs: np.array(xs, dtype=np.int64)
)
seeds = st.integers(min_value=0, max_value=2**31)


# -- the contract, for every registered technique ---------------------------------------------------


def test_registered_names() -> None:
    assert IMBALANCE.names() == [
        "none",
        "class_weights",
        "inv_sqrt_weights",
        "oversampling",
        "undersampling",
        "negative_sampling",
    ]


@pytest.mark.parametrize("name", IMBALANCE.names())
def test_indices_are_sorted_int64_and_in_range(name: str) -> None:
    labels = imbalanced_labels()
    indices = epoch(make_imbalance(name), labels)
    assert indices.dtype == np.int64 and indices.ndim == 1 and indices.size > 0
    assert indices.min() >= 0 and indices.max() < len(labels)
    assert np.all(np.diff(indices) >= 0)


@pytest.mark.parametrize("name", IMBALANCE.names())
def test_weights_are_float32_per_class_or_none(name: str) -> None:
    weights = make_imbalance(name).class_weights(imbalanced_labels(), N_CLASSES)
    if weights is not None:
        assert weights.dtype == np.float32 and weights.shape == (N_CLASSES,)
        assert np.all(np.isfinite(weights)) and np.all(weights > 0)


@pytest.mark.parametrize("name", IMBALANCE.names())
def test_same_seed_same_epoch(name: str) -> None:
    labels = imbalanced_labels()
    technique = make_imbalance(name)
    np.testing.assert_array_equal(epoch(technique, labels, seed=7), epoch(technique, labels, seed=7))


@pytest.mark.parametrize("name", IMBALANCE.names())
def test_unknown_param_names_the_valid_ones(name: str) -> None:
    with pytest.raises(ValueError, match="unknown parameter") as excinfo:
        make_imbalance(name, no_such_param=1)
    message = str(excinfo.value)
    assert "no_such_param" in message
    valid = IMBALANCE.get(name).param_names()
    for param in valid:
        assert param in message
    if not valid:
        assert "(none)" in message


@pytest.mark.parametrize("name", IMBALANCE.names())
def test_defaults_round_trip_through_get_params(name: str) -> None:
    technique = make_imbalance(name)
    again = make_imbalance(name, **technique.get_params())
    assert repr(again) == repr(technique)


@pytest.mark.parametrize("name", IMBALANCE.names())
@pytest.mark.parametrize(
    "labels",
    [np.array([[0, 1]]), np.array([0.0, 1.0]), np.array([0, -1])],
    ids=["2-D", "float", "negative"],
)
def test_bad_labels_are_rejected(name: str, labels: np.ndarray) -> None:
    with pytest.raises(ValueError, match="labels"):
        epoch(make_imbalance(name), labels)
    with pytest.raises(ValueError, match="labels"):
        make_imbalance(name).class_weights(labels, N_CLASSES)


def test_label_out_of_range_for_n_classes() -> None:
    with pytest.raises(ValueError, match="out of range"):
        make_imbalance("class_weights").class_weights(np.array([0, 3]), 3)


def test_rng_must_be_a_generator() -> None:
    with pytest.raises(TypeError, match="Generator"):
        make_imbalance("none").indices(np.array([0, 1]), negative_ids=NEGATIVE, rng=0)  # type: ignore[arg-type]


def test_unknown_technique_lists_valid_names() -> None:
    with pytest.raises(UnknownNameError) as excinfo:
        make_imbalance("smote")
    for name in IMBALANCE.names():
        assert name in str(excinfo.value)


def test_only_negative_sampling_resamples_each_epoch() -> None:
    each_epoch = [name for name in IMBALANCE.names() if IMBALANCE.get(name).resamples_each_epoch]
    assert each_epoch == ["negative_sampling"]


# -- loss weights ---------------------------------------------------------------------------------


def test_none_changes_nothing() -> None:
    labels = imbalanced_labels()
    technique = make_imbalance("none")
    assert technique.class_weights(labels, N_CLASSES) is None
    np.testing.assert_array_equal(epoch(technique, labels), np.arange(len(labels)))


def test_class_weights_hand_example() -> None:
    labels = np.array([0] * 6 + [1] * 3 + [2] * 1)
    weights = make_imbalance("class_weights").class_weights(labels, 3)
    assert weights is not None
    np.testing.assert_allclose(weights, [10 / (3 * 6), 10 / (3 * 3), 10 / (3 * 1)], rtol=1e-6)


def test_class_weights_absent_class_gets_one_and_is_not_counted() -> None:
    labels = np.array([0] * 6 + [2] * 2)
    weights = make_imbalance("class_weights").class_weights(labels, 4)
    assert weights is not None
    # Two classes present: 8 / (2 * 6) and 8 / (2 * 2); classes 1 and 3 are absent.
    np.testing.assert_allclose(weights, [8 / 12, 1.0, 8 / 4, 1.0], rtol=1e-6)


@pytest.mark.parametrize("name", ["class_weights", "inv_sqrt_weights"])
def test_weighted_mean_over_samples_is_one(name: str) -> None:
    labels = imbalanced_labels()
    weights = make_imbalance(name).class_weights(labels, N_CLASSES)
    assert weights is not None
    assert weights[labels].mean() == pytest.approx(1.0, rel=1e-6)


def test_inv_sqrt_weights_follow_inverse_square_root() -> None:
    labels = np.array([0] * 16 + [1] * 4 + [2] * 1)
    weights = make_imbalance("inv_sqrt_weights").class_weights(labels, 4)
    assert weights is not None
    # Proportional to 1/4, 1/2, 1; scaled by 21 / (16/4 + 4/2 + 1) = 3; absent class 3 gets 1.
    np.testing.assert_allclose(weights, [0.75, 1.5, 3.0, 1.0], rtol=1e-6)


# -- oversampling -----------------------------------------------------------------------------------


def test_oversampling_balances_and_keeps_every_example() -> None:
    labels = imbalanced_labels()
    indices = epoch(make_imbalance("oversampling"), labels)
    counts = Counter(labels[indices].tolist())
    assert counts == {0: 20, 1: 20, 2: 20, 3: 20}
    assert set(indices.tolist()) == set(range(len(labels)))


def test_oversampling_passes_a_dict_strategy_through() -> None:
    labels = imbalanced_labels()
    indices = epoch(make_imbalance("oversampling", sampling_strategy={3: 5}), labels)
    assert Counter(labels[indices].tolist()) == {0: 20, 1: 7, 2: 3, 3: 5}


def test_oversampling_rejects_a_bad_strategy() -> None:
    with pytest.raises(ValueError, match="sampling_strategy"):
        make_imbalance("oversampling", sampling_strategy="majority")


@pytest.mark.parametrize("name", ["oversampling", "undersampling"])
def test_one_class_is_left_alone(name: str) -> None:
    # imbalanced-learn refuses a single-class target; a single class is trivially balanced.
    labels = np.array([2, 2, 2])
    np.testing.assert_array_equal(epoch(make_imbalance(name), labels), [0, 1, 2])
    assert epoch(make_imbalance(name), np.array([], dtype=np.int64)).size == 0


# -- undersampling ----------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(label_vectors, st.floats(min_value=1.0, max_value=6.0), seeds)
def test_undersampling_respects_max_ratio(labels: np.ndarray, max_ratio: float, seed: int) -> None:
    indices = epoch(make_imbalance("undersampling", max_ratio=max_ratio), labels, seed)
    before = Counter(labels.tolist())
    after = Counter(labels[indices].tolist())
    assert set(after) == set(before)  # no class dropped
    assert len(set(indices.tolist())) == len(indices)  # no repeats
    assert all(after[c] <= before[c] for c in before)
    assert max(after.values()) <= max_ratio * min(after.values()) + 1e-6
    # ... and no more is dropped than the bound requires.
    cap = math.floor(max_ratio * min(before.values()) + 1e-9)
    assert after == {c: min(n, cap) for c, n in before.items()}


def test_undersampling_default_balances_fully() -> None:
    labels = imbalanced_labels()
    indices = epoch(make_imbalance("undersampling"), labels)
    assert Counter(labels[indices].tolist()) == {0: 1, 1: 1, 2: 1, 3: 1}


def test_undersampling_float_ratio_is_not_rounded_up() -> None:
    labels = np.array([0] * 10 + [1] * 3)
    indices = epoch(make_imbalance("undersampling", max_ratio=1.5), labels)
    assert Counter(labels[indices].tolist()) == {0: 4, 1: 3}  # floor(4.5); 5 would be a ratio of 1.67


@pytest.mark.parametrize("max_ratio", [0.5, float("nan"), "2", True])
def test_undersampling_rejects_bad_max_ratio(max_ratio: object) -> None:
    with pytest.raises(ValueError, match="max_ratio"):
        make_imbalance("undersampling", max_ratio=max_ratio)


# -- negative sampling ------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(label_vectors, st.floats(min_value=0.0, max_value=4.0), seeds)
def test_negative_sampling_keeps_positives_and_respects_ratio(
    labels: np.ndarray, ratio: float, seed: int
) -> None:
    negative_ids = (0, 1)
    positives = np.flatnonzero(~np.isin(labels, negative_ids))
    negatives = np.flatnonzero(np.isin(labels, negative_ids))
    technique = make_imbalance("negative_sampling", ratio=ratio)
    rng = np.random.default_rng(seed)
    if positives.size == 0:
        with pytest.raises(ValueError, match="positive"):
            technique.indices(labels, negative_ids=negative_ids, rng=rng)
        return
    indices = technique.indices(labels, negative_ids=negative_ids, rng=rng)
    assert len(set(indices.tolist())) == len(indices)  # without replacement
    kept_positives = indices[~np.isin(labels[indices], negative_ids)]
    np.testing.assert_array_equal(kept_positives, positives)
    n_negatives = len(indices) - len(positives)
    assert n_negatives == min(negatives.size, round(ratio * positives.size))


def test_negative_sampling_draws_new_negatives_each_epoch() -> None:
    labels = np.array([0] * 200 + [1] * 10)
    technique = make_imbalance("negative_sampling", ratio=2.0)
    first, second = epoch(technique, labels, seed=1), epoch(technique, labels, seed=2)
    assert len(first) == len(second) == 30
    assert not np.array_equal(first, second)


def test_negative_sampling_with_a_large_ratio_equals_none() -> None:
    labels = imbalanced_labels()
    for ratio in (20 / 11, 5.0, math.inf):
        indices = epoch(make_imbalance("negative_sampling", ratio=ratio), labels)
        np.testing.assert_array_equal(indices, epoch(make_imbalance("none"), labels))


def test_negative_sampling_needs_negative_ids() -> None:
    with pytest.raises(ValueError, match="negative_ids is empty"):
        make_imbalance("negative_sampling").indices(
            imbalanced_labels(), negative_ids=(), rng=np.random.default_rng(0)
        )


def test_negative_sampling_needs_a_positive() -> None:
    with pytest.raises(ValueError, match="at least one positive"):
        epoch(make_imbalance("negative_sampling"), np.zeros(5, dtype=np.int64))


@pytest.mark.parametrize("ratio", [-0.5, float("nan"), None])
def test_negative_sampling_rejects_bad_ratio(ratio: object) -> None:
    with pytest.raises(ValueError, match="ratio"):
        make_imbalance("negative_sampling", ratio=ratio)
