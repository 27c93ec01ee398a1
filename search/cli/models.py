"""``resweep train|predict|report``: from the answer to a model, and the report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import api
from ..sizes import size_text
from ._common import parse_size, quiet_transformers

if TYPE_CHECKING:
    from ..models.train import Recipe


def cmd_train(args: argparse.Namespace) -> int:
    """Train the recommended (or the K-th, or a given) recipe on the whole pool; write a model folder."""
    quiet_transformers()

    def announce(recipe: Recipe) -> None:
        print(f"recipe: {recipe.evidence.get('label', 'the given config')} ({recipe.how})", flush=True)
        floor = recipe.evidence.get("floor")
        if recipe.evidence.get("below_floor") and floor:
            print(
                f"resweep: warning: this recipe ({recipe.evidence['mean']:.4f}) scores below the floor "
                f"{floor['label']} ({floor['mean']:.4f}) at size "
                f"{size_text(recipe.evidence['source_size'])}; "
                "--floor trains the floor instead",
                file=sys.stderr,
            )

    def report(metrics: dict[str, Any], checkpoint: Path | None) -> None:
        if args.quiet:
            return
        shown = [f"epoch {metrics['epochs_done']} ({metrics['stage']})", f"loss {metrics['train_loss']:.4f}"]
        for key in ("dev_f1_weighted", "test_f1_weighted"):
            if key in metrics:
                shown.append(f"{key} {metrics[key]:.4f}")
        print("  " + ", ".join(shown), file=sys.stderr, flush=True)

    trained = api.train(
        args.name,
        out=args.out,
        storage=args.storage,
        size=None if args.size is None else parse_size(args.size, "--size"),
        rank=args.rank,
        config=args.config,
        floor=args.floor,
        seed=args.seed,
        pool=args.pool,
        device=args.device,
        overwrite=args.overwrite,
        threads=args.threads,
        tracking=args.tracking,
        on_recipe=announce,
        report=report,
    )
    data = trained.data
    print(
        f"trained on {data['train']:,} in-domain sentences"
        + (f" and {data['ood_train']:,} out-of-domain" if data["ood_train"] else "")
        + f"; selected epoch {trained.result.best.get('selected_epoch')} of {trained.result.epochs_done}"
    )
    for split in ("dev", "test"):
        values = trained.scores.get(split)
        if values:
            shown = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
            print(f"{split} ({data[split]:,} sentences): {shown}")
    print(trained.comparison())
    print(f"model folder: {trained.folder} (MODEL_CARD.md inside; `resweep predict {trained.folder} FILE`)")
    for made in trained.registered:
        print(f"registered: {made}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict a file's sentences with a model folder."""
    from ..models.predict import output_bytes, summary_lines

    quiet_transformers()
    summary = api.predict(
        args.model,
        args.input,
        format=args.format,
        out=args.out,
        out_format=args.out_format,
        batch_size=args.batch_size,
        top_k=args.top_k,
        progress=None if args.progress is None else args.progress == "on",
        device=args.device,
        threads=args.threads,
    )
    if args.out is None:
        kind = args.out_format or "jsonl"
        sys.stdout.buffer.write(output_bytes(summary.predictions, kind, args.top_k))
        sys.stdout.flush()
    for line in summary_lines(summary):
        print(line if not line.startswith("warning: ") else f"resweep: {line}", file=sys.stderr)
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    files = api.report(
        args.name,
        table=args.from_table,
        storage=args.storage,
        out=args.out,
        metric=args.metric,
        epsilon=args.epsilon,
        margin=args.margin,
        confidence=args.confidence,
        top=args.top,
        target=args.target,
        pool=args.pool,
    )
    print(f"wrote {files.markdown}, {files.html} and {len(files.images)} plots")
    return 0
