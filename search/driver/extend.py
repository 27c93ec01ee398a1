"""Growing a sweep that ran: more budget, sizes, seeds, confirmations, or a wider space.

:func:`extend_config` checks a change against the sweep and its results and returns the new
config with the change recorded in ``extensions``; :func:`search.api.extend` (``resweep
extend``) saves it and runs what the change adds.
Nothing that ended runs again: the sweep restarts from its results store
(:func:`search.driver.sweep.run_sweep`), where every ended row counts toward its slot's budget and a
proposal equal to an ended configuration is answered from the store.

What can change, and why the rest cannot:

- ``budget`` (search trials per size) can grow; a search that ran cannot be shortened.
- ``sizes`` and ``seeds`` are the new full lists: they keep the old values and add others. The
  first seed is the search's own and stays; the others confirm the top configurations.
- ``confirm_top_k`` can grow.
- ``space`` can widen: every value the old space proposed for a question axis must still be
  proposed (the old cells keep their rows), and the searcher kind stays. Old trials are carried
  into the new space's studies where the new space can propose their values.

Datasets, the question, the metric and the encoder define what the rows mean; a sweep that
changes them is a new sweep (``resweep sweep`` with another name).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from spaces import axis_values, get_space
from trainables.errors import ResweepError

from ..config import SweepConfig, parse_sweep_config
from ..registries import GRID
from ..sizes import InDomainSize

__all__ = ["ExtendError", "extend_config", "extension_preview"]


class ExtendError(ResweepError):
    """An extension that cannot be made (one line: what and why)."""


def extend_config(
    config: SweepConfig,
    rows: Sequence[Mapping[str, Any]] = (),
    *,
    budget: int | None = None,
    sizes: Sequence[float | int] | None = None,
    seeds: Sequence[int] | None = None,
    confirm_top_k: int | None = None,
    space: str | None = None,
    now: datetime | None = None,
) -> SweepConfig:
    """``config`` with the given changes, validated and recorded; :class:`ExtendError` when one
    cannot be made. ``rows``: the sweep's results (named in messages about what a change drops)."""
    name = config.name
    changes: dict[str, list[Any]] = {}
    search, data = config.search, config.data

    def grow(key: str, old: int, new: int | None, why: str) -> None:
        if new is None:
            return
        if new < old:
            option = "--" + key.replace("_", "-")
            raise ExtendError(f"sweep {name!r}: {option} {new} is below its {old}; {why}")
        if new != old:
            changes[key] = [old, new]

    grow("budget", search.budget, budget, "a search that ran cannot be shortened, only grown")
    if sizes is not None:
        dropped = [s for s in data.sizes if not any(_same_size(s, n) for n in sizes)]
        if dropped:
            gone = [InDomainSize.of(s) for s in dropped]
            ended = sum(1 for r in rows if any(size.matches(r["in_domain_size"]) for size in gone))
            raise ExtendError(
                f"sweep {name!r}: --sizes drops {', '.join(f'{s:g}' for s in dropped)} "
                f"({ended} ended trials); "
                "give the full new list, the old sizes and the added ones"
            )
        new = [*data.sizes, *(n for n in sizes if not any(_same_size(n, s) for s in data.sizes))]
        if len(new) != len(data.sizes):
            changes["sizes"] = [list(data.sizes), new]
    if seeds is not None:
        missing = [s for s in data.seeds if s not in seeds]
        if missing:
            raise ExtendError(
                f"sweep {name!r}: --seeds drops {', '.join(map(str, missing))}; "
                "give the full new list, the old seeds and the added ones"
            )
        if next(iter(seeds)) != data.seeds[0]:
            raise ExtendError(
                f"sweep {name!r}: --seeds must start with {data.seeds[0]}, the seed its search ran with "
                "(the other seeds confirm the top configurations)"
            )
        if len(set(seeds)) != len(seeds):
            raise ExtendError(f"sweep {name!r}: --seeds repeat: {list(seeds)}")
        if list(seeds) != list(data.seeds):
            changes["seeds"] = [list(data.seeds), [*data.seeds, *(s for s in seeds if s not in data.seeds)]]
    grow("confirm_top_k", search.confirm_top_k, confirm_top_k, "confirmation runs that ended stay")
    if space is not None and space != search.space:
        _check_wider(config, space)
        changes["space"] = [search.space, space]
    if not changes:
        raise ExtendError(
            f"sweep {name!r}: nothing to change (budget {search.budget}, sizes "
            f"{', '.join(f'{s:g}' for s in data.sizes)}, seeds {', '.join(map(str, data.seeds))}, "
            f"confirm_top_k {search.confirm_top_k}, space {search.space}); `resweep resume {name}` "
            "continues an interrupted sweep"
        )

    from ..plan import sweep_document

    document = sweep_document(config)
    keys = {
        "budget": "search",
        "confirm_top_k": "search",
        "space": "search",
        "sizes": "data",
        "seeds": "data",
    }
    for key, (_, new_value) in changes.items():
        document[keys[key]][key] = new_value
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    document["extensions"] = [*document.get("extensions", []), {"at": stamp, "changes": changes}]
    try:
        extended = parse_sweep_config(document, source=f"sweep {name!r} extended")
    except ValueError as err:
        raise ExtendError(str(err)) from None
    return replace(extended, storage=config.storage, source=config.source, text=config.text)


def _same_size(a: float | int, b: float | int) -> bool:
    return type(a) is type(b) and a == b


def _check_wider(config: SweepConfig, space: str) -> None:
    """The new space keeps every value the old one proposed for the question's axes."""
    name, search = config.name, config.search
    try:
        new_space = get_space(space)
    except KeyError as err:
        raise ExtendError(f"sweep {name!r}: --space: {err.args[0]}") from None
    if search.searcher == GRID and new_space.grid() is None:
        raise ExtendError(f"sweep {name!r}: --space {space} has no grid, and this sweep's searcher is grid")
    if new_space.smoke != get_space(search.space).smoke:
        raise ExtendError(
            f"sweep {name!r}: --space {space}: a smoke space and a full one train differently; "
            "their rows would not compare"
        )
    grid = search.searcher == GRID
    for axis in search.question:
        old = axis_values(search.space, axis, grid=grid)
        new = axis_values(space, axis, grid=grid)
        gone = [v for v in old if v not in new]
        if gone:
            raise ExtendError(
                f"sweep {name!r}: --space {space} does not propose {axis} {', '.join(map(str, gone))}, "
                f"which {search.space} did: a space can widen, not narrow (the rows of those cells would "
                "lose their place in the question)"
            )


def extension_preview(
    extended: SweepConfig, rows: list[dict[str, Any]]
) -> list[tuple[float | int, int, int]]:
    """Per size of an extended config: (size, trials ended, at most how many more it runs) given
    the rows already stored (``resweep extend --dry-run``)."""
    from ..plan import plan_sweep

    plan = plan_sweep(extended)
    preview = []
    for key, size in plan.sizes.items():
        wanted = InDomainSize.of(size)
        ended = sum(1 for r in rows if wanted.matches(r["in_domain_size"]))
        preview.append((size, ended, max(0, plan.target(key, rows) - ended)))
    return preview
