"""``resweep plan NAME --target 0.80``: how many in-domain sentences a score takes, and the recipe."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from ._common import UserError, need_source


def target_score(value: str) -> float:
    """An argparse type: a score above 0 and at most 1, in the metric's units."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not (math.isfinite(number) and 0 < number <= 1):
        hint = (
            f" (a percentage? give {number / 100:g})" if math.isfinite(number) and 1 < number <= 100 else ""
        )
        raise argparse.ArgumentTypeError(
            f"expected a score above 0 and at most 1, in the metric's units, got {value!r}{hint}"
        )
    return number


def _check_plot(args: argparse.Namespace) -> Path | None:
    """``--plot FILE.png``, checked before any work: a PNG file that overwrites no input, no sweep."""
    if args.plot is None:
        return None
    from ..outputs import check_output
    from ..plan import SweepPaths

    path = Path(args.plot)
    if path.suffix.lower() != ".png":
        raise UserError(f"--plot {args.plot}: expected a file name ending in .png")
    reads = [("the --from-table file", args.from_table)]
    if args.name is not None:
        paths = SweepPaths.of(args.storage, args.name)
        reads += [
            (f"the folder of sweep {args.name!r}", paths.root),
            (f"the storage folder of sweep {args.name!r}", paths.storage),
        ]
    check_output(path, "--plot", reads=reads, kind="file")
    return path


def plan_of(args: argparse.Namespace) -> Any:
    """The annotation plan a ``plan`` or ``report --target`` command asks for."""
    from ..annotation import plan_annotation

    return plan_annotation(
        args.name,
        target=args.target,
        storage=args.storage,
        table=args.from_table,
        metric=args.metric,
        pool=args.pool,
        margin=args.margin,
        confidence=args.confidence,
    )


def cmd_plan(args: argparse.Namespace) -> int:
    need_source(args)
    plot = _check_plot(args)
    plan = plan_of(args)
    if plot is not None:
        from cluster.storage import Location

        Location.parse(plot).write_bytes(plan.png())  # a temporary name, then renamed
    if args.json:
        print(json.dumps(plan.as_dict(), indent=1, default=str))
    else:
        print("\n".join(plan.lines()))
        if plot is not None:
            print(f"wrote {plot}")
    if plan.message is not None and args.json:
        print(f"resweep: {plan.message}", file=sys.stderr)
    return 0
