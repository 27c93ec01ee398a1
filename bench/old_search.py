"""The searcher and scheduler resweep had before this round, emulated for the search-correctness
benchmark's first row, "before this round" (their code was replaced; see
``bench/search_correctness.py``). Imported by that script, which puts this folder on the path."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ground_truth_tables import CONFIRM_SEEDS, METRIC, TIME, SizeTable, config_id


class OldSearch:
    """resweep before this round, minimally: one TPE study per size (Optuna's defaults, the same
    seed at every size), sizes taking turns by the share of their budget handed out, every ended
    trial told to its study as COMPLETE with its score (a stopped one too), then per size its top
    ``top_k`` configurations by score (stopped ones included) again with the other seeds."""

    def __init__(self, tables: Sequence[SizeTable], seed: int, budget: int, top_k: int):
        import optuna

        self._sizes = {t.key: t.size for t in tables}
        self._space = tables[0].space
        self._studies = {
            key: optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
            for key in self._sizes
        }
        self._budget = dict.fromkeys(self._sizes, budget)
        self._suggested = dict.fromkeys(self._sizes, 0)
        self._confirmed = dict.fromkeys(self._sizes, 0)
        self._top_k = top_k
        self._live: dict[str, tuple[str, Any, dict[str, Any]]] = {}  # id -> (size key, trial or None, config)
        self._scored: dict[str, dict[str, tuple[float, dict[str, Any]]]] = {k: {} for k in self._sizes}
        self._queue: dict[str, list[dict[str, Any]] | None] = dict.fromkeys(self._sizes)

    def _search_live(self, key: str) -> bool:
        return any(k == key and t is not None for k, t, _ in self._live.values())

    def suggest(self, trial_id: str) -> Any:
        from ray.tune.search import Searcher

        from search.plan import ROLE_KEY
        from spaces import define_by_run

        planned = {k: self._budget[k] + self._top_k * len(CONFIRM_SEEDS) for k in self._sizes}
        order = list(self._sizes)
        share = {k: (self._suggested[k] + self._confirmed[k]) / planned[k] for k in order}
        for key in sorted(order, key=lambda k: (share[k], order.index(k))):
            stamp = {"in_domain_size": self._sizes[key]}
            if self._suggested[key] < self._budget[key]:
                trial = self._studies[key].ask()
                self._suggested[key] += 1
                config = define_by_run(trial, self._space)
                self._live[trial_id] = (key, trial, config)
                return {**config, **stamp, ROLE_KEY: "search"}
            if self._search_live(key):
                continue
            if self._queue[key] is None:
                top = sorted(self._scored[key].values(), key=lambda item: -item[0])[: self._top_k]
                self._queue[key] = [{**c, "seed": s} for _, c in top for s in CONFIRM_SEEDS]
            queue = self._queue[key]
            if queue:
                self._confirmed[key] += 1
                self._live[trial_id] = (key, None, {})
                return {**queue.pop(0), **stamp, ROLE_KEY: "confirm"}
        done = all(
            self._suggested[k] >= self._budget[k] and self._queue[k] is not None and not self._queue[k]
            for k in order
        )
        return Searcher.FINISHED if done else None

    def on_trial_result(self, trial_id: str, result: Mapping[str, Any]) -> None:
        pass

    def on_trial_complete(
        self, trial_id: str, result: Mapping[str, Any] | None = None, error: bool = False
    ) -> None:
        import optuna

        key, trial, config = self._live.pop(trial_id, (None, None, {}))
        if key is None or trial is None:
            return
        value = None if (error or not result) else result.get(METRIC)
        if value is None:
            self._studies[key].tell(trial, state=optuna.trial.TrialState.FAIL)
            return
        self._studies[key].tell(trial, float(value))
        name = config_id(config)
        if name not in self._scored[key] or value > self._scored[key][name][0]:
            self._scored[key][name] = (float(value), config)


class OldScheduler:
    """One ASHA per size (grace 1, reduction 2, every strategy compared together) for search
    trials; confirmation runs to the end."""

    def __init__(self) -> None:
        from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

        self._make = lambda: ASHAScheduler(
            time_attr=TIME, metric=METRIC, mode="max", max_t=100, grace_period=1, reduction_factor=2
        )
        self._children: dict[Any, Any] = {}
        self._fifo = FIFOScheduler()

    def _child(self, trial: Any) -> Any:
        from search.plan import ROLE_KEY

        if trial.config.get(ROLE_KEY) != "search":
            return self._fifo
        size = trial.config["in_domain_size"]
        if size not in self._children:
            self._children[size] = self._make()
        return self._children[size]

    def on_trial_add(self, controller: Any, trial: Any) -> None:
        self._child(trial).on_trial_add(controller, trial)

    def on_trial_result(self, controller: Any, trial: Any, result: dict[str, Any]) -> str:
        return str(self._child(trial).on_trial_result(controller, trial, result))

    def on_trial_complete(self, controller: Any, trial: Any, result: dict[str, Any]) -> None:
        self._child(trial).on_trial_complete(controller, trial, result)
