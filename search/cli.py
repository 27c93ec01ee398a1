"""The ``resweep`` command line: a thin layer over the Python API.

User mistakes (bad data, unknown names, bad arguments) print one located line on stderr and exit
with status 1; usage errors exit with 2 (argparse).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import math
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from cluster.resources import ResourcesError
from cluster.storage import StorageError
from trainables.data.datasets import DATASETS, RelationDataset, fetch_dataset, load_dataset, validate_dataset
from trainables.data.formats import FORMATS
from trainables.data.regimes import Regime, sample_regime
from trainables.data.summary import summarise
from trainables.errors import ResweepError

__all__ = ["main"]


class UserError(ResweepError):
    """A mistake in what the user asked for; printed as one line, exit status 1."""


def _labels_file(value: str | None) -> frozenset[str] | None:
    """A label set: a JSON list or object (e.g. rel2id.json: its keys), or one label per line."""
    if value is None:
        return None
    path = Path(value)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"{path}: cannot read label file ({err.strerror})") from None
    if text.lstrip().startswith(("[", "{")):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as err:
            raise UserError(f"{path}:{err.lineno}: invalid JSON in label file: {err.msg}") from None
        return frozenset(str(label) for label in loaded)
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def _number_list(value: str, kind: type) -> list[Any]:
    try:
        return [kind(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"expected a comma-separated list of numbers, got {value!r}") from None


def _size(value: str) -> float | int:
    """'0.1' -> fraction 0.1, '3000' -> count 3000, '1.0' -> all."""
    try:
        size = int(value) if value.strip().isdigit() else float(value)
    except ValueError:
        size = None
    if size is None or not math.isfinite(size) or size <= 0 or (isinstance(size, float) and size > 1):
        raise UserError(
            f"in-domain size must be a fraction in (0, 1] like 0.1 or a count like 3000, got {value!r}"
        )
    return size


def _at_least(minimum: float, kind: type = float) -> Any:
    """An argparse type: a finite number of ``kind`` >= ``minimum``."""

    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not math.isfinite(number) or number < minimum:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what} >= {minimum:g}, got {value!r}")
        return number

    return parse


def _load(args: argparse.Namespace, name_or_path: str | None = None) -> RelationDataset:
    return load_dataset(
        name_or_path or args.dataset,
        format=getattr(args, "format", None),
        root=getattr(args, "root", None),
        split=getattr(args, "split", None),
        labels=_labels_file(getattr(args, "labels", None)),
        seed=getattr(args, "data_seed", 0),
    )


def _looks_numeric(cell: str) -> bool:
    return (
        cell.replace(",", "")
        .replace(".", "")
        .replace("%", "")
        .replace(":", "")
        .replace("/", "")
        .replace("-", "")
        .isdigit()
        or cell == "-"
    )


def _print_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    cells = [list(map(str, header))] + [
        [f"{c:,}" if isinstance(c, int) else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    # Numbers align right, text left.
    numeric = [i > 0 and all(_looks_numeric(row[i]) for row in cells[1:]) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if numeric[i] else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            print("  ".join("-" * w for w in widths).rstrip())


def _print_summary(dataset: RelationDataset, summary: dict[str, Any]) -> None:
    negatives = ", ".join(summary["negative_labels"]) or "none"
    print(f"{summary['name']}  ({summary['source']})")
    print(f"{summary['records']:,} records, {summary['labels']} labels, negative label(s): {negatives}\n")
    splits = summary["splits"]
    rows = []
    for split, info in splits.items():
        length = info["length"]
        rows.append(
            [
                split,
                info["records"],
                info["labels"],
                f"{info['imbalance_ratio']:g}:1",
                f"{100 * info['negative_share']:.1f}%",
                f"{length['p50']:.0f}/{length['p90']:.0f}/{length['p99']:.0f}/{length['max']}",
            ]
        )
    _print_table(rows, ["split", "records", "labels", "imbalance", "negative", "tokens p50/p90/p99/max"])
    print()
    labels = sorted(
        dataset.labels,
        key=lambda label: (-sum(s["label_counts"].get(label, 0) for s in splits.values()), label),
    )
    _print_table(
        [[label, *(s["label_counts"].get(label, 0) for s in splits.values())] for label in labels],
        ["label", *splits],
    )
    for split, problems in dataset.skipped.items():
        print(f"\nnote: {len(problems)} invalid record(s) of {split} skipped, e.g. {problems[0]}")
    for split in ("dev", "test"):
        if split not in splits and "train" in splits:
            print(f"note: no {split} split; trials carve a stratified one from train (see Regime)")


def cmd_data_info(args: argparse.Namespace) -> int:
    dataset = _load(args)
    summary = summarise(dataset)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        _print_summary(dataset, summary)
    return 0


def cmd_data_validate(args: argparse.Namespace) -> int:
    dataset, problems = validate_dataset(
        args.dataset, format=args.format, root=args.root, split=args.split, labels=_labels_file(args.labels)
    )
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    assert dataset is not None
    counts = ", ".join(f"{split} {table.num_rows:,}" for split, table in dataset.splits.items())
    print(f"OK: {dataset.name}: {len(dataset):,} records ({counts}), {len(dataset.labels)} labels")
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    folder = fetch_dataset(args.name, root=args.root, force=args.force)
    print(f"{args.name}: files verified in {folder}")
    return 0


def cmd_data_list(args: argparse.Namespace) -> int:
    rows = []
    for name in DATASETS:
        spec = DATASETS.get(name)
        rows.append([name, spec.format, spec.description])
    _print_table(rows, ["name", "format", "description"])
    return 0


def _regime_rows(
    in_domain: RelationDataset,
    ood: RelationDataset | None,
    sizes: Sequence[float | int],
    ood_pcts: Sequence[float],
    local_pct: float,
    seed: int,
) -> list[list[Any]]:
    """One table row per (size, OOD share): what the regime gives a trial."""
    rows = []
    for size in sizes:
        for ood_pct in ood_pcts if ood is not None else [0.0]:
            data = sample_regime(in_domain, Regime(size, ood_pct, local_pct, seed), ood)
            counts = data.counts()
            train_labels = len(set(data.train["label"].to_pylist()))
            rows.append(
                [
                    str(size),
                    f"{ood_pct:g}",
                    counts["train"],
                    train_labels,
                    counts["dev"],
                    counts["test"],
                    counts["ood_train"],
                    counts["local_pretrain"],
                    ",".join(data.carved) or "-",
                ]
            )
    return rows


def _print_regimes(rows: list[list[Any]]) -> None:
    _print_table(
        rows,
        [
            "in_domain_size",
            "ood_pct",
            "train",
            "labels",
            "dev",
            "test",
            "ood_train",
            "local_pretrain",
            "carved",
        ],
    )


def cmd_data_regimes(args: argparse.Namespace) -> int:
    in_domain = _load(args)
    ood = _load(args, args.ood) if args.ood else None
    sizes = [_size(s) for s in args.sizes.split(",")]
    _print_regimes(
        _regime_rows(in_domain, ood, sizes, _number_list(args.ood_pct, float), args.local_pct, args.seed)
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """A tour of the built-in synthetic corpus and its data regimes (no training; `make demo` sweeps)."""
    for name in ("synthetic", "synthetic_ood"):
        dataset = load_dataset(name)
        _print_summary(dataset, summarise(dataset))
        print()
    print("Data regimes (seed 0): nested, stratified subsets of the in-domain train set")
    in_domain, ood = load_dataset("synthetic"), load_dataset("synthetic_ood")
    _print_regimes(_regime_rows(in_domain, ood, [0.1, 0.5, 1.0], [10.0, 50.0, 100.0], 10.0, 0))
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

    from trainables.config import TrialSpec
    from trainables.trial import run_trial

    spec = TrialSpec.from_config(_trial_config(args.settings))
    artifacts = args.artifacts  # a folder, or an object-store URI a sweep's trials share
    columns = [
        "epoch",
        "stage",
        "train_loss",
        "dev_" + spec.loop.selection_metric,
        "test_" + spec.loop.selection_metric,
        "examples/s",
        "elapsed_s",
    ]
    print("  ".join(f"{c:>14}" for c in columns))
    started = time.perf_counter()

    def report(metrics: dict[str, Any], checkpoint: Path | None) -> None:
        row = [
            metrics["epochs_done"],
            metrics["stage"],
            f"{metrics['train_loss']:.4f}",
            *(
                f"{metrics[key]:.4f}" if key in metrics else "-"  # test skipped (test_every_epoch off)
                for key in ("dev_" + spec.loop.selection_metric, "test_" + spec.loop.selection_metric)
            ),
            f"{metrics['examples_per_second']:.1f}",
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


class _Parser(argparse.ArgumentParser):
    """argparse's parser; a usage mistake is one line (``resweep leaderboard: error: ...``,
    exit 2) with the way to the help, not the whole usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _pool_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pool", type=_at_least(1, int), help="in-domain training sentences a fraction refers to"
    )


def _dashboard_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dashboard",
        nargs="?",
        const="127.0.0.1",
        metavar="HOST",
        help="start the local Ray's dashboard (port 8265), bound to 127.0.0.1 unless HOST is given",
    )


def _run_sweep(config: Any, args: argparse.Namespace, *, resume: bool) -> int:
    """Run, resume or extend; Ctrl-C (or a lost driver) ends with exit 130 and how to continue."""
    import optuna

    from .plan import SweepPaths
    from .studies import StudiesDamaged
    from .sweep import SweepFailed, SweepIncomplete, SweepInterrupted, run_sweep

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # not a line per study created
    try:
        run_sweep(
            config,
            address=args.address,
            resume=resume,
            verbose=0 if args.quiet else 1,
            dashboard=args.dashboard,
            rebuild_studies=getattr(args, "rebuild_studies", False),
        )
    except SweepInterrupted as err:
        print(f"resweep: interrupted: {err}", file=sys.stderr)
        return 130
    except (StudiesDamaged, SweepIncomplete, SweepFailed) as err:
        print(f"resweep: error: {err}", file=sys.stderr)
        return 1
    return _print_leaderboard(SweepPaths.of(config.storage, config.name), config)


def cmd_sweep(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .config import load_sweep_config

    config = load_sweep_config(args.config)
    if args.name:
        config = replace(config, name=args.name)
    if args.storage:
        config = replace(config, storage=args.storage)
    if args.dry_run:
        return _print_plan(config)
    return _run_sweep(config, args, resume=False)


def cmd_resume(args: argparse.Namespace) -> int:
    from .plan import load_saved_sweep

    config, _ = load_saved_sweep(args.storage, args.name)
    return _run_sweep(config, args, resume=True)


def cmd_extend(args: argparse.Namespace) -> int:
    from .extend import extend_config
    from .plan import load_saved_sweep, plan_sweep

    config, paths = load_saved_sweep(args.storage, args.name)
    rows = paths.results.read().to_pylist()
    extended = extend_config(
        config,
        rows,
        budget=args.budget,
        sizes=[_size(s) for s in args.sizes.split(",")] if args.sizes else None,
        seeds=_int_list(args.seeds, "--seeds") if args.seeds else None,
        confirm_top_k=args.confirm_top_k,
        space=args.space,
    )
    changes = extended.extensions[-1]["changes"]
    print(
        f"sweep {config.name}: "
        + "; ".join(f"{key} {_shown(old)} -> {_shown(new)}" for key, (old, new) in changes.items()),
        file=sys.stderr,
    )
    if args.dry_run:
        plan = plan_sweep(extended)
        for key, size in plan.sizes.items():
            ended = sum(1 for r in rows if r["in_domain_size"] == float(size))
            print(
                f"  size {size:g}: {ended} ended, up to {max(0, plan.target(key, rows) - ended)} more trials"
            )
        return 0
    return _run_sweep(extended, args, resume=True)


def _shown(value: Any) -> str:
    return (
        ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
        if isinstance(value, list)
        else str(value)
    )


def _int_list(value: str, option: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",")]
    except ValueError:
        raise UserError(f"{option}: expected a comma-separated list of integers, got {value!r}") from None


def _print_plan(config: Any) -> int:
    from .estimate import estimate_sweep
    from .plan import plan_sweep
    from .preflight import check_inputs

    plan = plan_sweep(config)
    check_inputs(config, plan)
    estimates = estimate_sweep(config, plan)
    print(
        f"sweep {config.name}: space {config.search.space}, searcher {config.search.searcher}, "
        f"scheduler {config.search.scheduler}, {config.search.max_concurrent} concurrent, "
        f"encoder {config.encoder}; question {', '.join(plan.axes)}: {len(plan.cells)} cells "
        f"({', '.join(plan.cells)}); per size {plan.budgets[next(iter(plan.budgets))]} search trials"
        + (
            f", then the {'best' if plan.top_k == 1 else f'top {plan.top_k}'} of each of the "
            f"{len(plan.cells)} cells again with seeds {', '.join(map(str, plan.confirm_seeds))}"
            if plan.confirmations
            else ""
        )
        + (f", and the floor ({plan.floor['architecture']}) with every seed" if plan.floor else "")
    )
    rows = [
        [
            f"{e.size:g}",
            e.trials,
            e.phase1_artifacts,
            f"{e.train_sequences:,}",
            f"{e.infer_sequences:,}",
            f"{e.cpu_hours:.2f}",
        ]
        for e in estimates
    ]
    _print_table(
        rows, ["in_domain_size", "trials", "new_phase1_artifacts", "train_seqs", "infer_seqs", "cpu_hours"]
    )
    from .plan import SweepPaths

    folder = SweepPaths.of(config.storage, config.name).root
    print(
        f"total: {sum(e.trials for e in estimates)} trials, "
        f"{sum(e.phase1_artifacts for e in estimates)} distinct phase-1 artifacts, "
        f"<= {sum(e.cpu_hours for e in estimates):.2f} CPU hours of encoder work (upper bound: every "
        f"trial runs max_epochs; a GPU is 10-100x faster); storage {folder}"
    )
    return 0


def _results(storage: str, name: str) -> tuple[Any, Any, Any]:
    from .plan import load_saved_sweep

    config, paths = load_saved_sweep(storage, name)
    return config, paths, paths.results.read().to_pylist()


def _quoted(where: Any) -> str:
    """A path or URI as it must be typed in a shell (URIs may carry ``?a=b&c=d``)."""
    return shlex.quote(str(where))


def _print_leaderboard(paths: Any, config: Any) -> int:
    """The sweep's answer, printed when it ends: the winner per size over its seeds (finished
    trials only), the configuration to act on where confirmations say otherwise, and the floor."""
    from .leaderboard import leaderboard

    boards = {b.size: b for b in leaderboard(config.name, storage=str(paths.storage))}
    metric = "dev_" + config.search.selection_metric
    table: list[list[Any]] = []
    notes: list[str] = []
    for size in config.data.sizes:
        board = boards.get(float(size))
        if board is None or not board.entries:
            counts = "-" if board is None else f"0/{len(board.stopped)}"
            shown = "-" if board is None else "(only stopped trials)"
            table.append([str(size), shown, *(["-"] * 6), counts])
            continue
        best = board.winner
        floor = board.floor
        table.append(
            [
                str(size),
                best.label,
                best.n_seeds,
                _mean_pm(best),
                "tie" if best.tie else "",
                f"{best.test.get('accuracy', float('nan')):.4f}",
                f"{best.test.get('f1_weighted', float('nan')):.4f}",
                "-" if floor is None else f"{floor.mean:.4f}",
                f"{len(board.entries)}/{len(board.stopped)}",
            ]
        )
        recommended = board.recommended
        if recommended is not None and recommended is not best:
            notes.append(
                f"size {size}: recommended #{recommended.rank} {recommended.label} "
                f"({recommended.n_seeds} seeds, {recommended.mean:.4f}) {_why_not_first(best, recommended)}"
            )
        thin = [name for name, cell in board.cells().items() if cell.under_explored]
        if thin:
            notes.append(f"size {size}: under-explored: {', '.join(thin)}")
    print(
        f"\nbest configuration per in-domain size (mean {metric} over seeds of finished trials, ± half "
        "its 95% CI; test scores at the selected epoch):"
    )
    _print_table(
        table,
        [
            "size",
            "configuration",
            "n_seeds",
            metric,
            "tie",
            "test_accuracy",
            "test_f1_weighted",
            "floor",
            "finished/stopped",
        ],
    )
    for note in notes:
        print(note)
    print(f"details: resweep leaderboard {config.name} --storage {_quoted(paths.storage)}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .plan import plan_sweep
    from .results import SCORED

    config, paths, rows = _results(args.storage, args.name)
    plan = plan_sweep(config)
    metric = plan.metric
    table = []
    for key, size in plan.sizes.items():
        mine = [r for r in rows if r["in_domain_size"] == float(size)]
        done = [r for r in mine if r["status"] == "finished"]
        best = max((r[metric] for r in mine if r["status"] in SCORED and r[metric] is not None), default=None)
        table.append(
            [
                str(size),
                f"{len(mine)}/{plan.target(key, rows)}",
                len(done),
                sum(r["status"] == "stopped" for r in mine),
                sum(r["status"] == "error" for r in mine),
                "-" if best is None else f"{best:.4f}",
            ]
        )
    print(f"sweep {config.name} ({paths.root})")
    _print_table(table, ["size", "ended", "finished", "pruned", "failed", f"best {metric}"])
    from trainables.artifacts import build_progress, describe_build

    for record in build_progress(paths.artifacts):
        print(f"building {describe_build(record)}")
    return 0


def _mean_pm(entry: Any) -> str:
    """``0.8100 ±0.0050``: the mean and half its 95% interval (none with one seed)."""
    interval = entry.interval
    return f"{entry.mean:.4f}" + ("" if interval is None else f" ±{(interval[1] - interval[0]) / 2:.4f}")


def _board_rows(board: Any, top: int | None) -> list[list[Any]]:
    """The ranked finished configurations: the first ``top``, plus the floor and the
    recommended configuration wherever they rank."""
    floor, recommended = board.floor, board.recommended
    shown = [
        e for i, e in enumerate(board.entries) if top is None or i < top or e is floor or e is recommended
    ]
    rows = []
    for entry in shown:
        interval = entry.interval
        notes = [name for name, e in (("recommended", recommended), ("floor", floor)) if entry is e]
        rows.append(
            [
                entry.rank,
                entry.label,
                entry.n_seeds,
                f"{entry.mean:.4f}",
                "-" if entry.std is None else f"{entry.std:.4f}",
                "-" if interval is None else f"[{interval[0]:.4f}, {interval[1]:.4f}]",
                "tie" if entry.tie else "",
                *(f"{entry.test[k]:.4f}" if k in entry.test else "-" for k in ("accuracy", "f1_weighted")),
                "-" if entry.compute_seconds is None else f"{entry.compute_seconds:.0f}",
                ", ".join(notes),
            ]
        )
    return rows


def _cell_rows(board: Any) -> list[list[Any]]:
    rows = []
    for name, cell in board.cells().items():
        best = cell.best
        rows.append(
            [
                name,
                "-" if best is None else best.label,
                "-" if best is None else f"#{best.rank}",
                "-" if best is None else _mean_pm(best),
                cell.finished,
                cell.stopped,
                ", ".join(cell.flags),
            ]
        )
    return rows


def _why_not_first(winner: Any, recommended: Any) -> str:
    """Why the recommendation is not rank 1: the floor ranks above every candidate (it is the
    reference, never the recommendation), or a better-confirmed configuration beats a luckier one."""
    if winner.floor_run:
        below = f" ({winner.label} {winner.mean:.4f})" if recommended.below_floor else ""
        return f"— the best candidate; the floor run ranks first{below}: `resweep train --floor` trains it"
    text = f"over the {winner.n_seeds}-seed winner"
    return text + ("; below the floor" if recommended.below_floor else "")


def _print_board(board: Any, top: int | None) -> None:
    stopped = f"; {len(board.stopped)} stopped early, listed apart" if board.stopped else ""
    print(
        f"\nin-domain size {board.size:g}: {len(board.entries)} finished configurations, ranked by mean "
        f"{board.metric}{stopped}"
    )
    if board.entries:
        _print_table(
            _board_rows(board, top),
            [
                "rank",
                "configuration",
                "n_seeds",
                "mean",
                "std",
                "95% CI",
                "tie",
                "test_acc",
                "test_f1_w",
                "compute_s",
                "",
            ],
        )
    axes = "/".join(board.axes)
    print(
        f"\nbest per {axes} (finished configurations only; under-explored: fewer than "
        f"{board.min_finished} finished):"
    )
    _print_table(_cell_rows(board), [axes, "best configuration", "rank", "mean", "finished", "stopped", ""])
    floor = board.floor
    if floor is None:
        print("floor: not run")
    else:
        below = sum(e.below_floor for e in board.entries)
        print(f"floor {floor.label}: {floor.mean:.4f} (#{floor.rank}); {below} configuration(s) below it")
    recommended = board.recommended
    if recommended is not None and recommended is not board.winner:
        print(
            f"recommended: #{recommended.rank} {recommended.label} ({recommended.n_seeds} seeds) "
            + _why_not_first(board.winner, recommended)
        )
    cheapest = board.cheapest_near_winner()
    if cheapest is not None and board.epsilon > 0:
        print(
            f"cheapest within {board.epsilon:g} of the winner: #{cheapest.rank} {cheapest.label} "
            f"({cheapest.compute_seconds:.0f} s)"
        )
    if board.stopped:
        print("stopped early, not ranked:")
        _print_table(
            [
                [
                    e.label,
                    "-" if e.epochs_run is None else f"{e.epochs_run:g}",
                    e.n_seeds,
                    f"{e.mean:.4f}",
                ]
                for e in board.stopped[:top]
            ],
            ["configuration", "epochs_run", "n_seeds", "score"],
        )
        hidden = len(board.stopped) - len(board.stopped[:top])
        if hidden:
            print(f"... and {hidden} more (--top, or --json for all)")


def _train_pool(args: argparse.Namespace) -> int:
    """The in-domain training sentences a sweep's size 1.0 means (what its fractions refer to)."""
    from .plan import load_saved_sweep, train_pool

    return train_pool(load_saved_sweep(args.storage, args.name)[0])


def _query_size(args: argparse.Namespace, boards: list[Any]) -> dict[str, Any]:
    """What ``--size N`` answers (see :func:`search.leaderboard.query_size`)."""
    from .leaderboard import query_size

    def pool_of() -> int | None:
        return None if args.from_table is not None else _train_pool(args)

    answer = query_size(boards, _size(args.size), pool=args.pool, pool_of=pool_of)
    args.pool = answer.get("pool")
    return answer


def cmd_leaderboard(args: argparse.Namespace) -> int:
    import csv

    from .leaderboard import leaderboard as make_leaderboard
    from .leaderboard import recommend, summary_rows

    if args.name is None and args.from_table is None:
        raise UserError("name a sweep, or give --from-table FILE.csv")
    boards = make_leaderboard(
        args.name, storage=args.storage, table=args.from_table, metric=args.metric, epsilon=args.epsilon
    )
    if not boards:
        print("no scored trials yet", file=sys.stderr)
        return 1
    metric = boards[0].metric
    if args.size is not None:
        answer = _query_size(args, boards)
        shown = [answer["board"]] if "board" in answer else answer["nearest"]
    else:
        answer, shown = {}, boards
    if args.json:
        document: dict[str, Any] = {"metric": metric, "epsilon": args.epsilon, "sizes": summary_rows(shown)}
        for key in ("size", "pool", "warning"):
            if key in answer:
                document[key] = answer[key]
        if "estimates" in answer:
            document["estimates"] = [e.__dict__ for e in answer["estimates"]]
            document["recommended"] = answer["estimates"][0].strategy
            chosen = recommend(boards, answer["size"])  # what `resweep train --size` trains
            document["recommended_config"] = {**chosen.entry.as_dict(), "from_size": chosen.source.size}
        print(json.dumps(document, indent=1, default=str))
        return 0
    if args.csv:
        rows = summary_rows(shown)
        # Every key any row has (a stopped entry may lack a test score a finished one has).
        fieldnames = list(dict.fromkeys(key for row in rows for key in row)) or ["size"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
        return 0
    for board in shown:
        _print_board(board, args.top)
    if "estimates" in answer:
        where = f"{answer['size']:.4g}" + (
            f" (= {args.size} of {answer['pool']:,} sentences)" if "pool" in answer else ""
        )
        print(
            f"\nestimated {metric} at size {where} per strategy "
            "(from its best configuration at each swept size):"
        )
        _print_table(
            [
                [
                    e.strategy,
                    f"{e.estimate:.4f}",
                    "-" if e.low is None else f"[{e.low:.4f}, {e.high:.4f}]",
                    e.method,
                ]
                for e in answer["estimates"]
            ],
            ["strategy", "estimate", "95% band", "method"],
        )
        chosen = recommend(boards, answer["size"])
        print(f"recommended: {chosen.estimate.strategy if chosen.estimate else chosen.entry.label}")
        print(f"  configuration to train (`resweep train --size {args.size}`): {chosen.describe()}")
    if "warning" in answer:
        print(f"resweep: warning: {answer['warning']}", file=sys.stderr)
    return 0


def _quiet_transformers() -> None:
    """No per-file progress bars from transformers while resweep prints its own lines."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def cmd_train(args: argparse.Namespace) -> int:
    """Train the recommended (or the K-th, or a given) recipe on the whole pool; write a model folder."""
    from .train import choose_recipe, train_model

    _quiet_transformers()
    size = None if args.size is None else _size(args.size)
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
            f"{floor['label']} ({floor['mean']:.4f}) at size {recipe.evidence['source_size']:g}; "
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
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Predict a file's sentences with a model folder."""
    from .predict import output_bytes, predict_file, summary_lines

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


def cmd_report(args: argparse.Namespace) -> int:
    from .leaderboard import leaderboard, read_table
    from .plan import load_saved_sweep
    from .report import write_report

    if args.name is None and args.from_table is None:
        raise UserError("name a sweep, or give --from-table FILE.csv")
    boards = leaderboard(
        args.name, storage=args.storage, table=args.from_table, metric=args.metric, epsilon=args.epsilon
    )
    if args.from_table is not None:
        rows, title = read_table(args.from_table), f"resweep report: {Path(args.from_table).name}"
        out = Path(args.out or Path(args.from_table).with_suffix("").name + "-report")
    else:
        _, paths = load_saved_sweep(args.storage, args.name)
        rows, title = paths.results.read().to_pylist(), f"resweep report: sweep {args.name}"
        # In an object store, the report goes to a local folder: it is read in a browser.
        local = paths.root.local
        out = Path(args.out) if args.out else (local / "report" if local else Path(f"{args.name}-report"))
    files = write_report(boards, rows, out, title=title, top=args.top)
    print(f"wrote {files.markdown}, {files.html} and {len(files.images)} plots")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from spaces import SPACES
    from trainables.architectures import ARCHITECTURES
    from trainables.imbalance import IMBALANCE
    from trainables.strategies import STRATEGIES

    if args.kind == "datasets":
        return cmd_data_list(args)
    rows: list[list[Any]] = []
    if args.kind == "architectures":
        rows = [[n, ARCHITECTURES.get(n).description] for n in ARCHITECTURES]
    elif args.kind == "strategies":
        rows = [[n, STRATEGIES.get(n).description] for n in STRATEGIES]
    elif args.kind == "imbalance":
        rows = [
            [n, " ".join((IMBALANCE.get(n).__doc__ or "").strip().split("\n\n")[0].split())]
            for n in IMBALANCE
        ]
    elif args.kind == "spaces":
        rows = [[n, SPACES.get(n).description] for n in SPACES]
    else:  # sweeps
        from cluster.storage import Location

        folders = Location.parse(args.storage).children()
        rows = [[f.name, str(f)] for f in folders if (f / "sweep.yaml").is_file()]
    _print_table(rows, ["name", "description" if args.kind != "sweeps" else "folder"])
    return 0


def _version() -> str:
    try:
        return importlib.metadata.version("resweep")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


STORAGE_HELP = "the sweeps' storage: a folder, or s3://bucket/prefix, gs://... (default: results)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="resweep", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo", help="a tour of the built-in synthetic corpus and its data regimes (no training)"
    )
    demo.set_defaults(func=cmd_demo)

    trial = commands.add_parser(
        "trial",
        help="run one trial in this process (no Ray), e.g. "
        "`resweep trial architecture=two-phase strategy=global ood=synthetic_ood ood_pct=10`",
    )
    trial.add_argument("settings", nargs="*", metavar="KEY=VALUE", help="trial config keys (see the README)")
    trial.add_argument(
        "--artifacts",
        default="results/artifacts",
        help="shared phase-1 artifacts: a folder, or s3://bucket/prefix, gs://...",
    )
    trial.add_argument("--checkpoints", help="keep the newest checkpoint here (default: a temporary folder)")
    trial.add_argument("--resume", help="continue from this checkpoint folder")
    trial.add_argument("--out", help="write the result (selected epoch, history) as JSON here")
    trial.set_defaults(func=cmd_trial)

    sweep = commands.add_parser("sweep", help="run a sweep from a YAML config (local Ray unless --address)")
    sweep.add_argument("config", help="sweep config (see configs/)")
    sweep.add_argument("--name", help="sweep name (default: the config's)")
    sweep.add_argument(
        "--storage", help="storage folder, or s3://bucket/prefix, gs://... (default: the config's, `results`)"
    )
    sweep.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    sweep.add_argument("--dry-run", action="store_true", help="print the plan per size and stop")
    sweep.add_argument("--quiet", action="store_true", help="no live progress view")
    _dashboard_option(sweep)
    sweep.set_defaults(func=cmd_sweep)

    resume = commands.add_parser("resume", help="continue an interrupted sweep from its checkpoints")
    resume.add_argument("name")
    resume.add_argument("--storage", default="results", help=STORAGE_HELP)
    resume.add_argument("--address")
    resume.add_argument("--quiet", action="store_true", help="no live progress view")
    resume.add_argument(
        "--rebuild-studies",
        action="store_true",
        help="move a damaged optuna.db aside and rebuild the studies from the results store",
    )
    _dashboard_option(resume)
    resume.set_defaults(func=cmd_resume)

    extend = commands.add_parser(
        "extend", help="grow a sweep (budget, sizes, seeds, confirmations, a wider space), rerunning nothing"
    )
    extend.add_argument("name")
    extend.add_argument("--storage", default="results", help=STORAGE_HELP)
    extend.add_argument("--budget", type=int, help="the new total of search trials per size")
    extend.add_argument("--sizes", help="the new full list of sizes: the old ones and the added ones")
    extend.add_argument("--seeds", help="the new full list of seeds: the old ones and the added ones")
    extend.add_argument("--confirm-top-k", type=int, help="configurations per cell confirmed with every seed")
    extend.add_argument("--space", help="a wider search space (it keeps every value of the old one)")
    extend.add_argument("--dry-run", action="store_true", help="print what the extension adds and stop")
    extend.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")
    extend.add_argument("--quiet", action="store_true", help="no live progress view")
    _dashboard_option(extend)
    extend.set_defaults(func=cmd_extend)

    for command, function, text in (("status", cmd_status, "trials finished/failed per size, best so far"),):
        sub = commands.add_parser(command, help=text)
        sub.add_argument("name")
        sub.add_argument("--storage", default="results", help=STORAGE_HELP)
        sub.set_defaults(func=function)

    board = commands.add_parser("leaderboard", help="configurations ranked per size, with seeds and ties")
    board.add_argument("name", nargs="?", help="the sweep (or use --from-table)")
    board.add_argument("--storage", default="results", help=STORAGE_HELP)
    board.add_argument("--from-table", metavar="FILE.csv", help="rank an external result table instead")
    board.add_argument(
        "--metric", help="ranking column (default: the sweep's dev metric; a table's accuracy)"
    )
    board.add_argument("--epsilon", type=_at_least(0), default=0.0, help="differences below this are ties")
    board.add_argument("--size", help="a size to answer for: a count (300) or a fraction (0.3)")
    _pool_option(board)
    board.add_argument("--top", type=_at_least(1, int), default=10, help="rows per size (default 10)")
    output = board.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable output")
    output.add_argument("--csv", action="store_true", help="one CSV row per configuration and size")
    board.set_defaults(func=cmd_leaderboard)

    train = commands.add_parser(
        "train", help="train the recommended recipe on the whole training pool; write a model folder"
    )
    train.add_argument("name", help="the sweep")
    train.add_argument("--out", required=True, help="the model folder to write")
    train.add_argument("--storage", default="results", help=STORAGE_HELP)
    train.add_argument(
        "--size",
        help="the in-domain size whose recipe to train, a fraction or a count (default: the whole pool; "
        "an unswept size gets what `resweep leaderboard --size` recommends)",
    )
    choice = train.add_mutually_exclusive_group()
    choice.add_argument(
        "--rank", type=_at_least(1, int), help="the K-th ranked configuration of that size instead"
    )
    choice.add_argument("--config", metavar="FILE", help="an explicit trial config (YAML/JSON of trial keys)")
    choice.add_argument(
        "--floor",
        action="store_true",
        help="the size's classical floor (tfidf-linear), when it beats the rest",
    )
    train.add_argument(
        "--seed", type=int, help="training seed (default: the sweep's first; it fixes the dev split)"
    )
    _pool_option(train)
    train.add_argument("--device", help="torch device (default: cpu)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    train.add_argument("--quiet", action="store_true", help="no line per epoch")
    train.set_defaults(func=cmd_train)

    predict = commands.add_parser(
        "predict", help="predict sentences with a model folder from `resweep train`"
    )
    predict.add_argument("model", help="the model folder")
    predict.add_argument("input", help="a file of sentences in any format resweep reads; labels optional")
    predict.add_argument("--format", choices=FORMATS.names(), help="the input's format (default: detected)")
    predict.add_argument("--out", help="output file, .jsonl, .csv or .parquet (default: JSONL on stdout)")
    predict.add_argument(
        "--out-format", choices=["jsonl", "csv", "parquet"], help="output format (default: from --out)"
    )
    predict.add_argument(
        "--batch-size", type=_at_least(1, int), help="sentences per batch (default: the model's)"
    )
    predict.add_argument(
        "--top-k", type=_at_least(1, int), default=3, help="alternatives per sentence (default 3)"
    )
    predict.add_argument("--progress", choices=["on", "off"], help="progress bar (default: on a terminal)")
    predict.add_argument("--device", help="torch device (default: cpu)")
    predict.set_defaults(func=cmd_predict)

    report = commands.add_parser("report", help="Markdown + HTML report with learning-curve plots")
    report.add_argument("name", nargs="?", help="the sweep (or use --from-table)")
    report.add_argument("--storage", default="results", help=STORAGE_HELP)
    report.add_argument("--from-table", metavar="FILE.csv", help="report on an external result table")
    report.add_argument("--out", help="folder (default: <sweep>/report)")
    report.add_argument(
        "--metric", help="ranking column (default: the sweep's dev metric; a table's accuracy)"
    )
    report.add_argument("--epsilon", type=_at_least(0), default=0.0, help="differences below this are ties")
    report.add_argument("--top", type=_at_least(1, int), default=10, help="rows per size in the tables")
    report.set_defaults(func=cmd_report)

    listing_all = commands.add_parser("list", help="what is registered, or the sweeps in a storage folder")
    listing_all.add_argument(
        "kind", choices=["architectures", "strategies", "imbalance", "spaces", "datasets", "sweeps"]
    )
    listing_all.add_argument("--storage", default="results", help=STORAGE_HELP)
    listing_all.set_defaults(func=cmd_list)

    data = commands.add_parser("data", help="inspect, validate and fetch datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)

    def dataset_arguments(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("dataset", help="a dataset name (see `resweep data list`), a folder or a file")
        sub.add_argument("--format", choices=FORMATS.names(), help="file format (default: detected)")
        sub.add_argument(
            "--root", help="folder holding a named dataset's files (default: the download cache)"
        )
        sub.add_argument("--split", help="split of a single file (default: from its name, else train)")
        sub.add_argument("--labels", help="label set file (JSON list/object keys, or one per line)")

    info = data_commands.add_parser("info", help="counts per split and label, imbalance, lengths")
    dataset_arguments(info)
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=cmd_data_info)

    validate = data_commands.add_parser("validate", help="report every problem in a dataset")
    dataset_arguments(validate)
    validate.set_defaults(func=cmd_data_validate)

    fetch = data_commands.add_parser("fetch", help="download a named dataset (checksum-verified)")
    fetch.add_argument("name", choices=[n for n in DATASETS if DATASETS.get(n).remote], metavar="NAME")
    fetch.add_argument("--root", help="download folder (default: <cache>/datasets/NAME)")
    fetch.add_argument("--force", action="store_true", help="download again even when files verify")
    fetch.set_defaults(func=cmd_data_fetch)

    listing = data_commands.add_parser("list", help="the named datasets")
    listing.set_defaults(func=cmd_data_list)

    regimes = data_commands.add_parser("regimes", help="what each data regime would give a trial")
    dataset_arguments(regimes)
    regimes.add_argument("--ood", help="out-of-domain dataset (name, folder or file)")
    regimes.add_argument("--sizes", default="0.1,0.5,1.0", help="in-domain sizes: fractions or counts")
    regimes.add_argument("--ood-pct", default="10,50,100", help="OOD percentages (with --ood)")
    regimes.add_argument("--local-pct", type=float, default=0.0, help="local_in_domain_pretrain_pct")
    regimes.add_argument("--seed", type=int, default=0)
    regimes.set_defaults(func=cmd_data_regimes)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # resweep's own progress lines on stderr; other libraries' INFO chatter (matplotlib's font
    # cache, ...) stays out of them.
    logging.basicConfig(level=logging.WARNING, format="resweep: %(message)s")
    logging.getLogger("trainables").setLevel(logging.INFO)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `resweep data info X | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ResweepError, ResourcesError, StorageError, OSError) as err:
        # resweep's own user errors (bad data, configs, names, arguments), the cluster layer's
        # (resources, storage URIs), and OSError: files and storage (pyarrow says which key of
        # which bucket, and the store's answer). Anything else is a bug: its traceback stays.
        print(f"resweep: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
