"""``resweep plan NAME --target 0.80``: how many in-domain sentences a score takes, and the recipe."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from .. import api


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


def cmd_plan(args: argparse.Namespace) -> int:
    plan = api.plan(
        args.name,
        target=args.target,
        table=args.from_table,
        storage=args.storage,
        metric=args.metric,
        margin=args.margin,
        confidence=args.confidence,
        pool=args.pool,
        plot=args.plot,
    )
    if args.json:
        print(json.dumps(plan.as_dict(), indent=1, default=str))
    else:
        print("\n".join(plan.lines()))
        if args.plot is not None:
            print(f"wrote {Path(args.plot)}")
    if plan.message is not None and args.json:
        print(f"resweep: {plan.message}", file=sys.stderr)
    return 0
