"""One trial, end to end, without Ray: data -> regime -> strategy stages -> architecture -> loop.

:func:`run_trial` is what both executors call (see :mod:`trainables.ray_adapter`): inline in a
Tune trial process, or inside each Ray Train worker. It reports every epoch through ``report``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .architectures import ARCHITECTURES, PrepareContext, concat_splits
from .config import TrialSpec
from .data.datasets import load_dataset
from .data.labels import LabelSpace
from .data.regimes import sample_regime
from .imbalance import make_imbalance
from .loop import EncodedSplit, FitResult, Stage, World, fit
from .metrics import compute_metrics
from .strategies import STRATEGIES

__all__ = ["build_label_space", "run_trial"]


def build_label_space(spec: TrialSpec, in_domain: Any, ood: Any) -> LabelSpace:
    """In-domain labels, plus the OOD ones when the strategy trains on OOD data."""
    negative = set(in_domain.negative_labels) | (set(ood.negative_labels) if ood is not None else set())
    return LabelSpace.build(
        in_domain.labels,
        ood.labels if ood is not None else (),
        negative=negative,
        mapping=spec.data.label_mapping,
    )


def run_trial(
    spec: TrialSpec,
    *,
    report: Callable[[dict[str, Any], Path | None], None],
    artifacts: Path,
    resume_from: Path | None = None,
    checkpoint_root: Path | None = None,
    world: World | None = None,
) -> FitResult:
    """Train and evaluate ``spec``; ``artifacts`` is where shared phase-1 artifacts live."""
    world = world or World()
    strategy = STRATEGIES.get(spec.strategy)  # unknown names and misfits fail before any data is read
    strategy.check(spec.data.regime)
    architecture_class = ARCHITECTURES.get(spec.model.architecture)
    imbalance = make_imbalance(spec.imbalance, **dict(spec.imbalance_params))

    in_domain = load_dataset(spec.data.in_domain, root=spec.data.in_domain_root)
    ood = None
    model = spec.model
    joined_phase1 = (
        model.architecture == "two-phase"
        and model.phase1_finetune == "joined"
        and model.phase1_model != "none"
    )
    if strategy.uses_ood or joined_phase1:
        if spec.data.ood is None:
            needs = f"strategy {spec.strategy!r}" if strategy.uses_ood else "phase1_finetune 'joined'"
            raise ValueError(f"{needs} needs an out-of-domain dataset (`ood`)")
        ood = load_dataset(spec.data.ood, root=spec.data.ood_root)
    data = sample_regime(in_domain, spec.data.regime, ood if strategy.uses_ood else None)
    plan = strategy.plan(data)
    label_space = build_label_space(spec, in_domain, ood if strategy.uses_ood else None)

    architecture = architecture_class(spec, label_space)
    architecture.prepare(PrepareContext(spec, data, in_domain, ood, Path(artifacts), world.device))
    stages = [
        Stage(
            step.name,
            concat_splits([architecture.encode(table, ood=is_ood) for table, is_ood in step.parts]),
            imbalance,
        )
        for step in plan
    ]
    dev, test = architecture.encode(data.dev), architecture.encode(data.test)
    torch.manual_seed(spec.data.seed)  # the head's initial weights
    architecture.build_model()

    labels = label_space.labels
    negative = label_space.negative

    def evaluate(_: str, scores: np.ndarray, split: EncodedSplit) -> dict[str, float]:
        # In-domain evaluation: OOD-only labels are masked out of the predictions.
        predicted = [labels[i] for i in label_space.predict_in_domain(scores)]
        gold = [labels[i] for i in split.labels]
        return compute_metrics(gold, predicted, negative_labels=negative)

    return fit(
        architecture,
        stages,
        dev,
        test,
        spec.loop,
        evaluate=evaluate,
        report=report,
        seed=spec.data.seed,
        n_classes=len(label_space),
        negative_ids=label_space.negative_ids,
        world=world,
        resume_from=resume_from,
        checkpoint_root=checkpoint_root,
    )
