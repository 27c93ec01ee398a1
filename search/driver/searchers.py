"""Searchers: what proposes a sweep's trials, one study and one budget per slot (an in-domain
size's question cell).

Tune runs a sweep as one experiment so that every size's trials share the cluster at once. The
in-domain size is a context, not a hyper-parameter: :class:`PerSlotSearch` holds one searcher per
slot (an Optuna study each, or a grid), asks them in turn — the slot with the smallest share of
its budget handed out goes first — and stamps ``in_domain_size`` on what they propose.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
from ray.tune.search import ConcurrencyLimiter, Searcher
from ray.tune.search.optuna import OptunaSearch

from spaces import define_by_run
from trainables.report_keys import FINAL_STAGE_EPOCHS, TRAINING_DONE

from ..answer.sequential import Sequential  # re-exported: it was defined here
from ..registries import GRID, SAMPLERS

# StudyStorage is named here too: searchers pickled before it moved refer to it by this module.
from .studies import StudyStorage, backup_sqlite, study_copy_path

__all__ = [
    "Confirmation",
    "GridSearch",
    "PerSlotSearch",
    "Restart",
    "ResumableOptunaSearch",
    "Sequential",
    "Slots",
    "StudyStorage",
    "make_searcher",
]

SIZE_FIELD = "in_domain_size"  # the trial key (and results-store column) a proposal's size is stamped under
FLOOR_OF = "_resweep_floor_of"  # the size key a floor proposal belongs to (kept by the searcher)
FLOOR_CELL = "floor"  # search.answer.decision.FLOOR_CELL (the floor competes as a cell of its own)
MAX_REPEATS = 20  # proposals in a row that repeat ended configurations before a cell counts as exhausted
SCHEDULER_TIME = FINAL_STAGE_EPOCHS  # the scheduler's time: pre-training epochs do not count
STUDY_COPY = "optuna.db"  # the saved copy of a local SQLite study, in Tune's experiment folder


class ResumableOptunaSearch(OptunaSearch):
    """OptunaSearch that tells its study the truth about each trial, and survives a driver killed
    between a trial's end and Tune's next save.

    Every epoch of the final stage becomes an intermediate value (``intermediate``: the per-epoch
    dev score, at step ``final_stage_epochs``), so optuna-dashboard draws each trial's curve. A
    trial that ended by itself (its last report says ``training_done``) is COMPLETE with its
    score; one the scheduler stopped is PRUNED — Optuna's own state for it — so TPE does not
    learn a cut-short score as if it were final; an errored one is FAIL. A finished trial is not
    told twice (after a restore Tune replays it).
    """

    def __init__(self, *args: Any, intermediate: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._intermediate = intermediate
        self.completed: dict[str, tuple[float, dict[str, Any]]] = {}  # trial id -> (score, params)
        self._fresh()

    def _fresh(self) -> None:
        # Per driver process, never saved: the trials this searcher asked since it was made or
        # restored (nothing of them is in the study from an earlier driver) and the steps reported
        # for each trial. They spare a read of the trial back from the study (a database round
        # trip, ~10 ms) on every result and every end.
        self._asked_here: set[str] = set()
        self._steps: dict[str, set[int]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_asked_here", "_steps")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fresh()

    def restore(self, checkpoint_path: str) -> None:  # OptunaSearch's own: its saved __dict__
        super().restore(checkpoint_path)
        self._fresh()

    def suggest(self, trial_id: str) -> Any:
        config = super().suggest(trial_id)
        if isinstance(config, dict):
            self._asked_here.add(trial_id)
            self._steps[trial_id] = set()
        return config

    def annotate(self, trial_id: str, attributes: Mapping[str, Any]) -> None:
        """User attributes on the trial's Optuna record (sweep, size, cell, Tune trial id)."""
        trial = self._ot_trials.get(trial_id)
        if trial is None:
            return
        backend = getattr(trial.storage, "_backend", trial.storage)  # behind Optuna's cache
        if isinstance(backend, StudyStorage):
            backend.set_trial_user_attrs(trial._trial_id, attributes)  # one commit, not one each
            return
        for name, value in attributes.items():
            trial.set_user_attr(name, value)

    def enqueue(self, params: Mapping[str, Any]) -> None:
        """Have the study's next proposal be ``params`` (cross-size transfer)."""
        assert self._ot_study is not None  # made in __init__: the space is given
        self._ot_study.enqueue_trial(dict(params), skip_if_exists=True)

    def answer(self, trial_id: str, score: float | None) -> None:
        """Tell the study what a proposal that repeats an ended configuration scores (``score``;
        None: it was stopped, failed or still runs), without running it; ``trial_id`` may ask again."""
        trial = self._ot_trials.pop(trial_id)
        self._asked_here.discard(trial_id)
        self._steps.pop(trial_id, None)
        assert self._ot_study is not None
        trial.set_user_attr("repeat_of_an_ended_trial", True)
        if score is None:
            self._ot_study.tell(trial, None, state=optuna.trial.TrialState.FAIL)
        else:
            self._ot_study.tell(trial, float(score))

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        trial = self._ot_trials.get(trial_id)
        step = result.get(SCHEDULER_TIME) or 0
        value = result.get(self._intermediate) if self._intermediate else None
        if trial is None or trial_id in self._completed_trials or step <= 0 or value is None:
            return
        steps = self._steps.get(trial_id)
        if steps is None:  # asked by an earlier driver: what it reported is in the study
            steps = self._steps[trial_id] = set(trial.storage.get_trial(trial._trial_id).intermediate_values)
        if int(step) not in steps:
            trial.report(float(value), int(step))
            steps.add(int(step))

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        if trial_id in self._completed_trials or trial_id not in self._ot_trials:
            return
        # An ended trial's Optuna handle is let go: the study holds its record, and the searcher's
        # state (pickled at every save of Tune's experiment) keeps only the trials still running.
        trial = self._ot_trials.pop(trial_id)
        self._steps.pop(trial_id, None)
        asked_here = trial_id in self._asked_here
        self._asked_here.discard(trial_id)
        value = None if (error or not result) else result.get(self.metric)
        if not asked_here and trial.storage.get_trial(trial._trial_id).state.is_finished():
            self._completed_trials.add(trial_id)  # told before the driver died; Tune replays it
            return
        if value is None:
            state = optuna.trial.TrialState.FAIL
        elif result and result.get(TRAINING_DONE):
            state = optuna.trial.TrialState.COMPLETE
            self.completed[trial_id] = (float(value), dict(trial.params))
        else:
            state = optuna.trial.TrialState.PRUNED
        told = float(value) if value is not None and state == optuna.trial.TrialState.COMPLETE else None
        assert self._ot_study is not None
        self._ot_study.tell(trial, told, state=state)
        self._completed_trials.add(trial_id)


class _PickledState(Searcher):
    """Save and restore the whole searcher with pickle, as Tune's own searchers (OptunaSearch
    included) do, into the experiment folder the sweep itself created."""

    def get_state(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def set_state(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def save(self, checkpoint_path: str) -> None:
        import pickle

        with open(checkpoint_path, "wb") as handle:
            pickle.dump(self.__dict__, handle)

    def restore(self, checkpoint_path: str) -> None:
        import pickle

        with open(checkpoint_path, "rb") as handle:
            self.__dict__.update(pickle.load(handle))  # the sweep's own state file


class GridSearch(_PickledState):
    """Hands out a fixed list of configurations in order (a space's grid)."""

    def __init__(self, configs: Sequence[Mapping[str, Any]], metric: str, mode: str = "max"):
        super().__init__(metric=metric, mode=mode)
        self._configs = [dict(c) for c in configs]
        self._next = 0

    def suggest(self, trial_id: str) -> Any:  # a config, None (not now) or Searcher.FINISHED
        if self._next >= len(self._configs):
            return Searcher.FINISHED
        self._next += 1
        return dict(self._configs[self._next - 1])

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        pass


@dataclass
class Confirmation:
    """A size's confirmation runs: after its search, the ``top_k`` best configurations run again
    with each of ``seeds`` (the seeds other than the search's).

    ``scored`` holds (score, proposal) of search trials that ended before this searcher existed
    (a sweep restarted after a crash); ``done`` the (configuration key, seed) pairs already run.
    """

    top_k: int
    seeds: tuple[int, ...]
    scored: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    done: set[tuple[str, int]] = field(default_factory=set)
    queue: list[dict[str, Any]] | None = None  # built once every search trial of the size ended

    @property
    def most(self) -> int:
        return self.top_k * len(self.seeds)


StoredSearchRun = tuple[str, str, float | None, Mapping[str, Any]]  # name, configuration key, score, config


@dataclass(frozen=True)
class StoreRuns:
    """What the results store holds as a run begins, for a searcher Tune restores from its last
    saved state: the trials it proposed after that save and that ended since are in the store but
    not in the state (Tune saves every few seconds; thousands of short trials end in between).

    ``search``: slot -> (trial name, configuration key, score or None, configuration) of its
    search rows (a score only for a run that finished);
    ``confirm``: slot -> (trial name, configuration key, seed) of its confirmation rows;
    ``floor_seeds``: size key -> the seeds whose floor run has a row;
    ``restored``: Tune trial id -> Tune config of every trial Tune's saved experiment runs again
    (unfinished or errored). Tune writes the experiment's state before the searcher's, and in
    object storage the two files upload apart, so a kill can leave a searcher's state older than
    the trials: a trial it does not know counts as live in its slot, not as one to propose again."""

    search: Mapping[str, Sequence[StoredSearchRun]] = field(default_factory=dict)
    confirm: Mapping[str, Sequence[tuple[str, str, int]]] = field(default_factory=dict)
    floor_seeds: Mapping[str, frozenset[int]] = field(default_factory=dict)
    restored: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Slots:
    """What a sweep's searcher is told about its slots (a slot: an in-domain size's question cell,
    keyed like ``id0.1/local``).

    Per slot: ``budgets``, the search trials still to propose; ``sizes``, the in-domain size
    stamped on its proposals; ``cells``, its question cell; ``slot_size``, its size key (default:
    the slot's own key). Per size key: ``floors``, the classical floor's configurations (one per
    seed) proposed before the size's search; ``confirmations``, the fixed confirmation of its top
    configurations; ``sequential``, its sequential confirmation rounds. ``config_key`` tells
    configurations of a size apart, the seed aside (what confirmation and repeats compare)."""

    budgets: Mapping[str, int]
    sizes: Mapping[str, float | int]
    cells: Mapping[str, str] = field(default_factory=dict)
    slot_size: Mapping[str, str] | None = None
    floors: Mapping[str, Sequence[Mapping[str, Any]]] = field(default_factory=dict)
    confirmations: Mapping[str, Confirmation] = field(default_factory=dict)
    sequential: Mapping[str, Sequential] = field(default_factory=dict)
    config_key: Callable[[str, Mapping[str, Any]], str] | None = None


@dataclass(frozen=True)
class Restart:
    """What the results store held when a searcher was made after earlier runs (a resume whose
    Tune state was lost, an extension). ``ended``: slot -> configuration key -> its score (None:
    stopped or failed), configurations not to propose again; ``baseline``: slot -> (search rows,
    confirmation rows) then, the rows its budgets were cut from, so that a catch-up with the store
    (:func:`hand_over`) counts only the rows after them."""

    ended: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    baseline: Mapping[str, tuple[int, int]] = field(default_factory=dict)


_STORE_RUNS: StoreRuns | None = None  # set by the sweep around a restored Tuner.fit (hand_over)


def hand_over(runs: StoreRuns | None) -> None:
    """The results store's runs a searcher Tune restores catches up with (None: none)."""
    global _STORE_RUNS
    _STORE_RUNS = runs


def _named_by(names: set[str]) -> Callable[[str], bool]:
    """Whether a trial name (``<label>_<hash>_<Tune trial id>``) ends with one of the trial ids."""
    suffixes = {f"_{t}" for t in names}
    lengths = {len(s) for s in suffixes}
    return lambda name: any(name[-n:] in suffixes for n in lengths)


class PerSlotSearch(_PickledState):
    """One searcher and one budget per *slot* — an in-domain size's question cell — behind one
    Tune experiment.

    ``searchers`` are keyed by slot (e.g. ``id0.1/local``); ``slots`` (:class:`Slots`) says what
    each slot still has to propose and what its size does after its search. Slots take turns: the
    one with the smallest share of its planned trials handed out goes first, so every cell gets
    its share under any concurrency. A slot whose searcher has nothing to propose right now yields
    its turn to the others. The floor's configurations come before a size's search; once a slot's
    search is over it proposes its top *finished* configurations again with the other seeds, and
    after every slot of the size has ended its search and fixed confirmation, the size's
    sequential rounds. Those runs and the floor are not told to any study. Every proposal carries
    its role and cell (:data:`search.plan.ROLE_KEY`).

    ``transfer``: cross-size transfer. While a slot's study is still in its random start-up, its
    next proposal is the best finished configuration of the same cell at the nearest other size
    (at most ``transfer_k`` per slot, each once): what one size learned starts the others.

    ``restart`` (:class:`Restart`): what the store held when this searcher was made after
    earlier runs. ``study_copy_of``: the object-store sweep folder whose SQLite studies are a
    local copy on the driver (:attr:`search.plan.SweepPaths.studies`); the copy is saved beside
    the searcher's own state whenever Tune saves that (and uploads it with the rest).
    """

    def __init__(
        self,
        searchers: Mapping[str, Searcher],
        slots: Slots,
        metric: str,
        mode: str = "max",
        *,
        transfer: bool = False,
        transfer_k: int = 2,
        startup: Mapping[str, int] | None = None,
        annotations: Mapping[str, Any] | None = None,
        restart: Restart | None = None,
        study_copy_of: str | None = None,
    ):
        super().__init__(metric=metric, mode=mode)
        restart = restart or Restart()
        # slot -> (search rows, confirmation rows) the store held when this searcher was made: its
        # budgets are what was left then, so a catch-up counts only the rows after them.
        self._baseline = dict(restart.baseline)
        self._sequential = dict(slots.sequential)
        self._confirming: dict[str, dict[str, Any]] = {}  # live confirmation trial id -> its config
        self._rounds: set[str] = set()  # live trial ids of sequential rounds
        self._floor_runs: dict[str, dict[str, Any]] = {}  # live floor trial id -> its config
        # slot -> configuration key -> its finished score (None: stopped, failed or running).
        self._ran: dict[str, dict[str, float | None]] = {
            key: dict(restart.ended.get(key, {})) for key in searchers
        }
        self._study_copy_of = study_copy_of
        self._searchers = dict(searchers)
        self._budgets = {key: slots.budgets[key] for key in self._searchers}
        self._sizes = dict(slots.sizes)
        self._cells = dict(slots.cells)
        self._slot_size = dict(slots.slot_size or {key: key for key in self._searchers})
        self._floors = {key: [dict(c) for c in configs] for key, configs in slots.floors.items()}
        self._suggested = dict.fromkeys(self._searchers, 0)
        self._owner: dict[str, str] = {}  # trial id -> slot, while the trial is live
        self._proposal: dict[str, dict[str, Any]] = {}  # live search trial id -> its proposal
        self._confirm = {key: c for key, c in slots.confirmations.items() if c.top_k and c.seeds}
        self._confirmed = dict.fromkeys(self._searchers, 0)
        self._config_key = slots.config_key
        self._transfer = transfer
        self._transfer_k = transfer_k
        self._startup = dict(startup or {})
        self._transferred: dict[str, list[str]] = {key: [] for key in self._searchers}
        self._annotations = dict(annotations or {})
        # slot -> (search trials proposed, budget) of a slot whose every proposal repeats an ended
        # configuration: the rest of its budget cannot be spent.
        self.exhausted: dict[str, tuple[int, int]] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A searcher pickled before sequential confirmation existed has none of its state.
        self.__dict__.update(
            {"_sequential": {}, "_confirming": {}, "_rounds": set(), "_floor_runs": {}, "_baseline": {}}
        )
        self.__dict__.update(state)

    def restore(self, checkpoint_path: str) -> None:
        super().restore(checkpoint_path)
        self._catch_up_pending = True  # Tune restores before the run's first suggest

    def catch_up(self, runs: StoreRuns) -> None:
        """Count what ended after the state this searcher was restored from was saved: its search
        and confirmation rows count against the slots' budgets (never proposed again), their
        configurations are not proposed twice, and a floor seed with a row is not run again.
        Trials that were live at the save are Tune's to resume: they are counted as live, and so
        are trials Tune resumes that the saved state does not know (:meth:`_adopt`)."""
        self._adopt(runs.restored)
        live = _named_by(set(self._owner))
        for key, searched in runs.search.items():
            if key not in self._searchers:
                continue
            live_search = sum(1 for t, k in self._owner.items() if k == key and t in self._proposal)
            ended = [r for r in searched if not live(r[0])]
            before_search, _ = self._baseline.get(key, (0, 0))
            self._suggested[key] = max(self._suggested[key], len(ended) - before_search + live_search)
            for _, name, score, _ in searched:
                if score is not None or name not in self._ran[key]:
                    self._ran[key][name] = score
            confirm = self._confirm.get(key)
            if confirm is not None:  # a run scored twice ranks once: the top is by configuration
                confirm.scored.extend((s, dict(c)) for _, _, s, c in ended if s is not None)
        for key, confirmed_runs in runs.confirm.items():
            confirm = self._confirm.get(key)
            if confirm is None:
                continue
            self._confirmed_already(key, {(name, seed) for _, name, seed in confirmed_runs})
            live_confirm = sum(
                1 for t in self._confirming if self._owner.get(t) == key and t not in self._rounds
            )
            confirmed = sum(1 for r in confirmed_runs if not live(r[0]))
            _, before_confirm = self._baseline.get(key, (0, 0))
            self._confirmed[key] = max(self._confirmed[key], confirmed - before_confirm + live_confirm)
        for size_key, seeds in runs.floor_seeds.items():
            if size_key in self._floors:
                self._floors[size_key] = [f for f in self._floors[size_key] if int(f["seed"]) not in seeds]

    def _adopt(self, restored: Mapping[str, Mapping[str, Any]]) -> None:
        """Take over the trials Tune runs again that this searcher's saved state never proposed
        (it was saved before them): each is live in its slot, as if proposed here, so its slot's
        budget, fixed confirmation, sequential round or floor seed is not spent twice. Their
        studies never hear of them (Optuna asked them in the lost state; the sweep's study check
        finds such trials)."""
        from ..plan import CELL_KEY, ROLE_KEY

        slot_of = {(float(self._sizes[k]), self._cells.get(k, "")): k for k in self._searchers}
        for trial_id, tune_config in restored.items():
            if trial_id in self._owner or trial_id in self._floor_runs:
                continue  # the saved state knows it
            role = tune_config.get(ROLE_KEY)
            if role not in ("search", "confirm", "floor"):
                continue  # a trial of a sweep from before roles were stamped: left to the rows
            size = float(tune_config.get(SIZE_FIELD, "nan"))
            config = {k: v for k, v in tune_config.items() if k not in (SIZE_FIELD, ROLE_KEY, CELL_KEY)}
            if role == "floor":
                size_key = next((self._slot_size[k] for (s, _), k in slot_of.items() if s == size), None)
                if size_key is not None:
                    seed = int(config["seed"])
                    queue = self._floors.get(size_key, [])
                    self._floors[size_key] = [c for c in queue if int(c["seed"]) != seed]
                    self._floor_runs[trial_id] = {**config, FLOOR_OF: size_key}
                continue
            slot = slot_of.get((size, str(tune_config.get(CELL_KEY, ""))))
            if slot is None:
                continue
            self._owner[trial_id] = slot
            if role == "search":
                self._proposal[trial_id] = config
                self._suggested[slot] += 1
                if self._config_key is not None:
                    self._ran[slot].setdefault(self._config_key(self._slot_size[slot], config), None)
                continue
            self._confirming[trial_id] = config
            confirm = self._confirm.get(slot)
            seed = int(config.get("seed", -1))
            if confirm is not None and seed in confirm.seeds:  # a fixed confirmation run
                self._confirmed[slot] += 1
                if self._config_key is not None:
                    self._confirmed_already(slot, {(self._config_key(self._slot_size[slot], config), seed)})
            else:  # a run of a sequential round
                self._rounds.add(trial_id)
                sequential = self._sequential.get(self._slot_size[slot])
                if sequential is not None:
                    sequential.proposed += 1
                    sequential.live += 1

    def _confirmed_already(self, key: str, done: set[tuple[str, int]]) -> None:
        """(configuration key, seed) pairs of slot ``key`` that ran or run elsewhere: its fixed
        confirmation does not propose them."""
        confirm = self._confirm[key]
        confirm.done |= done
        if confirm.queue is not None and self._config_key is not None:
            size_key = self._slot_size[key]
            confirm.queue = [
                c for c in confirm.queue if (self._config_key(size_key, c), int(c["seed"])) not in done
            ]

    def _planned(self, key: str) -> int:
        confirm = self._confirm.get(key)
        return self._budgets[key] + (confirm.most if confirm else 0)

    def _searching(self, key: str) -> bool:
        return self._suggested[key] < self._budgets[key]

    def _live_search(self, key: str) -> bool:
        return any(owner == key for trial, owner in self._owner.items() if trial in self._proposal)

    def _next_confirmation(self, key: str) -> dict[str, Any] | None:
        confirm = self._confirm.get(key)
        if confirm is None or self._live_search(key):
            return None  # no confirmation, or the ranking is not known yet
        if confirm.queue is None:
            assert self._config_key is not None
            size_key = self._slot_size[key]
            best: dict[str, tuple[float, dict[str, Any]]] = {}
            for score, proposal in confirm.scored:
                name = self._config_key(size_key, proposal)
                if name not in best or score > best[name][0]:
                    best[name] = (score, proposal)
            # Ties go to the smaller configuration key, as SweepPlan.expected ranks them.
            top = sorted(best.items(), key=lambda item: (-item[1][0], item[0]))[: confirm.top_k]
            confirm.queue = [
                {**proposal, "seed": seed}
                for name, (_, proposal) in top
                for seed in confirm.seeds
                if (name, seed) not in confirm.done
            ]
        return confirm.queue.pop(0) if confirm.queue else None

    def _fixed_done(self, key: str) -> bool:
        """The slot's search and fixed confirmation are over (nothing of them left to propose)."""
        confirm = self._confirm.get(key)
        if self._searching(key) or (confirm is not None and self._live_search(key)):
            return False
        return confirm is None or (confirm.queue is not None and not confirm.queue)

    def _finished(self, key: str) -> bool:
        sequential = self._sequential.get(self._slot_size[key])
        return self._fixed_done(key) and (sequential is None or sequential.done)

    def _next_round_run(self) -> dict[str, Any] | None:
        """A run of a size's sequential confirmation, once every slot of the size has ended its
        search and its fixed confirmation runs (none of them live); a new round only after the
        last one's runs all ended, so each round decides on everything before it."""
        for size_key, sequential in self._sequential.items():
            slots = [k for k, v in self._slot_size.items() if v == size_key]
            if sequential.done or not all(self._fixed_done(k) for k in slots):
                continue
            if any(self._owner.get(t) in slots for t in self._confirming if t not in self._rounds):
                continue  # a fixed confirmation run of the size is still running
            if self._floors.get(size_key) or any(f[FLOOR_OF] == size_key for f in self._floor_runs.values()):
                continue  # the floor, which the decision weighs too, has not ended
            if not sequential.pending and sequential.live == 0:
                sequential.pending = sequential.next_round()
            if sequential.pending:
                cell, config = sequential.pending.pop(0)
                slot = next((k for k in slots if self._cells.get(k, "") == cell), slots[0])
                sequential.proposed += 1
                sequential.live += 1
                return {"slot": slot, "config": config}
        return None

    def _stamp(self, trial_id: str, key: str, config: Mapping[str, Any], role: str) -> dict[str, Any]:
        from ..plan import CELL_KEY, ROLE_KEY

        self._owner[trial_id] = key
        stamped = {**config, SIZE_FIELD: self._sizes[key], ROLE_KEY: role}
        if key in self._cells:
            stamped[CELL_KEY] = self._cells[key]
        return stamped

    def _floor(self) -> dict[str, Any] | None:
        from ..plan import ROLE_KEY

        for size_key, queue in self._floors.items():
            slot = next((k for k, v in self._slot_size.items() if v == size_key), None)
            if queue and slot is not None:
                return {**queue.pop(0), SIZE_FIELD: self._sizes[slot], ROLE_KEY: "floor", FLOOR_OF: size_key}
        return None

    def _transfer_into(self, key: str) -> None:
        """Enqueue the nearest size's best finished configuration of the same cell, while ``key``'s
        study is in its random start-up."""
        searcher = self._searchers[key]
        if (
            not self._transfer
            or not isinstance(searcher, ResumableOptunaSearch)
            or len(self._transferred[key]) >= self._transfer_k
            or self._suggested[key] >= self._startup.get(key, 0)
        ):
            return
        size = float(self._sizes[key])
        donors = sorted(
            (
                other
                for other in self._searchers
                if other != key
                and self._cells.get(other) == self._cells.get(key)
                and self._sizes[other] != self._sizes[key]
                and isinstance(self._searchers[other], ResumableOptunaSearch)
            ),
            key=lambda other: abs(math.log(float(self._sizes[other]) / size)),
        )
        for other in donors:
            donor = self._searchers[other]
            assert isinstance(donor, ResumableOptunaSearch)
            for _, params in sorted(donor.completed.values(), key=lambda item: -item[0]):
                name = json.dumps(params, sort_keys=True, default=str)
                if name not in self._transferred[key]:
                    searcher.enqueue(params)
                    self._transferred[key].append(name)
                    return
            if donor.completed:
                return  # the nearest size with evidence had nothing new: do not reach further

    def _propose(self, key: str, trial_id: str) -> Any:
        """The slot's next configuration that has not run at this size and cell. A repeat is
        answered from the earlier run's score (told to the study, not run) and the study asked
        again; a slot that proposes only repeats has exhausted its cell."""
        searcher = self._searchers[key]
        if self._config_key is None:
            return searcher.suggest(trial_id)
        study = isinstance(searcher, ResumableOptunaSearch)
        repeats = 0
        while not study or repeats < MAX_REPEATS:
            config = searcher.suggest(trial_id)
            if not isinstance(config, dict):
                return config
            name = self._config_key(self._slot_size[key], config)
            if name not in self._ran[key]:
                self._ran[key][name] = None
                return config
            if isinstance(searcher, ResumableOptunaSearch):
                searcher.answer(trial_id, self._ran[key][name])
                repeats += 1
            # else: a grid point that ended after the state the grid was restored from: the next one
        return Searcher.FINISHED

    def suggest(self, trial_id: str) -> Any:  # a config, None (not now) or Searcher.FINISHED
        if self.__dict__.pop("_catch_up_pending", False) and _STORE_RUNS is not None:
            self.catch_up(_STORE_RUNS)
        floor = self._floor()
        if floor is not None:
            self._floor_runs[trial_id] = floor
            return {k: v for k, v in floor.items() if k != FLOOR_OF}
        order = list(self._searchers)
        share = {k: (self._suggested[k] + self._confirmed[k]) / max(1, self._planned(k)) for k in order}
        for key in sorted(order, key=lambda k: (share[k], order.index(k))):
            if self._searching(key):
                self._transfer_into(key)
                config = self._propose(key, trial_id)
                if config == Searcher.FINISHED:
                    if isinstance(self._searchers[key], ResumableOptunaSearch):
                        self.exhausted[key] = (self._suggested[key], self._budgets[key])
                    self._budgets[key] = self._suggested[key]  # this slot has no more to propose
                elif config is not None:
                    assert isinstance(config, dict)
                    self._suggested[key] += 1
                    self._proposal[trial_id] = dict(config)
                    searcher = self._searchers[key]
                    if isinstance(searcher, ResumableOptunaSearch):
                        searcher.annotate(
                            trial_id,
                            {
                                **self._annotations,
                                "size": self._sizes[key],
                                "cell": self._cells.get(key, ""),
                                "tune_trial_id": trial_id,
                            },
                        )
                    return self._stamp(trial_id, key, config, "search")
            if not self._searching(key):
                again = self._next_confirmation(key)
                if again is not None:
                    self._confirmed[key] += 1
                    self._confirming[trial_id] = dict(again)
                    return self._stamp(trial_id, key, again, "confirm")
        extra = self._next_round_run()
        if extra is not None:
            self._confirming[trial_id] = dict(extra["config"])
            self._rounds.add(trial_id)
            return self._stamp(trial_id, extra["slot"], extra["config"], "confirm")
        if all(self._finished(k) for k in order) and not any(self._floors.values()):
            return Searcher.FINISHED
        return None

    def on_trial_result(self, trial_id: str, result: dict[str, Any]) -> None:
        if trial_id in self._proposal:
            self._searchers[self._owner[trial_id]].on_trial_result(trial_id, result)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        floor = self._floor_runs.pop(trial_id, None)
        key = self._owner.pop(trial_id, None)
        proposal = self._proposal.pop(trial_id, None)
        ran_to_end = not error and bool(result) and bool(result and result.get(TRAINING_DONE))
        score = None if (error or not result) else result.get(self.metric)
        if floor is not None:  # the floor's run: the sequential decision weighs it as a cell
            sequential = self._sequential.get(floor[FLOOR_OF])
            if sequential is not None and ran_to_end and score is not None:
                sequential.record(FLOOR_CELL, FLOOR_CELL, {}, int(floor["seed"]), float(score))
            return
        if key is not None and trial_id in self._confirming:  # a confirmation run
            config = self._confirming.pop(trial_id)
            sequential = self._sequential.get(self._slot_size[key])
            if trial_id in self._rounds:
                self._rounds.discard(trial_id)
                if sequential is not None:
                    sequential.live -= 1
            if sequential is not None and ran_to_end and score is not None and self._config_key is not None:
                name = self._config_key(self._slot_size[key], config)
                sequential.record(self._cells.get(key, ""), name, config, int(config["seed"]), float(score))
            return
        if key is None or proposal is None:
            return  # a floor run (or a trial this searcher never proposed)
        self._searchers[key].on_trial_complete(trial_id, result, error=error)
        confirm = self._confirm.get(key)
        score = None if (error or not result) else result.get(self.metric)
        if self._config_key is not None and score is not None and result and result.get(TRAINING_DONE):
            self._ran[key][self._config_key(self._slot_size[key], proposal)] = float(score)
        # Only trials that ran to their own end are confirmed: a stopped one never wins.
        if confirm is not None and score is not None and result and result.get(TRAINING_DONE):
            confirm.scored.append((float(score), proposal))
        sequential = self._sequential.get(self._slot_size[key])
        if sequential is not None and ran_to_end and score is not None and self._config_key is not None:
            name = self._config_key(self._slot_size[key], proposal)
            seed = int(proposal.get("seed", sequential.seeds[0]))
            sequential.record(self._cells.get(key, ""), name, proposal, seed, float(score))

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # metric and mode are fixed when the sweep builds the searchers

    def save_to_dir(self, checkpoint_dir: str, session_str: str = "default") -> None:
        super().save_to_dir(checkpoint_dir, session_str)
        if self._study_copy_of is not None:
            studies = study_copy_path(self._study_copy_of)
            if studies.is_file():
                backup_sqlite(studies, Path(checkpoint_dir) / STUDY_COPY)


def startup_trials(budget: int) -> int:
    """TPE's random start-up for a study of ``budget`` trials: a third of it, at least 2, at most
    Optuna's default 10 (with 10 random trials a budget of 10 would be random search)."""
    return max(2, min(10, round(budget / 3)))


def study_seed(seed: int, slot: str) -> int:
    """A sampler seed per slot: sizes and cells must not all propose the same sequence."""
    import hashlib

    return int.from_bytes(hashlib.sha256(f"{seed}:{slot}".encode()).digest()[:4], "big")


def _trials_in(storage: optuna.storages.BaseStorage | None, study_name: str) -> int:
    """How many trials the study ``study_name`` has (0: none, or no such study)."""
    if storage is None:
        return 0
    try:
        return storage.get_n_trials(storage.get_study_id_from_name(study_name))
    except KeyError:
        return 0


def random_sampler(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    """``random``: independent draws (the budget does not matter)."""
    return optuna.samplers.RandomSampler(seed=seed)


def tpe_sampler(seed: int, budget: int) -> optuna.samplers.BaseSampler:
    """``tpe``: multivariate TPE with random start-up scaled to the slot's budget."""
    import warnings

    with warnings.catch_warnings():  # multivariate/group/constant_liar are flagged experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed,
            n_startup_trials=startup_trials(budget),
            multivariate=True,  # joint over the parameters of a conditional space...
            group=True,  # ...split into the groups of parameters that occur together
            constant_liar=True,  # concurrent proposals: running trials count as bad, not unknown
        )


PerSizeSearch = PerSlotSearch  # its name before slots: Tune experiments saved then pickled it so


def make_searcher(
    *,
    kind: str,
    space: str,
    slots: Slots,
    metric: str,
    seed: int,
    storage_url: str | None,
    study_prefix: str,
    max_concurrent: int,
    cell_values: Mapping[str, Mapping[str, Any]] | None = None,
    grids: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    transfer: bool = False,
    intermediate: str | None = None,
    restart: Restart | None = None,
    study_copy_of: str | None = None,
) -> Searcher:
    """The sweep's searcher over ``slots`` (:class:`Slots`): per slot an Optuna study
    (``kind`` ``tpe``/``random``, named ``<study_prefix>-<slot>``, on ``space`` with the axis values
    ``cell_values[cell]`` fixed) or, for ``grid``, the list ``grids[slot]``; then the slot's
    confirmation runs; at most ``max_concurrent`` trials at once. ``storage_url`` None keeps the
    studies in memory (replays of the search)."""
    searchers: dict[str, Searcher] = {}
    storage = (
        StudyStorage(storage_url, copy_of=study_copy_of) if kind != GRID and storage_url else None
    )  # one connection pool for all slots
    cells = dict(slots.cells)
    startup: dict[str, int] = {}
    for key in slots.sizes:
        if kind == GRID:
            assert grids is not None
            searchers[key] = GridSearch(grids[key], metric=metric)
            continue
        fixed = dict((cell_values or {}).get(cells.get(key, ""), {}))
        startup[key] = startup_trials(slots.budgets[key]) if kind == "tpe" else 0
        # A study that has trials (a resume, an extension) gets a sampler seed of its own: a
        # restarted sampler must not replay the random draws it began with.
        had = _trials_in(storage, f"{study_prefix}-{key}")
        searchers[key] = ResumableOptunaSearch(
            space=functools.partial(define_by_run, space=space, fixed=fixed or None),
            metric=metric,
            mode="max",
            sampler=SAMPLERS.get(kind)(study_seed(seed, f"{key}#{had}" if had else key), slots.budgets[key]),
            study_name=f"{study_prefix}-{key}",
            storage=storage,
            intermediate=intermediate,
        )
    per_slot = PerSlotSearch(
        searchers,
        slots,
        metric=metric,
        transfer=transfer and kind == "tpe",
        startup=startup,
        annotations={"sweep": study_prefix},
        restart=restart,
        study_copy_of=study_copy_of,
    )
    return ConcurrencyLimiter(per_slot, max_concurrent=max_concurrent)
