"""``resweep trial`` and ``resweep demo``: one trial, or the demo sweep."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trainables.data.datasets import load_dataset
from trainables.data.summary import summarise
from trainables.report_keys import EPOCHS_DONE, EXAMPLES_PER_SECOND, SPLITS, score_key

from ._common import UserError
from .data import print_regimes, print_summary, regime_rows


def cmd_demo(args: argparse.Namespace) -> int:
    """A tour of the built-in synthetic corpus and its data regimes (no training; `make demo` sweeps)."""
    for name in ("synthetic", "synthetic_ood"):
        dataset = load_dataset(name)
        print_summary(dataset, summarise(dataset))
        print()
    print("Data regimes (seed 0): nested, stratified subsets of the in-domain train set")
    in_domain, ood = load_dataset("synthetic"), load_dataset("synthetic_ood")
    print_regimes(regime_rows(in_domain, ood, [0.1, 0.5, 1.0], [10.0, 50.0, 100.0], 10.0, 0))
    return 0


def _trial_config(pairs: Sequence[str]) -> dict[str, Any]:
    """KEY=VALUE pairs; values are YAML scalars (``0.1``, ``3000``, ``true``, ``minilm``)."""
    import yaml

    config: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"expected KEY=VALUE, got {pair!r}")
        try:  # numbers first: YAML 1.1 reads "2e-4" as a string
            config[key] = int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            try:
                config[key] = yaml.safe_load(value)
            except yaml.YAMLError as err:
                problem = getattr(err, "problem", None) or "not a YAML value"
                raise UserError(
                    f"{key}={value}: {problem} (values are YAML: 0.1, true, {{max_ratio: 3}})"
                ) from None
    return config


def cmd_trial(args: argparse.Namespace) -> int:
    """Run one trial in this process (no Ray): print each epoch, write the result as JSON."""
    import time

    from cluster.threads import limit_threads
    from trainables.config import TrialSpec
    from trainables.trial import run_trial

    from ..outputs import check_output, data_reads

    limit_threads(args.threads)
    spec = TrialSpec.from_config(_trial_config(args.settings))
    artifacts = args.artifacts  # a folder, or an object-store URI a sweep's trials share
    # Before any work: the outputs must not write over the trial's data, encoder or checkpoints.
    reads = [
        *data_reads(spec.to_config()),
        ("the --resume checkpoint", args.resume),
        ("the --artifacts folder", artifacts),
    ]
    if args.checkpoints:
        check_output(args.checkpoints, "--checkpoints", reads=reads, kind="folder")
    if args.out:
        check_output(args.out, "--out", reads=[*reads, ("the --checkpoints folder", args.checkpoints)])
    scores = [score_key(split, spec.loop.selection_metric) for split in SPLITS]
    columns = [
        "epoch",
        "stage",
        "train_loss",
        *scores,
        "examples/s",
        "elapsed_s",
    ]
    print("  ".join(f"{c:>14}" for c in columns))
    started = time.perf_counter()

    def report(metrics: dict[str, Any], checkpoint: Path | None) -> None:
        row = [
            metrics[EPOCHS_DONE],
            metrics["stage"],
            f"{metrics['train_loss']:.4f}",
            *(
                f"{metrics[key]:.4f}" if key in metrics else "-"  # test skipped (test_every_epoch off)
                for key in scores
            ),
            f"{metrics[EXAMPLES_PER_SECOND]:.1f}",
            f"{metrics['elapsed_seconds']:.1f}",
        ]
        print("  ".join(f"{c!s:>14}" for c in row), flush=True)

    result = run_trial(
        spec,
        report=report,
        artifacts=artifacts,
        checkpoint_root=Path(args.checkpoints) if args.checkpoints else None,
        resume_from=Path(args.resume) if args.resume else None,
    )
    wall = time.perf_counter() - started
    summary = {
        "config": spec.to_config(),
        "key": spec.key(),
        "wall_seconds": wall,
        "selected": result.best,
        "history": result.history,
    }
    print(
        f"selected epoch {result.best.get('selected_epoch')}: "
        + ", ".join(
            f"{k} {v:.4f}"
            for k, v in result.best.items()
            if k.startswith(("dev_", "test_")) and "micro" not in k
        )
        + f"; wall {wall:.1f} s"
    )
    if args.out:
        from cluster.storage import Location

        Location.parse(args.out).write_text(json.dumps(summary, indent=1, default=str))
    return 0
