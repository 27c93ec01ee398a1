"""Ray's usage tag of a Tune run's callbacks, counted without importing the tracker integrations.

When a run is given callbacks, Tune records which kinds (a JSON count by class name) for Ray's
usage statistics (``ray.air._internal.usage.tag_callbacks``). To know the names of its built-in
tracker callbacks, Ray imports their modules, and those import MLflow, W&B, Comet and Aim where
installed (resweep's ``trackers`` extra installs two): about 1 s at every sweep's start here
(``bench/sweep_overhead.py``), the trackers off or not. :func:`callback_tags_from_names` counts
the same way from the class names alone while a sweep's experiment starts: the tag recorded is
the one Ray would record, and nothing is imported.
"""

from __future__ import annotations

import collections
import contextlib
from collections.abc import Sequence
from typing import Any

from .swapped import swapped

__all__ = ["BUILT_IN_TRACKER_CALLBACKS", "callback_tags_from_names", "count_callbacks"]

# The tracker callbacks Ray's tag names (ray.air._internal.usage._count_callbacks): the class
# names Ray compares, and the modules that define them (a test keeps the two lists in step).
BUILT_IN_TRACKER_CALLBACKS = {
    "WandbLoggerCallback": "ray.air.integrations.wandb",
    "MLflowLoggerCallback": "ray.air.integrations.mlflow",
    "CometLoggerCallback": "ray.air.integrations.comet",
    "AimLoggerCallback": "ray.tune.logger.aim",
}


def count_callbacks(callbacks: Sequence[Any] | None) -> dict[str, int]:
    """Ray's count of ``callbacks`` by kind: a built-in callback by its class name, any other
    logger as ``CustomLoggerCallback``, anything else a Tune callback as ``CustomCallback``."""
    from ray.tune import Callback
    from ray.tune.logger import LoggerCallback
    from ray.tune.utils.callback import DEFAULT_CALLBACK_CLASSES

    names = {*BUILT_IN_TRACKER_CALLBACKS, *(c.__name__ for c in DEFAULT_CALLBACK_CLASSES)}
    counts: dict[str, int] = collections.defaultdict(int)
    for callback in callbacks or []:
        if not isinstance(callback, Callback):
            continue  # Tune refuses it later; Ray does not count it either
        name = type(callback).__name__
        if name in names:
            counts[name] += 1
        elif isinstance(callback, LoggerCallback):
            counts["CustomLoggerCallback"] += 1
        else:
            counts["CustomCallback"] += 1
    return counts


def callback_tags_from_names() -> contextlib.AbstractContextManager[bool]:
    """Within: Ray's callback usage tag counted by :func:`count_callbacks`. A Ray without that
    counting function (a later version) is left as it is."""
    return swapped("ray.air._internal.usage", "_count_callbacks", lambda _original: count_callbacks)
