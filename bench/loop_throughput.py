"""Benchmark: resweep's training loop against a bare PyTorch loop, and the cost of a phase-2 trial.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/loop_throughput.py [--in-domain PATH_OR_NAME] [--size 0.1]
        [--encoder minilm] [--smoke]

1. Training examples/second of :func:`trainables.loop.fit` versus a minimal loop (forward,
   cross-entropy, backward, AdamW step) on the same model (encoder ``minilm``), the same
   initial weights and the same batches. Goal: ours >= 90% of bare.
2. Wall time of a ``two-phase`` trial whose phase-1 artifact is already cached versus a full
   ``bert-seqcls`` trial on the same regime. Goal: <= 5%.

Prints one line per measurement and the ratios. Defaults: SemEval-2010 Task 8 from ../shared when
present (else the synthetic corpus), 10% of it, 1 epoch for the throughput comparison.
``--smoke``: a tiny random BERT built in a temporary folder, 3% of the synthetic corpus, 1 epoch
everywhere: checks that the script runs, downloads nothing (its ratios are noise).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import torch

from trainables.architectures.bert_seqcls import BertSeqCls
from trainables.config import TrialSpec
from trainables.data.datasets import load_dataset
from trainables.data.regimes import sample_regime
from trainables.loop import Stage, _batches, fit
from trainables.trial import build_label_space, run_trial

SHARED_SEMEVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2010_task8"


def bare_loop(task: BertSeqCls, split: Any, batches: list[np.ndarray], lr: float) -> float:
    """Examples/second of the plainest correct loop on the same model and batches."""
    model = task.model
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    seen = 0
    start = time.perf_counter()
    for indices in batches:
        batch = task.collate(split, indices)
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        loss = torch.nn.functional.cross_entropy(logits, batch["labels"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(indices)
    return seen / (time.perf_counter() - start)


def throughput(spec: TrialSpec) -> tuple[float, float]:
    in_domain = load_dataset(spec.data.in_domain)
    data = sample_regime(in_domain, spec.data.regime)
    space = build_label_space(spec, in_domain, None)
    task = BertSeqCls(spec, space)
    train = task.encode(data.train)
    dev = task.encode(data.dev.slice(0, 32))  # fit evaluates each epoch; keep that out of the way
    config = spec.loop
    batches = _batches(
        train.lengths, np.arange(len(train)), config, np.random.default_rng([spec.data.seed, 0, 0])
    )

    torch.manual_seed(0)
    task.build_model()
    initial = {k: v.clone() for k, v in task.model.state_dict().items()}
    bare = bare_loop(task, train, batches, config.learning_rate)

    task.model.load_state_dict(initial)
    reports: list[dict[str, Any]] = []
    fit(
        task,
        [Stage("train", train)],
        dev,
        None,
        config,
        evaluate=lambda name, scores, split: {"f1_weighted": 0.0},
        report=lambda metrics, checkpoint: reports.append(metrics),
        seed=spec.data.seed,
        n_classes=len(space),
    )
    return bare, reports[0]["examples_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = str(SHARED_SEMEVAL) if SHARED_SEMEVAL.is_dir() else "synthetic"
    parser.add_argument("--in-domain", default=default)
    parser.add_argument("--ood", default="synthetic_ood")
    parser.add_argument("--size", type=float, default=0.1)
    parser.add_argument("--bert-epochs", type=int, default=3, help="epochs of the full bert-seqcls trial")
    parser.add_argument(
        "--phase2-epochs", type=int, default=60, help="most epochs of the two-phase trial's MLP"
    )
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--encoder", default="minilm", help="an encoder name or a model folder")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny random BERT, 3%% of the synthetic corpus: check it runs"
    )
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with ExitStack() as stack:
        if args.smoke:
            from trainables.testing import build_tiny_bert

            tiny = build_tiny_bert(Path(stack.enter_context(tempfile.TemporaryDirectory())) / "tiny-bert")
            args.in_domain, args.size, args.encoder = "synthetic", 0.03, str(tiny)
            args.bert_epochs = args.phase2_epochs = 1
        measure(args)


def measure(args: argparse.Namespace) -> None:
    base = {
        "in_domain": args.in_domain,
        "in_domain_size": args.size,
        "encoder": args.encoder,
        "max_length": 96,
    }
    print(f"in-domain {args.in_domain} at {args.size:g}; torch threads {torch.get_num_threads()}")

    if not args.skip_throughput:
        spec = TrialSpec.from_config({**base, "max_epochs": 1, "learning_rate": 5e-5, "batch_size": 16})
        bare, ours = throughput(spec)
        print(f"train examples/s: bare loop {bare:.1f}, resweep loop {ours:.1f}; ours/bare {ours / bare:.1%}")

    with tempfile.TemporaryDirectory() as scratch:
        artifacts = Path(scratch)
        two_phase = TrialSpec.from_config(
            {
                **base,
                "architecture": "two-phase",
                "phase1_model": "seqcls",
                "phase1_finetune": "separate",
                "phase1_max_epochs": args.bert_epochs,
                "phase1_learning_rate": 2e-4,
                "learning_rate": 1e-3,
                "max_epochs": args.phase2_epochs,
                "patience": 8,
                "batch_size": 32,
            }
        )
        start = time.perf_counter()
        run_trial(two_phase, report=lambda m, c: None, artifacts=artifacts)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        run_trial(two_phase, report=lambda m, c: None, artifacts=artifacts)
        phase2 = time.perf_counter() - start
        bert = TrialSpec.from_config(
            {**base, "max_epochs": args.bert_epochs, "learning_rate": 2e-4, "patience": args.bert_epochs}
        )
        start = time.perf_counter()
        run_trial(bert, report=lambda m, c: None, artifacts=artifacts)
        full = time.perf_counter() - start
    print(f"two-phase trial computing its artifact: {cold:.1f} s")
    print(
        f"two-phase trial, artifact cached: {phase2:.1f} s; "
        f"full bert-seqcls trial ({args.bert_epochs} epochs): {full:.1f} s; "
        f"phase-2/full = {phase2 / full:.1%}"
    )


if __name__ == "__main__":
    main()
