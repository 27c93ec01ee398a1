"""What a sweep will cost, before it runs (``resweep sweep CONFIG --dry-run``).

The plan per size: trials (search, then the confirmation runs of its top configurations with the
other seeds), the distinct phase-1 artifacts they need (each computed once and
shared), and the encoder work — sequences through the encoder for training and for inference —
as an upper bound (every trial runs its ``max_epochs``; early stopping and ASHA only cut it).
A grid is enumerated; a TPE or random search is estimated from as many configurations drawn at
random from the space as the budget allows (TPE proposes from the same space), at most
:data:`SAMPLED`: a larger budget scales their mean cost, so an estimate takes the same time
whatever the budget (its distinct phase-1 artifacts are those of the sample: a lower bound).

Hours are the encoder work at the throughput of a MiniLM-sized encoder measured on a 2-core
CPU (see ``bench/loop_throughput.py``), scaled by sequence length; a GPU is one to two orders of
magnitude faster. They size a sweep, they do not promise a time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from trainables.architectures import ARCHITECTURES

from ..config import SweepConfig
from ..plan import SweepPlan, trial_config, trial_spec

__all__ = ["SizeEstimate", "estimate_sweep", "phase1_signature"]

# Sequences per second of a MiniLM-sized encoder (6 layers, hidden 384) on a 2-core CPU at
# length 64: training step (fwd + bwd + AdamW), inference. Longer sequences cost proportionally.
TRAIN_PER_S = 30.0
INFER_PER_S = 150.0
REFERENCE_LENGTH = 64
SAMPLED = 200  # configurations drawn per size at most; a larger budget scales their mean cost
# A trial's fixed cost on Ray, whatever it computes (starting, reporting, checkpointing, ending):
# measured by bench/executor_overhead.py on the 2-core box, about 8 s inline and 15-20 s for a
# one-worker Ray Train job (STACK.md: Train V2's own is 12-15 s). The demo's ~70 trials of seconds
# of compute took 0.21 trial hours: this, not encoder work, is most of a small sweep's cost.
TRIAL_OVERHEAD_S = {"inline": 8.0, "train": 15.0}


@dataclass
class SizeEstimate:
    size: float | int
    trials: int
    phase1_artifacts: int
    train_sequences: int  # sequence passes with a backward pass (fine-tuning, phase-1 training)
    infer_sequences: int  # forward-only passes (dev/test each epoch, phase-1 featurising)
    cpu_hours: float  # encoder work (an upper bound: every trial runs max_epochs)
    overhead_hours: float = 0.0  # the trials' fixed cost on Ray (TRIAL_OVERHEAD_S each)


def phase1_signature(config: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """What tells two trials' phase-1 artifacts apart, from the configuration alone
    (:func:`trainables.phase1.artifact_signature`, beside the artifact's key); None without phase 1."""
    from trainables.phase1 import artifact_signature

    spec = trial_spec(config)
    return artifact_signature(spec) if spec.model.uses_phase1 else None


def sample_configs(config: SweepConfig, plan: SweepPlan, key: str) -> list[dict[str, Any]]:
    """The configurations a size would run: its grid, or ``budget`` draws from the space (at
    most :data:`SAMPLED`: they stand for the whole budget, see :func:`estimate_sweep`)."""
    from spaces import random_draws

    if plan.grids is not None:
        proposals: Sequence[Mapping[str, Any]] = [
            g for slot, (size_key, _) in plan.slots.items() if size_key == key for g in plan.grids[slot]
        ]
    else:
        proposals = random_draws(
            config.search.space, min(plan.budgets[key], SAMPLED), seed=config.data.seeds[0]
        )
    return [trial_config(p, plan.contexts[key]) for p in proposals]


def estimate_sweep(config: SweepConfig, plan: SweepPlan) -> list[SizeEstimate]:
    """Per size: trials, distinct phase-1 artifacts (new to that size) and encoder work."""
    from trainables.data import load_dataset, sample_regime

    data = config.data
    in_domain = load_dataset(data.in_domain, format=data.in_domain_format, root=data.in_domain_root)
    ood = load_dataset(data.ood, format=data.ood_format, root=data.ood_root) if data.ood else None

    @functools.cache
    def counts(regime: Any, uses_ood: bool) -> dict[str, int]:
        return sample_regime(in_domain, regime, ood if uses_ood else None).counts()

    in_domain_all = sum(t.num_rows for t in in_domain.splits.values())
    ood_all = ood["train"].num_rows if ood is not None else 0
    seen: set[tuple[Any, ...]] = set()
    estimates = []
    for key, size in plan.sizes.items():
        train = infer = artifacts = 0
        hours = 0.0
        searched = sample_configs(config, plan, key)
        # Each drawn configuration stands for this many of the budget's (1 unless it is sampled).
        weight = plan.budgets[key] / len(searched) if plan.grids is None and searched else 1.0
        # Confirmation runs: the top configurations again with each other seed (which ones are
        # top is known only then; any of the same kind costs the same).
        confirming = [
            {**c, "seed": seed}
            for c in searched[: plan.top_k * len(plan.cells)]
            for seed in plan.confirm_seeds
        ]
        for number, trial in enumerate(searched + confirming):
            times = weight if number < len(searched) else 1.0
            spec = trial_spec(trial)
            model = spec.model
            n = counts(spec.data.regime, spec.data.ood_pct > 0)
            stage_records = n["train"] + n["ood_train"] + n["local_pretrain"]
            trial_train = trial_infer = 0
            if model.uses_phase1:
                times = 1.0  # its cost is the artifact's, paid once, not per trial
                signature = phase1_signature(trial)
                assert signature is not None  # two-phase always has one
                if signature not in seen:  # computed once for the whole sweep
                    seen.add(signature)
                    artifacts += 1
                    phase1 = model.settings_of("two-phase")
                    joined = phase1.phase1_finetune == "joined"
                    if phase1.phase1_model == "seqcls":  # learns from the trial's own subsets
                        trial_infer += n["train"] + n["dev"] + n["test"] + ood_all
                        learned = n["train"] + (ood_all if joined else n["ood_train"])
                        trial_train += phase1.phase1_max_epochs * learned
                    else:
                        trial_infer += in_domain_all + ood_all
                        if phase1.phase1_model == "mlm":
                            learned = in_domain_all + (ood_all if joined else 0)
                            trial_train += phase1.phase1_max_epochs * learned
                # Phase 2 trains a small head on cached features: seconds, no encoder work.
            else:
                steps = ARCHITECTURES.get(model.architecture).encoder_models(spec)
                trial_train += steps * spec.loop.max_epochs * stage_records
                trial_infer += steps * spec.loop.max_epochs * (n["dev"] + n["test"])
            train += round(times * trial_train)
            infer += round(times * trial_infer)
            scale = model.max_length / REFERENCE_LENGTH
            hours += times * scale * (trial_train / TRAIN_PER_S + trial_infer / INFER_PER_S) / 3600
        # The floor (tfidf-linear, one run per seed) needs no encoder: seconds of CPU.
        searches = plan.budgets[key] if plan.grids is None else len(searched)
        trials = searches + len(confirming) + len(plan.floor_seeds)
        overhead = trials * TRIAL_OVERHEAD_S[config.resources.resolved_executor] / 3600
        estimates.append(SizeEstimate(size, trials, artifacts, train, infer, hours, overhead))
    return estimates
