"""From the answer to a model: train a sweep's recommended recipe and save it as a model folder.

:func:`choose_recipe` picks the configuration — the one the leaderboard recommends for an
in-domain size (default: the whole training pool; an unswept size gets what
``resweep leaderboard --size N`` recommends), the K-th ranked one, or an explicit config — and
:func:`train_model` trains it, Ray-free, on *all* of the sweep's in-domain training pool with the
sweep's dev split for early stopping (the split a trial with the same seed used), then writes a
model folder (:mod:`trainables.model_folder`) with the leaderboard evidence behind the choice, a
model card and the versions manifest.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from trainables.errors import ResweepError
from trainables.loop import FitResult
from trainables.metrics import METRIC_KEYS
from trainables.model_folder import RelationModel, save_model_folder
from trainables.report_keys import metric_of, score_key

from ..answer.curves import Recommendation, query_size, recommend
from ..answer.decision import Decision
from ..answer.leaderboard import Entry, SizeBoard, configuration_label, leaderboard
from ..sizes import size_text

__all__ = ["Recipe", "TrainedModel", "check_model_out", "choose_recipe", "train_model"]

POOL = 1.0  # in_domain_size of the whole training pool


@dataclass
class Recipe:
    """A trial config to train on the whole pool, and why it was chosen."""

    config: dict[str, Any]  # the full flat trial config (in_domain_size 1.0, the seed)
    how: str  # "recommended at size 0.1", "rank 2 at size 1", "given (FILE)"
    sweep: str
    metric: str  # the sweep's ranking metric, e.g. dev_f1_weighted
    recommendation: Recommendation | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class TrainedModel:
    """What :func:`train_model` returns: the folder, the model in memory and its scores."""

    folder: Path
    model: RelationModel
    recipe: Recipe
    result: FitResult
    scores: dict[str, dict[str, float]]  # {"dev": {...}, "test": {...}} at the selected epoch
    data: dict[str, Any]
    registered: list[str] = field(default_factory=list)  # what trackers made of it (search.api.train)

    def comparison(self) -> str:
        """The final dev score beside the leaderboard's estimate for it (one line)."""
        return compare_with_leaderboard(self.recipe, self.scores)


def _entry_evidence(entry: Entry) -> dict[str, Any]:
    """The leaderboard's row for ``entry``, as the evidence a model folder keeps."""
    row = entry.as_dict()
    keys = ("label", "cell", "rank", "n_seeds", "mean", "std", "tie", "status", "below_floor")
    interval = None if row["ci_low"] is None else [row["ci_low"], row["ci_high"]]
    return {**{k: row[k] for k in keys}, "interval": interval, "test": dict(entry.test)}


def _why_this_cell(board: SizeBoard) -> str:
    """How the decision at a swept size chose the cell the recommendation comes from: the
    winner, or — where the answer is equivalent or undetermined — which cell was taken and why."""
    floor_first = ""
    if board.without_floor is not None:  # the floor leads: the recipe is the best of the rest
        floor_first = "; the floor leads (`--floor` trains it), among the rest"
    decision = board.without_floor or board.decision
    if decision is None or decision.cell is None:
        return ""
    return floor_first + _decided(decision)


def _decided(decision: Decision) -> str:
    p = decision.p_best.get(str(decision.cell), 0.0)
    if decision.verdict == "winner":
        return f": {decision.cell} wins (P(best) {p:.2f})"
    if decision.verdict == "equivalent":
        return (
            f": the cells are equivalent within {decision.margin:g}; took {decision.cell}, "
            "whose best scores highest"
        )
    settle = f"; {decision.settle} would settle it" if decision.settle else ""
    return (
        f": no winner yet ({decision.reason}); took {decision.cell}, the best-scoring cell with a "
        f"confirmed configuration (P(best) {p:.2f}){settle}"
    )


def board_evidence(board: SizeBoard, entry: Entry) -> dict[str, Any]:
    """What ``entry`` was chosen over at ``board``'s size: every other cell's best and the floor."""
    others = []
    for name, cell in board.cells().items():
        if cell.best is entry:
            continue
        others.append(
            {
                "cell": name,
                "best": None if cell.best is None else cell.best.label,
                "mean": None if cell.best is None else cell.best.mean,
                "n_seeds": None if cell.best is None else cell.best.n_seeds,
                "flags": cell.flags,
                "finished": cell.finished,
                "stopped": cell.stopped,
            }
        )
    floor = board.floor
    decision = board.decision
    return {
        "decision": None if decision is None else {**decision.as_dict(), "line": decision.line()},
        "chosen_over": others,
        "floor": None
        if floor is None
        else {"label": floor.label, "mean": floor.mean, "n_seeds": floor.n_seeds},
    }


def _read_config_file(path: str | Path) -> dict[str, Any]:
    import yaml

    from trainables.inputs import check_input_file

    from ..config import load_yaml

    try:
        text = check_input_file(path, "--config").read_text(encoding="utf-8")
        raw = load_yaml(text)  # the sweep config's reader: aliases bounded, keys unique
    except UnicodeDecodeError:
        raise ResweepError(
            f"{path}: --config is not UTF-8 text (a YAML or JSON file of trial keys)"
        ) from None
    except yaml.YAMLError as err:
        raise ResweepError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from None
    except RecursionError:
        raise ResweepError(f"{path}: YAML refused: collections nested too deeply") from None
    if isinstance(raw, Mapping) and isinstance(raw.get("config"), Mapping):
        raw = raw["config"]  # a leaderboard --json row, or a model folder's resweep_model.json
    if not isinstance(raw, Mapping):
        raise ResweepError(f"{path}: expected a mapping of trial keys (KEY: VALUE), got {type(raw).__name__}")
    return dict(raw)


# The trial keys that name a sweep's data: a recipe trains on its sweep's datasets, or the model's
# card, scores and leaderboard evidence describe data it never saw (`resweep trial` trains on others).
DATA_KEYS = (
    "in_domain",
    "in_domain_format",
    "in_domain_root",
    "ood",
    "ood_format",
    "ood_root",
    "label_mapping",
)


def _same_data(given: Any, sweeps: Any) -> bool:
    if given == sweeps or (given in (None, {}) and sweeps in (None, {})):
        return True
    if isinstance(given, str) and isinstance(sweeps, str):  # one file or folder, named two ways
        try:
            return (
                Path(given).expanduser().resolve() == Path(sweeps).expanduser().resolve()
                and Path(given).expanduser().exists()
            )
        except OSError:
            return False
    return False


def _check_same_datasets(sweep: Any, given: Mapping[str, Any], config: Any, seed: int) -> None:
    """Refuse an explicit config whose data keys differ from the sweep's (the same values pass: a
    model folder's description or a leaderboard row names them too)."""
    from ..config import SWEEP_SET, YamlLocator

    context = sweep.trial_context(POOL, seed)
    for key in DATA_KEYS:
        if key in given and not _same_data(given[key], context[key]):
            if isinstance(config, Mapping):
                where = "--config"
            else:
                text = Path(config).read_text(encoding="utf-8")
                locator = YamlLocator(text)
                line = locator.line(f"config.{key}") or locator.line(key)
                where = f"{config}:{line}" if line else str(config)
            raise ResweepError(
                f"{where}: {key}: {given[key]!r} is not the sweep's {SWEEP_SET[key]} "
                f"({context[key]!r}): a recipe trains on its sweep's data; remove {key} from the "
                "config (`resweep trial` trains on other data)"
            )


def choose_recipe(
    name: str,
    *,
    storage: str = "results",
    size: float | int | None = None,
    rank: int | None = None,
    config: str | Path | Mapping[str, Any] | None = None,
    seed: int | None = None,
    pool: int | None = None,
    floor: bool = False,
) -> Recipe:
    """The configuration :func:`train_model` trains (see the module docstring).

    ``size``: the in-domain size whose recipe to take, a fraction of the pool or a count (default:
    the whole pool); ``rank``: the K-th finished configuration of that (swept) size instead of the
    recommended one; ``config``: an explicit trial config (a file or a mapping) under the sweep's
    datasets; ``floor``: the size's classical floor (``tfidf-linear``; at an unswept size, the
    nearest swept size's), for when it beats every neural recipe; ``seed``: default the sweep's
    first. ``pool`` converts between fractions and counts (default: counted from the dataset when
    needed)."""
    from trainables.config import TrialSpec

    from ..plan import load_saved_sweep, train_pool

    if sum(choice is not None and choice is not False for choice in (rank, config, floor)) > 1:
        raise ResweepError("give one of a rank, a config or the floor")
    if rank is not None and rank < 1:
        raise ResweepError(f"rank must be >= 1, got {rank}")
    sweep, _ = load_saved_sweep(storage, name)
    seed = sweep.data.seeds[0] if seed is None else int(seed)
    metric = score_key("dev", sweep.search.selection_metric)
    pool_cache: list[int] = []

    def pool_of() -> int:
        if not pool_cache:
            pool_cache.append(pool or train_pool(sweep))
        return pool_cache[0]

    if config is not None:
        given = dict(config) if isinstance(config, Mapping) else _read_config_file(config)
        _check_same_datasets(sweep, given, config, seed)
        merged = {**sweep.trial_context(POOL, seed), **given, "in_domain_size": POOL, "seed": seed}
        spec = TrialSpec.from_config(merged)  # unknown keys and bad values fail here
        where = "a mapping" if isinstance(config, Mapping) else str(config)
        return Recipe(spec.to_config(), f"given ({where})", name, metric)

    boards = leaderboard(name, storage=storage)
    if not boards:
        raise ResweepError(f"sweep {name!r} has no scored trials yet: nothing to train")
    counts = any(b.size > 1.0 for b in boards)
    query: float | int = size if size is not None else (pool_of() if counts else POOL)
    answer = query_size(boards, query, pool=pool, pool_of=pool_of)
    where = answer["size"]
    board: SizeBoard
    if floor:
        board = answer.get("board") or min(boards, key=lambda b: abs(math.log(b.size) - math.log(where)))
        if board.floor is None:
            raise ResweepError(
                f"size {size_text(board.size)} has no finished floor run (search.floor was off)"
            )
        entry, recommendation, source = board.floor, None, board
        how = f"the floor at size {size_text(board.size)}"
    elif rank is not None:
        if "board" not in answer:
            swept = ", ".join(f"{s:g}" for s in answer["swept"])
            raise ResweepError(f"--rank needs a swept size; {where:g} was not swept (swept: {swept})")
        board = answer["board"]
        ranked = [e for e in board.entries if e.rank == rank]
        if not ranked:
            raise ResweepError(
                f"size {where:g} has {len(board.entries)} ranked configurations, no rank {rank}"
            )
        entry, recommendation, how = ranked[0], None, f"rank {rank} at size {size_text(where)}"
        source = board
    else:
        try:
            recommendation = recommend(boards, where)
        except LookupError as err:
            raise ResweepError(str(err)) from None
        entry, source = recommendation.entry, recommendation.source
        how = f"recommended at size {size_text(where)}" + (
            "" if recommendation.swept else f" (from size {size_text(source.size)})"
        )
        if recommendation.swept:
            how += _why_this_cell(source)
    # The configuration as its trials ran (the seed aside), on the whole pool with the seed asked for.
    spec = TrialSpec.from_config({**json.loads(entry.key), "in_domain_size": POOL, "seed": seed})
    evidence: dict[str, Any] = {
        "sweep": name,
        "metric": metric,
        "size": where,
        "source_size": source.size,
        "pool": answer.get("pool"),
        "how": how,
        **_entry_evidence(entry),
        **board_evidence(source, entry),
    }
    if recommendation is not None and recommendation.estimate is not None:
        estimate = recommendation.estimate
        evidence["estimate"] = {
            "strategy": estimate.strategy,
            "value": estimate.estimate,
            "band": None if estimate.low is None else [estimate.low, estimate.high],
            "method": estimate.method,
        }
    return Recipe(spec.to_config(), how, name, metric, recommendation, evidence)


def _scores(best: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    return {
        split: {k: float(best[f"{split}_{k}"]) for k in METRIC_KEYS if best.get(f"{split}_{k}") is not None}
        for split in ("dev", "test")
    }


def compare_with_leaderboard(recipe: Recipe, scores: Mapping[str, Mapping[str, float]]) -> str:
    """``dev f1_weighted 0.4930; the leaderboard: 0.4880 over 3 seed(s) at size 1, 95% CI [...]:
    within it`` (one line)."""
    metric = metric_of(recipe.metric)
    final = scores.get("dev", {}).get(metric)
    if final is None:
        return f"dev {metric}: not scored (no dev split)"
    line = f"dev {metric} {final:.4f}"
    evidence = recipe.evidence
    if not evidence:
        return line + " (an explicit config: no leaderboard estimate to compare with)"
    if "estimate" in evidence:
        estimate = evidence["estimate"]
        expected, bounds = estimate["value"], estimate["band"]
        where = size_text(evidence["size"])
        line += f"; the leaderboard's estimate at size {where}: {expected:.4f} ({estimate['method']}"
        line += f", band [{bounds[0]:.4f}, {bounds[1]:.4f}])" if bounds else ")"
    else:
        expected, bounds = evidence["mean"], evidence.get("interval")
        line += f"; the leaderboard: {expected:.4f} over {evidence['n_seeds']} seed(s) at size "
        line += f"{evidence['source_size']:g}"
        line += f", 95% CI [{bounds[0]:.4f}, {bounds[1]:.4f}]" if bounds else ""
    if bounds:
        low, high = bounds
        return line + (
            ": within it" if low <= final <= high else (": above it" if final > high else ": below it")
        )
    return line + f": {final - expected:+.4f}"


_CARD_SETTINGS = (
    "architecture", "encoder", "strategy", "ood_pct", "local_in_domain_pretrain_pct", "imbalance",
    "learning_rate", "batch_size", "max_epochs", "patience", "hidden_units", "dropout",
    "marker_style", "max_length", "phase1_model", "phase1_finetune", "seed",
)  # fmt: skip


def _card(
    recipe: Recipe,
    spec: Any,
    scores: Mapping[str, Mapping[str, float]],
    data: Mapping[str, Any],
    result: FitResult,
) -> str:
    """MODEL_CARD.md: the same facts as resweep_model.json, for a person. The text is the
    template ``model_card.md.j2`` beside this module; here only its values."""
    from importlib.resources import files

    import jinja2

    config = spec.to_config()
    evidence = recipe.evidence
    environment = jinja2.Environment(
        trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined, autoescape=False
    )
    environment.filters["fmt"] = format  # {{ x | fmt(".4f") }}: Python's format spec
    template = environment.from_string((files("search.models") / "model_card.md.j2").read_text("utf-8"))
    return template.render(
        recipe=recipe,
        config=config,
        data=data,
        result=result,
        evidence=evidence,
        metric_keys=METRIC_KEYS,
        settings=[(k, config[k]) for k in _CARD_SETTINGS if k in config and config[k] is not None],
        score_rows=[
            (split, [f"{values[k]:.4f}" if k in values else "-" for k in METRIC_KEYS])
            for split in ("dev", "test")
            if (values := scores.get(split, {}))
        ],
        comparison=compare_with_leaderboard(recipe, scores),
        decision_size=size_text(evidence["source_size"]) if evidence else None,
        # Chosen for another size than the whole pool (a fraction, or a count short of it).
        chosen_elsewhere=bool(evidence)
        and abs(float(evidence["size"]) - POOL) > 1e-9
        and not (evidence.get("pool") and evidence["size"] == evidence["pool"]),
    )


def check_model_out(
    name: str,
    out: str | Path,
    *,
    storage: str = "results",
    overwrite: bool = False,
    config: str | Path | Mapping[str, Any] | None = None,
) -> None:
    """Refuse ``out`` before any work when writing the model folder there would destroy what
    the training reads or what resweep did not write (:func:`search.outputs.check_output`): the
    sweep, its storage folder, its datasets and encoder, the ``config`` file, another model
    folder; ``overwrite`` replaces only a model folder."""
    from ..outputs import check_output, data_reads
    from ..plan import load_saved_sweep

    sweep, paths = load_saved_sweep(storage, name)
    reads = [
        (f"the folder of sweep {name!r}", paths.root),
        (f"the storage folder of sweep {name!r}", paths.storage),
        ("the --config file", None if config is None or isinstance(config, Mapping) else config),
        *data_reads(sweep.trial_context(POOL, sweep.data.seeds[0])),
    ]
    check_output(out, "--out", reads=reads, kind="model", overwrite=overwrite)


def train_model(
    name: str,
    *,
    out: str | Path,
    storage: str = "results",
    recipe: Recipe | None = None,
    overwrite: bool = False,
    device: str | None = None,
    report: Callable[[dict[str, Any], Path | None], None] | None = None,
    **choice: Any,
) -> TrainedModel:
    """Choose the recipe (:func:`choose_recipe` with ``choice``: size, rank, config, floor, seed,
    pool; or take ``recipe``), train it on the whole pool, write the model folder ``out``;
    ``report`` sees every epoch's metrics."""
    import torch

    from trainables.config import TrialSpec
    from trainables.loop import World
    from trainables.trial import prepare_trial

    from ..manifest import manifest
    from ..plan import load_saved_sweep, sweep_document

    out = Path(out)
    check_model_out(name, out, storage=storage, overwrite=overwrite, config=choice.get("config"))
    if recipe is None:
        recipe = choose_recipe(name, storage=storage, **choice)
    sweep, paths = load_saved_sweep(storage, name)
    spec = TrialSpec.from_config(recipe.config)
    world = World(device=torch.device(device)) if device else World()
    prepared = prepare_trial(spec, artifacts=str(paths.artifacts), world=world, keep_encoder=True)
    result = prepared.fit(report=report or (lambda metrics, checkpoint: None), world=world)
    architecture = prepared.architecture
    architecture.for_inference()
    scores = _scores(result.best)
    data = prepared.data
    label = recipe.evidence.get("label") or configuration_label(spec.to_config())
    facts: dict[str, Any] = {
        "label": label,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "in_domain": spec.data.in_domain,
        "ood": spec.data.ood if data.ood_train.num_rows else None,
        "train": data.train.num_rows,
        "dev": data.dev.num_rows,
        "test": data.test.num_rows,
        "ood_train": data.ood_train.num_rows,
        "carved": list(data.carved),
        "labels": list(prepared.label_space.in_domain),
        "negative": sorted(set(prepared.label_space.in_domain) & set(prepared.label_space.negative)),
    }
    info = {
        "sweep": name,
        "how": recipe.how,
        "scores": {
            **scores,
            "metric": recipe.metric,
            "selected_epoch": result.best.get("selected_epoch"),
            "epochs_run": result.epochs_done,
        },
        "evidence": recipe.evidence or None,
        "data": facts,
    }
    datasets = {
        "in_domain": prepared.in_domain,
        **({"ood": prepared.ood} if prepared.ood is not None else {}),
    }
    record = manifest(sweep_document(sweep), datasets, kind="train")
    card = _card(recipe, spec, scores, facts, result)
    folder = save_model_folder(out, architecture, info=info, card=card, manifest=record, overwrite=overwrite)
    model = RelationModel(
        architecture, {**info, "config": spec.to_config()}, device=world.device, folder=folder
    )
    return TrainedModel(folder, model, recipe, result, scores, facts)
