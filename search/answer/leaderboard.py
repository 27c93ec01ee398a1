"""The leaderboard: per in-domain size, configurations ranked with how sure the ranking is.

Rows (a sweep's results store, or an external table such as the thesis's) are grouped into
*configurations* — the same architecture, phase 1, strategy, OOD share, local pre-training share,
imbalance technique and hyper-parameters, across seeds. Per size, configurations are ranked by
the mean of the ranking metric (a sweep's dev selection metric; a table's own score), with the
standard deviation and a 95% t-interval over seeds. The winner is *tied* with every configuration
whose difference from it is not a finding:

* below ``epsilon`` (a user's smallest difference worth acting on), or
* not significant: a paired t-test over the seeds both ran (p >= 0.05), or overlapping intervals
  when they share fewer than two seeds.

A configuration with one seed has no interval: only ``epsilon`` can separate it from the winner,
and the table shows ``n_seeds`` 1 so nobody mistakes a single run for a finding.

Only trials that ran to their end (status ``finished``; a row without a status, e.g. from an
external table, counts as finished) are ranked, tied, or anyone's best. A trial the scheduler
stopped early (``stopped``) is evidence about its first epochs only: its configurations are kept
apart on the board (:attr:`SizeBoard.stopped`), never compared with a finished one. Errors are
ignored.

Each board also answers the sweep's question per *cell* (a value of the question axes, default
the transfer strategy; e.g. ``local/oversampling`` for strategy and imbalance): the cell's tuned
best and how much evidence it rests on (:meth:`SizeBoard.cells`), the classical floor
(``tfidf-linear``, :attr:`SizeBoard.floor`), and the configuration to act on
(:attr:`SizeBoard.recommended`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from trainables.errors import ResweepError
from trainables.metrics import STORED_METRICS
from trainables.report_keys import score_key

from ..sizes import InDomainSize, size_text
from .decision import FLOOR_CELL, Decision, DecisionSettings, decide

__all__ = [
    "CONFIG_COLUMNS",
    "DEFAULT_AXES",
    "FINISHED",
    "FLOOR_ARCHITECTURE",
    "STOPPED",
    "SYNTHETIC_NOTE",
    "Cell",
    "Entry",
    "SizeBoard",
    "build_leaderboard",
    "cell_of",
    "configuration_label",
    "corpus_note",
    "decision_lines",
    "decisions",
    "group_rows",
    "most_confirmed",
]

# The columns that describe a configuration in the results store and in the thesis tables.
CONFIG_COLUMNS = (
    "architecture",
    "phase1_model",
    "phase1_finetune",
    "strategy",
    "ood_pct",
    "local_in_domain_pretrain_pct",
    "imbalance",
)
TEST_COLUMNS = STORED_METRICS  # test scores at the selected epoch, as the results store has them
ALPHA = 0.05  # two-sided: 95% intervals, tests at 5%
FINISHED = "finished"  # ran to its end (or early-stopped on dev by its own patience)
STOPPED = "stopped"  # ended early by the scheduler: evidence about its first epochs only
DEFAULT_AXES = ("strategy",)  # the question a sweep asks when its config names none
FLOOR_ARCHITECTURE = "tfidf-linear"  # the classical model every neural recipe must beat
FLOOR_ROLE = "floor"  # the row's ``role`` when the sweep added it as the size's floor run


def _cell_part(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"  # 10.0 -> "10", as a user types it
    return str(value)


def cell_of(row: Mapping[str, Any], axes: Sequence[str] = DEFAULT_AXES) -> str:
    """The question cell of a row or a flat trial config: its values of ``axes`` joined by "/"
    (``local``, ``local/oversampling``). An axis that is not a column is read from the row's
    ``config`` JSON; a missing value is ``-``."""
    config: Mapping[str, Any] = {}
    raw = row.get("config")
    if any(axis not in row for axis in axes) and raw:
        config = json.loads(raw) if isinstance(raw, str) else raw
    return "/".join(_cell_part(row[axis] if axis in row else config.get(axis)) for axis in axes)


def _row_cell(row: Mapping[str, Any], axes: Sequence[str]) -> str:
    """A row's stored ``cell`` (the sweep's own), else the one its columns give for ``axes``. A
    stored cell made for other axes (another number of parts) is derived again."""
    stored = row.get("cell")
    if stored and str(stored).count("/") == len(axes) - 1:
        return str(stored)
    return cell_of(row, axes)


def _status(row: Mapping[str, Any]) -> str | None:
    """``finished``, ``stopped`` or None (an error, or a status this board does not rank)."""
    status = row.get("status") or FINISHED  # external tables have no status: their runs ended
    return status if status in (FINISHED, STOPPED) else None


def configuration_label(config: Mapping[str, Any]) -> str:
    """The one label of a configuration, for people (leaderboard, progress view, report, model
    card): ``two-phase(seqcls, joined)/local/oversampling ood10 local50``. Run *names* are
    another thing (:func:`search.plan.trial_label`)."""
    architecture = str(config.get("architecture"))
    if architecture == "two-phase" and config.get("phase1_model"):
        finetune = config.get("phase1_finetune")
        shown = [config["phase1_model"]] + ([finetune] if finetune and finetune != "none" else [])
        architecture += f"({', '.join(shown)})"
    text = f"{architecture}/{config.get('strategy')}/{config.get('imbalance')}"
    if config.get("ood_pct"):
        text += f" ood{float(config['ood_pct']):g}"
    if config.get("local_in_domain_pretrain_pct"):
        text += f" local{float(config['local_in_domain_pretrain_pct']):g}"
    return text


@dataclass
class Entry:
    """One configuration at one size, over its seeds (its finished runs, or its stopped ones)."""

    size: float
    describe: dict[str, Any]  # CONFIG_COLUMNS values
    key: str  # the configuration without its seed (stable, for grouping and display)
    scores: dict[int, float]  # seed -> ranking metric
    test: dict[str, float]  # mean test scores
    compute_seconds: float | None  # mean wall time of a run (None: unknown, e.g. a table)
    tie: bool = False  # not separable from the size's winner (finished entries only)
    rank: int | None = None  # 1 = best; None for stopped entries, which are never ranked
    status: str = FINISHED  # FINISHED or STOPPED: the runs grouped here
    cell: str = ""  # the question cell, e.g. "local" or "local/oversampling"
    roles: frozenset[str] = frozenset()  # the rows' ``role`` values: search, confirm, floor
    epochs_run: float | None = None  # mean epochs its runs trained (None: unknown)
    below_floor: bool = False  # finished with a mean below the size's floor
    distinct: str = ""  # what tells it apart from other entries of its size with the same label

    @property
    def n_seeds(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return sum(self.scores.values()) / len(self.scores)

    @property
    def std(self) -> float | None:
        if len(self.scores) < 2:
            return None
        m = self.mean
        return math.sqrt(sum((v - m) ** 2 for v in self.scores.values()) / (len(self.scores) - 1))

    @property
    def interval(self) -> tuple[float, float] | None:
        """The 95% t-interval of the mean (None with one seed)."""
        std = self.std
        if std is None:
            return None
        half = t_quantile(1 - ALPHA / 2, self.n_seeds - 1) * std / math.sqrt(self.n_seeds)
        return self.mean - half, self.mean + half

    @property
    def floor_run(self) -> bool:
        """Whether the sweep added this configuration as the size's floor (not proposed by the
        search): it is the reference line, not a candidate of any cell."""
        return FLOOR_ROLE in self.roles

    @property
    def label(self) -> str:
        text = configuration_label(self.describe)
        return f"{text} {self.distinct}" if self.distinct else text

    def as_dict(self) -> dict[str, Any]:
        interval = self.interval
        return {
            "size": self.size,
            "rank": self.rank,
            "label": self.label,
            **self.describe,
            "n_seeds": self.n_seeds,
            "mean": self.mean,
            "std": self.std,
            "ci_low": None if interval is None else interval[0],
            "ci_high": None if interval is None else interval[1],
            "tie": self.tie,
            **{score_key("test", k): v for k, v in self.test.items()},
            "compute_seconds": self.compute_seconds,
            "config": self.key,
            "status": self.status,
            "cell": self.cell,
            "epochs_run": self.epochs_run,
            "below_floor": self.below_floor,
        }


@dataclass
class Cell:
    """The evidence one question cell has at one size."""

    cell: str
    best: Entry | None  # its best finished configuration (None: nothing of it finished)
    finished: int  # finished configurations
    stopped: int  # configurations whose runs the scheduler stopped early
    under_explored: bool  # fewer finished configurations than the board's ``min_finished``
    p_best: float | None = None  # the decision's probability that this cell is the best
    tie: bool = False  # still in contention with the decision's cell (or all equivalent)

    @property
    def tied_with_winner(self) -> bool:
        """The decision cannot tell it from the leading cell: both are among the contenders of an
        undetermined answer, or all cells are equivalent (see :mod:`search.answer.decision`)."""
        return self.tie

    @property
    def flags(self) -> list[str]:
        """What a reader must know before comparing this cell: ``under-explored``, ``tie`` (with
        the winner), ``below floor``."""
        below = self.best is not None and self.best.below_floor
        pairs = (
            ("under-explored", self.under_explored),
            ("tie", self.tied_with_winner),
            ("below floor", below),
        )
        return [flag for flag, holds in pairs if holds]


@dataclass
class SizeBoard:
    """One size's ranking of finished configurations, its stopped ones apart, the evidence per
    question cell, the floor, and the configuration to act on."""

    size: float
    metric: str
    epsilon: float
    entries: list[Entry] = field(default_factory=list)  # finished, ranked, best first
    stopped: list[Entry] = field(default_factory=list)  # stopped early, best score first; unranked
    axes: tuple[str, ...] = DEFAULT_AXES
    min_finished: int = 2  # finished configurations a cell needs not to be under-explored
    decision: Decision | None = None  # the answer over the cells (search.answer.decision)
    # Where the floor leads: the answer among the question's cells alone (which recipe, if a
    # neural one it must be); None otherwise.
    without_floor: Decision | None = None

    @property
    def winner(self) -> Entry:
        """Rank 1 (a size whose trials were all stopped early has none: check ``entries``)."""
        if not self.entries:
            raise LookupError(
                f"in-domain size {size_text(self.size)}: no finished configuration, so no winner"
            )
        return self.entries[0]

    def _candidates(self) -> list[Entry]:
        return [e for e in self.entries if not e.floor_run]

    def best_per_strategy(self) -> dict[str, Entry]:
        """Per transfer strategy, its best finished configuration (the floor run aside)."""
        best: dict[str, Entry] = {}
        for entry in self._candidates():  # ranked: the first of each strategy is its best
            best.setdefault(str(entry.describe.get("strategy")), entry)
        return best

    def cells(self) -> dict[str, Cell]:
        """Per question cell present at this size (finished or stopped; the floor run aside): its
        best finished configuration and how many configurations finished and stopped. Cells with a
        best come first, in the order of their best's rank; then the rest by name. A cell with
        fewer than ``min_finished`` finished configurations is under-explored, whatever its
        stopped trials scored: it has not lost, it has not been tried."""
        finished: dict[str, list[Entry]] = {}
        stopped: dict[str, int] = {}
        for entry in self._candidates():
            finished.setdefault(entry.cell, []).append(entry)
        for entry in self.stopped:
            if not entry.floor_run:
                stopped[entry.cell] = stopped.get(entry.cell, 0) + 1
        names = sorted(
            set(finished) | set(stopped),
            key=lambda c: (0, finished[c][0].rank or 0, c) if c in finished else (1, 0, c),
        )
        decision = self.decision
        tied = set() if decision is None or decision.verdict == "winner" else set(decision.contenders)
        return {
            name: Cell(
                cell=name,
                best=finished[name][0] if name in finished else None,
                finished=len(finished.get(name, [])),
                stopped=stopped.get(name, 0),
                under_explored=len(finished.get(name, [])) < self.min_finished,
                p_best=None if decision is None else decision.p_best.get(name),
                tie=name in tied and decision is not None and name != decision.cell,
            )
            for name in names
        }

    def decision_cells(self) -> dict[str, list[Entry]]:
        """What the decision compares: per question cell its finished configurations (ranked),
        and the floor's runs, where the sweep ran it, as the cell ``floor``."""
        cells: dict[str, list[Entry]] = {}
        for entry in self.entries:
            cells.setdefault(FLOOR_CELL if entry.floor_run else entry.cell, []).append(entry)
        return cells

    @property
    def floor(self) -> Entry | None:
        """The best finished ``tfidf-linear`` configuration (None: the floor was not run here)."""
        return next((e for e in self.entries if e.describe.get("architecture") == FLOOR_ARCHITECTURE), None)

    @property
    def recommended(self) -> Entry | None:
        """The configuration to act on: the decided (or leading) cell's best configuration, the
        best among its configurations with two seeds or more where it has any (a one-seed lucky
        run does not displace a configuration confirmed over several: the winner's curse). Where
        the floor leads, the decided (or leading) cell among the others; without a decision, the
        most-confirmed best candidate. The floor run is the reference, not a candidate; a
        recommendation under it says ``below_floor``. None without finished configurations."""
        decision = self.without_floor or self.decision
        if (
            decision is not None
            and decision.cell not in (None, FLOOR_CELL)
            and decision.cell in decision.best
        ):
            return decision.best[decision.cell]
        return most_confirmed(self._candidates() or self.entries)

    def cheapest_near_winner(self) -> Entry | None:
        """The configuration with the least compute among those within ``epsilon`` of the winner."""
        if not self.entries:
            return None
        near = [
            e
            for e in self.entries
            if self.winner.mean - e.mean < self.epsilon and e.compute_seconds is not None
        ]
        return min(near, key=lambda e: e.compute_seconds or 0.0, default=None)

    def summary_rows(self) -> list[dict[str, Any]]:
        """The board's entries as flat rows: the finished ones ranked, then the stopped ones
        (rank None), each with its cell's evidence and whether it is the floor or the
        recommendation."""
        cells = self.cells()
        floor, recommended = self.floor, self.recommended
        rows = []
        for entry in [*self.entries, *self.stopped]:
            cell = cells.get(entry.cell)
            rows.append(
                {
                    **entry.as_dict(),
                    "under_explored": None if cell is None else cell.under_explored,
                    "floor": entry is floor,
                    "recommended": entry is recommended,
                }
            )
        return rows


def decisions(boards: Sequence[SizeBoard]) -> list[dict[str, Any]]:
    """The decision of every size as plain dicts (``--json``'s ``decisions``); where the floor
    leads, ``without_floor`` holds the answer among the question's cells alone."""
    out = []
    for board in boards:
        if board.decision is not None:
            document = board.decision.as_dict()
            if board.without_floor is not None:
                document["without_floor"] = board.without_floor.as_dict()
            out.append(document)
    return out


def decision_lines(boards: Sequence[SizeBoard]) -> list[str]:
    """The answer first: a heading and one line per decided size
    (:meth:`search.answer.decision.Decision.line`), and the answer without the floor where it leads."""
    decided = [b for b in boards if b.decision is not None]
    if not decided:
        return []
    first = decided[0].decision
    assert first is not None
    lines = [f"decision (margin {first.margin:g}, confidence {first.confidence:g}; P(best) per cell):"]
    for board in decided:
        assert board.decision is not None
        lines.append(f"  {board.decision.line()}")
        if board.without_floor is not None:
            lines.append(f"    without the floor: {board.without_floor.verdict_text()}")
    return lines


SYNTHETIC_NOTE = (
    "note: the in-domain data is resweep's SYNTHETIC corpus, written from templates whose wording "
    "word n-grams learn almost perfectly: the TF-IDF floor leads here because of the corpus, not the "
    "recipes. On real text fine-tuned encoders beat it (docs/benchmarks.md: SemEval-2010 Task 8 at "
    "10%); run a sweep on your own data for an answer that means something."
)


def corpus_note(in_domain: str, boards: Sequence[SizeBoard]) -> str | None:
    """A line under the answer when it would mislead: the floor leads on the synthetic corpus."""
    floor_leads = any(b.entries and b.winner.floor_run for b in boards)
    return SYNTHETIC_NOTE if in_domain == "synthetic" and floor_leads else None


def t_quantile(p: float, df: float) -> float:
    """The ``p`` quantile of Student's t with ``df`` degrees of freedom."""
    from scipy import stats  # imported here: `resweep --help` need not load scipy

    return float(stats.t.ppf(p, df))


def _config_key(
    row: Mapping[str, Any],
    known: dict[tuple[str, int], str] | None = None,
    parsed: dict[str, dict[str, Any]] | None = None,
) -> str:
    """The configuration without its seed, as sorted JSON. ``known``: the keys of config JSON
    texts already seen, by their text less the seed's digits (:func:`_seedless`): the seeds of
    one configuration are parsed and serialised once. ``parsed``: where a text is parsed, its
    configuration by key, where that is what the key parses to (flat, of JSON's own values)."""
    raw = row.get("config")
    if raw:
        seedless = _seedless(raw) if known is not None and isinstance(raw, str) else None
        if known is not None and seedless in known:
            return known[seedless]
        config = dict(json.loads(raw)) if isinstance(raw, str) else dict(raw)
        seed = config.pop("seed", None)
        key = json.dumps(config, sort_keys=True, default=str)
        if parsed is not None and isinstance(raw, str) and all(type(v) in _SCALARS for v in config.values()):
            parsed[key] = config
        if known is not None and seedless is not None and type(seed) is int:
            # The one "seed" of the text is the top-level key: the texts sharing this one's
            # seedless form differ from it in the seed's value only.
            known[seedless] = key
        return key
    return json.dumps({c: row.get(c) for c in CONFIG_COLUMNS}, sort_keys=True, default=str)


_SCALARS = (str, int, float, bool, type(None))  # what JSON text parses to, as it was written
# A seed's value in a config JSON text: a JSON integer, whole (what follows ends the value).
_SEED_VALUE = re.compile(r'"seed": (-?(?:0|[1-9][0-9]*))(?=[,}])')


def _seedless(raw: str) -> tuple[str, int] | None:
    """A config JSON text with its seed's digits cut out, and where they were; None unless the
    text names "seed" once, as an integer's key, with no escapes (so the name cannot hide)."""
    if "\\" in raw or raw.count('"seed"') != 1:
        return None
    match = _SEED_VALUE.search(raw)
    if match is None:
        return None
    return raw[: match.start(1)] + raw[match.end(1) :], match.start(1)


def _size_of(row: Mapping[str, Any]) -> float:
    size = row.get("in_domain_size")
    if size is None:
        return float(row["in_domain_pct"]) / 100.0
    return float(size)


def group_rows(
    rows: Iterable[Mapping[str, Any]], metric: str, *, axes: Sequence[str] = DEFAULT_AXES
) -> dict[float, list[Entry]]:
    """Group scored rows into configurations per size (a seed run twice keeps its last row).

    A configuration is what its runs' ``config_key`` names (the results store's identity,
    :meth:`TrialSpec.configuration_key`), or for rows without one (a table from elsewhere) its
    config less the seed. A configuration's finished runs and its stopped runs form two entries
    (``status``), so a stopped seed never moves a finished mean; rows of any other status are
    ignored."""
    groups: dict[tuple[float, str, str], list[Mapping[str, Any]]] = {}
    known: dict[tuple[str, int], str] = {}
    parsed: dict[str, dict[str, Any]] = {}
    for row in rows:
        status = _status(row)
        if status is None or row.get(metric) is None:
            continue
        identity = row.get("config_key") or _config_key(row, known, parsed)
        groups.setdefault((_size_of(row), identity, status), []).append(row)
    sizes: dict[float, list[Entry]] = {}
    for (size, identity, status), members in groups.items():
        # The entry's key reads as its configuration (sorted JSON less the seed; --json's "config").
        key = identity if members[0].get("config_key") is None else _config_key(members[0], known, parsed)
        scores = {
            int(r.get("seed") or 0) if "seed" in r else i: float(r[metric]) for i, r in enumerate(members)
        }
        test = {}
        for column in TEST_COLUMNS:
            values = [float(r[column]) for r in members if r.get(column) is not None]
            if values:
                test[column] = sum(values) / len(values)
        walls = [float(r["wall_seconds"]) for r in members if r.get("wall_seconds") is not None]
        epochs = [float(r["epochs_run"]) for r in members if r.get("epochs_run") is not None]
        sizes.setdefault(size, []).append(
            Entry(
                size=size,
                describe={c: members[0].get(c) for c in CONFIG_COLUMNS},
                key=key,
                scores=scores,
                test=test,
                compute_seconds=sum(walls) / len(walls) if walls else None,
                status=status,
                cell=_row_cell(members[0], axes),
                roles=frozenset(str(r["role"]) for r in members if r.get("role")),
                epochs_run=sum(epochs) / len(epochs) if epochs else None,
            )
        )
    for entries in sizes.values():
        _tell_apart(entries, parsed)
    return sizes


SHORT_NAMES = {"learning_rate": "lr", "hidden_units": "h", "batch_size": "bs", "max_epochs": "ep"}


def _tell_apart(entries: list[Entry], parsed: Mapping[str, dict[str, Any]] | None = None) -> None:
    """Entries of one size whose labels coincide get the values that differ among them
    (``lr 0.0007 h256``), so no two rows of a table, plot or JSON read the same."""
    by_label: dict[str, list[Entry]] = {}
    for entry in entries:
        by_label.setdefault(entry.label, []).append(entry)
    for same in by_label.values():
        if len({e.key for e in same}) < 2:
            continue  # one configuration (its finished and its stopped runs)
        # ``parsed``: keys already parsed (as json.loads(key) would, see _config_key).
        configs = [parsed[e.key] if parsed and e.key in parsed else json.loads(e.key) for e in same]
        keys = sorted({k for c in configs for k in c})
        differing = [k for k in keys if len({_json_token(c.get(k)) for c in configs}) > 1]
        for entry, config in zip(same, configs, strict=True):
            entry.distinct = " ".join(f"{SHORT_NAMES.get(k, k)} {_short(config.get(k))}" for k in differing)


def _json_token(value: Any) -> Any:
    """What tells ``value`` apart as ``json.dumps(value, sort_keys=True, default=str)`` would,
    without serialising the scalars a parsed key holds (str, int, float, bool, None): equal
    tokens, equal JSON text."""
    kind = type(value)
    if kind is str or kind is int or kind is bool:
        return kind, value  # bool apart from int (true is not 1), as in JSON
    if kind is float:
        return kind, repr(value)  # JSON writes a float's repr: -0.0 is not 0.0, nan is NaN
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, default=str)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, dict):
        return ",".join(f"{k}={_short(v)}" for k, v in value.items())
    return str(value)


def build_leaderboard(
    rows: Iterable[Mapping[str, Any]],
    metric: str,
    *,
    epsilon: float = 0.0,
    axes: Sequence[str] = DEFAULT_AXES,
    min_finished: int = 2,
    decision: DecisionSettings | None = None,
    name: str | None = None,
) -> list[SizeBoard]:
    """Per size (ascending), the finished configurations ranked by mean ``metric``, the decision
    over the question's cells (:mod:`search.answer.decision`) with its ties flagged, those below the
    floor flagged; the stopped ones apart, best score first, unranked.

    ``axes``: the question's columns, whose values make a row's cell (when the row has no
    ``cell``). ``min_finished``: finished configurations a cell needs not to be under-explored.
    ``decision``: margin and confidence (default 0.01, 0.95). ``name``: the sweep, named in the
    command that would settle an undetermined answer. ``epsilon``: the board's
    :meth:`SizeBoard.cheapest_near_winner` looks that far below the winner.
    """
    settings = decision or DecisionSettings()
    axes = tuple(axes) or DEFAULT_AXES
    boards = []
    for size, grouped in sorted(group_rows(rows, metric, axes=axes).items()):
        order = sorted(grouped, key=lambda e: (-e.mean, -e.n_seeds, e.key))
        ranked = [e for e in order if e.status == FINISHED]
        for rank, entry in enumerate(ranked, 1):
            entry.rank = rank
        board = SizeBoard(
            size,
            metric,
            epsilon,
            ranked,
            [e for e in order if e.status == STOPPED],
            axes=axes,
            min_finished=min_finished,
        )
        floor = board.floor
        for entry in ranked:
            entry.below_floor = floor is not None and entry.mean < floor.mean
        cells = board.decision_cells()
        board.decision = decide(cells, settings, size=size, name=name)
        if board.decision.cell == FLOOR_CELL and len(cells) > 1:
            rest = {c: entries for c, entries in cells.items() if c != FLOOR_CELL}
            board.without_floor = decide(rest, settings, size=size, name=name)
        # The tie column follows the decision: each contending cell's best, where none won.
        if board.decision.verdict != "winner":
            for cell in board.decision.contenders if len(board.decision.contenders) > 1 else ():
                board.decision.best[cell].tie = True
        boards.append(board)
    return boards


# Where a table's values must lie: percentages, scores as fractions (a 20.0 among 0.5s would rank
# first), one size per row.
PERCENT_COLUMNS = ("in_domain_pct", "ood_pct", "local_in_domain_pretrain_pct")
SCORE_COLUMNS = (*TEST_COLUMNS, *(score_key("dev", c) for c in TEST_COLUMNS))


def _check_columns(where: str, columns: Sequence[str]) -> None:
    """A header names each column once (a reader keeps the last of two silently)."""
    seen: dict[str, int] = {}
    for number, column in enumerate(columns, start=1):
        if column in seen:
            raise ResweepError(
                f"{where}: column {column!r} given twice (columns {seen[column]} and {number}): keep one"
            )
        seen[column] = number


def _check_row(where: str, row: Mapping[str, Any]) -> None:
    """One row's values in their units and ranges, and one in-domain size (``where``: the file and
    line, or row, that messages start with). Values that are not numbers are the reader's to refuse."""
    row = {k: v for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for column in PERCENT_COLUMNS:
        value = row.get(column)
        if value is not None and value > 100:
            raise ResweepError(f"{where}: {column}: expected a percentage from 0 to 100, got {value:g}")
    for column in SCORE_COLUMNS:
        value = row.get(column)
        if value is not None and value > 1:
            raise ResweepError(
                f"{where}: {column}: expected a fraction from 0 to 1, got {value:g} (a percentage? "
                f"give every score as a fraction, {value / 100:g})"
            )
    pct, size = row.get("in_domain_pct"), row.get("in_domain_size")
    if pct is None and size is None:
        raise ResweepError(f"{where}: no in-domain size (in_domain_pct or in_domain_size is empty)")
    if pct is not None and not pct > 0:
        raise ResweepError(f"{where}: in_domain_pct: expected a percentage above 0, got {pct:g}")
    if size is not None:
        try:
            InDomainSize.of(float(size))
        except ValueError:
            expected = "expected a fraction in (0, 1] or a count of sentences"
            raise ResweepError(f"{where}: in_domain_size: {expected}, got {size:g}") from None
    if pct is not None and size is not None and not (size <= 1 and abs(size * 100 - pct) < 1e-6):
        raise ResweepError(
            f"{where}: in_domain_size {size:g} and in_domain_pct {pct:g} name different sizes: give "
            "one size column"
        )
    seed = row.get("seed")
    if seed is not None and not float(seed).is_integer():
        raise ResweepError(f"{where}: seed: expected an integer, got {seed:g}")


def _check_text(path: str) -> None:
    """A CSV table is UTF-8 text (a BOM allowed); else one line saying what it is instead."""
    data = Path(path).read_bytes()
    if data[:2] == b"\x1f\x8b":
        raise ResweepError(f"{path}: the table is gzip-compressed; decompress it (gunzip) first")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ResweepError(f"{path}: the table is UTF-16 text; save it as UTF-8")
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise ResweepError(
            f"{path}:{line}: not UTF-8 text (byte 0x{data[err.start]:02x}); save the table as UTF-8 CSV"
        ) from None


def read_table(path: str) -> list[dict[str, Any]]:
    """An external result table (CSV with the results store's column names, e.g. the thesis's;
    or Parquet, e.g. bench/ground_truth's tables)."""
    import csv

    from trainables.inputs import check_input_file

    check_input_file(path, "result table")  # a FIFO would wait for a writer, /dev/zero never end
    if str(path).endswith(".parquet"):
        return _read_parquet_table(path)
    _check_text(path)
    numeric = {"in_domain_pct", "in_domain_size", "ood_pct", "local_in_domain_pretrain_pct", "seed"}
    numeric |= set(SCORE_COLUMNS) | {"wall_seconds", "epochs_run"}
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as handle:  # a BOM (Excel's) is no column name
        reader = csv.DictReader(handle)
        missing = {"in_domain_pct", "strategy"} - set(reader.fieldnames or [])
        if missing and "in_domain_size" not in (reader.fieldnames or []):
            raise ResweepError(f"{path}: a result table needs the columns {', '.join(sorted(missing))}")
        _check_columns(f"{path}:1", reader.fieldnames or [])
        for line, raw in enumerate(reader, start=2):
            row: dict[str, Any] = {}
            for key, value in raw.items():
                if key in numeric:
                    try:
                        row[key] = float(value) if value not in ("", None) else None
                    except ValueError:
                        raise ResweepError(
                            f"{path}:{line}: {key}: expected a number, got {value!r}"
                        ) from None
                    number = row[key]
                    if number is not None and (not math.isfinite(number) or number < 0):
                        # nan would win every comparison it is in, and make every row a tie.
                        raise ResweepError(
                            f"{path}:{line}: {key}: expected a finite number >= 0, got {value!r}"
                        )
                else:
                    row[key] = value or None
            _check_row(f"{path}:{line}", row)
            if row.get("seed") is not None:
                row["seed"] = int(row["seed"])
            rows.append(row)
    # A run printed in two tables (same configuration, same scores, no seed column) is one run.
    unique: dict[str, dict[str, Any]] = {}
    for row in rows:
        unique.setdefault(json.dumps({k: v for k, v in row.items() if k != "table"}, sort_keys=True), row)
    return list(unique.values())


def _read_parquet_table(path: str) -> list[dict[str, Any]]:
    """A Parquet result table: its rows as they are (typed by the file's schema)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as err:  # pyarrow's ArrowInvalid is a ValueError
        raise ResweepError(f"{path}: cannot read the Parquet table ({err})") from None
    if "strategy" not in table.column_names or not {"in_domain_pct", "in_domain_size"} & set(
        table.column_names
    ):
        raise ResweepError(
            f"{path}: a result table needs the columns in_domain_size (or in_domain_pct), strategy"
        )
    _check_columns(path, table.column_names)
    rows = table.to_pylist()
    for number, row in enumerate(rows, start=1):
        _check_row(f"{path}: row {number}", row)
    return rows


def summary_rows(boards: Sequence[SizeBoard]) -> list[dict[str, Any]]:
    """Every entry of every size as flat dicts (``--json``/``--csv``): per size the finished
    ones ranked, then the stopped ones (``status`` "stopped", ``rank`` None); see
    :meth:`SizeBoard.summary_rows`."""
    return [row for board in boards for row in board.summary_rows()]


def most_confirmed(entries: Sequence[Entry]) -> Entry | None:
    """Among ranked entries, the best of those with the most seeds (see SizeBoard.recommended);
    with one seed each, simply the first. None without entries."""
    if not entries:
        return None
    most = max(e.n_seeds for e in entries)
    return next(e for e in entries if e.n_seeds == most)  # ranked: the first is the best


def _load(
    name: str | None, storage: str, table: str | None
) -> tuple[list[dict[str, Any]], str, tuple[str, ...], DecisionSettings]:
    if table is not None:
        return read_table(table), "accuracy", DEFAULT_AXES, DecisionSettings()
    if name is None:
        raise ResweepError("name a sweep, or give a result table")
    from ..paths import load_saved_sweep

    config, paths = load_saved_sweep(storage, name)
    rows = [r for r in paths.results.read().to_pylist() if r["status"] in (FINISHED, STOPPED)]
    axes = tuple(getattr(config.search, "question", None) or DEFAULT_AXES)
    return rows, score_key("dev", config.search.selection_metric), axes, config.decision.settings()


def leaderboard(
    name: str | None = None,
    *,
    storage: str = "results",
    table: str | None = None,
    metric: str | None = None,
    epsilon: float = 0.0,
    axes: Sequence[str] | None = None,
    min_finished: int = 2,
    margin: float | None = None,
    confidence: float | None = None,
) -> list[SizeBoard]:
    """The Python entry point: ``leaderboard("demo")`` or ``leaderboard(table="paper.csv")``.

    ``axes``: the question cells are made of (default: the sweep's ``search.question``, else
    the transfer strategy; a table's is the strategy). ``margin``, ``confidence``: the decision's
    (default: the sweep's ``decision:`` section, else 0.01 and 0.95)."""
    rows, default, question, settings = _load(name, storage, table)
    metric = metric or default
    scores = list(SCORE_COLUMNS)
    if metric not in scores:  # a seconds or a text column would rank by something that is no score
        raise ResweepError(f"metric {metric!r} is not a score column; scores: {', '.join(scores)}")
    if rows and all(r.get(metric) is None for r in rows):
        columns = sorted(k for k in rows[0] if k.startswith("dev_") or k in TEST_COLUMNS)
        raise ResweepError(f"no row has a value for metric {metric!r}; metrics here: {', '.join(columns)}")
    try:
        settings = replace(
            settings,
            margin=settings.margin if margin is None else margin,
            confidence=settings.confidence if confidence is None else confidence,
        )
    except ValueError as err:
        raise ResweepError(str(err)) from None
    return build_leaderboard(
        rows,
        metric,
        epsilon=epsilon,
        axes=axes or question,
        min_finished=min_finished,
        decision=settings,
        name=_settle_name(name, storage, table),
    )


def _settle_name(name: str | None, storage: str, table: str | None) -> str | None:
    """What the settle command names: the sweep, and its storage where that is not the default
    (None for a table: there is no sweep to extend)."""
    if table is not None or name is None:
        return None
    return name if storage == "results" else f"{name} --storage {storage}"
