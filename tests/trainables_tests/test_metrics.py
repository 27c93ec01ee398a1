"""Metrics: scores on hand-computed cases and against scikit-learn's scorers, the TACRED
micro-positive convention, and the SemEval-2010 Task 8 official score checked line by line
against the official scorer's own printed results for its four examples (expected numbers copied
from ``result_scores{1,2,3,5}.txt``; the example answer files are fixtures, see
``fixtures/semeval_scorer/README.md``)."""

from __future__ import annotations

import gzip
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trainables.data.errors import DataError
from trainables.metrics import (
    ACCURACY,
    F1_MACRO,
    F1_MICRO_POSITIVE,
    F1_WEIGHTED,
    METRIC_KEYS,
    PRECISION_MICRO_POSITIVE,
    RECALL_MICRO_POSITIVE,
    SEMEVAL_F1,
    compute_metrics,
    is_semeval_labels,
    read_semeval_answers,
    semeval_official_report,
)

CE12, CE21 = "Cause-Effect(e1,e2)", "Cause-Effect(e2,e1)"
CW12 = "Component-Whole(e1,e2)"

# Per relation, as the scorer prints its official part (iii):
# name, correct, column sum, xDIRx  (P = correct/(column + xDIRx)), ACTUAL (R = correct/ACTUAL), P%, R%, F1%.
_Row = tuple[str, int, int, int, int, str, str, str]


@dataclass(frozen=True)
class Printed:
    """One result file's official part: per-relation rows; micro correct, predicted, actual, P%, R%,
    F1%; macro P%, R%, F1% (the official score); the key size and the skipped count."""

    relations: tuple[_Row, ...]
    micro: tuple[int, int, int, str, str, str]
    macro: tuple[str, str, str]
    examples: int
    skipped: int


RESULT_SCORES: dict[int, Printed] = {
    1: Printed(
        relations=(
            ("Cause-Effect", 2, 2, 1, 6, "66.67", "33.33", "44.44"),
            ("Component-Whole", 1, 1, 1, 5, "50.00", "20.00", "28.57"),
            ("Content-Container", 1, 1, 0, 1, "100.00", "100.00", "100.00"),
            ("Entity-Destination", 2, 2, 0, 3, "100.00", "66.67", "80.00"),
            ("Entity-Origin", 1, 1, 0, 2, "100.00", "50.00", "66.67"),
            ("Instrument-Agency", 2, 3, 0, 4, "66.67", "50.00", "57.14"),
            ("Member-Collection", 3, 4, 0, 5, "75.00", "60.00", "66.67"),
            ("Message-Topic", 3, 3, 1, 5, "75.00", "60.00", "66.67"),
            ("Product-Producer", 1, 1, 0, 2, "100.00", "50.00", "66.67"),
            ("Other", 4, 9, 0, 7, "44.44", "57.14", "50.00"),
        ),
        micro=(16, 21, 33, "76.19", "48.48", "59.26"),
        macro=("81.48", "54.44", "64.09"),
        examples=40,
        skipped=10,
    ),
    2: Printed(
        relations=(
            ("Cause-Effect", 76, 940, 54, 1003, "7.65", "7.58", "7.61"),
            ("Component-Whole", 70, 869, 64, 941, "7.50", "7.44", "7.47"),
            ("Content-Container", 23, 526, 12, 540, "4.28", "4.26", "4.27"),
            ("Entity-Destination", 86, 844, 0, 845, "10.19", "10.18", "10.18"),
            ("Entity-Origin", 44, 688, 19, 716, "6.22", "6.15", "6.18"),
            ("Instrument-Agency", 18, 491, 12, 504, "3.58", "3.57", "3.57"),
            ("Member-Collection", 50, 674, 14, 690, "7.27", "7.25", "7.26"),
            ("Message-Topic", 37, 609, 25, 634, "5.84", "5.84", "5.84"),
            ("Product-Producer", 34, 677, 34, 717, "4.78", "4.74", "4.76"),
            ("Other", 255, 1395, 0, 1410, "18.28", "18.09", "18.18"),
        ),
        micro=(438, 6552, 6590, "6.68", "6.65", "6.67"),
        macro=("6.37", "6.33", "6.35"),
        examples=8000,
        skipped=53,
    ),
    3: Printed(
        relations=(
            ("Cause-Effect", 0, 1, 1, 1, "0.00", "0.00", "0.00"),
            ("Component-Whole", 0, 0, 0, 1, "0.00", "0.00", "0.00"),
            ("Content-Container", 0, 0, 0, 1, "0.00", "0.00", "0.00"),
            ("Entity-Destination", 1, 1, 0, 2, "100.00", "50.00", "66.67"),
            ("Instrument-Agency", 0, 1, 0, 1, "0.00", "0.00", "0.00"),
            ("Member-Collection", 0, 0, 0, 1, "0.00", "0.00", "0.00"),
            ("Other", 0, 2, 0, 3, "0.00", "0.00", "0.00"),
        ),
        micro=(1, 4, 7, "25.00", "14.29", "18.18"),
        macro=("16.67", "8.33", "11.11"),
        examples=10,
        skipped=3,
    ),
    5: Printed(
        relations=(("Cause-Effect", 2, 2, 1, 6, "66.67", "33.33", "44.44"),),
        micro=(2, 3, 6, "66.67", "33.33", "44.44"),
        macro=("66.67", "33.33", "44.44"),
        examples=6,
        skipped=2,
    ),
}


def _percent(fraction: float) -> str:
    """A fraction formatted as the scorer prints percentages."""
    return f"{100 * fraction:.2f}"


def _scorer_file(fixtures: Path, tmp_path: Path, name: str) -> Path:
    # Example 2 (the 8,000 training labels) is stored gzipped; the reader takes plain files.
    folder = fixtures / "semeval_scorer"
    if (folder / name).exists():
        return folder / name
    plain = tmp_path / name
    with gzip.open(folder / f"{name}.gz", "rb") as source, plain.open("wb") as target:
        shutil.copyfileobj(source, target)
    return plain


@pytest.mark.parametrize("example", sorted(RESULT_SCORES))
def test_semeval_official_report_reproduces_the_scorer(example: int, fixtures: Path, tmp_path: Path) -> None:
    expected = RESULT_SCORES[example]
    key = read_semeval_answers(_scorer_file(fixtures, tmp_path, f"answer_key{example}.txt"))
    proposed = read_semeval_answers(_scorer_file(fixtures, tmp_path, f"proposed_answer{example}.txt"))
    report = semeval_official_report(key, proposed)

    assert list(report["per_relation"]) == [row[0] for row in expected.relations]
    for name, correct, column, wrong_direction, actual, precision, recall, f1 in expected.relations:
        scores = report["per_relation"][name]
        assert (scores["correct"], scores["classified"], scores["wrong_direction"], scores["actual"]) == (
            correct,
            column,
            wrong_direction,
            actual,
        ), name
        assert (_percent(scores["precision"]), _percent(scores["recall"]), _percent(scores["f1"])) == (
            precision,
            recall,
            f1,
        ), name

    micro = report["micro"]
    assert (
        micro["correct"],
        micro["predicted"],
        micro["actual"],
        _percent(micro["precision"]),
        _percent(micro["recall"]),
        _percent(micro["f1"]),
    ) == expected.micro
    macro = report["macro"]
    assert (_percent(macro["precision"]), _percent(macro["recall"]), _percent(macro["f1"])) == expected.macro
    assert _percent(report["official_f1"]) == expected.macro[2]
    assert (report["examples"], report["skipped"]) == (expected.examples, expected.skipped)
    json.dumps(report)


def test_semeval_f1_in_compute_metrics_matches_the_report(fixtures: Path) -> None:
    key = read_semeval_answers(fixtures / "semeval_scorer" / "answer_key1.txt")
    proposed = read_semeval_answers(fixtures / "semeval_scorer" / "proposed_answer1.txt")
    ids = sorted(proposed, key=int)
    gold, predicted = [key[i] for i in ids], [proposed[i] for i in ids]
    metrics = compute_metrics(gold, predicted, negative_labels={"Other"})
    assert metrics[SEMEVAL_F1] == semeval_official_report(gold, predicted)["official_f1"]
    # Without the 10 skipped examples recall, and so the score, is higher than the scorer's 64.09%.
    assert metrics[SEMEVAL_F1] > 0.6409


def test_semeval_f1_hand_example_counts_wrong_direction_as_wrong() -> None:
    gold = [CE12, CE21, CW12, "Other"]
    predicted = [CE12, CE12, "Other", CW12]
    # Cause-Effect: 1 correct of 2 predicted, 2 in the key -> P = R = F1 = 1/2 (the reversed one is
    # wrong, but still a Cause-Effect prediction). Component-Whole: 0 correct -> F1 0. Other is out.
    metrics = compute_metrics(gold, predicted)
    assert metrics[SEMEVAL_F1] == pytest.approx(0.25)
    report = semeval_official_report(gold, predicted)
    assert report["per_relation"]["Cause-Effect"]["wrong_direction"] == 1
    assert report["per_relation"]["Cause-Effect"]["classified"] == 1
    assert list(report["per_relation"]) == ["Cause-Effect", "Component-Whole", "Other"]


def test_accuracy_macro_weighted_hand_computed() -> None:
    # a: P 1/2, R 1/2, F1 1/2 (support 2); b: P 1/2, R 1, F1 2/3 (support 1); c: F1 0 (support 1).
    metrics = compute_metrics(["a", "a", "b", "c"], ["a", "b", "b", "a"])
    assert metrics[ACCURACY] == pytest.approx(0.5)
    assert metrics[F1_MACRO] == pytest.approx((1 / 2 + 2 / 3 + 0) / 3)
    assert metrics[F1_WEIGHTED] == pytest.approx((2 * 1 / 2 + 1 * 2 / 3 + 1 * 0) / 4)
    assert SEMEVAL_F1 not in metrics and "per_class" not in metrics
    assert set(metrics) <= set(METRIC_KEYS)


def test_label_only_predicted_counts_in_macro_not_weighted() -> None:
    # a: P 1, R 1/2, F1 2/3; d (never gold): F1 0, support 0.
    metrics = compute_metrics(["a", "a"], ["a", "d"])
    assert metrics[F1_MACRO] == pytest.approx(1 / 3)
    assert metrics[F1_WEIGHTED] == pytest.approx(2 / 3)


def test_micro_positive_excludes_the_negative_label() -> None:
    gold = ["r1", "r1", "NA", "NA", "r2", "r2"]
    predicted = ["r1", "NA", "r2", "NA", "r2", "NA"]
    # guessed (pred not NA) = 3, correct non-NA = 2 (the NA==NA hit does not count), gold positives = 4.
    metrics = compute_metrics(gold, predicted, negative_labels={"NA"})
    assert metrics[PRECISION_MICRO_POSITIVE] == pytest.approx(2 / 3)
    assert metrics[RECALL_MICRO_POSITIVE] == pytest.approx(1 / 2)
    assert metrics[F1_MICRO_POSITIVE] == pytest.approx(4 / 7)
    assert metrics[ACCURACY] == pytest.approx(3 / 6)


def test_micro_positive_is_zero_when_nothing_positive() -> None:
    metrics = compute_metrics(["NA", "NA"], ["NA", "NA"], negative_labels=["NA"])
    assert metrics[ACCURACY] == 1.0
    assert metrics[PRECISION_MICRO_POSITIVE] == metrics[RECALL_MICRO_POSITIVE] == 0.0
    assert metrics[F1_MICRO_POSITIVE] == 0.0


def label_pairs(most: int, gold: str, predicted: str) -> st.SearchStrategy[tuple[list[str], list[str]]]:
    """Aligned gold and predicted label lists of 1 to ``most`` examples over the given letters."""
    return st.integers(1, most).flatmap(
        lambda n: st.tuples(
            st.lists(st.sampled_from(gold), min_size=n, max_size=n),
            st.lists(st.sampled_from(predicted), min_size=n, max_size=n),
        )
    )


@settings(max_examples=50, deadline=None)
@given(label_pairs(12, "abc", "abcd"))
def test_micro_positive_without_negatives_equals_accuracy(pair: tuple[list[str], list[str]]) -> None:
    metrics = compute_metrics(*pair)
    assert metrics[PRECISION_MICRO_POSITIVE] == pytest.approx(metrics[ACCURACY])
    assert metrics[RECALL_MICRO_POSITIVE] == pytest.approx(metrics[ACCURACY])
    assert metrics[F1_MICRO_POSITIVE] == pytest.approx(metrics[ACCURACY])


@settings(max_examples=300, deadline=None)
@given(label_pairs(30, "abcde", "abcdef"))
def test_the_counted_scores_are_scikit_learns(pair: tuple[list[str], list[str]]) -> None:
    """compute_metrics counts by hand (no scikit-learn import in a trial process); the numbers
    must be what scikit-learn's scorers give, labels only predicted and never right included."""
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    gold, predicted = pair
    labels = sorted(set(gold) | set(predicted))
    metrics = compute_metrics(gold, predicted, per_class=True)
    assert metrics[ACCURACY] == pytest.approx(accuracy_score(gold, predicted), abs=1e-12)
    for key, average in ((F1_MACRO, "macro"), (F1_WEIGHTED, "weighted")):
        expected = f1_score(gold, predicted, labels=labels, average=average, zero_division=0)
        assert metrics[key] == pytest.approx(expected, abs=1e-12), key
    p, r, f, support = precision_recall_fscore_support(gold, predicted, labels=labels, zero_division=0)
    assert list(metrics["per_class"]) == labels
    for i, label in enumerate(labels):
        ours = metrics["per_class"][label]
        assert (ours["precision"], ours["recall"], ours["f1"]) == pytest.approx((p[i], r[i], f[i]), abs=1e-12)
        assert ours["support"] == support[i]


def test_per_class_and_json_ready() -> None:
    metrics = compute_metrics(["a", "a", "b", "c"], ["a", "b", "b", "a"], per_class=True)
    per_class = metrics["per_class"]
    assert list(per_class) == ["a", "b", "c"]
    assert per_class["a"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2})
    assert per_class["b"] == pytest.approx({"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1})
    assert per_class["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert all(type(value) is float for value in (metrics[key] for key in metrics if key != "per_class"))
    assert type(per_class["a"]["support"]) is int and type(per_class["a"]["f1"]) is float
    assert json.loads(json.dumps(metrics)) == metrics


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="differ in length: 2 gold vs 1 predicted"):
        compute_metrics(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="no examples to score"):
        compute_metrics([], [])
    with pytest.raises(TypeError, match="not a single string"):
        compute_metrics("ab", "ab")
    with pytest.raises(ValueError, match="not SemEval-2010 Task 8 labels; not SemEval labels: 'no_relation'"):
        semeval_official_report(["no_relation", CE12], [CE12, CE12])
    with pytest.raises(TypeError, match="both be"):
        semeval_official_report({"1": CE12}, [CE12])
    with pytest.raises(ValueError, match=r"not in the answer key, e\.g\. 9"):
        semeval_official_report({"1": CE12}, {"1": CE12, "9": CE21})


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (["Other", CE12, CE21], True),
        (["Entity-Destination(e2,e1)"], True),  # a key without Other (the scorer's example 5)
        (["Other"], False),  # nothing directed
        ([], False),
        (["Cause-Effect", "Other"], False),  # direction stripped
        (["Cause-Effect(e1, e2)"], False),  # the format checker rejects the space too
        (["per:title(e1,e2)", "no_relation"], False),  # KBP37: SemEval's shape, not its labels
        ([CE12, "no_relation"], False),
        (["Foo-Bar(e1,e2)", "Other"], False),
    ],
)
def test_is_semeval_labels(labels: list[str], expected: bool) -> None:
    assert is_semeval_labels(labels) is expected


def test_read_semeval_answers(fixtures: Path, tmp_path: Path) -> None:
    key = read_semeval_answers(fixtures / "semeval_scorer" / "answer_key1.txt")  # CRLF
    assert len(key) == 40 and key["1"] == "Component-Whole(e2,e1)" and key["40"] == "Instrument-Agency(e2,e1)"

    malformed = tmp_path / "bad.txt"
    malformed.write_text("1\tOther\n\n2 Other\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.txt:3: expected `id<TAB>label`, got '2 Other'"):
        read_semeval_answers(malformed)
    repeated = tmp_path / "repeated.txt"
    repeated.write_text("1\tOther\n1\tOther\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"repeated\.txt:2: id '1' is repeated"):
        read_semeval_answers(repeated)
