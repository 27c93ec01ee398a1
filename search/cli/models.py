"""``resweep train|predict|report``: from the answer to a model, and the report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..sizes import size_text
from ._common import _quiet_transformers, _size, boards_of, need_source


def cmd_train(args: argparse.Namespace) -> int:
    """Train the recommended (or the K-th, or a given) recipe on the whole pool; write a model folder."""
    from cluster.threads import limit_threads

    from ..train import check_model_out, choose_recipe, train_model

    # Before any work: --out must not replace the sweep, its data, or what resweep did not write.
    check_model_out(args.name, args.out, storage=args.storage, overwrite=args.overwrite, config=args.config)
    limit_threads(args.threads)
    _quiet_transformers()
    size = None if args.size is None else _size(args.size, "--size")
    recipe = choose_recipe(
        args.name,
        storage=args.storage,
        size=size,
        rank=args.rank,
        config=args.config,
        seed=args.seed,
        pool=args.pool,
        floor=args.floor,
    )
    print(f"recipe: {recipe.evidence.get('label', 'the given config')} ({recipe.how})", flush=True)
    floor = recipe.evidence.get("floor")
    if recipe.evidence.get("below_floor") and floor:
        print(
            f"resweep: warning: this recipe ({recipe.evidence['mean']:.4f}) scores below the floor "
            f"{floor['label']} ({floor['mean']:.4f}) at size {size_text(recipe.evidence['source_size'])}; "
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

    trained = train_model(
        args.name,
        out=args.out,
        storage=args.storage,
        overwrite=args.overwrite,
        device=args.device,
        report=report,
        recipe=recipe,
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
    _track_model(args, trained)
    return 0


def _track_model(args: argparse.Namespace, trained: Any) -> None:
    """Hand the model folder to the sweep's trackers (``--tracking`` over its saved ones)."""
    from ..plan import load_saved_sweep
    from ..tracking import register_model, tracking_option

    tracking = load_saved_sweep(args.storage, args.name)[0].tracking
    if args.tracking is not None:
        tracking = tracking_option(args.tracking, tracking)
    if not tracking.on:
        return
    scores = {
        f"{split}_{k}": v for split, values in trained.scores.items() for k, v in (values or {}).items()
    }
    label = trained.recipe.evidence.get("label") or "the given config"
    for made in register_model(args.name, args.storage, trained.folder, label, scores, tracking):
        print(f"registered: {made}")


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict a file's sentences with a model folder."""
    from cluster.threads import limit_threads

    from ..predict import output_bytes, predict_file, summary_lines

    limit_threads(args.threads)
    _quiet_transformers()
    summary = predict_file(
        args.model,
        args.input,
        format=args.format,
        out=args.out,
        out_format=args.out_format,
        batch_size=args.batch_size,
        top_k=args.top_k,
        progress=None if args.progress is None else args.progress == "on",
        device=args.device,
    )
    if args.out is None:
        kind = args.out_format or "jsonl"
        sys.stdout.buffer.write(output_bytes(summary.predictions, kind, args.top_k))
        sys.stdout.flush()
    for line in summary_lines(summary):
        print(line if not line.startswith("warning: ") else f"resweep: {line}", file=sys.stderr)
    return 0


def _report_folder(args: argparse.Namespace) -> Path:
    """Where the report goes (``--out``, else beside the table or in the sweep's ``report/``),
    checked before any work (:func:`search.outputs.check_output`): never a sweep or storage
    folder, the table, or a model folder."""
    from ..outputs import check_output
    from ..plan import SweepPaths

    need_source(args)
    if args.from_table is not None:
        out = Path(args.out or Path(args.from_table).with_suffix("").name + "-report")
        check_output(out, "--out", reads=[("the --from-table file", args.from_table)], kind="folder")
        return out
    paths = SweepPaths.of(args.storage, args.name)
    # In an object store, the report goes to a local folder: it is read in a browser.
    local = paths.root.local
    own = None if local is None else local / "report"  # the report's own place in the sweep
    out = Path(args.out) if args.out else (own or Path(f"{args.name}-report"))
    reads = [
        (f"the folder of sweep {args.name!r}", paths.root),
        (f"the storage folder of sweep {args.name!r}", paths.storage),
    ]
    check_output(out, "--out", reads=reads, kind="folder", own=own)
    return out


def cmd_report(args: argparse.Namespace) -> int:
    from ..leaderboard import read_table
    from ..plan import load_saved_sweep
    from ..report import write_report

    out = _report_folder(args)
    boards = boards_of(args)
    if args.from_table is not None:
        rows, title = read_table(args.from_table), f"resweep report: {Path(args.from_table).name}"
    else:
        _, paths = load_saved_sweep(args.storage, args.name)
        rows, title = paths.results.read().to_pylist(), f"resweep report: sweep {args.name}"
    plan = None
    if args.target is not None:  # the annotation plan, from the same boards
        from .annotation import plan_of

        plan = plan_of(args)
    files = write_report(boards, rows, out, title=title, top=args.top, plan=plan)
    print(f"wrote {files.markdown}, {files.html} and {len(files.images)} plots")
    return 0
