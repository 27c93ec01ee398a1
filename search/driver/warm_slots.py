"""Tune's idle trial processes, kept for every slot of a sweep while its searcher waits.

Tune reuses a trial's process (``reuse_actors=True``) for the next trial when one is waiting for
it. When none is (the searcher has nothing to propose yet), Tune keeps one idle process in all and
stops the others (``ray.tune.utils.object_cache``, ``may_keep_one``). A sweep's searcher waits
on purpose: the fixed confirmation runs once a size's search has ended, each sequential round once
the round before it has ended. So at every such wait all slots but one lose their process, and
the next round's runs start new ones (about 1 s each on a small machine; with one-second trials
Tune then hands the run the first old process that frees and stops the new one, and the round
runs one slot at a time). :func:`keep_idle_processes` lets Tune keep up to one idle process per
slot for a short while, so a round's runs start in the slots' own processes. Tune's own rules
stand otherwise: a process is kept only while the search is not over, and the ones beyond the
first are stopped after ``idle_s`` seconds unused, or at once when a waiting trial needs other
resources. Within it too, a trial's process that Ray has begun to start is not stopped to hand
the trial an idle one (:func:`starting_processes_kept`): with trials shorter than a process start,
Tune would otherwise start a process for nearly every trial and throw it away.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Iterator
from typing import Any

from .swapped import swapped

__all__ = ["IDLE_S", "keep_idle_processes", "starting_processes_kept", "warm_cache"]

IDLE_S = 30.0  # how long a slot's idle process beyond Tune's one is kept for a round to come


def warm_cache(keep: int, idle_s: float = IDLE_S, clock: Any = time.monotonic) -> type:
    """A subclass of Tune's cache of idle trial processes that keeps up to ``keep`` of them (not
    one) while no waiting trial asks for any, each beyond the first at most ``idle_s`` seconds."""
    from ray.tune.utils.object_cache import _ObjectCache

    class _WarmCache(_ObjectCache):
        def __init__(self, may_keep_one: bool = True) -> None:
            super().__init__(may_keep_one=may_keep_one)
            self._since: dict[int, float] = {}  # id of a cached process -> when it went idle

        def _waiting_for_any(self) -> bool:
            return any(v > 0 for v in self._max_num_objects.values())

        def cache_object(self, key: Any, obj: Any) -> bool:
            cached = super().cache_object(key, obj)
            if not cached and self._may_keep_one and not self._waiting_for_any():
                cached = self._num_cached_objects < keep
                if cached:
                    self._cached_objects[key].append(obj)
                    self._num_cached_objects += 1
            if cached:
                self._since[id(obj)] = clock()
            return cached

        def pop_cached_object(self, key: Any) -> Any:
            obj = super().pop_cached_object(key)
            self._since.pop(id(obj), None)
            return obj

        def flush_cached_objects(self, force_all: bool = False) -> Generator[Any, None, None]:
            evicted: Iterator[Any]
            if force_all or not self._may_keep_one or self._waiting_for_any():
                evicted = super().flush_cached_objects(force_all=force_all)
            else:
                evicted = self._flush_idle()
            for obj in evicted:
                self._since.pop(id(obj), None)
                yield obj

        def _flush_idle(self) -> Iterator[Any]:
            """Nobody waits: keep the newest ``keep`` processes, the first of them however long
            it has idled (Tune's one), the others while they have idled under ``idle_s``."""
            now = clock()
            cached = [(key, obj) for key, objs in self._cached_objects.items() for obj in objs]
            ordered = sorted(((self._since.get(id(o), now), k, o) for k, o in cached), key=lambda i: i[0])
            kept = 0
            for since, key, obj in reversed(ordered):  # newest first
                if kept < keep and (kept == 0 or now - since < idle_s):
                    kept += 1
                    continue
                self._cached_objects[key].remove(obj)
                self._num_cached_objects -= 1
                yield obj

    return _WarmCache


def starting_processes_kept(base: type) -> type:
    """A subclass of Tune's controller that does not stop a trial's process while it starts to
    hand the trial an idle one: the idle one is left to a trial with no process of its own.

    Tune requests a process for every trial it stages and, when a process frees first (a trial
    ended), gives it to the oldest staged trial, stopping that trial's own if Ray has begun to
    start it. The trial the searcher then proposes gets a new process, started on the resources
    the stopped one freed, and is overtaken the same way at the next trial's end. Whenever trials
    end faster than a process starts (short trials, a busy machine), every trial costs a process
    start that is thrown away. Kept, the starting process serves its own trial, and the idle one
    the trial proposed next."""

    class _StartingKept(base):
        def _maybe_reuse_cached_actor(self, trial: Any) -> bool:
            own = self._trial_to_actor.get(trial)
            starting = (
                own is not None
                and trial not in self._resetting_trials
                and own not in self._started_actors
                and self._actor_manager.is_actor_started(own)  # Ray has begun to start it
            )
            return False if starting else bool(super()._maybe_reuse_cached_actor(trial))

    return _StartingKept


@contextlib.contextmanager
def keep_idle_processes(keep: int, idle_s: float = IDLE_S) -> Iterator[None]:
    """Within: each Tune experiment started keeps up to ``keep`` idle trial processes (one per
    slot) while its searcher waits, and lets a trial's starting process start. A Ray whose
    controller does not make its cache this way (a later version) is left as it is; so is ``keep``
    of one, Tune's own."""
    if keep <= 1:
        yield
        return
    cache = warm_cache(keep, idle_s)
    with (
        swapped("ray.tune.execution.tune_controller", "_ObjectCache", lambda _original: cache),
        swapped("ray.tune.tune", "TuneController", starting_processes_kept),
    ):
        yield
