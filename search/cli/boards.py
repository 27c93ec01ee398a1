"""``resweep leaderboard``: the answer per size, and at a size nobody swept."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..sizes import size_text
from ._common import UserError, _mean_pm, _print_table, _size, boards_of


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
                "-" if cell.p_best is None else f"{cell.p_best:.2f}",
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
        f"\nin-domain size {size_text(board.size)}: {len(board.entries)} finished configurations,"
        f" ranked by mean {board.metric}{stopped}"
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
                "notes",
            ],
        )
    axes = "/".join(board.axes)
    print(
        f"\nbest per {axes} (finished configurations only; under-explored: fewer than "
        f"{board.min_finished} finished):"
    )
    _print_table(
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


def print_decisions(boards: Any) -> None:
    """The answer first: one line per size (:meth:`search.decision.Decision.line`)."""
    decided = [b for b in boards if b.decision is not None]
    if decided:
        first = decided[0].decision
        print(f"decision (margin {first.margin:g}, confidence {first.confidence:g}; P(best) per cell):")
        for board in decided:
            print(f"  {board.decision.line()}")
            if board.without_floor is not None:
                print(f"    without the floor: {board.without_floor.verdict_text()}")


SYNTHETIC_NOTE = (
    "note: the in-domain data is resweep's SYNTHETIC corpus, written from templates whose wording "
    "word n-grams learn almost perfectly: the TF-IDF floor leads here because of the corpus, not the "
    "recipes. On real text fine-tuned encoders beat it (docs/benchmarks.md: SemEval-2010 Task 8 at "
    "10%); run a sweep on your own data for an answer that means something."
)


def corpus_note(in_domain: str, boards: list[Any]) -> str | None:
    """A line under the answer when it would mislead: the floor leads on the synthetic corpus."""
    floor_leads = any(b.entries and b.winner.floor_run for b in boards)
    return SYNTHETIC_NOTE if in_domain == "synthetic" and floor_leads else None


def _train_pool(args: argparse.Namespace) -> int:
    """The in-domain training sentences a sweep's size 1.0 means (what its fractions refer to)."""
    from ..plan import load_saved_sweep, train_pool

    return train_pool(load_saved_sweep(args.storage, args.name)[0])


def _query_size(args: argparse.Namespace, boards: list[Any]) -> dict[str, Any]:
    """What ``--size N`` answers (see :func:`search.curves.query_size`)."""
    from ..curves import query_size

    def pool_of() -> int | None:
        return None if args.from_table is not None else _train_pool(args)

    answer = query_size(boards, _size(args.size, "--size"), pool=args.pool, pool_of=pool_of)
    args.pool = answer.get("pool")
    return answer


def _print_estimates(
    args: argparse.Namespace, answer: dict[str, Any], boards: list[Any], metric: str
) -> None:
    """The answer at an unswept size: each strategy's and the floor's estimate with its band, and
    the configuration `resweep train --size` would train."""
    from ..curves import recommend
    from ..sizes import size_text

    where = size_text(answer["size"])
    if "pool" in answer and answer["size"] <= 1:
        where += f" (= {round(answer['size'] * answer['pool']):,} of {answer['pool']:,} sentences)"
    swept = ", ".join(size_text(b.size) for b in boards)
    print(f"size {where} was not swept (swept: {swept}); estimated {metric} from each strategy's")
    print("learning curve (its best configuration at each swept size):")
    rows = list(answer["estimates"])
    floor = answer.get("floor_estimate")
    if floor is not None:
        rows.append(floor)
    notes = {"pooled": "band: the sweep's median seed spread (one-seed points)", "none": "one seed: no band"}
    _print_table(
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
    chosen = recommend(boards, answer["size"])
    print(f"recommended: {chosen.estimate.strategy if chosen.estimate else chosen.entry.label}")
    print(f"  configuration to train (`resweep train --size {args.size}`): {chosen.describe()}")
    if not args.nearest:
        print("  (the nearest swept sizes' boards: add --nearest)")


def cmd_leaderboard(args: argparse.Namespace) -> int:

    from ..curves import recommend
    from ..leaderboard import decisions, summary_rows

    boards = boards_of(args)
    if not boards:
        if args.from_table:
            raise UserError(f"{args.from_table}: no row has a score to rank by ({args.metric or 'accuracy'})")
        raise UserError(f"sweep {args.name!r}: no scored trials yet")
    metric = boards[0].metric
    if args.size is not None:
        answer = _query_size(args, boards)
        shown = [answer["board"]] if "board" in answer else answer["nearest"]
        if "board" not in answer and not args.json and not args.csv and not args.nearest:
            shown = []  # an unswept size: the estimate is the answer; its neighbours on request
    else:
        answer, shown = {}, boards
    if args.json:
        document: dict[str, Any] = {
            "metric": metric,
            "epsilon": args.epsilon,
            "decisions": decisions(shown),
            "sizes": summary_rows(shown),
        }
        for key in ("size", "pool", "warning"):
            if key in answer:
                document[key] = answer[key]
        if "estimates" in answer:
            document["estimates"] = [e.__dict__ for e in answer["estimates"]]
            floor = answer.get("floor_estimate")
            document["floor_estimate"] = floor.__dict__ if floor is not None else None
            document["recommended"] = answer["estimates"][0].strategy
            chosen = recommend(boards, answer["size"])  # what `resweep train --size` trains
            document["recommended_config"] = {**chosen.entry.as_dict(), "from_size": chosen.source.size}
        print(json.dumps(document, indent=1, default=str))
        return 0
    if args.csv:
        from ..report import write_board_csv

        write_board_csv(summary_rows(shown), sys.stdout)
        return 0
    if "estimates" in answer:
        _print_estimates(args, answer, boards, metric)
        if shown:
            print()
    print_decisions(shown)
    for board in shown:
        _print_board(board, args.top)
    if args.from_table is None and shown:
        from ..plan import load_saved_sweep

        note = corpus_note(str(load_saved_sweep(args.storage, args.name)[0].data.in_domain), shown)
        if note is not None:
            print(note)
    if "warning" in answer:
        print(f"resweep: warning: {answer['warning']}", file=sys.stderr)
    return 0
