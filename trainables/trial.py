"""One trial, end to end, without Ray: data -> regime -> strategy stages -> architecture -> loop.

:func:`run_trial` is what both executors call (see :mod:`trainables.ray_adapter`): inline in a
Tune trial process, or inside each Ray Train worker. It reports every epoch through ``report``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .architectures import ARCHITECTURES, BaseArchitecture, PrepareContext, concat_splits
from .config import TrialSpec
from .data.datasets import RelationDataset, load_dataset
from .data.labels import LabelSpace, label_space_of
from .data.overlap import without_shared
from .data.regimes import RegimeData, holdout, require_splits, sample_regime
from .errors import ResweepError
from .imbalance import make_imbalance
from .loop import EncodedSplit, Evaluate, FitResult, Stage, World, fit
from .metrics import compute_metrics
from .strategies import STRATEGIES

__all__ = ["PreparedTrial", "build_label_space", "prepare_trial", "run_trial"]


def build_label_space(spec: TrialSpec, in_domain: Any, ood: Any) -> LabelSpace:
    """In-domain labels, plus the OOD ones when the strategy trains on OOD data."""
    return label_space_of(in_domain, ood, spec.data.label_mapping)


@dataclass
class PreparedTrial:
    """A trial up to its first epoch: the architecture (model built), its stages, dev and test."""

    spec: TrialSpec
    architecture: BaseArchitecture
    label_space: LabelSpace
    data: RegimeData
    stages: list[Stage]
    dev: EncodedSplit
    test: EncodedSplit
    evaluate: Evaluate  # in-domain scoring: OOD-only labels masked out of the predictions
    in_domain: RelationDataset
    ood: RelationDataset | None  # loaded when the strategy or phase 1 reads it

    def fit(
        self,
        *,
        report: Callable[[dict[str, Any], Path | None], None],
        resume_from: Path | None = None,
        checkpoint_root: Path | None = None,
        world: World | None = None,
    ) -> FitResult:
        """Train through the stages (see :func:`trainables.loop.fit`)."""
        return fit(
            self.architecture,
            self.stages,
            self.dev,
            self.test,
            self.spec.loop,
            evaluate=self.evaluate,
            report=report,
            seed=self.spec.data.seed,
            n_classes=len(self.label_space),
            negative_ids=self.label_space.negative_ids,
            world=world,
            resume_from=resume_from,
            checkpoint_root=checkpoint_root,
        )


def prepare_trial(
    spec: TrialSpec, *, artifacts: str | Path, world: World | None = None, keep_encoder: bool = False
) -> PreparedTrial:
    """Read the data, sample the regime, prepare the architecture and build its model.

    ``keep_encoder``: phase-1 artifacts keep the encoder that made their features (a model folder
    needs it to featurise new sentences; see :mod:`trainables.model_folder`)."""
    world = world or World()
    strategy = STRATEGIES.get(spec.strategy)  # unknown names and misfits fail before any data is read
    strategy.check(spec.data.regime)
    architecture_class = ARCHITECTURES.get(spec.model.architecture)
    architecture_class.check(spec)  # unsupported combinations, named, before any data is read
    imbalance = make_imbalance(spec.imbalance, **dict(spec.imbalance_params))

    in_domain = load_dataset(
        spec.data.in_domain, format=spec.data.in_domain_format, root=spec.data.in_domain_root
    )
    ood = None
    # Who needs the OOD dataset: the strategy, or the architecture's own rules.
    reason = f"strategy {spec.strategy!r}" if strategy.uses_ood else architecture_class.ood_reason(spec)
    if reason is not None:
        if spec.data.ood is None:
            raise ResweepError(f"{reason} needs an out-of-domain dataset (`ood`)")
        ood = load_dataset(spec.data.ood, format=spec.data.ood_format, root=spec.data.ood_root)
    elif spec.data.ood is not None and architecture_class.reads_ood(spec):
        ood = load_dataset(spec.data.ood, format=spec.data.ood_format, root=spec.data.ood_root)
    if ood is not None:  # no in-domain record trains as an OOD one (a sweep says how many once)
        ood, _ = without_shared(in_domain, ood)
    data = sample_regime(in_domain, spec.data.regime, ood if strategy.uses_ood else None)
    require_splits(data, in_domain.source, in_domain["train"].num_rows)
    plan = strategy.plan(data)
    label_space = build_label_space(spec, in_domain, ood if strategy.uses_ood else None)

    architecture = architecture_class(spec, label_space)
    architecture.prepare(PrepareContext(spec, data, in_domain, ood, artifacts, world.device, keep_encoder))
    labels = label_space.labels
    negative = label_space.negative

    def scorer(in_domain_only: bool) -> Evaluate:
        def evaluate(_: str, scores: np.ndarray, split: EncodedSplit) -> dict[str, float]:
            # In-domain evaluation masks OOD-only labels out of the predictions.
            ids = label_space.predict_in_domain(scores) if in_domain_only else scores.argmax(axis=1)
            gold = [labels[i] for i in split.labels]
            return compute_metrics(gold, [labels[i] for i in ids], negative_labels=negative)

        return evaluate

    stages = []
    for step in plan:
        parts = list(step.parts)
        own_dev = None
        if all(is_ood for _, is_ood in parts):  # `global` pre-training: one OOD part
            # OOD-only pre-training: in-domain dev cannot judge it (its labels may be disjoint), so
            # it stops early on a stratified 10% held out of its own data, scored over all labels.
            train_part, dev_part = holdout(parts[0][0], 0.1, spec.data.seed)
            parts = [(train_part, True)]
            own_dev = architecture.encode(dev_part, ood=True)
        train = concat_splits([architecture.encode(table, ood=is_ood) for table, is_ood in parts])
        stages.append(
            Stage(
                step.name,
                train,
                imbalance,
                own_dev,
                scorer(in_domain_only=False) if own_dev is not None else None,
            )
        )
    dev, test = architecture.encode(data.dev), architecture.encode(data.test)
    torch.manual_seed(spec.data.seed)  # the head's initial weights
    architecture.build_model()

    return PreparedTrial(
        spec, architecture, label_space, data, stages, dev, test, scorer(in_domain_only=True), in_domain, ood
    )


def run_trial(
    spec: TrialSpec,
    *,
    report: Callable[[dict[str, Any], Path | None], None],
    artifacts: str | Path,
    resume_from: Path | None = None,
    checkpoint_root: Path | None = None,
    world: World | None = None,
) -> FitResult:
    """Train and evaluate ``spec``; ``artifacts`` is where shared phase-1 artifacts live."""
    world = world or World()
    prepared = prepare_trial(spec, artifacts=artifacts, world=world)
    return prepared.fit(report=report, resume_from=resume_from, checkpoint_root=checkpoint_root, world=world)
