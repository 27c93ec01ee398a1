"""``resweep leaderboard``: the answer per size, and at a size nobody swept."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import api
from ..answer.leaderboard import SYNTHETIC_NOTE, corpus_note, decision_lines
from ..api import Leaderboard
from ..sizes import size_text
from ._common import mean_pm, parse_size, print_table

if TYPE_CHECKING:
    from ..answer.leaderboard import SizeBoard

__all__ = ["SYNTHETIC_NOTE", "cmd_leaderboard", "corpus_note", "print_decisions", "why_not_first"]


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
                "-" if best is None else mean_pm(best),
                "-" if cell.p_best is None else f"{cell.p_best:.2f}",
                cell.finished,
                cell.stopped,
                ", ".join(cell.flags),
            ]
        )
    return rows


def why_not_first(winner: Any, recommended: Any) -> str:
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
        f"\nin-domain size {size_text(board.size)}: {len(board.entries)} finished configurations,"
        f" ranked by mean {board.metric}{stopped}"
    )
    if board.entries:
        print_table(
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
                "notes",
            ],
        )
    axes = "/".join(board.axes)
    print(
        f"\nbest per {axes} (finished configurations only; under-explored: fewer than "
        f"{board.min_finished} finished):"
    )
    print_table(
        _cell_rows(board),
        [axes, "best configuration", "rank", "mean", "P(best)", "finished", "stopped", "flags"],
    )
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
            + why_not_first(board.winner, recommended)
        )
    cheapest = board.cheapest_near_winner()
    if cheapest is not None and board.epsilon > 0:
        print(
            f"cheapest within {board.epsilon:g} of the winner: #{cheapest.rank} {cheapest.label} "
            f"({cheapest.compute_seconds:.0f} s)"
        )
    if board.stopped:
        print("stopped early, not ranked:")
        print_table(
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


def print_decisions(boards: Sequence[SizeBoard]) -> None:
    """The answer first: one line per size (:func:`search.answer.leaderboard.decision_lines`)."""
    for line in decision_lines(boards):
        print(line)


def _print_estimates(args: argparse.Namespace, answer: Leaderboard) -> None:
    """The answer at an unswept size: each strategy's and the floor's estimate with its band, and
    the configuration `resweep train --size` would train."""
    boards, metric, chosen = answer.boards, answer.metric, answer.recommendation
    assert chosen is not None
    answer_ = answer.answer
    where = size_text(answer_["size"])
    if "pool" in answer_ and answer_["size"] <= 1:
        where += f" (= {round(answer_['size'] * answer_['pool']):,} of {answer_['pool']:,} sentences)"
    swept = ", ".join(size_text(b.size) for b in boards)
    print(f"size {where} was not swept (swept: {swept}); estimated {metric} from each strategy's")
    print("learning curve (its best configuration at each swept size):")
    rows = list(answer_["estimates"])
    floor = answer_.get("floor_estimate")
    if floor is not None:
        rows.append(floor)
    notes = {"pooled": "band: the sweep's median seed spread (one-seed points)", "none": "one seed: no band"}
    print_table(
        [
            [
                "floor (tfidf-linear)" if e is floor else e.strategy,
                f"{e.estimate:.4f}",
                "-" if e.low is None else f"[{e.low:.4f}, {e.high:.4f}]",
                e.method + (f"; {notes[e.band]}" if e.band in notes else ""),
            ]
            for e in rows
        ],
        ["strategy", "estimate", "95% band", "method"],
    )
    print(f"recommended: {chosen.estimate.strategy if chosen.estimate else chosen.entry.label}")
    print(f"  configuration to train (`resweep train --size {args.size}`): {chosen.describe()}")
    if not args.nearest:
        print("  (the nearest swept sizes' boards: add --nearest)")


def cmd_leaderboard(args: argparse.Namespace) -> int:
    answer = api.leaderboard(
        args.name,
        table=args.from_table,
        storage=args.storage,
        metric=args.metric,
        epsilon=args.epsilon,
        margin=args.margin,
        confidence=args.confidence,
        size=None if args.size is None else parse_size(args.size, "--size"),
        pool=args.pool,
        nearest=args.nearest or args.json or args.csv,
    )
    if args.json:
        print(json.dumps(answer.as_dict(), indent=1, default=str))
        return 0
    if args.csv:
        from ..answer.report import write_board_csv

        write_board_csv(answer.summary_rows(), sys.stdout)
        return 0
    if "estimates" in answer.answer:
        _print_estimates(args, answer)
        if answer.shown:
            print()
    print_decisions(answer.shown)
    for board in answer.shown:
        _print_board(board, args.top)
    if answer.note is not None:
        print(answer.note)
    if answer.warning is not None:
        print(f"resweep: warning: {answer.warning}", file=sys.stderr)
    return 0
