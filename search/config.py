"""Sweep configs: YAML (``yaml.safe_load`` only) validated into frozen dataclasses before anything runs.

Every mistake is one located line: ``configs/x.yaml:12: search.budget: expected an integer >= 1,
got 0``. Unknown keys name the valid ones. See ``configs/*.yaml`` for annotated examples.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from cluster.resources import EXECUTOR_CHOICES, TrialResources
from cluster.storage import Location
from spaces import axis_values, cell_label, space_names
from trainables.config import TrialSpec
from trainables.data.regimes import Regime
from trainables.errors import ResweepError
from trainables.metrics import METRIC_KEYS

from .registries import GRID, chosen_names, searcher_names
from .registries import SCHEDULERS as SCHEDULER_REGISTRY
from .sizes import size_key, size_text  # size_key: re-exported, its callers import it here
from .tracking._base import TrackingSection, parse_tracking

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_MARGIN",
    "ConfigError",
    "DataSection",
    "DecisionSettings",
    "ResourcesSection",
    "SearchSection",
    "SweepConfig",
    "TrackingSection",
    "YamlLocator",
    "load_sweep_config",
    "load_yaml",
    "parse_sweep_text",
    "question_cells",
    "size_key",
    "size_text",
]

DEFAULT_MARGIN = 0.01  # of the metric (0..1): gaps between tuned recipes below this rarely matter
DEFAULT_CONFIDENCE = 0.95  # the usual 5% error rate, for false winners as for false equivalence


@dataclass(frozen=True)
class DecisionSettings:
    """How a decision is made: ``margin`` (the smallest difference worth acting on, in the metric's
    units) and ``confidence`` (how sure a verdict must be); ``min_seeds`` (seeds a configuration
    needs before it can decide), ``draws`` (posterior draws; their Monte-Carlo error on a P(best)
    is at most 0.5/sqrt(draws), 0.008 at the default) and ``seed`` (the draws are reproducible)."""

    margin: float = DEFAULT_MARGIN
    confidence: float = DEFAULT_CONFIDENCE
    min_seeds: int = 2
    draws: int = 4000
    seed: int = 0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.margin) and self.margin >= 0):
            raise ValueError(f"margin: expected a number >= 0, got {self.margin!r}")
        if not (0.5 < self.confidence < 1):
            raise ValueError(f"confidence: expected a number between 0.5 and 1, got {self.confidence!r}")
        if self.min_seeds < 1 or self.draws < 100:
            raise ValueError("min_seeds must be >= 1 and draws >= 100")


SEARCHERS = searcher_names()
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # a folder name that stays inside the storage folder
# Trial keys the sweep itself sets, and where a config sets them instead.
SWEEP_SET = {
    "in_domain": "data.in_domain",
    "in_domain_format": "data.in_domain_format",
    "in_domain_root": "data.in_domain_root",
    "ood": "data.ood",
    "ood_format": "data.ood_format",
    "ood_root": "data.ood_root",
    "label_mapping": "data.label_mapping",
    "in_domain_size": "data.sizes",
    "seed": "data.seeds",
    "encoder": "encoder",
    "selection_metric": "search.selection_metric",
}
SCHEDULERS = tuple(SCHEDULER_REGISTRY.names())
ONE_SENTENCE = "1 is a count of one sentence, which nothing trains on"
MAX_SEED = 2**31 - 1  # seeds numpy and torch take, with room for the seeds confirmation adds after them
MAX_CONFIRM_SEEDS = 100  # the plan lists a size's seeds: a bound keeps it (and a dry run) small


class ConfigError(ResweepError):
    """A located problem in a sweep config: ``file:line: key: problem``."""


@dataclass(frozen=True)
class DataSection:
    """Datasets and the regimes every size is searched at."""

    in_domain: str
    ood: str | None = None
    in_domain_format: str | None = None
    ood_format: str | None = None
    in_domain_root: str | None = None
    ood_root: str | None = None
    label_mapping: Mapping[str, str] = field(default_factory=dict)
    sizes: tuple[float | int, ...] = (0.1, 0.5, 1.0)
    # The first seed is the search's; the others confirm the top configurations (see search.confirm_top_k).
    seeds: tuple[int, ...] = (0, 1, 2)


@dataclass(frozen=True)
class SearchSection:
    """How configurations are proposed and stopped.

    ``question``: the axes the sweep answers (config keys the space varies, default the transfer
    strategy). Each *cell* — one value per axis, e.g. ``local`` or ``local/oversampling`` — gets an
    equal share of ``budget`` (search trials per in-domain size) and a study of its own, so every
    value is compared at its tuned best. After its search, each cell's ``confirm_top_k`` best
    configurations run again with each of the other seeds in ``data.seeds`` (0: no confirmation).
    ``transfer``: a size's studies start from the best configurations that other sizes found (off:
    ``bench/search_correctness.py`` found no gain from it on the ground-truth tables so far).
    ``floor``: every size also runs the classical floor (``tfidf-linear``) with every seed.
    ``confirm_max_seeds``: then, while the size's decision (:mod:`search.answer.decision`) is still
    undetermined, the cells in contention get more seeds for their best configuration, one a round,
    up to this many; cells that are clearly out stop getting seeds.
    """

    space: str = "demo"
    searcher: str = "tpe"
    budget: int = 24
    scheduler: str = "asha"
    max_concurrent: int | str = "auto"  # "auto": as many trials as the cluster fits now
    selection_metric: str = "f1_weighted"
    confirm_top_k: int = 1
    # Sequential confirmation: while a size's decision is undetermined, the best configurations of
    # the cells still in contention get one more seed each round, up to this many seeds in all
    # (seeds after data.seeds: max + 1, max + 2, ...). At most len(data.seeds): fixed confirmation;
    # confirm_top_k 0: no confirmation at all.
    confirm_max_seeds: int = 5
    question: tuple[str, ...] = ("strategy",)
    transfer: bool = False
    floor: bool = True
    # Where the Optuna studies live: an SQLAlchemy URL (e.g. postgresql://user@host:5432/optuna for
    # a study several drivers or a cluster share); empty: SQLite in the sweep's folder.
    study_storage: str = ""
    # Keep every trial's epoch checkpoints. Off: a running trial keeps what a resume needs (its
    # newest), an ended one none once its row is stored (search.driver.checkpoints): a sweep's disk use
    # is bounded by its running trials, not by every epoch it ran.
    keep_checkpoints: bool = False
    # Tune's own per-trial files (progress.csv, result.json, params.json, params.pkl) in each trial's
    # folder of the Tune experiment. Off: the results store holds every row, and in an object store
    # Tune uploads those files again at every sync (100 one-second trials in S3: 1.27-1.46x the
    # local disk's wall time with them, 1.10-1.15x without; bench/sweep_overhead.py --storage).
    tune_logs: bool = False


ResourcesSection = TrialResources  # the `resources:` section: what one trial takes


@dataclass(frozen=True)
class DecisionSection:
    """How sure an answer must be (:mod:`search.answer.decision`): ``margin``, the smallest difference in
    the selection metric worth acting on; ``confidence``, the probability a verdict needs."""

    margin: float = DEFAULT_MARGIN
    confidence: float = DEFAULT_CONFIDENCE

    def settings(self, **overrides: Any) -> DecisionSettings:
        given = {k: v for k, v in overrides.items() if v is not None}
        return DecisionSettings(**{"margin": self.margin, "confidence": self.confidence, **given})


@dataclass(frozen=True)
class SweepConfig:
    name: str
    data: DataSection
    search: SearchSection = field(default_factory=SearchSection)
    resources: ResourcesSection = field(default_factory=ResourcesSection)
    encoder: str = "minilm"
    storage: str = "results"
    trial: Mapping[str, Any] = field(default_factory=dict)  # fixed trial keys for every trial
    # How the sweep grew (`resweep extend`): {at: ISO time, changes: {key: [old, new]}} each.
    extensions: tuple[Mapping[str, Any], ...] = ()
    source: str = "<memory>"
    text: str = field(default="", repr=False, compare=False)  # the YAML it was parsed from
    # Experiment trackers (search.tracking); off by default. Not part of what the sweep computes.
    tracking: TrackingSection = field(default_factory=TrackingSection)
    decision: DecisionSection = field(default_factory=DecisionSection)

    def error(self, path: str, message: str) -> ConfigError:
        """A problem with key ``path`` (``data.sizes``), located in the file it was read from."""
        return _fail(self.source, YamlLocator(self.text) if self.text else None, path, message)

    @property
    def study_prefix(self) -> str:
        """What the sweep's Optuna study names start with: its name, and the space when an
        extension changed it (a study's parameter distributions cannot change)."""
        first = next(
            (e["changes"]["space"][0] for e in self.extensions if "space" in e.get("changes", {})),
            self.search.space,
        )
        return self.name if self.search.space == first else f"{self.name}@{self.search.space}"

    def trial_context(self, size: float | int, seed: int) -> dict[str, Any]:
        """The flat trial keys a sweep fixes for one size and seed (the space proposes the rest)."""
        data = self.data
        context: dict[str, Any] = {
            "in_domain": data.in_domain,
            "in_domain_format": data.in_domain_format,
            "in_domain_root": data.in_domain_root,
            "ood": data.ood,
            "ood_format": data.ood_format,
            "ood_root": data.ood_root,
            "label_mapping": dict(data.label_mapping),
            "in_domain_size": size,
            "seed": seed,
            "encoder": self.encoder,
            "selection_metric": self.search.selection_metric,
        }
        context.update(self.trial)
        return context


class YamlLocator:
    """Line numbers of keys in a YAML document, by dotted path."""

    def __init__(self, text: str):
        self.lines: dict[str, int] = {}
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            node = None
        if node is not None:
            self._walk(node, "")

    def _walk(self, node: yaml.Node, prefix: str) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                path = f"{prefix}{key.value}"
                self.lines[path] = key.start_mark.line + 1
                self._walk(value, path + ".")

    def line(self, path: str) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path.rpartition(".")[0]
        return None


def one_line(text: str) -> str:
    """``text`` with its control characters (a newline in a key, a NUL) escaped: a message stays
    one line whatever a user's file holds."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _fail(source: str, locator: YamlLocator | None, path: str, message: str) -> ConfigError:
    line = locator.line(path) if locator else None
    where = f"{source}:{line}" if line else source
    return ConfigError(one_line(f"{where}: {path}: {message}" if path else f"{where}: {message}"))


def _section(cls: type, raw: Any, path: str, fail: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise fail(path, f"expected a mapping of keys, got {type(raw).__name__}")
    names = [f.name for f in fields(cls)]
    for key in raw:
        if key not in names:
            raise fail(f"{path}.{key}", f"unknown key; valid keys of {path}: {', '.join(names)}")
    return dict(raw)


def _number(value: Any, *, integer: bool = False) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if integer else isinstance(value, (int, float))


def check_name(name: Any) -> str:
    """``name`` if it can name a sweep (a folder that stays inside the storage folder); else
    ValueError saying why. The rule for ``name:`` in a config, ``--name`` and a command's NAME."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            "expected a name of letters, digits, '.', '_' and '-' that starts with a letter or digit, "
            f"got {name!r}"
        )
    return name


def check_storage(storage: str) -> Location:
    """Where ``storage`` is, if it can hold sweeps (a folder, existing or not, or an object-store
    URI); else ValueError saying why. The rule for ``storage:`` in a config and ``--storage``."""
    where = Location.parse(storage)  # an unknown scheme, credentials in the URI: StorageError
    if where.local is not None:
        existing = next(p for p in (where.local, *where.local.parents) if p.exists())
        if not existing.is_dir():
            what = "is a file" if existing.is_file() else "is not a folder"
            if existing != where.local:
                what = f"lies under {existing}, which {what}"
            raise ValueError(f"{where.local} {what}; give a folder (it need not exist yet)")
    return where


_Fail = Callable[[str, str], ConfigError]  # a key's dotted path and the problem -> the located error


def parse_sweep_config(raw: Any, *, source: str = "<memory>", text: str | None = None) -> SweepConfig:
    """Validate a loaded YAML document; raise :class:`ConfigError` naming the key and the problem."""
    locator = YamlLocator(text) if text is not None else None

    def fail(path: str, message: str) -> ConfigError:
        return _fail(source, locator, path, message)

    name = _parse_top_level(raw, source, fail)
    data = _parse_data(raw.get("data"), fail)
    search = _parse_search(raw.get("search"), fail)
    resources = _parse_resources(raw.get("resources"), fail)
    trial = _parse_trial(raw.get("trial"), search, fail)
    extensions = _parse_extensions(raw.get("extensions"), fail)
    storage = _parse_storage(raw.get("storage", "results"), fail)
    tracking = parse_tracking(raw.get("tracking"), fail)
    decision = _parse_decision(raw.get("decision"), fail)
    config = SweepConfig(
        name,
        data,
        search,
        resources,
        str(raw.get("encoder", "minilm")),
        storage,
        trial,
        extensions,
        source,
        text or "",
        tracking=tracking,
        decision=decision,
    )
    _check_whole(config, fail)
    return config


def _parse_top_level(raw: Any, source: str, fail: _Fail) -> str:
    """Check the document is a mapping of known top-level keys; its ``name:`` (default: the file's)."""
    if not isinstance(raw, Mapping):
        raise fail("", "a sweep config is a YAML mapping (name:, data:, search:, ...)")
    top = [f.name for f in fields(SweepConfig) if f.name not in ("source", "text")]
    for key in raw:
        if key not in top:
            raise fail(str(key), f"unknown key; valid top-level keys: {', '.join(top)}")
    name = raw.get("name", Path(source).stem)
    try:
        check_name(name)
    except ValueError as err:
        raise fail("name", str(err)) from None
    return str(name)


def _parse_data(raw: Any, fail: _Fail) -> DataSection:
    """The ``data:`` section."""
    data_raw = _section(DataSection, raw, "data", fail)
    if "in_domain" not in data_raw:
        raise fail("data", "missing data.in_domain (a dataset name, folder or file)")
    sizes = _parse_sizes(data_raw.get("sizes", DataSection.sizes), fail)
    from trainables.data.formats import FORMATS

    for key in ("in_domain_format", "ood_format"):
        if data_raw.get(key) is not None and data_raw[key] not in FORMATS.names():
            raise fail(
                f"data.{key}", f"unknown format {data_raw[key]!r}; formats: {', '.join(FORMATS.names())}"
            )
    mapping = data_raw.get("label_mapping", {})
    if not isinstance(mapping, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in mapping.items()
    ):
        raise fail(
            "data.label_mapping",
            f"expected a mapping of OOD label -> in-domain label (text), got {mapping!r}",
        )
    seeds = _parse_seeds(data_raw.get("seeds", DataSection.seeds), fail)
    data_raw.update(sizes=sizes, seeds=seeds)
    return DataSection(**data_raw)


def _parse_sizes(sizes: Any, fail: _Fail) -> tuple[float | int, ...]:
    """``data.sizes``: fractions or counts, one unit, each telling apart from the others."""
    if not isinstance(sizes, (list, tuple)) or not sizes:
        raise fail("data.sizes", f"expected a list of fractions (0.1) or counts (3000), got {sizes!r}")
    for size in sizes:
        try:
            Regime(size)
        except ValueError as err:
            raise fail("data.sizes", str(err)) from None
        if size == 1 and not isinstance(size, float):  # surely the whole pool, not one sentence
            raise fail("data.sizes", f"{ONE_SENTENCE}; write 1.0 for the whole training pool")
    if len(set(sizes)) != len(sizes):
        raise fail("data.sizes", f"sizes repeat: {sizes}")
    for i, size in enumerate(sizes):
        # Studies, boards and progress name a size by its key and its text: two sizes that read
        # alike would share a study and a board.
        same = next(
            (s for s in sizes[:i] if size_key(s) == size_key(size) or size_text(s) == size_text(size)), None
        )
        if same is not None:
            raise fail(
                "data.sizes",
                f"{size!r} and {same!r} are too close to tell apart (both read {size_text(size)}, "
                f"{size_key(size)}): give fractions at least 0.0001 (0.01%) apart",
            )
    fractions = [s for s in sizes if isinstance(s, float)]
    if fractions and len(fractions) < len(sizes):
        counts = [s for s in sizes if not isinstance(s, float)]
        raise fail(
            "data.sizes",
            f"mixes fractions ({', '.join(f'{s:g}' for s in fractions)}) and counts "
            f"({', '.join(map(str, counts))}): use one unit, fractions of the training pool or sentence "
            "counts, so that every size has its place on one axis",
        )
    return tuple(sizes)


def _parse_seeds(seeds: Any, fail: _Fail) -> tuple[int, ...]:
    """``data.seeds``: distinct integers numpy and torch take."""
    if (
        not isinstance(seeds, (list, tuple))
        or not seeds
        or not all(_number(s, integer=True) and 0 <= s <= MAX_SEED for s in seeds)
    ):
        # numpy's generators take seeds below 2**32; confirmation adds seeds after the largest.
        raise fail("data.seeds", f"expected a list of integers from 0 to {MAX_SEED}, got {seeds!r}")
    if len(set(seeds)) != len(seeds):
        raise fail("data.seeds", f"seeds repeat: {list(seeds)}")
    return tuple(seeds)


def _parse_search(raw: Any, fail: _Fail) -> SearchSection:
    """The ``search:`` section."""
    search_raw = _section(SearchSection, raw, "search", fail)
    checks: dict[str, tuple[Any, str]] = {
        "space": (space_names(), "one of"),
        "searcher": (SEARCHERS, "one of"),
        "scheduler": (SCHEDULERS, "one of"),
        "selection_metric": (METRIC_KEYS, "one of"),
    }
    for key, (allowed, _) in checks.items():
        if key in search_raw and search_raw[key] not in allowed:
            raise fail(f"search.{key}", f"got {search_raw[key]!r}; allowed: {', '.join(allowed)}")
    for key in ("budget", "max_concurrent"):
        if key not in search_raw or (key == "max_concurrent" and search_raw[key] == "auto"):
            continue
        if not (_number(search_raw[key], integer=True) and search_raw[key] >= 1):
            extra = " or auto" if key == "max_concurrent" else ""
            raise fail(f"search.{key}", f"expected an integer >= 1{extra}, got {search_raw[key]!r}")
    _check_study_storage(search_raw.get("study_storage", ""), fail)
    if "confirm_max_seeds" in search_raw and not (
        _number(search_raw["confirm_max_seeds"], integer=True)
        and 1 <= search_raw["confirm_max_seeds"] <= MAX_CONFIRM_SEEDS
    ):
        raise fail(
            "search.confirm_max_seeds",
            f"expected an integer from 1 to {MAX_CONFIRM_SEEDS}, got {search_raw['confirm_max_seeds']!r}",
        )
    if "confirm_top_k" in search_raw and not (
        _number(search_raw["confirm_top_k"], integer=True) and search_raw["confirm_top_k"] >= 0
    ):
        raise fail("search.confirm_top_k", f"expected an integer >= 0, got {search_raw['confirm_top_k']!r}")
    for key in ("transfer", "floor", "keep_checkpoints", "tune_logs"):
        if key in search_raw and not isinstance(search_raw[key], bool):
            raise fail(f"search.{key}", f"expected true or false, got {search_raw[key]!r}")
    if "question" in search_raw:
        search_raw["question"] = _question(search_raw, fail)
    search = SearchSection(**search_raw)
    cells = question_cells(search)
    if search.budget < len(cells):
        raise fail(
            "search.budget",
            f"{search.budget} is fewer than the {len(cells)} question cells "
            f"({', '.join(cell_label(c) for c in cells)}): each needs at least one trial per size",
        )
    return search


def _check_study_storage(study_url: Any, fail: _Fail) -> None:
    """``search.study_storage``: empty, or an SQLAlchemy URL that could work."""
    if not isinstance(study_url, str) or (study_url and "://" not in study_url):
        raise fail(
            "search.study_storage",
            f"expected an SQLAlchemy URL like postgresql://user@host:5432/optuna, got {study_url!r}",
        )
    if study_url:
        problem = _study_url_problem(study_url)
        if problem:
            raise fail("search.study_storage", problem)


def _parse_resources(raw: Any, fail: _Fail) -> ResourcesSection:
    """The ``resources:`` section: what one trial takes."""
    resources_raw = _section(ResourcesSection, raw, "resources", fail)
    for key in ("cpus", "gpus"):
        if key in resources_raw and not (_number(resources_raw[key]) and resources_raw[key] >= 0):
            raise fail(
                f"resources.{key}", f"expected a number >= 0 (fractions allowed), got {resources_raw[key]!r}"
            )
    if "workers" in resources_raw and not (
        _number(resources_raw["workers"], integer=True) and resources_raw["workers"] >= 1
    ):
        raise fail("resources.workers", f"expected an integer >= 1, got {resources_raw['workers']!r}")
    if resources_raw.get("executor", "auto") not in EXECUTOR_CHOICES:
        raise fail(
            "resources.executor", f"got {resources_raw['executor']!r}; allowed: {', '.join(EXECUTOR_CHOICES)}"
        )
    try:
        resources = TrialResources(**resources_raw)  # combinations: inline with workers, 1.5 GPUs ...
    except ValueError as err:
        raise fail("resources", str(err)) from None
    if resources.cpus == 0 and resources.gpus == 0:
        raise fail("resources", "a trial needs some CPU or GPU (cpus and gpus are both 0)")
    return resources


def _parse_trial(raw: Any, search: SearchSection, fail: _Fail) -> dict[str, Any]:
    """The ``trial:`` section: trial keys fixed for every trial, none the sweep or its question sets."""
    trial = raw or {}
    if not isinstance(trial, Mapping):
        raise fail("trial", f"expected a mapping of fixed trial keys, got {type(trial).__name__}")
    valid = TrialSpec.valid_keys()
    for key in trial:
        if key in SWEEP_SET:
            raise fail(f"trial.{key}", f"set by the sweep itself; set {SWEEP_SET[key]} instead")
        if key not in valid:
            close = difflib.get_close_matches(str(key), valid, n=1)
            hint = f"did you mean {close[0]}?" if close else f"valid: {', '.join(sorted(valid))}"
            raise fail(f"trial.{key}", f"unknown trial key; {hint}")
    for axis in search.question:
        if axis in trial:  # every cell would train with the fixed value, under its own label
            compared = ", ".join(map(str, axis_values(search.space, axis, grid=search.searcher == GRID)))
            raise fail(
                f"trial.{axis}",
                f"fixed to {trial[axis]!r}, but search.question compares {axis} ({compared}): remove "
                f"trial.{axis}, or take {axis} out of search.question",
            )
    return dict(trial)


def _parse_extensions(raw: Any, fail: _Fail) -> tuple[Mapping[str, Any], ...]:
    """The ``extensions:`` list `resweep extend` writes."""
    extensions = raw or []
    if not isinstance(extensions, list) or not all(
        isinstance(e, Mapping) and isinstance(e.get("changes", {}), Mapping) for e in extensions
    ):
        raise fail("extensions", "expected the list `resweep extend` writes ({at:, changes:} each)")
    for number, extension in enumerate(extensions, start=1):
        problem = _extension_problem(extension)
        if problem:
            raise fail("extensions", f"entry {number}: {problem} (the list `resweep extend` writes)")
    return tuple(dict(e) for e in extensions)


def _parse_storage(raw: Any, fail: _Fail) -> str:
    """``storage:``: a folder or an object-store URI that can hold sweeps."""
    storage = str(raw)
    try:
        check_storage(storage)
    except ValueError as err:
        raise fail("storage", str(err)) from None
    return storage


def _parse_decision(raw: Any, fail: _Fail) -> DecisionSection:
    """The ``decision:`` section."""
    decision_raw = _section(DecisionSection, raw, "decision", fail)
    if "margin" in decision_raw and not (_number(decision_raw["margin"]) and 0 <= decision_raw["margin"] < 1):
        raise fail("decision.margin", f"expected a number >= 0 and < 1, got {decision_raw['margin']!r}")
    if "confidence" in decision_raw and not (
        _number(decision_raw["confidence"]) and 0.5 < decision_raw["confidence"] < 1
    ):
        raise fail(
            "decision.confidence",
            f"expected a number above 0.5 and below 1, got {decision_raw['confidence']!r}",
        )
    return DecisionSection(**decision_raw)


def _check_whole(config: SweepConfig, fail: _Fail) -> None:
    """What only the sections together tell: a valid fixed trial, and OOD data where the space needs it."""
    data, search = config.data, config.search
    # The fixed part of every trial must already be a valid trial config.
    try:
        TrialSpec.from_config({**config.trial_context(data.sizes[0], data.seeds[0])})
    except ValueError as err:
        raise fail("trial", str(err)) from None
    if data.ood is None:
        needing = _strategies_needing_ood(config)
        if needing:
            raise fail(
                "data",
                f"space {search.space!r} proposes {', '.join(needing)}, which train on out-of-domain data, "
                "and data.ood is not set: name an OOD dataset, or use a space that proposes baseline only",
            )


EXTENDED_KEYS = ("budget", "sizes", "seeds", "confirm_top_k", "space")  # what `resweep extend` changes


def _extension_problem(extension: Mapping[str, Any]) -> str | None:
    """What is wrong with one ``extensions:`` entry ({at:, changes: {key: [old, new]}}); None: nothing."""
    unknown = [str(k) for k in extension if k not in ("at", "changes")]
    if unknown:
        return f"unknown key(s) {', '.join(unknown)}; an entry has at: and changes:"
    for key, change in dict(extension.get("changes") or {}).items():
        if key not in EXTENDED_KEYS:
            return f"changes.{key}: not something `resweep extend` changes ({', '.join(EXTENDED_KEYS)})"
        if not isinstance(change, list) or len(change) != 2:
            return f"changes.{key}: expected [old, new], got {change!r}"
        if key == "space" and not all(isinstance(v, str) for v in change):
            return f"changes.space: expected [old space, new space] (names), got {change!r}"
    return None


def _study_url_problem(url: str) -> str | None:
    """What is wrong with an Optuna study URL, found without connecting (None: nothing): an
    unknown database kind or a driver not installed, or an SQLite file in a folder that does not
    exist (the sweep would otherwise fail on it after Ray started)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except NoSuchModuleError:  # (an ArgumentError too)
        scheme = url.split("://", 1)[0]
        return (
            f"{scheme!r} is not a database SQLAlchemy knows, or its driver is not installed; "
            "use e.g. postgresql://user@host:5432/optuna, mysql://..., sqlite:///path/optuna.db"
        )
    except (ArgumentError, ValueError) as err:  # a port that is not a number, ...
        return f"not an SQLAlchemy URL ({err}), got {url!r}"
    except ImportError as err:  # a known database whose driver package is missing
        return f"the driver for {url.split('://', 1)[0]!r} is not installed ({err})"
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).expanduser().parent
        if not folder.is_dir():
            return f"the SQLite file's folder {folder} does not exist"
    return None


QUESTION_AXES = ("strategy", "imbalance", "architecture", "ood_pct", "phase1_model")


def _question(search_raw: Mapping[str, Any], fail: Any) -> tuple[str, ...]:
    expected = "a list of axes like [strategy, imbalance]"
    axes = chosen_names(
        search_raw["question"],
        QUESTION_AXES,
        path="search.question",
        fail=fail,
        kind="axis",
        kinds="axes",
        expected=expected,
    )
    if not axes:
        raise fail("search.question", f"expected {expected}, got {search_raw['question']!r}")
    space = search_raw.get("space", SearchSection.space)
    grid = search_raw.get("searcher", SearchSection.searcher) == GRID
    for axis in axes:
        if len(axis_values(space, axis, grid=grid)) < 2:
            raise fail("search.question", f"space {space!r} does not vary {axis}: nothing to compare")
    return tuple(axes)


def question_cells(search: SearchSection) -> list[dict[str, Any]]:
    """The question's cells in order: one value per axis (the product of the axes' values)."""
    import itertools

    grid = search.searcher == GRID
    values = [axis_values(search.space, axis, grid=grid) for axis in search.question]
    return [dict(zip(search.question, combo, strict=True)) for combo in itertools.product(*values)]


def _strategies_needing_ood(config: SweepConfig, draws: int = 200) -> list[str]:
    """The OOD-using strategies a sweep's space proposes (its grid, or random draws from it)."""
    from spaces import get_space, random_draws
    from trainables.strategies import STRATEGIES

    grid = get_space(config.search.space).grid() if config.search.searcher == GRID else None
    if grid is None:
        grid = random_draws(config.search.space, draws)
    fixed = config.trial.get("strategy")  # a fixed trial key wins over the space's proposal
    proposed = {str(fixed or p.get("strategy", "baseline")) for p in grid}
    return sorted(name for name in proposed if STRATEGIES.get(name).uses_ood)


def load_sweep_config(path: str | Path) -> SweepConfig:
    from trainables.inputs import not_a_file

    path = Path(path)
    problem = not_a_file(path)  # a FIFO or /dev/zero would never finish reading
    if problem is not None:
        raise ConfigError(f"{path}: {'no such sweep config' if problem == 'no such file' else problem}")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such sweep config") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    return parse_sweep_text(text, source=str(path))


MAX_YAML_VALUES = 100_000  # values a config may hold with its aliases written out (configs hold ~100)


class YAMLTooLarge(yaml.MarkedYAMLError):
    """A YAML document whose aliases expand beyond :data:`MAX_YAML_VALUES` values, or refer to
    themselves: reading it on would take time and memory without bound ("billion laughs")."""


def _expanded_values(root: yaml.Node, limit: int) -> tuple[int | None, yaml.Node]:
    """How many values (scalars, sequences, mappings) ``root`` holds with every alias written
    out, counted up to just past ``limit``, and the node where the count passed it; None: an
    alias inside the node it names (endless). Iterative and linear in the distinct nodes, however
    deep the document nests."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children: list[yaml.Node] = (
            [n for pair in node.value for n in pair]
            if isinstance(node, yaml.MappingNode)
            else list(node.value)
            if isinstance(node, yaml.SequenceNode)
            else []
        )
        if done:
            on_path.discard(id(node))
            size[id(node)] = min(limit + 1, 1 + sum(size[id(c)] for c in children))
            if size[id(node)] > limit:
                return size[id(node)], node
            continue
        if id(node) in size:
            continue
        on_path.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                return None, child
            if id(child) not in size:
                stack.append((child, False))
    return size[id(root)], root


class _UniqueKeys(yaml.SafeLoader):
    """``yaml.SafeLoader``, except that a key given twice in one mapping is an error (YAML's
    "the last one wins" would silently drop the first), and a document whose aliases expand
    beyond :data:`MAX_YAML_VALUES` values, or into themselves, is :class:`YAMLTooLarge`."""

    def get_single_node(self) -> yaml.Node | None:
        node = super().get_single_node()
        if node is not None:
            values, where = _expanded_values(node, MAX_YAML_VALUES)
            if values is None or values > MAX_YAML_VALUES:
                raise YAMLTooLarge(
                    problem="an alias refers to the value that holds it (an endless document)"
                    if values is None
                    else f"its aliases expand to more than {MAX_YAML_VALUES:,} values; write the "
                    "values out instead of aliasing them",
                    problem_mark=where.start_mark,
                )
        return node

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                break  # SafeLoader's own error follows: "found unhashable key"
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} given twice (first on line {seen[key]})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> Any:
    """The one way resweep reads YAML it is given (sweep configs, ``resweep train --config``): a
    SafeLoader that refuses a key given twice and bounds what aliases expand to. Raises
    ``yaml.YAMLError`` (and RecursionError for collections nested too deeply); the callers say
    where."""
    return yaml.load(text, Loader=_UniqueKeys)


def parse_sweep_text(text: str, *, source: str) -> SweepConfig:
    """A sweep config from YAML ``text``; ``source`` names it in messages (a path or a URI)."""
    path = source
    try:
        raw = load_yaml(text)  # a SafeLoader that refuses a key given twice
    except yaml.reader.ReaderError as err:  # a character YAML does not allow (NUL, most controls)
        line = text[: err.position].count("\n") + 1
        character = chr(err.character) if isinstance(err.character, int) else err.character
        raise ConfigError(f"{path}:{line}: invalid YAML: character {character!r} is not allowed") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        kind = "YAML refused" if isinstance(err, YAMLTooLarge) else "invalid YAML"
        problem = " ".join(str(getattr(err, "problem", None) or err).split())  # one line
        raise ConfigError(f"{where}: {kind}: {problem}") from None
    except RecursionError:  # PyYAML reads nested collections recursively
        raise ConfigError(f"{path}: YAML refused: collections nested too deeply") from None
    return parse_sweep_config(raw, source=str(path), text=text)
