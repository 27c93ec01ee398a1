"""Tune keeps a trial process per slot while the searcher waits on a round (search.driver.warm_slots)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from search.driver.warm_slots import keep_idle_processes, warm_cache


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_up_to_keep_idle_processes_stay_while_nobody_waits() -> None:
    clock = _Clock()
    cache = warm_cache(keep=3, idle_s=30.0, clock=clock)(may_keep_one=True)
    assert [cache.cache_object("cpu", name) for name in "abcd"] == [True, True, True, False]
    assert list(cache.flush_cached_objects()) == []
    clock.now += 10
    assert cache.pop_cached_object("cpu") == "a"
    assert cache.cache_object("cpu", "a")  # idle again from now
    clock.now += 25  # b and c have idled 35 s, a 25 s
    assert sorted(cache.flush_cached_objects()) == ["b", "c"]
    clock.now += 3600  # Tune's own one stays however long it idles
    assert list(cache.flush_cached_objects()) == []
    assert cache.num_cached_objects == 1
    assert list(cache.flush_cached_objects(force_all=True)) == ["a"]
    assert cache.num_cached_objects == 0


def test_tunes_rules_stand_while_a_trial_waits_for_a_process() -> None:
    cache = warm_cache(keep=4)(may_keep_one=True)
    for name in "abc":
        assert cache.cache_object("cpu", name)
    cache.increase_max("gpu")  # a staged trial needs other resources: no process it cannot use stays
    assert list(cache.flush_cached_objects()) == ["a", "b", "c"]
    assert not cache.cache_object("cpu", "d")
    cache.increase_max("cpu")
    assert cache.cache_object("cpu", "d")
    assert not cache.cache_object("cpu", "e")  # one wanted, one kept
    assert list(cache.flush_cached_objects()) == []
    assert cache.pop_cached_object("cpu") == "d"


def test_the_patch_is_scoped() -> None:
    from ray.tune import tune as tune_module
    from ray.tune.execution import tune_controller

    original, controller = tune_controller._ObjectCache, tune_module.TuneController
    with keep_idle_processes(1):
        assert tune_controller._ObjectCache is original  # one slot: Tune's own
        assert tune_module.TuneController is controller
    with pytest.raises(RuntimeError), keep_idle_processes(4):
        assert tune_controller._ObjectCache is not original
        assert issubclass(tune_module.TuneController, controller)
        raise RuntimeError
    assert tune_controller._ObjectCache is original
    assert tune_module.TuneController is controller


def _sleeper(config: dict[str, Any]) -> None:
    from ray import tune

    start = time.time()
    time.sleep(1.0)
    tune.report({"pid": os.getpid(), "start": start, "end": time.time(), "round": config["round"]})


@pytest.mark.ray
def test_a_round_after_a_wait_runs_in_the_slots_own_processes(tmp_path: Path, ray_session: Any) -> None:
    """Two rounds of two one-second trials, 2 at once, the second proposed only once the first
    has ended (as a sweep's confirmation rounds are). Tune alone keeps one idle process: the
    second round starts a new one, or waits for the first process to free. Kept per slot, the
    second round runs at once in the first round's two processes."""
    from ray import tune
    from ray.tune.search import Searcher

    class Rounds(Searcher):
        def __init__(self) -> None:
            super().__init__(metric="end", mode="max")
            self.proposed, self.ended = 0, 0

        def suggest(self, trial_id: str) -> dict[str, Any] | None:
            if self.proposed == 4:
                return Searcher.FINISHED
            if self.proposed == 2 and self.ended < 2:
                return None  # the round waits for the one before it
            self.proposed += 1
            return {"round": 1 if self.proposed <= 2 else 2}

        def on_trial_complete(self, trial_id: str, result: Any = None, error: bool = False) -> None:
            self.ended += 1

    tuner = tune.Tuner(
        tune.with_resources(_sleeper, {"cpu": 1}),
        tune_config=tune.TuneConfig(
            search_alg=Rounds(), num_samples=4, reuse_actors=True, max_concurrent_trials=2
        ),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="rounds", verbose=0),
    )
    with keep_idle_processes(2):
        grid = tuner.fit()
    results = [r.metrics for r in grid]
    assert not grid.errors and len(results) == 4
    first = [r for r in results if r["round"] == 1]
    second = [r for r in results if r["round"] == 2]
    assert {r["pid"] for r in second} == {r["pid"] for r in first}
    assert max(r["start"] for r in second) < min(r["end"] for r in second)  # side by side


def _quick(config: dict[str, Any]) -> None:
    from ray import tune

    time.sleep(0.05)
    tune.report({"pid": os.getpid()})


@pytest.mark.ray
def test_trials_that_end_faster_than_a_process_starts_run_in_the_slots_own_processes(
    tmp_path: Path, ray_session: Any
) -> None:
    """Sixteen trials of 0.05 s, 4 at once on the session's 2 CPUs: trials end while the slots'
    later processes start (Ray keeps an idle process per CPU, so the first two start at once).
    Tune alone would stop a starting process to hand its trial the idle one, and start another for
    the next trial, over and over (a process for nearly every trial). With the starting process
    kept, the run creates the four slots' processes and no other."""
    from ray import tune
    from ray._private import state

    before = set(state.actors())
    tuner = tune.Tuner(
        tune.with_resources(_quick, {"cpu": 0.5}),
        param_space={"i": tune.grid_search(list(range(16)))},
        tune_config=tune.TuneConfig(reuse_actors=True, max_concurrent_trials=4),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="quick", verbose=0),
    )
    with keep_idle_processes(4):
        grid = tuner.fit()
    created = set(state.actors()) - before
    assert not grid.errors and len(grid) == 16
    assert len(created) == 4, f"{len(created)} trial processes created for 4 slots"
    assert len({r.metrics["pid"] for r in grid}) <= 4
