"""Relation-extraction metrics over label strings, JSON-ready (plain floats and ints).

Predictions arrive as label *strings*, already restricted to the in-domain label space by the
caller. :func:`compute_metrics` reports accuracy, macro/weighted F1 (scikit-learn), the micro
P/R/F1 over positive relations that TACRED-style papers report (negative labels such as
``no_relation`` excluded), and, when the gold labels are SemEval-2010 Task 8's, the task's official
score. :func:`semeval_official_report` re-implements the official scorer's (v1.2) score
from its README and printed outputs (its perl program is not shipped), so numbers are comparable
with published SemEval results without running perl.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainables.data.errors import DataError

from .errors import ResweepError

__all__ = [
    "ACCURACY",
    "F1_MACRO",
    "F1_MICRO_POSITIVE",
    "F1_WEIGHTED",
    "METRIC_KEYS",
    "PRECISION_MICRO_POSITIVE",
    "RECALL_MICRO_POSITIVE",
    "SEMEVAL_F1",
    "SEMEVAL_RELATIONS",
    "STORED_METRICS",
    "compute_metrics",
    "is_semeval_labels",
    "read_semeval_answers",
    "semeval_official_report",
]

# Metric keys: shared constants used in reports and result columns.
ACCURACY = "accuracy"
F1_MACRO = "f1_macro"
F1_WEIGHTED = "f1_weighted"
F1_MICRO_POSITIVE = "f1_micro_positive"
PRECISION_MICRO_POSITIVE = "precision_micro_positive"
RECALL_MICRO_POSITIVE = "recall_micro_positive"
SEMEVAL_F1 = "semeval_f1"

# Every scalar key compute_metrics may return. SEMEVAL_F1 is present only for SemEval gold labels.
METRIC_KEYS: tuple[str, ...] = (
    ACCURACY,
    F1_MACRO,
    F1_WEIGHTED,
    PRECISION_MICRO_POSITIVE,
    RECALL_MICRO_POSITIVE,
    F1_MICRO_POSITIVE,
    SEMEVAL_F1,
)

# The scores a results row keeps per trial, for dev and test at the selected epoch (the results
# store's columns, the leaderboard's test columns, the ground-truth tables): one list.
STORED_METRICS: tuple[str, ...] = (ACCURACY, F1_WEIGHTED, F1_MACRO, F1_MICRO_POSITIVE, SEMEVAL_F1)

# The nine relation types of SemEval-2010 Task 8; each has two directions, plus the undirected Other.
SEMEVAL_RELATIONS: tuple[str, ...] = (
    "Cause-Effect",
    "Component-Whole",
    "Content-Container",
    "Entity-Destination",
    "Entity-Origin",
    "Instrument-Agency",
    "Member-Collection",
    "Message-Topic",
    "Product-Producer",
)
_OTHER = "Other"
_DIRECTED = re.compile(r"(?P<relation>.+)\((?:e1,e2|e2,e1)\)")


def compute_metrics(
    gold: Sequence[str],
    predicted: Sequence[str],
    *,
    negative_labels: Collection[str] = (),
    per_class: bool = False,
) -> dict[str, Any]:
    """Scores for aligned gold and predicted labels.

    * ``accuracy``, ``f1_macro``, ``f1_weighted``: over the labels present in gold ∪ predicted
      (a class that is never right scores 0, not a warning).
    * ``precision/recall/f1_micro_positive``: the TACRED convention. A prediction is *guessed*
      when it is not a negative label and *correct* when it is also the gold label; the gold
      positives are the examples whose gold label is not negative. P = correct / guessed,
      R = correct / gold positives, and 0 where a denominator is 0. With no negative labels every
      prediction is guessed and every example a gold positive, so all three equal accuracy.
    * ``semeval_f1``: only when :func:`is_semeval_labels` holds for ``gold``; the official
      SemEval-2010 Task 8 score as a fraction (see :func:`semeval_official_report`).
    * ``per_class`` (when asked): ``{label: {"precision", "recall", "f1", "support"}}``.
    """
    gold_list, predicted_list = _aligned(gold, predicted)
    # Counted here rather than with scikit-learn's scorers (the same numbers, as a test checks):
    # importing sklearn.metrics took 0.6 s of every fresh trial process, one per Ray Train trial.
    scores = _per_label(gold_list, predicted_list)
    total = len(gold_list)
    metrics: dict[str, Any] = {
        ACCURACY: sum(g == p for g, p in zip(gold_list, predicted_list, strict=True)) / total,
        F1_MACRO: sum(s.f1 for s in scores.values()) / len(scores),
        F1_WEIGHTED: sum(s.f1 * s.support for s in scores.values()) / total,
    }

    # Counted by hand rather than with sklearn's micro average over the positive labels: that one
    # needs at least one positive label to exist, and these three counts are the definition.
    negative = frozenset(negative_labels)
    guessed = sum(p not in negative for p in predicted_list)
    gold_positive = sum(g not in negative for g in gold_list)
    correct = sum(g == p and p not in negative for g, p in zip(gold_list, predicted_list, strict=True))
    precision = _ratio(correct, guessed)
    recall = _ratio(correct, gold_positive)
    metrics[PRECISION_MICRO_POSITIVE] = precision
    metrics[RECALL_MICRO_POSITIVE] = recall
    metrics[F1_MICRO_POSITIVE] = _f1(precision, recall)

    if is_semeval_labels(gold_list):
        metrics[SEMEVAL_F1] = semeval_official_report(gold_list, predicted_list)["official_f1"]

    if per_class:
        metrics["per_class"] = {
            label: {"precision": s.precision, "recall": s.recall, "f1": s.f1, "support": s.support}
            for label, s in scores.items()
        }
    return metrics


@dataclass(frozen=True)
class _LabelScore:
    precision: float
    recall: float
    f1: float
    support: int  # gold examples of the label


def _per_label(gold: list[str], predicted: list[str]) -> dict[str, _LabelScore]:
    """Each label of gold ∪ predicted, sorted: precision, recall and F1 (0 where undefined, as
    scikit-learn's ``zero_division=0``; F1 as ``2 tp / (2 tp + fp + fn)``), and its gold support."""
    true_positive = Counter(g for g, p in zip(gold, predicted, strict=True) if g == p)
    in_gold, in_predicted = Counter(gold), Counter(predicted)
    scores = {}
    for label in sorted(in_gold.keys() | in_predicted.keys()):
        tp, guessed, support = true_positive[label], in_predicted[label], in_gold[label]
        scores[label] = _LabelScore(
            precision=_ratio(tp, guessed),
            recall=_ratio(tp, support),
            f1=_ratio(2 * tp, guessed + support),  # 2tp + fp + fn = guessed + support
            support=support,
        )
    return scores


def is_semeval_labels(labels: Iterable[str]) -> bool:
    """True when every label is a SemEval-2010 Task 8 label (``Type(e1,e2)``, ``Type(e2,e1)`` for
    the nine types, or ``Other``) and at least one is directed.

    The nine names are required, not just the ``Type(e1,e2)`` shape: KBP37 and other corpora in
    SemEval's file format use the shape too, but the official score is SemEval's own, and reporting
    it for another dataset would invite comparisons with the wrong literature.
    """
    directed = False
    for label in labels:
        if label == _OTHER:
            continue
        match = _DIRECTED.fullmatch(label)
        if match is None or match["relation"] not in SEMEVAL_RELATIONS:
            return False
        directed = True
    return directed


def semeval_official_report(
    gold: Sequence[str] | Mapping[str, str], predicted: Sequence[str] | Mapping[str, str]
) -> dict[str, Any]:
    """The official SemEval-2010 Task 8 scores: "(9+1)-way evaluation with directionality taken
    into account: macro-averaged F1", excluding Other (scorer v1.2, part (iii)).

    ``gold`` and ``predicted`` are either aligned sequences of labels, or ``{id: label}`` maps as
    :func:`read_semeval_answers` returns them (the answer key and a proposed answer file). With maps,
    ids of the key missing from the proposed answers are *skipped* examples, as in the scorer;
    a proposed id that is not in the key is an error.

    How the scorer counts, per relation type R (direction stripped), reconstructed from its
    README and the printed results of its four examples:

    * ``correct``: the gold label is R and the prediction matches it *including* direction.
    * ``wrong_direction`` (the scorer's xDIRx): gold R, predicted R in the other direction. It is
      neither correct nor in R's column of the confusion matrix (``classified``), but precision
      adds it back: P = correct / (classified + wrong_direction), which is correct over every
      prediction of type R.
    * ``actual``: every key example of type R, skipped and wrong-direction ones included, so
      R = correct / actual: a skipped example costs recall only, a wrong direction costs both.
    * F1 = 2PR / (P + R); each of P, R, F1 is 0 where its denominator is 0.
    * Predictions of a relation that does not occur in the key count for no relation, as if they
      were Other (the scorer warns about them).

    The macro average runs over the relation types that occur in the key (skipped examples count
    for occurring), Other excluded; it is *not* over all nine when the key lacks some. The
    official macro F1 is the mean of the per-relation F1 scores, not the F1 of macro P and macro R:
    for the scorer's example 1 the mean of the nine F1s is the printed 64.09%, while
    2·P·R/(P+R) of the printed macro P = 81.48% and R = 54.44% would be 65.27%; in its example 5
    the (2*9+1)-way part (macro P 75.00%, R 33.33%) prints F1 45.00% = mean(50.00%, 40.00%), not
    46.15%. Micro P/R/F1 sum the counts over the same relations.

    Returns fractions in [0, 1] (the scorer prints percentages)::

        {"per_relation": {R: {"correct", "classified", "wrong_direction", "skipped", "actual",
                              "precision", "recall", "f1"}},  # key relations, sorted, Other last
         "micro": {"correct", "predicted", "actual", "precision", "recall", "f1"},
         "macro": {"precision", "recall", "f1"},
         "official_f1": macro F1, "examples": key size, "skipped": count}

    Other's entry in ``per_relation`` (when the key has Other) is there because the scorer prints
    it; it enters neither average.
    """
    pairs, skipped_gold = _semeval_pairs(gold, predicted)
    key = [g for g, _ in pairs] + skipped_gold
    if not is_semeval_labels(key):
        unknown = sorted({g for g in key if g != _OTHER and not is_semeval_labels([g])})
        detail = f"; not SemEval labels: {', '.join(map(repr, unknown[:5]))}" if unknown else ""
        raise ResweepError(f"the gold labels are not SemEval-2010 Task 8 labels{detail}")

    actual = Counter(_relation(g) for g in key)
    skipped = Counter(_relation(g) for g in skipped_gold)
    correct: Counter[str] = Counter()
    wrong_direction: Counter[str] = Counter()
    predicted_type: Counter[str] = Counter()
    for g, p in pairs:
        gold_type, predicted_relation = _relation(g), _relation(p)
        predicted_type[predicted_relation] += 1
        if g == p:
            correct[gold_type] += 1
        elif gold_type == predicted_relation:
            wrong_direction[gold_type] += 1

    relations = sorted(r for r in actual if r != _OTHER)
    per_relation: dict[str, dict[str, Any]] = {}
    for relation in [*relations, _OTHER] if _OTHER in actual else relations:
        precision = _ratio(correct[relation], predicted_type[relation])
        recall = _ratio(correct[relation], actual[relation])
        per_relation[relation] = {
            "correct": correct[relation],
            "classified": predicted_type[relation] - wrong_direction[relation],
            "wrong_direction": wrong_direction[relation],
            "skipped": skipped[relation],
            "actual": actual[relation],
            "precision": precision,
            "recall": recall,
            "f1": _f1(precision, recall),
        }

    micro_correct = sum(correct[r] for r in relations)
    micro_predicted = sum(predicted_type[r] for r in relations)
    micro_actual = sum(actual[r] for r in relations)
    micro_precision = _ratio(micro_correct, micro_predicted)
    micro_recall = _ratio(micro_correct, micro_actual)
    # The mean of the per-relation scores (see the docstring for how the numbers pin this down).
    macro = {
        name: sum(per_relation[r][name] for r in relations) / len(relations)
        for name in ("precision", "recall", "f1")
    }
    return {
        "per_relation": per_relation,
        "micro": {
            "correct": micro_correct,
            "predicted": micro_predicted,
            "actual": micro_actual,
            "precision": micro_precision,
            "recall": micro_recall,
            "f1": _f1(micro_precision, micro_recall),
        },
        "macro": macro,
        "official_f1": macro["f1"],
        "examples": len(key),
        "skipped": len(skipped_gold),
    }


def read_semeval_answers(path: str | Path) -> dict[str, str]:
    """Read a scorer file (answer key or proposed answers): one ``id<TAB>label`` per line, any
    order, CRLF or LF, blank lines ignored. Ids stay strings, as record ids do. A line without
    exactly one TAB, an empty field or a repeated id (the scorer forbids them) is a
    :class:`~trainables.data.errors.DataError`."""
    answers: dict[str, str] = {}
    text = Path(path).read_text(encoding="utf-8")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.strip().split("\t")
        if len(fields) != 2 or not fields[0].strip() or not fields[1].strip():
            raise DataError.at(path, f"expected `id<TAB>label`, got {line.strip()!r}", line=number)
        answer_id, label = fields[0].strip(), fields[1].strip()
        if answer_id in answers:
            raise DataError.at(path, f"id {answer_id!r} is repeated", line=number)
        answers[answer_id] = label
    return answers


def _aligned(gold: Sequence[str], predicted: Sequence[str]) -> tuple[list[str], list[str]]:
    # A bare string is a Sequence[str] too; scoring its characters would be silently wrong.
    if isinstance(gold, str) or isinstance(predicted, str):
        raise TypeError("gold and predicted must be sequences of labels, not a single string")
    gold_list, predicted_list = list(gold), list(predicted)
    if len(gold_list) != len(predicted_list):
        raise ResweepError(
            f"gold and predicted differ in length: {len(gold_list)} gold vs {len(predicted_list)} predicted"
        )
    if not gold_list:
        raise ResweepError("no examples to score: gold and predicted are empty")
    return gold_list, predicted_list


def _semeval_pairs(
    gold: Sequence[str] | Mapping[str, str], predicted: Sequence[str] | Mapping[str, str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """(gold, predicted) pairs of the answered examples, and the gold labels of skipped ones."""
    if not isinstance(gold, Mapping) and not isinstance(predicted, Mapping):
        gold_list, predicted_list = _aligned(gold, predicted)
        return list(zip(gold_list, predicted_list, strict=True)), []
    if not isinstance(gold, Mapping) or not isinstance(predicted, Mapping):
        raise TypeError("gold and predicted must both be {id: label} maps or both be label sequences")
    if not gold:
        raise ResweepError("no examples to score: the answer key is empty")
    unknown = [answer_id for answer_id in predicted if answer_id not in gold]
    if unknown:
        raise ResweepError(
            f"{len(unknown)} proposed id(s) are not in the answer key, e.g. {', '.join(unknown[:5])}"
        )
    pairs = [(label, predicted[answer_id]) for answer_id, label in gold.items() if answer_id in predicted]
    skipped = [label for answer_id, label in gold.items() if answer_id not in predicted]
    return pairs, skipped


def _relation(label: str) -> str:
    """A label's relation type, direction stripped (``Cause-Effect(e2,e1)`` -> ``Cause-Effect``)."""
    match = _DIRECTED.fullmatch(label)
    return label if match is None else match["relation"]


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
