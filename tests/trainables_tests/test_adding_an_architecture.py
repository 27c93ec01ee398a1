"""Adding an architecture is one module plus one registry line: the small one below (a bag of
hashed words, averaged, then a linear layer) is defined here, in a test module, with its own
settings, search dimensions and a rule, and registered by one line; no shared file knows it.
It then parses with its typed settings, sweeps in the ``full`` space (and inside ``two-step``),
and trains as a trial."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import optuna
import pyarrow as pa
import pytest
import torch

from spaces import SPACES
from trainables.architectures import ARCHITECTURES, BaseArchitecture
from trainables.config import TrialSpec
from trainables.errors import ResweepError
from trainables.loop import EncodedSplit
from trainables.trial import run_trial

VOCABULARY = 4096


@dataclass(frozen=True)
class BagSettings:
    bag_width: int = 32  # the width of a word's embedding

    def __post_init__(self) -> None:
        if self.bag_width < 1:
            raise ResweepError(f"bag_width must be >= 1, got {self.bag_width}")


class _Bag(torch.nn.Module):
    def __init__(self, width: int, n_classes: int):
        super().__init__()
        self.words = torch.nn.EmbeddingBag(VOCABULARY, width, mode="mean")
        self.out = torch.nn.Linear(width, n_classes)

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.out(self.words(ids, offsets))


class WordBag(BaseArchitecture):
    """Hashed words and the marked pair's words, averaged, then a linear layer."""

    settings_class: ClassVar[type] = BagSettings
    name = "word-bag"
    refused_imbalance = ("negative_sampling",)  # a rule: the full space never proposes it here
    description = "a bag of hashed words"

    @classmethod
    def search_dimensions(cls, trial: Any, prefix: str = "") -> dict[str, Any]:
        return {
            "learning_rate": trial.suggest_float(f"{prefix}{cls.name}.learning_rate", 1e-2, 1e-1, log=True),
            "bag_width": trial.suggest_categorical(f"{prefix}bag_width", [16, 32]),
        }

    @classmethod
    def encoder_models(cls, spec: TrialSpec) -> int:
        return 0

    def encode(self, table: pa.Table, *, ood: bool = False) -> EncodedSplit:
        inputs = []
        for record in self._records(table):
            head = record.tokens[record.head_start : record.head_end]
            tail = record.tokens[record.tail_start : record.tail_end]
            words = [*record.tokens, *(f"H:{w}" for w in head), *(f"T:{w}" for w in tail)]
            inputs.append([zlib.crc32(w.encode()) % VOCABULARY for w in words])
        return EncodedSplit(inputs, self._labels(table, ood), np.array([len(i) for i in inputs]))

    def build_model(self) -> torch.nn.Module:
        self.model = _Bag(self.settings(self.spec).bag_width, len(self.label_space))
        return self.model

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        rows = [split.inputs[i] for i in indices]
        offsets = np.cumsum([0] + [len(r) for r in rows[:-1]])
        return {
            "ids": torch.tensor([i for r in rows for i in r]),
            "offsets": torch.tensor(offsets),
            "labels": torch.from_numpy(split.labels[indices]),
        }

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(batch["ids"], batch["offsets"])


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> type[WordBag]:
    monkeypatch.setattr(ARCHITECTURES, "_entries", dict(ARCHITECTURES._entries))  # undone after the test
    ARCHITECTURES.register("word-bag", WordBag)  # the one line a new architecture adds
    return WordBag


def test_its_settings_are_typed_validated_and_leave_other_keys_alone(registered: type[WordBag]) -> None:
    before = TrialSpec.from_config({"architecture": "two-phase", "learning_rate": 1e-3, "ood_pct": 10})
    assert before.key() == "31c9dcc05c83c69c"  # the pinned key of test_config: unchanged by a new setting
    spec = TrialSpec.from_config({"architecture": "word-bag", "bag_width": 16})
    assert registered.settings(spec) == BagSettings(bag_width=16)
    assert spec.to_config()["bag_width"] == 16 and "phase1_model" not in spec.to_config()
    assert TrialSpec.from_config(spec.to_config()) == spec
    assert (
        TrialSpec.from_config({"architecture": "word-bag", "bag_width": 32}).key()
        == TrialSpec.from_config({"architecture": "word-bag"}).key()
    )  # its default spelled out names the same trial
    with pytest.raises(ResweepError, match="bag_width must be >= 1, got 0"):
        TrialSpec.from_config({"architecture": "word-bag", "bag_width": 0})
    with pytest.raises(ResweepError, match=r"bag_width: expected int, got '8'"):
        TrialSpec.from_config({"architecture": "word-bag", "bag_width": "8"})
    # Another architecture's trial does not read it: the key is the one without it, but a bad
    # value is still an error.
    plain = TrialSpec.from_config({"architecture": "bert-seqcls"})
    assert TrialSpec.from_config({"architecture": "bert-seqcls", "bag_width": 8}).key() == plain.key()
    with pytest.raises(ResweepError, match="bag_width must be >= 1"):
        TrialSpec.from_config({"architecture": "bert-seqcls", "bag_width": -1})
    # Wrapped by two-step, its settings are read.
    wrapped = TrialSpec.from_config(
        {"architecture": "two-step", "two_step_inner": "word-bag", "bag_width": 8}
    )
    assert registered.settings(wrapped).bag_width == 8


def test_the_full_space_asks_its_own_dimensions_and_respects_its_rule(registered: type[WordBag]) -> None:
    space = SPACES.get("full")()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    own: list[dict[str, Any]] = []
    inside: list[dict[str, Any]] = []
    for _ in range(400):
        trial = study.ask()
        config = space.suggest(trial)
        study.tell(trial, 0.0)
        if config["architecture"] == "word-bag":
            own.append({"config": config, "params": trial.params})
        elif config.get("two_step_inner") == "word-bag":
            inside.append(trial.params)
    assert own and inside
    for seen in own:
        assert {"word-bag.learning_rate", "bag_width"} <= set(seen["params"])
        assert seen["config"]["bag_width"] in (16, 32)
        assert seen["config"]["imbalance"] != "negative_sampling"  # its refused technique
        assert "word-bag.imbalance" in seen["params"]  # a narrower choice list, under its own name
        TrialSpec.from_config(seen["config"])  # every proposal is a valid trial
    assert all({"two-step.word-bag.learning_rate", "two-step.bag_width"} <= set(p) for p in inside)


def test_it_trains_as_a_trial(registered: type[WordBag], artifacts: Any) -> None:
    spec = TrialSpec.from_config(
        {
            "architecture": "word-bag",
            "in_domain_size": 300,
            "bag_width": 32,
            "learning_rate": 0.05,
            "max_epochs": 4,
            "patience": 4,
            "test_every_epoch": False,
        }
    )
    result = run_trial(spec, report=lambda *_: None, artifacts=artifacts)
    assert result.epochs_done == 4
    losses = [epoch["train_loss"] for epoch in result.history]
    assert losses[-1] < losses[0]  # it learns
    # Better than predicting the majority class (no_relation, about 40% of the synthetic corpus).
    assert result.best["dev_accuracy"] > 0.5
