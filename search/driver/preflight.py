"""What a sweep checks before it starts Ray or creates its folder: everything a trial would
otherwise fail on at its start, once, as one located line naming the config key.

The datasets load (a wrong path, a bad record, a dev/test label missing from train), every size
fits the training pool, the encoder exists (offline: in the local cache), and the space's
proposals under the sweep's fixed ``trial:`` keys make trials the registries accept. ``resweep
sweep --dry-run`` runs the same checks, then estimates.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from ..config import SweepConfig
from ..plan import SweepPlan, trial_config, trial_spec
from ..registries import GRID

__all__ = ["check_inputs"]

PROPOSALS_CHECKED = 40  # the space's proposals tried under the fixed trial keys


def check_inputs(config: SweepConfig, plan: SweepPlan) -> dict[str, Any]:
    """Raise :class:`search.config.ConfigError` (located at the config key) for the first input
    a trial would fail on; return the datasets loaded (``in_domain``, ``ood``)."""
    from trainables.data import load_dataset, sample_regime
    from trainables.data.regimes import Regime, require_splits

    data = config.data
    datasets: dict[str, Any] = {}
    for key, name, format_, root in (
        ("in_domain", data.in_domain, data.in_domain_format, data.in_domain_root),
        ("ood", data.ood, data.ood_format, data.ood_root),
    ):
        if name is None:
            continue
        try:
            datasets[key] = load_dataset(name, format=format_, root=root)
        except (ValueError, KeyError, OSError) as err:
            raise config.error(f"data.{key}", _text(err)) from None
    if "ood" in datasets:
        datasets["ood"] = _without_shared(config, datasets["in_domain"], datasets["ood"])
    for size in data.sizes:
        try:
            in_domain = datasets["in_domain"]
            require_splits(
                sample_regime(in_domain, Regime(size)), in_domain.source, in_domain["train"].num_rows
            )
        except ValueError as err:
            raise config.error("data.sizes", f"{size:g}: {_text(err)}") from None
    _check_encoder(config)
    _check_trials(config, plan, datasets)
    return datasets


def _without_shared(config: SweepConfig, in_domain: Any, ood: Any) -> Any:
    """The OOD dataset less the records it shares with the in-domain one (said once, here; every
    trial leaves them out too); the same dataset, or a copy, is refused at ``data.ood``."""
    from trainables.data.overlap import OverlapError, overlap_warning, without_shared

    try:
        kept, left_out = without_shared(in_domain, ood)
    except OverlapError as err:
        raise config.error("data.ood", str(err)) from None
    if left_out:
        print(f"resweep: warning: data.ood: {overlap_warning(ood, left_out)}", file=sys.stderr)
    return kept


def _text(err: BaseException) -> str:
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)


def _check_encoder(config: SweepConfig) -> None:
    from trainables.encoders import ENCODER_ALIASES, resolve_encoder

    name = config.encoder
    try:
        resolved = resolve_encoder(name)  # an alias, or a folder checked for its config.json
    except ValueError as err:
        raise config.error("encoder", str(err)) from None
    if name in ENCODER_ALIASES or Path(resolved).is_dir():
        return
    if name.startswith((".", "/", "~")) or name.count("/") > 1:  # a path, not a hub name (org/model)
        raise config.error("encoder", f"{name}: no such model folder")
    if os.environ.get("HF_HUB_OFFLINE") == "1":
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(name, "config.json"), str):
            raise config.error(
                "encoder", f"{name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE=1"
            )


def _check_trials(config: SweepConfig, plan: SweepPlan, datasets: dict[str, Any]) -> None:
    """The space's proposals (a sample, or the grid) under the fixed keys: valid trial configs
    the registries accept, and a label space the mapping can build."""
    from spaces import get_space, random_draws
    from trainables.architectures import check_supported
    from trainables.data.labels import label_space_of
    from trainables.imbalance import make_imbalance
    from trainables.strategies import STRATEGIES

    space = get_space(config.search.space)
    proposals = (space.grid() if config.search.searcher == GRID else None) or random_draws(
        config.search.space, PROPOSALS_CHECKED
    )
    if plan.floor is not None:
        proposals = [*proposals, plan.floor]
    key = next(iter(plan.contexts))
    where = "trial" if config.trial else "search.space"
    for proposal in proposals:
        try:
            spec = trial_spec(trial_config(proposal, plan.contexts[key]))
            STRATEGIES.get(spec.strategy).check(spec.data.regime)
            check_supported(spec.model.architecture, spec)
            make_imbalance(spec.imbalance, **dict(spec.imbalance_params))
        except (ValueError, KeyError, TypeError) as err:
            raise config.error(where, _text(err)) from None
    uses_ood = "ood" in datasets
    try:
        label_space_of(datasets["in_domain"], datasets["ood"] if uses_ood else None, spec.data.label_mapping)
    except (ValueError, KeyError, TypeError) as err:
        raise config.error("data.label_mapping", _text(err)) from None
