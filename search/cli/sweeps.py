"""``resweep sweep|resume|extend|status|list``: run sweeps and see where they stand."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..sizes import size_text
from ._common import UserError, _int_list, _mean_pm, _print_table, _quoted, _shown, _size
from .boards import _why_not_first, corpus_note
from .data import cmd_data_list


def _with_tracking(config: Any, args: argparse.Namespace) -> Any:
    """The config with ``--tracking`` over its ``tracking:`` section (the saved one on a resume);
    a tracker whose package is missing is an error here, before anything runs."""
    from dataclasses import replace

    from ..tracking import check_installed, tracking_option

    if getattr(args, "tracking", None) is not None:
        config = replace(config, tracking=tracking_option(args.tracking, config.tracking))
    check_installed(config.tracking)
    return config


def _run_sweep(config: Any, args: argparse.Namespace, *, resume: bool) -> int:
    """Run, resume or extend; Ctrl-C (or a lost driver) ends with exit 130 and how to continue."""
    import optuna

    from ..plan import SweepPaths
    from ..studies import StudiesDamaged
    from ..sweep import SweepFailed, SweepIncomplete, SweepInterrupted, run_sweep

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

    from ..config import check_name, check_storage, load_sweep_config

    config = load_sweep_config(args.config)
    # The config's rules for name: and storage: hold for the options that replace them.
    options = (("--name", args.name, check_name), ("--storage", args.storage, check_storage))
    for option, value, check in options:
        if value is not None:
            try:
                check(value)
            except ValueError as err:
                raise UserError(f"{option}: {err}") from None
    if args.name is not None:
        config = replace(config, name=args.name)
    if args.storage is not None:
        config = replace(config, storage=args.storage)
    config = _with_tracking(config, args)
    if args.dry_run:
        return _print_plan(config)
    return _run_sweep(config, args, resume=False)


def cmd_resume(args: argparse.Namespace) -> int:
    from ..plan import load_saved_sweep

    config, _ = load_saved_sweep(args.storage, args.name)
    return _run_sweep(_with_tracking(config, args), args, resume=True)


def cmd_extend(args: argparse.Namespace) -> int:
    from ..extend import extend_config, extension_preview
    from ..lock import check_free
    from ..plan import load_saved_sweep

    config, paths = load_saved_sweep(args.storage, args.name)
    if not args.dry_run:
        check_free(paths.root, config.name)  # another live driver: refused before any work
    sizes = [_size(s, "--sizes") for s in args.sizes.split(",")] if args.sizes else None
    seeds = _int_list(args.seeds, "--seeds") if args.seeds else None
    given: tuple[tuple[str, list[Any] | None], ...] = (("--sizes", sizes), ("--seeds", seeds))
    for option, values in given:
        twice = sorted({v for v in values or () if (values or []).count(v) > 1})
        if twice:  # a full list: a value given twice is a typo, not "nothing to change"
            raise UserError(
                f"{option}: {', '.join(map(str, twice))} given twice in {getattr(args, option[2:])!r}"
            )
    rows = paths.results.read().to_pylist()
    extended = extend_config(
        config,
        rows,
        budget=args.budget,
        sizes=sizes,
        seeds=seeds,
        confirm_top_k=args.confirm_top_k,
        space=args.space,
    )
    extended = _with_tracking(extended, args)
    changes = extended.extensions[-1]["changes"]
    print(
        f"sweep {config.name}: "
        + "; ".join(f"{key} {_shown(old)} -> {_shown(new)}" for key, (old, new) in changes.items()),
        file=sys.stderr,
    )
    if args.dry_run:
        for size, ended, more in extension_preview(extended, rows):
            print(f"  size {size_text(size)}: {ended} ended, up to {more} more trials")
        return 0
    return _run_sweep(extended, args, resume=True)


def _print_plan(config: Any) -> int:
    from ..estimate import TRIAL_OVERHEAD_S, estimate_sweep
    from ..plan import plan_sweep
    from ..preflight import check_inputs

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
            if plan.confirm_seeds and plan.top_k
            else ""
        )
        + (
            f"; while a size's answer is open, its contending cells' bests get more seeds, one a "
            f"round, up to {plan.max_seeds} (at most {plan.round_cap} more runs per size, not counted below)"
            if plan.round_cap
            else ""
        )
        + (f", and the floor ({plan.floor['architecture']}) with every seed" if plan.floor else "")
    )
    rows = [
        [
            size_text(e.size),
            e.trials,
            e.phase1_artifacts,
            f"{e.train_sequences:,}",
            f"{e.infer_sequences:,}",
            f"{e.cpu_hours:.2f}",
            f"{e.overhead_hours:.2f}",
        ]
        for e in estimates
    ]
    _print_table(
        rows,
        [
            "in_domain_size",
            "trials",
            "new_phase1_artifacts",
            "train_seqs",
            "infer_seqs",
            "encoder_cpu_hours",
            "trial_overhead_hours",
        ],
    )
    from ..plan import SweepPaths

    folder = SweepPaths.of(config.storage, config.name).root
    print(
        f"total: {sum(e.trials for e in estimates)} trials, "
        f"{sum(e.phase1_artifacts for e in estimates)} distinct phase-1 artifacts, "
        f"<= {sum(e.cpu_hours for e in estimates):.2f} CPU hours of encoder work (upper bound: every "
        f"trial runs max_epochs; a GPU is 10-100x faster) + about "
        f"{sum(e.overhead_hours for e in estimates):.2f} hours of the trials' fixed cost on Ray "
        f"(~{TRIAL_OVERHEAD_S[config.resources.resolved_executor]:.0f} s a trial; the wall time: divide "
        f"by the trials run at once); storage {folder}"
    )
    return 0


def _print_leaderboard(paths: Any, config: Any) -> int:
    """The sweep's answer, printed when it ends: the winner per size over its seeds (finished
    trials only), the configuration to act on where confirmations say otherwise, and the floor."""
    from ..leaderboard import leaderboard
    from .boards import print_decisions

    boards = {b.size: b for b in leaderboard(config.name, storage=str(paths.storage))}
    print()
    print_decisions(list(boards.values()))
    metric = "dev_" + config.search.selection_metric
    table: list[list[Any]] = []
    notes: list[str] = []
    for size in config.data.sizes:
        board = boards.get(float(size))
        if board is None or not board.entries:
            counts = "-" if board is None else f"0/{len(board.stopped)}"
            shown = "-" if board is None else "(only stopped trials)"
            table.append([size_text(size), shown, *(["-"] * 6), counts])
            continue
        best = board.winner
        floor = board.floor
        table.append(
            [
                size_text(size),
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
                f"size {size_text(size)}: recommended #{recommended.rank} {recommended.label} "
                f"({recommended.n_seeds} seeds, {recommended.mean:.4f}) {_why_not_first(best, recommended)}"
            )
        thin = [name for name, cell in board.cells().items() if cell.under_explored]
        if thin:
            notes.append(f"size {size_text(size)}: under-explored: {', '.join(thin)}")
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
    corpus = corpus_note(str(config.data.in_domain), list(boards.values()))
    if corpus is not None:
        print(corpus)
    print(f"details: resweep leaderboard {config.name} --storage {_quoted(paths.storage)}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from trainables.artifacts import build_progress, describe_build

    from ..progress import sweep_status

    config, paths, sizes = sweep_status(args.storage, args.name)
    metric = "dev_" + config.search.selection_metric
    table = [
        [
            size_text(s.size),
            f"{s.ended}/{s.target}",
            s.finished,
            s.pruned,
            s.failed,
            "-" if s.best is None else f"{s.best:.4f}",
        ]
        for s in sizes
    ]
    print(f"sweep {config.name} ({paths.root})")
    # A single run's score, not a configuration's mean over seeds (the leaderboard's): named apart.
    _print_table(table, ["size", "ended", "finished", "pruned", "failed", f"best single run ({metric})"])
    for record in build_progress(paths.artifacts):
        print(f"building {describe_build(record)}")
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

        from ..plan import sweep_names

        rows = [[n, str(Location.parse(args.storage) / n)] for n in sweep_names(args.storage)]
    _print_table(rows, ["name", "description" if args.kind != "sweeps" else "folder"])
    return 0
