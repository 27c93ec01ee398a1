"""What is particular to `redn`, `cnn-mtl` and `two-step`: thresholded decisions, the ranking
loss, REDN's block scores, padding-free max pooling, and the two-step pipeline's routing."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from trainables.architectures import ARCHITECTURES
from trainables.architectures._base import threshold_decision
from trainables.architectures.cnn_mtl import ranking_loss
from trainables.architectures.redn import relations_above
from trainables.config import TrialSpec
from trainables.data.labels import LabelSpace
from trainables.loop import training_loss
from trainables.trial import build_label_space

from .test_architectures import context_for, tiny_trial


def built(name: str, tiny_bert: str, artifacts: Path, **overrides: Any) -> tuple[Any, Any, LabelSpace]:
    spec, context = context_for(tiny_bert, artifacts, architecture=name, **overrides)
    space = build_label_space(spec, context.in_domain, None)
    architecture = ARCHITECTURES.get(name)(spec, space)
    architecture.prepare(context)
    split = architecture.encode(context.data.train)
    torch.manual_seed(0)
    architecture.build_model()
    return architecture, split, space


def test_threshold_decision_picks_the_negative_class_below_the_threshold() -> None:
    scores = torch.tensor([[0.9, 0.2, 0.7], [0.3, 0.1, 0.4]])  # class 1 is the negative class
    decided = threshold_decision(scores, (1,), 0.5)
    assert decided.argmax(1).tolist() == [0, 1]  # 0.9 passes; 0.4 does not -> negative
    assert threshold_decision(scores, (), 0.5).argmax(1).tolist() == [0, 2]  # no negative: argmax
    assert relations_above(scores.numpy(), 0.5, (1,)) == [[0, 2], []]  # REDN may predict several


def test_ranking_loss_matches_dos_santos() -> None:
    scores = torch.tensor([[1.0, 3.0, -0.5], [0.2, 0.0, 1.5]], requires_grad=True)
    labels = torch.tensor([0, 1])  # class 1 is the negative class
    relations = torch.tensor([True, False, True])
    loss = ranking_loss(scores, labels, relations, margin_positive=2.5, margin_negative=0.5, scale=2.0)

    def softplus(x: float) -> float:
        return math.log1p(math.exp(x))

    # Row 0 (gold 0): pull s_0 above m+, push the best wrong *relation* (class 2, -0.5; never the
    # negative class 1) below -m-. Row 1 (negative gold): only the push, on the best relation (1.5).
    expected = [softplus(2 * (2.5 - 1.0)) + softplus(2 * (0.5 - 0.5)), softplus(2 * (0.5 + 1.5))]
    assert loss.tolist() == pytest.approx(expected, rel=1e-6)
    loss.sum().backward()
    assert scores.grad is not None and scores.grad[:, 1].abs().sum() == 0  # the negative class has no score


def test_redn_scores_are_block_means_of_sigmoids_and_train_only_the_block(
    tiny_bert: str, artifacts: Path
) -> None:
    architecture, split, space = built("redn", tiny_bert, artifacts)
    model = architecture.model.eval()
    batch = architecture.collate(split, np.arange(4))
    with torch.no_grad():
        pair = architecture.pair_scores(model, batch)  # (B, C)
        token_pairs, block = model(batch)  # (B, C, L, L), (B, L, L)
    row = 0
    (h0, h1), (t0, t1) = batch["head_span"][row].tolist(), batch["tail_span"][row].tolist()
    manual = torch.sigmoid(token_pairs[row, :, h0:h1, t0:t1]).mean((1, 2))
    assert torch.allclose(pair[row], manual, atol=1e-6)
    assert block[row].sum() == (h1 - h0) * (t1 - t0)

    # The loss sees the pair's block only: scores outside it get no gradient.
    model.train()
    model.head.dropout.p = 0.0
    scores, block = model(batch)
    scores.retain_grad()
    labels = batch["labels"]
    architecture.loss(lambda _: (scores, block), batch, None).backward()  # same tensors, no re-run
    assert scores.grad is not None
    outside = ~block[:, None].expand_as(scores)
    assert scores.grad[outside].abs().max() == 0 and scores.grad[~outside].abs().max() > 0
    negative = list(space.negative_ids)
    assert scores.grad[:, negative].abs().max() == 0  # the negative class is not a channel
    assert labels.shape == (4,)


def test_cnn_mtl_pooling_ignores_padding(tiny_bert: str, artifacts: Path) -> None:
    architecture, split, _ = built("cnn-mtl", tiny_bert, artifacts, word_embeddings="random")
    model = architecture.model.eval()
    order = np.argsort(split.lengths)
    short, long = order[0], order[-1]
    assert split.lengths[short] < split.lengths[long]
    with torch.no_grad():
        alone = architecture.logits(model, architecture.collate(split, np.array([short])))
        padded = architecture.logits(model, architecture.collate(split, np.array([short, long])))
    assert torch.allclose(alone[0], padded[0], atol=1e-5)


def test_cnn_mtl_tags_are_bio_and_bilstm_tags_are_types(tiny_bert: str, artifacts: Path) -> None:
    cnn, cnn_split, _ = built("cnn-mtl", tiny_bert, artifacts)
    _, lstm_split, _ = built("bilstm", tiny_bert, artifacts)
    at_head = cnn.spec.model.max_length  # the shifted position value of distance 0
    multi_token = 0
    for (_, head_position, tail_position, cnn_tags), lstm in zip(
        cnn_split.inputs, lstm_split.inputs, strict=True
    ):
        lstm_tags = lstm[3]
        for positions in (head_position, tail_position):
            mention = [i for i, p in enumerate(positions) if p == at_head]
            # One B- tag then I- tags for cnn-mtl; one type id throughout for bilstm.
            assert len({cnn_tags[i] for i in mention[1:]}) <= 1 and 0 not in [cnn_tags[i] for i in mention]
            assert len({lstm_tags[i] for i in mention}) == 1
            if len(mention) > 1:
                multi_token += 1
                assert cnn_tags[mention[0]] != cnn_tags[mention[1]]
        inside = {
            i for i, (h, t) in enumerate(zip(head_position, tail_position, strict=True)) if at_head in (h, t)
        }
        assert all((tag != 0) == (i in inside) for i, tag in enumerate(cnn_tags))  # O outside mentions
    assert multi_token > 0  # the check above ran


class _Counting(torch.nn.Module):
    """Wraps the two-step model and records how many rows each step saw."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.inner = model
        self.rows: dict[str, list[int]] = {"identify": [], "classify": []}

    def forward(self, batch: dict[str, torch.Tensor], step: str, *args: Any, **kwargs: Any) -> torch.Tensor:
        self.rows[step].append(len(batch["labels"]))
        return self.inner(batch, step, *args, **kwargs)


def test_two_step_samples_negatives_per_positive_and_classifies_only_step_one_relations(
    tiny_bert: str, artifacts: Path
) -> None:
    architecture, split, space = built("two-step", tiny_bert, artifacts, two_step_inner="bilstm")
    negative = set(space.negative_ids)
    positives = np.flatnonzero([label not in negative for label in split.labels])
    negatives = np.flatnonzero([label in negative for label in split.labels])
    batch = architecture.collate(split, np.concatenate([positives[:2], negatives[:10]]))
    counting = _Counting(architecture.model)
    training_loss(architecture, counting, batch, None).backward()
    assert counting.rows == {"identify": [2 + 6], "classify": [2]}  # 3:1 negatives; step 2 positives only

    counting.rows = {"identify": [], "classify": []}
    counting.eval()
    with torch.no_grad():
        decided = architecture.logits(counting, batch).argmax(1)
        says_relation = architecture.model(batch, "identify").argmax(1) == 1
    assert counting.rows["classify"] == ([int(says_relation.sum())] if says_relation.any() else [])
    assert all((int(d) in negative) != bool(r) for d, r in zip(decided, says_relation, strict=True))


def test_two_step_refusals_name_the_problem(tiny_bert: str, artifacts: Path) -> None:
    base = {"architecture": "two-step", "encoder": tiny_bert}
    # Refused as the config is read (which settings a trial reads depends on the inner one).
    with pytest.raises(ValueError, match="cannot wrap itself"):
        TrialSpec.from_config({**base, "two_step_inner": "two-step"})
    with pytest.raises(KeyError, match="bert-seqcls"):  # the unknown name, with the valid ones
        TrialSpec.from_config({**base, "two_step_inner": "bert-seq"})
    spec, context = context_for(tiny_bert, artifacts, architecture="two-step")
    no_negative = LabelSpace.build(["a", "b"])
    with pytest.raises(ValueError, match="needs a negative"):
        ARCHITECTURES.get("two-step")(spec, no_negative).prepare(context)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("cnn_windows", "2,x", "cnn_windows"),
        ("cnn_windows", "", "cnn_windows"),
        ("redn_threshold", 1.5, "redn_threshold"),
        ("ranking_scale", 0.0, "ranking_scale"),
        ("two_step_negative_ratio", -1.0, "two_step_negative_ratio"),
    ],
)
def test_bad_architecture_settings_fail_by_name(key: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrialSpec.from_config({key: value})


def test_two_step_over_two_phase_shares_one_joined_phase1_artifact(
    tiny_bert: str, tiny_corpora: tuple[str, str], artifacts: Path
) -> None:
    from trainables.artifacts import builds
    from trainables.trial import run_trial

    spec = TrialSpec.from_config(
        tiny_trial(
            tiny_bert,
            tiny_corpora,
            architecture="two-step",
            two_step_inner="two-phase",
            phase1_model="seqcls",
            phase1_finetune="joined",  # needs the OOD data although the strategy is baseline
            max_epochs=2,
            phase1_max_epochs=1,
        )
    )
    reports: list[dict[str, Any]] = []
    result = run_trial(spec, report=lambda m, _: reports.append(m), artifacts=artifacts)
    assert result.epochs_done == 2 and 0.0 <= reports[-1]["dev_f1_weighted"] <= 1.0
    assert len(builds(artifacts)) == 1  # both steps read the classifier's phase-1 features
