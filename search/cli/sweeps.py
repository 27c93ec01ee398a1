"""``resweep sweep|resume|extend|status|list``: run sweeps and see where they stand."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from trainables.report_keys import score_key

from .. import api
from ..api import DryRun, Extension, SweepOutcome
from ..sizes import size_text
from ._common import UserError, int_list, mean_pm, parse_size, print_table, quoted
from .boards import print_decisions, why_not_first
from .data import cmd_data_list


def _ran(call: Callable[[], Any]) -> int:
    """A sweep run, resumed or extended through the API; Ctrl-C (or a lost driver) ends with
    exit 130 and how to continue, a sweep that failed or could not start with 1."""
    try:
        ran = call()
    except Exception as err:
        if "search.driver.sweep" not in sys.modules:  # a mistake before any run: not one of the sweep's
            raise
        from ..driver.studies import StudiesDamaged
        from ..driver.sweep import SweepFailed, SweepIncomplete, SweepInterrupted

        if isinstance(err, SweepInterrupted):
            print(f"resweep: interrupted: {err}", file=sys.stderr)
            return 130
        if isinstance(err, (StudiesDamaged, SweepIncomplete, SweepFailed)):
            print(f"resweep: error: {err}", file=sys.stderr)
            return 1
        raise
    if isinstance(ran, DryRun):
        return _print_plan(ran)
    if isinstance(ran, Extension):
        if ran.preview is not None:
            for size, ended, more in ran.preview:
                print(f"  size {size_text(size)}: {ended} ended, up to {more} more trials")
            return 0
        assert ran.outcome is not None
        ran = ran.outcome
    return _print_leaderboard(ran)


def cmd_sweep(args: argparse.Namespace) -> int:
    return _ran(
        lambda: api.sweep(
            args.config,
            name=args.name,
            storage=args.storage,
            address=args.address,
            dry_run=args.dry_run,
            tracking=args.tracking,
            verbose=0 if args.quiet else 1,
            dashboard=args.dashboard,
        )
    )


def cmd_resume(args: argparse.Namespace) -> int:
    return _ran(
        lambda: api.resume(
            args.name,
            storage=args.storage,
            address=args.address,
            tracking=args.tracking,
            verbose=0 if args.quiet else 1,
            dashboard=args.dashboard,
            rebuild_studies=args.rebuild_studies,
        )
    )


def _full_list(option: str, text: str, values: list[Any]) -> list[Any]:
    """``--sizes``/``--seeds``: a full list, where a value given twice is a typo, not "nothing
    to change"."""
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise UserError(f"{option}: {', '.join(map(str, twice))} given twice in {text!r}")
    return values


def cmd_extend(args: argparse.Namespace) -> int:
    sizes = seeds = None
    if args.sizes:
        sizes = _full_list("--sizes", args.sizes, [parse_size(s, "--sizes") for s in args.sizes.split(",")])
    if args.seeds:
        seeds = _full_list("--seeds", args.seeds, int_list(args.seeds, "--seeds"))
    return _ran(
        lambda: api.extend(
            args.name,
            storage=args.storage,
            budget=args.budget,
            sizes=sizes,
            seeds=seeds,
            confirm_top_k=args.confirm_top_k,
            space=args.space,
            tracking=args.tracking,
            dry_run=args.dry_run,
            address=args.address,
            verbose=0 if args.quiet else 1,
            dashboard=args.dashboard,
            announce=lambda line: print(line, file=sys.stderr),
        )
    )


def _print_plan(dry: DryRun) -> int:
    from ..driver.estimate import TRIAL_OVERHEAD_S

    config, plan, estimates = dry.config, dry.plan, dry.estimates
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
    print_table(
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
    folder = dry.folder
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


def _print_leaderboard(outcome: SweepOutcome) -> int:
    """The sweep's answer, printed when it ends: the winner per size over its seeds (finished
    trials only), the configuration to act on where confirmations say otherwise, and the floor."""
    config = outcome.config
    boards = {b.size: b for b in outcome.boards}
    print()
    print_decisions(outcome.boards)
    metric = score_key("dev", config.search.selection_metric)
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
                mean_pm(best),
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
                f"({recommended.n_seeds} seeds, {recommended.mean:.4f}) {why_not_first(best, recommended)}"
            )
        thin = [name for name, cell in board.cells().items() if cell.under_explored]
        if thin:
            notes.append(f"size {size_text(size)}: under-explored: {', '.join(thin)}")
    print(
        f"\nbest configuration per in-domain size (mean {metric} over seeds of finished trials, ± half "
        "its 95% CI; test scores at the selected epoch):"
    )
    print_table(
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
    if outcome.note is not None:
        print(outcome.note)
    print(f"details: resweep leaderboard {config.name} --storage {quoted(outcome.storage)}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    status = api.status(args.name, storage=args.storage)
    table = [
        [
            size_text(s.size),
            f"{s.ended}/{s.target}",
            s.finished,
            s.pruned,
            s.failed,
            "-" if s.best is None else f"{s.best:.4f}",
        ]
        for s in status.sizes
    ]
    print(f"sweep {status.config.name} ({status.folder})")
    # A single run's score, not a configuration's mean over seeds (the leaderboard's): named apart.
    print_table(
        table, ["size", "ended", "finished", "pruned", "failed", f"best single run ({status.metric})"]
    )
    for building in status.building:
        print(f"building {building}")
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
    print_table(rows, ["name", "description" if args.kind != "sweeps" else "folder"])
    return 0
