"""Label spaces: union for mixed/local training, OOD-only labels masked at evaluation."""

from __future__ import annotations

import numpy as np
import pytest

from trainables.data.labels import LabelSpace


def test_union_order_shared_and_ood_only() -> None:
    space = LabelSpace.build(
        ["works_for", "born_in", "None"], ["works_for", "Cause-Effect", "Other"], negative=["None", "Other"]
    )
    assert space.labels == ("None", "born_in", "works_for", "Cause-Effect", "Other")
    assert space.shared == ("works_for",)
    assert space.ood_only == ("Cause-Effect", "Other")
    assert space.negative_ids == (0, 4)
    assert space.index("works_for", ood=True) == space.index("works_for")


def test_disjoint_label_sets() -> None:
    space = LabelSpace.build(["a", "b"], ["x", "y"])
    assert space.labels == ("a", "b", "x", "y") and space.shared == ()
    assert space.in_domain_mask.tolist() == [True, True, False, False]


def test_user_mapping_merges_labels() -> None:
    space = LabelSpace.build(["works_for", "None"], ["Employer", "Other"], mapping={"Employer": "works_for"})
    assert space.labels == ("None", "works_for", "Other")
    assert space.encode(["Employer", "Other"], ood=True).tolist() == [1, 2]
    with pytest.raises(ValueError, match="'Boss' is not an out-of-domain label"):
        LabelSpace.build(["a"], ["b"], mapping={"Boss": "a"})
    with pytest.raises(ValueError, match="'zzz' is not an in-domain label"):
        LabelSpace.build(["a"], ["b"], mapping={"b": "zzz"})


def test_in_domain_prediction_never_takes_an_ood_only_label() -> None:
    space = LabelSpace.build(["a", "b"], ["b", "x"])
    scores = np.array([[0.1, 0.2, 0.9], [0.5, 0.1, 0.4], [0.0, 0.3, 0.2]])  # (N, C): columns a, b, x
    assert space.predict_in_domain(scores).tolist() == [1, 0, 1]


def test_unknown_label_is_named() -> None:
    with pytest.raises(KeyError, match="'q' is not in the label space"):
        LabelSpace.build(["a"]).encode(["a", "q"])
