"""A size's sequential confirmation, without Optuna or Ray: the plan counts its rounds
(:meth:`search.plan.SweepPlan.expected`), the searcher proposes them
(:class:`search.driver.searchers.PerSlotSearch`). ``search.driver.searchers.Sequential`` is this class."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Sequential"]

FLOOR_CELL = "floor"  # search.answer.decision.FLOOR_CELL (the floor competes as a cell of its own)


@dataclass
class Sequential:
    """A size's sequential confirmation: once every cell of the size has ended its search and its
    fixed confirmation, rounds of runs while the size's decision (:mod:`search.answer.decision`) is
    undetermined — one more seed for the best configuration of each cell still in contention
    (:func:`search.answer.decision.confirmation_round`), until the verdict, ``max_seeds`` or futility.

    ``runs``: (cell, configuration key) -> seed -> score of every finished run of the size (search,
    confirmation and the floor, as the cell ``floor``, which competes but gets no seeds; rebuilt
    from the results store on a restart), ``proposals``: the same key ->
    its configuration, ``seeds``: the seeds a configuration takes in order (``data.seeds``, then
    the ones after them), ``cap``: at most this many runs for the whole size (the planned maximum),
    ``proposed``: the rounds' runs proposed so far (those in the store, on a restart)."""

    size: float | int
    seeds: tuple[int, ...]
    max_seeds: int
    cap: int
    margin: float
    confidence: float
    runs: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict)
    proposals: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    proposed: int = 0
    pending: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # this round: (cell, config)
    live: int = 0  # this round's runs not ended yet
    done: bool = False

    def record(self, cell: str, name: str, proposal: Mapping[str, Any], seed: int, score: float) -> None:
        self.runs.setdefault((cell, name), {})[int(seed)] = float(score)
        self.proposals.setdefault((cell, name), {k: v for k, v in proposal.items() if k != "seed"})

    def next_round(self) -> list[tuple[str, dict[str, Any]]]:
        """The next round's runs (cell, configuration with its seed); none: the answer is reached,
        or the cap is."""
        from .decision import DecisionSettings, confirmation_round
        from .leaderboard import Entry

        if self.done or self.proposed >= self.cap:
            self.done = True
            return []
        cells: dict[str, list[Entry]] = {}
        for (cell, name), scores in self.runs.items():
            cells.setdefault(cell, []).append(
                Entry(float(self.size), {}, name, dict(scores), {}, None, cell=cell)
            )
        for entries in cells.values():
            entries.sort(key=lambda e: (-e.mean, e.key))
        settings = DecisionSettings(margin=self.margin, confidence=self.confidence)
        targets = confirmation_round(cells, settings, self.max_seeds, size=float(self.size))
        round_: list[tuple[str, dict[str, Any]]] = []
        for cell, entry in targets.items():
            if cell == FLOOR_CELL:
                continue  # the floor runs with the sweep's seeds; the decision only weighs it
            seed = next((s for s in self.seeds if s not in entry.scores), None)
            if seed is not None and self.proposed + len(round_) < self.cap:
                round_.append((cell, {**self.proposals[(cell, entry.key)], "seed": seed}))
        if not round_:
            self.done = True
        return round_
