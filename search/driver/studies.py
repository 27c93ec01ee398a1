"""A sweep's Optuna studies kept true to its results store.

The results store is the truth about what ran (:mod:`search.results`); the studies are what the
searcher learns from. Whenever a sweep starts a new Tune experiment (a first run, a resume whose
Tune state is gone, an extension), :func:`sync_studies` makes each slot's study agree with the
store: ended rows the study lacks are added as trials (a study rebuilt after damage, a new study
for a wider space), trials left RUNNING by a driver that died are marked FAIL, and trials the
study has but the store lost are counted so the sweep can say so.

Rows are turned back into Optuna parameters by replaying the space on them
(:class:`_Replay`): the space asks its questions and each is answered from the row's config. A
row whose values the space cannot propose (a value outside a choice list or a range, a constant
that differs) does not fit that space and is not carried; it still counts everywhere else.
"""

from __future__ import annotations

import copy
import json
import math
import shlex
import shutil
import sqlite3
import sys
from collections.abc import Container, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.storages._rdb import models
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from spaces import define_by_run

if TYPE_CHECKING:
    from ..config import SweepConfig
    from ..plan import SweepPaths, SweepPlan

__all__ = [
    "StudiesDamaged",
    "StudyStorage",
    "StudySync",
    "check_sqlite_studies",
    "check_studies",
    "move_aside",
    "replay_params",
    "sync_studies",
    "sync_study",
]

CARRIED_ATTR = "resweep_row"  # user attribute of a study trial added from a results-store row


class StudiesDamaged(RuntimeError):
    """The sweep's SQLite studies cannot be read."""


def check_sqlite_studies(path: Path, way_out: str) -> None:
    """Raise :class:`StudiesDamaged` (one line naming ``path`` and ``way_out``) unless ``path`` is
    absent or a readable SQLite database whose tables, if any, Optuna can use."""
    if not path.is_file():
        return
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.execute("PRAGMA schema_version").fetchone()
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables and "studies" not in tables:
                raise sqlite3.DatabaseError("no `studies` table: not an Optuna database")
            if "studies" in tables:
                db.execute("SELECT count(*) FROM studies").fetchone()
    except sqlite3.Error as err:
        raise StudiesDamaged(f"{path}: the Optuna studies cannot be read ({err}); {way_out}") from None


def move_aside(path: Path) -> Path:
    """Rename a damaged database (and its WAL journal) out of the way; return the new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = path.with_name(path.name + suffix)
        if part.exists():
            shutil.move(part, target.with_name(target.name + suffix))
    return target


class _DoesNotFit(Exception):
    pass


class _Replay:
    """An Optuna trial stand-in that answers a space's questions from a trial config (by the
    config key a parameter name ends in, as spaces name narrower choice sets ``x.<key>``) and
    records each parameter and its distribution."""

    def __init__(self, config: Mapping[str, Any], asked: Mapping[str, Any] | None = None):
        self.config = config
        self.asked = asked or {}
        self.params: dict[str, Any] = {}
        self.distributions: dict[str, BaseDistribution] = {}

    def _given(self, name: str) -> Any:
        if name in self.asked:
            return self.asked[name]
        key = name.rpartition(".")[2]
        if key not in self.config:
            raise _DoesNotFit(key)
        return self.config[key]

    def suggest_categorical(self, name: str, choices: Any) -> Any:
        value = self._given(name)
        match = next((c for c in choices if _same(c, value)), _DoesNotFit)
        if match is _DoesNotFit:
            raise _DoesNotFit(name)
        self.params[name] = match
        self.distributions[name] = CategoricalDistribution(list(choices))
        return match

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        value = self._given(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise _DoesNotFit(name)
        self.params[name] = float(value)
        self.distributions[name] = FloatDistribution(low, high, log=log, step=step)
        return float(value)

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        value = self._given(name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
            raise _DoesNotFit(name)
        if not low <= int(value) <= high:
            raise _DoesNotFit(name)
        self.params[name] = int(value)
        self.distributions[name] = IntDistribution(low, high, log=log, step=step)
        return int(value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return bool(a == b)


def replay_params(
    config: Mapping[str, Any],
    space: str,
    fixed: Mapping[str, Any] | None = None,
    asked: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, BaseDistribution]] | None:
    """The Optuna parameters and distributions under which ``space`` (its question axes
    ``fixed``) proposes ``config``; None when it cannot propose it. ``asked``: the values by the
    searcher's own parameter names, where the row kept them (else a name's last dotted part is
    taken as the config key it sets)."""
    replay = _Replay(config, asked)
    try:
        proposal = define_by_run(replay, space, fixed=fixed)
    except (_DoesNotFit, ValueError):
        return None
    if any(key in config and not _same(value, config[key]) for key, value in proposal.items()):
        return None  # a constant of the space differs from what the row ran with
    return replay.params, replay.distributions


@dataclass
class StudySync:
    """What :func:`sync_study` did to one study."""

    carried: int = 0  # rows added as trials
    unfit: int = 0  # rows the study's space cannot propose (not carried)
    failed_stale: int = 0  # RUNNING trials of a gone driver, now FAIL
    lost: int = 0  # ended trials the study has and the results store lacks


def sync_study(
    study: optuna.Study,
    rows: Iterable[Mapping[str, Any]],
    *,
    space: str,
    fixed: Mapping[str, Any] | None,
    metric: str,
    stale_running: bool,
) -> StudySync:
    """Make ``study`` agree with the results-store ``rows`` of its slot (search rows only).

    ``rows`` carry ``trial_id`` (Tune's, the last part of the trial name), ``status``, ``config``
    (a dict), ``params`` (the searcher's names, a dict or None) and the ``metric`` score.
    ``stale_running``: no trial of this study can still be
    running (the driver that ran them is gone), so RUNNING ones become FAIL.
    """
    sync = StudySync()
    trials = study.get_trials(deepcopy=False)
    known = {t.user_attrs.get("tune_trial_id") for t in trials} | {
        t.user_attrs.get(CARRIED_ATTR) for t in trials
    }
    stored = set()
    for row in rows:
        stored.add(row["trial_id"])
        if row["trial_id"] in known or row["status"] not in ("finished", "stopped"):
            continue
        replayed = replay_params(row["config"], space, fixed, row.get("params"))
        if replayed is None:
            sync.unfit += 1
            continue
        params, distributions = replayed
        finished = row["status"] == "finished" and row.get(metric) is not None
        study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=float(row[metric]) if finished else None,
                state=TrialState.COMPLETE if finished else TrialState.PRUNED,
                user_attrs={CARRIED_ATTR: row["trial_id"], "carried_from_results_store": True},
            )
        )
        sync.carried += 1
    for trial in trials:
        if stale_running and trial.state == TrialState.RUNNING:
            study.tell(trial.number, state=TrialState.FAIL)
            sync.failed_stale += 1
        elif (
            trial.state in (TrialState.COMPLETE, TrialState.PRUNED)
            and not trial.user_attrs.get("repeat_of_an_ended_trial")
            and (trial.user_attrs.get("tune_trial_id") or trial.user_attrs.get(CARRIED_ATTR)) not in stored
        ):
            sync.lost += 1
    return sync


def study_copy_path(sweep_root: str) -> Path:
    """This machine's local copy of the SQLite studies of the object-store sweep ``sweep_root``
    (computed where it is used: a resume may run on another machine than the sweep did)."""
    from cluster.storage import Location

    from ..plan import SweepPaths

    return SweepPaths(Location.parse(sweep_root)).studies


def backup_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL included), renamed into place when whole."""
    from cluster.storage import atomic_file

    # Contexts close in reverse: both connections, then the rename.
    with (
        atomic_file(target) as temporary,
        closing(sqlite3.connect(source)) as live,
        closing(sqlite3.connect(temporary)) as copy,
    ):
        live.backup(copy)


def _sqlite_pragmas(connection: Any, _: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _optuna_tables() -> Mapping[str, sqlalchemy.Table]:
    return models.BaseModel.metadata.tables


def _upsert(table: str, keys: tuple[str, ...], rows: Any) -> tuple[Any, Any]:
    """An insert of ``rows`` into Optuna's ``table`` that updates a row with the same ``keys``."""
    first = rows[0] if isinstance(rows, list) else rows
    statement = sqlite_insert(_optuna_tables()[table])
    update = {column: statement.excluded[column] for column in first if column not in keys}
    return statement.on_conflict_do_update(index_elements=list(keys), set_=update), rows


class StudyStorage(optuna.storages.RDBStorage):
    """Optuna RDB storage; for a local SQLite file, in WAL mode with ``synchronous=NORMAL``.

    ``copy_of``: the URL is the local copy of an object-store sweep's studies (see
    :class:`.searchers.PerSlotSearch`); unpickled on another machine, it points at that machine's copy.

    Every proposal and result is a few commits, made in Tune's single control loop: with
    SQLite's defaults (a journal file and an fsync per commit) that was ~45 ms per trial on
    this machine's disk, ~24 ms in WAL mode. WAL with NORMAL never corrupts the file; a power
    loss may lose the last commits, which a resume replays from resweep's results store.
    """

    def __init__(self, url: str, *, copy_of: str | None = None):
        self._copy_of = copy_of
        self._forget()
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(url)
        self._tune_sqlite()

    def _forget(self) -> None:
        # trial id -> as the database holds it (read after its last write, or the write mirrored);
        # a finished trial stays until a read of its study hands it to Optuna's cache
        self._unfinished: dict[int, FrozenTrial] = {}
        self._study_of: dict[int, int] = {}  # trial id -> study id, of the trials read
        # study id -> the trials written to without a mirror since the study was last read (empty:
        # the memo is the study as the database holds it); a study not here is read again
        self._unread: dict[int, set[int]] = {}
        self._finished_upto: dict[int, int] = {}  # study id -> the last finished trial read

    def _tune_sqlite(self) -> None:
        self._forget()
        if self.url.startswith("sqlite:"):
            sqlalchemy.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.engine.dispose()  # connections made while creating the tables lack the pragmas

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        for memo in ("_unfinished", "_study_of", "_unread", "_finished_upto"):
            state.pop(memo, None)
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        if state.get("_copy_of"):
            studies = study_copy_path(state["_copy_of"])
            studies.parent.mkdir(parents=True, exist_ok=True)
            state = {**state, "url": f"sqlite:///{studies}"}
        super().__setstate__(state)
        self._tune_sqlite()

    # Unfinished trials answered from memory. Optuna's cache in front of an RDB storage reads
    # every unfinished trial back from the database on each ``get_all_trials``, three times per
    # ask: with 32 trials running in a study that was ~100 ms of a ~130-ms ask at 200 trials
    # (bench/scale.py), against ~10 ms for an in-memory study. A local SQLite study has one writer,
    # the sweep's driver (search.lock), and its writes to a trial all pass through this object:
    # an unfinished trial nothing was written to since it was read is answered from that read, and
    # a study nothing was written to since its last read is not read at all. Writes this object
    # can mirror exactly (a new trial, parameters, attributes, reported scores) keep the memo; a
    # state change (a tell) is read back once, by the tell itself, and then the study is whole
    # again. A database server may have other writers: it is always read.

    def _memoizes(self) -> bool:
        return self.url.startswith("sqlite:")

    def _get_trials(
        self,
        study_id: int,
        states: Container[TrialState] | None,
        included_trial_ids: set[int],
        trial_id_greater_than: int,
    ) -> list[FrozenTrial]:
        if not self._memoizes():
            return super()._get_trials(study_id, states, included_trial_ids, trial_id_greater_than)
        wanted = {i for i in included_trial_ids if i <= trial_id_greater_than}
        known = {i: self._unfinished[i] for i in wanted if i in self._unfinished}
        if (
            self._unread.get(study_id) == set()
            and len(known) == len(wanted)
            and -1 < self._finished_upto.get(study_id, -1) <= trial_id_greater_than
        ):
            # Nothing written since the last read, and the caller (Optuna's cache) has seen every
            # finished trial read: the trials after its mark are the unfinished ones read.
            read = [
                trial
                for i, trial in self._unfinished.items()
                if i > trial_id_greater_than and self._study_of.get(i) == study_id
            ]
        else:
            read = super()._get_trials(study_id, None, wanted - known.keys(), trial_id_greater_than)
            self._unread[study_id] = set()
        for trial in read:
            self._study_of[trial._trial_id] = study_id
            if trial.state.is_finished():
                self._unfinished.pop(trial._trial_id, None)
                upto = self._finished_upto.get(study_id, -1)
                self._finished_upto[study_id] = max(upto, trial._trial_id)
            else:
                self._unfinished[trial._trial_id] = trial
            known.pop(trial._trial_id, None)
        trials = sorted([*read, *known.values()], key=lambda t: t._trial_id)
        return trials if states is None else [t for t in trials if t.state in states]

    def get_trial(self, trial_id: int) -> FrozenTrial:
        if not self._memoizes():
            return super().get_trial(trial_id)
        memo = self._unfinished.get(trial_id)
        if memo is None:  # read after its last write: its memo, and its study may be whole again
            memo = self._unfinished[trial_id] = super().get_trial(trial_id)
            self._unread.get(self._study_of.get(trial_id, -1), set()).discard(trial_id)
        return copy.deepcopy(memo)

    def _memo_of(self, trial_id: int) -> FrozenTrial | None:
        """Before a write to ``trial_id`` that this object can mirror: a fresh copy of its memo,
        installed for the caller to bring up to date after the write (never the copy handed out
        before); without a memo, the write is one that must be read back (:meth:`_written`)."""
        memo = self._unfinished.get(trial_id) if self._memoizes() else None
        if memo is None:
            self._written(trial_id)
            return None
        self._unfinished[trial_id] = copy.copy(memo)
        return self._unfinished[trial_id]

    def _written(self, trial_id: int) -> None:
        """A write the memo does not mirror: the trial is read again, and so is its study unless
        a read of the trial comes first (:meth:`get_trial`)."""
        self._unfinished.pop(trial_id, None)
        study_id = self._study_of.get(trial_id)
        if study_id is None:  # a trial never read: every study is read again
            self._unread.clear()
        elif study_id in self._unread:
            self._unread[study_id].add(trial_id)

    # Writes to a trial the memo holds unfinished, and a new trial in a study it has read, skip
    # Optuna's ORM path, which first reads the rows written to (to refuse a write to a finished
    # trial: the memo tells that) and builds objects for each statement: they are the statements
    # that path ends in, one transaction each. On this machine (bench/scale.py's stand-in space,
    # TPE, 300 trials, 8 running) that took the ask from 28 to 15 ms and the tell from 6.8 to 2.1
    # ms. A repeated key writes nothing and a database error is Optuna's, as on Optuna's path.

    own_writes = True  # False: every write goes Optuna's way (bench/scale.py measures both)

    def _lean(self, memo: FrozenTrial | None) -> bool:
        return (
            self.own_writes
            and memo is not None
            and not memo.state.is_finished()
            and sqlite3.sqlite_version_info >= (3, 24)
        )

    @contextmanager
    def _transaction(self) -> Iterator[sqlalchemy.Connection]:
        """One transaction; a database error other than a duplicate key is Optuna's
        ``StorageInternalError``, as on Optuna's own path."""
        try:
            with self.engine.begin() as connection:
                yield connection
        except sqlalchemy.exc.IntegrityError:
            raise
        except sqlalchemy.exc.SQLAlchemyError as err:
            raise optuna.exceptions.StorageInternalError(f"a write to the study failed: {err}") from err

    def _commit(self, *statements: tuple[Any, Any]) -> bool:
        """``(statement, rows)`` pairs in one transaction: a duplicate key writes nothing (False;
        Optuna's path takes it for another writer's and goes on)."""
        try:
            with self._transaction() as connection:
                for statement, rows in statements:
                    connection.execute(statement, rows)
        except sqlalchemy.exc.IntegrityError:
            return False
        return True

    def _finish(
        self, memo: FrozenTrial, trial_id: int, state: TrialState, values: Sequence[float] | None
    ) -> bool:
        ended = datetime.now()  # naive local time, as Optuna's own path writes it
        statements = []
        if values is not None:
            rows = []
            for objective, value in enumerate(values):
                stored, kind = models.TrialValueModel.value_to_stored_repr(value)
                rows.append(
                    {"trial_id": trial_id, "objective": objective, "value": stored, "value_type": kind}
                )
            statements.append(_upsert("trial_values", ("trial_id", "objective"), rows))
        trials = _optuna_tables()["trials"]
        update = trials.update().where(trials.c.trial_id == trial_id)
        statements.append((update.values(state=state, datetime_complete=ended), {}))
        if not self._commit(*statements):
            return False
        memo.state = state
        if values is not None:
            memo._values = [float(value) for value in values]
        memo.datetime_complete = ended
        return True

    def _new_trial(self, study_id: int) -> FrozenTrial:
        trials = _optuna_tables()["trials"]
        started = datetime.now()  # naive local time, as Optuna's own path writes it
        number = sqlalchemy.select(sqlalchemy.func.count()).where(trials.c.study_id == study_id)
        with self._transaction() as connection:
            trial_id, trial_number = connection.execute(
                trials.insert()
                .values(
                    number=number.scalar_subquery(),
                    study_id=study_id,
                    state=TrialState.RUNNING,
                    datetime_start=started,
                )
                .returning(trials.c.trial_id, trials.c.number)
            ).one()
        return FrozenTrial(
            number=trial_number,
            state=TrialState.RUNNING,
            value=None,
            values=None,
            datetime_start=started,
            datetime_complete=None,
            params={},
            distributions={},
            user_attrs={},
            system_attrs={},
            intermediate_values={},
            trial_id=trial_id,
        )

    def _upsert_attrs(self, table: str, trial_id: int, attributes: Mapping[str, Any]) -> bool:
        rows = [{"trial_id": trial_id, "key": k, "value_json": json.dumps(v)} for k, v in attributes.items()]
        return self._commit(_upsert(table, ("trial_id", "key"), rows))

    def _create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> FrozenTrial:
        """What Optuna's cache and ``create_new_trial`` call. A new trial an ask makes is returned
        as the database holds it: it becomes the trial's memo, and a study nothing else was written
        to since its last read is still not read again (the sampler reads it twice per ask). One
        made from a template (an enqueued or carried trial: its attributes go through JSON) is
        read back with its study. In a study this object has read (so it exists), a plain new trial
        is one statement: its number counts the study's trials, as Optuna's path numbers it."""
        if (
            self.own_writes
            and template_trial is None
            and study_id in self._unread
            and sqlite3.sqlite_version_info >= (3, 35)
        ):
            made = self._new_trial(study_id)
        else:
            made = super()._create_new_trial(study_id, template_trial)
        if not self._memoizes():
            return made
        if template_trial is None:
            self._unfinished[made._trial_id] = copy.deepcopy(made)
            self._study_of[made._trial_id] = study_id
        else:
            self._unread.pop(study_id, None)
        return made

    def delete_study(self, study_id: int) -> None:
        self._forget()
        super().delete_study(study_id)

    def set_trial_param(self, trial_id: int, *args: Any, **kwargs: Any) -> None:
        self._written(trial_id)
        super().set_trial_param(trial_id, *args, **kwargs)

    def _set_trial_param(
        self,
        trial_id: int,
        param_name: str,
        param_value_internal: float,
        distribution: optuna.distributions.BaseDistribution,
        previous_distribution: optuna.distributions.BaseDistribution | None,
    ) -> None:
        """What Optuna's cache calls for each parameter a sampler draws. The memo of the trial is
        brought up to date with what was written (a new FrozenTrial, never the one handed out),
        so asking the study for its next parameter reads nothing back from the database."""
        memo = self._memo_of(trial_id)
        if self._lean(memo) and previous_distribution is not None:
            optuna.distributions.check_distribution_compatibility(previous_distribution, distribution)
            row = {
                "trial_id": trial_id,
                "param_name": param_name,
                "param_value": param_value_internal,
                "distribution_json": optuna.distributions.distribution_to_json(distribution),
            }
            if not self._commit((_optuna_tables()["trial_params"].insert(), row)):
                return  # set before (Optuna's way skips it too): the memo holds the first value
        else:  # the first draw of a name (its earlier distribution is read), or no memo
            super()._set_trial_param(
                trial_id, param_name, param_value_internal, distribution, previous_distribution
            )
        if memo is not None:
            value = distribution.to_external_repr(param_value_internal)
            memo._params = {**memo.params, param_name: value}
            memo._distributions = {**memo.distributions, param_name: distribution}

    def set_trial_state_values(
        self, trial_id: int, state: TrialState, values: Sequence[float] | None = None
    ) -> bool:
        """A tell: the values, the state and the end time in one transaction, mirrored (Optuna
        reads the trial back right after it: every table of the trial, ~5 ms). A trial asked to
        run (an enqueued one) goes Optuna's way and is read back."""
        memo = self._memo_of(trial_id)
        if self._lean(memo) and state.is_finished():
            assert memo is not None
            return self._finish(memo, trial_id, state, values)
        self._written(trial_id)
        return super().set_trial_state_values(trial_id, state, values)

    def set_trial_intermediate_value(self, trial_id: int, step: int, intermediate_value: float) -> None:
        """A reported score, mirrored into the trial's memo as for a parameter: the tell that
        follows reads nothing back."""
        memo = self._memo_of(trial_id)
        if self._lean(memo):
            stored, kind = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr(
                intermediate_value
            )
            row = {
                "trial_id": trial_id,
                "step": step,
                "intermediate_value": stored,
                "intermediate_value_type": kind,
            }
            if not self._commit(_upsert("trial_intermediate_values", ("trial_id", "step"), row)):
                return
        else:
            super().set_trial_intermediate_value(trial_id, step, intermediate_value)
        if memo is not None:
            memo.intermediate_values = {**memo.intermediate_values, step: float(intermediate_value)}

    def set_trial_user_attr(self, trial_id: int, *args: Any, **kwargs: Any) -> None:
        self._written(trial_id)
        super().set_trial_user_attr(trial_id, *args, **kwargs)

    def set_trial_user_attrs(self, trial_id: int, attributes: Mapping[str, Any]) -> None:
        """Several user attributes in one transaction (one commit; ``set_trial_user_attr`` commits
        each), the trial's memo brought up to date as for a parameter."""
        memo = self._memo_of(trial_id)
        if self._lean(memo):
            if not self._upsert_attrs("trial_user_attributes", trial_id, attributes):
                return
        else:
            with _create_scoped_session(self.scoped_session, True) as session:
                for key, value in attributes.items():
                    self._set_trial_attr_without_commit(
                        session, models.TrialUserAttributeModel, trial_id, key, value
                    )
        if memo is not None:  # as a read gives them back: through JSON
            memo._user_attrs = {**memo.user_attrs, **json.loads(json.dumps(dict(attributes)))}

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        """A sampler's own record (TPE's relative parameters, on every ask), mirrored as a user
        attribute is."""
        memo = self._memo_of(trial_id)
        if self._lean(memo):
            if not self._upsert_attrs("trial_system_attributes", trial_id, {key: value}):
                return
        else:
            super().set_trial_system_attr(trial_id, key, value)
        if memo is not None:
            memo._system_attrs = {**memo.system_attrs, key: json.loads(json.dumps(value))}


def check_studies(config: SweepConfig, paths: SweepPaths, *, rebuild: bool, verbose: int) -> None:
    """A damaged SQLite study file is one line naming it and the way out; ``rebuild`` moves it
    aside (the new studies are filled from the results store before anything runs)."""
    if config.search.searcher == "grid":
        return
    if config.search.study_storage:
        if rebuild:
            delete_studies(config)
        return
    if rebuild:
        if paths.studies.exists():
            moved = move_aside(paths.studies)
            if verbose >= 1:
                print(f"resweep: moved the studies aside to {moved}; rebuilding them", file=sys.stderr)
        return
    check_sqlite_studies(
        paths.studies,
        f"`resweep resume {config.name} --storage {shlex.quote(config.storage)} --rebuild-studies` "
        "moves it aside and rebuilds the studies from the results store",
    )


def delete_studies(config: SweepConfig) -> None:
    storage = optuna.storages.RDBStorage(config.search.study_storage)
    for study in storage.get_all_studies():
        if study.study_name.startswith(f"{config.study_prefix}-"):
            optuna.delete_study(study_name=study.study_name, storage=storage)


def sync_studies(
    config: SweepConfig, plan: SweepPlan, paths: SweepPaths, rows: list[dict[str, Any]], verbose: int
) -> None:
    """Before a new experiment: each slot's study holds every ended search row of the store that
    its space can propose, no trial left RUNNING, and the trials the store lost are named."""
    from ..plan import with_defaults

    if config.search.searcher == "grid":
        return
    storage = StudyStorage(config.search.study_storage or f"sqlite:///{paths.studies}")
    total = StudySync()
    lost: dict[str, int] = {}
    for slot, (key, cell) in plan.slots.items():
        study = optuna.create_study(
            study_name=f"{config.study_prefix}-{slot}",
            storage=storage,
            direction="maximize",
            load_if_exists=True,
        )
        mine = [
            {
                **r,
                "trial_id": r["trial_name"].rpartition("_")[2],
                "config": with_defaults(json.loads(r["config"])),
                "params": json.loads(r["params"]) if r.get("params") else None,
            }
            for r in plan.rows_of(key, rows, "search")
            if plan.cell(r) == cell
        ]
        done = sync_study(
            study,
            mine,
            space=config.search.space,
            fixed=plan.cells[cell],
            metric=plan.metric,
            stale_running=True,
        )
        total.carried += done.carried
        total.unfit += done.unfit
        if done.lost:
            lost[slot] = done.lost
    if verbose >= 1 and total.carried:
        unfit = (
            f"; {total.unfit} that space {config.search.space} cannot propose stay out" if total.unfit else ""
        )
        print(
            f"resweep: the studies learned {total.carried} ended trials from the results store{unfit}",
            file=sys.stderr,
        )
    if lost:
        print(
            f"resweep: warning: trials in the studies ({paths.studies.name}) have no row in the "
            "results store "
            f"({', '.join(f'{slot}: {n}' for slot, n in lost.items())}): their scores are lost to the "
            "leaderboard, and the budget they used runs again",
            file=sys.stderr,
        )
