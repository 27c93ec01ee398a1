"""Ray's callback usage tag counted from class names: the same count as Ray's, no imports."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap

from ray.air._internal import usage
from ray.tune import Callback
from ray.tune.logger import CSVLoggerCallback, JsonLoggerCallback, LoggerCallback

from search.driver.callback import SweepCallback
from search.driver.usage_tags import BUILT_IN_TRACKER_CALLBACKS, callback_tags_from_names, count_callbacks


def _named(name: str) -> LoggerCallback:
    """A logger callback whose class has ``name``: Ray counts by the name alone."""
    return type(name, (LoggerCallback,), {})()


def test_the_count_is_rays_count() -> None:
    class Mine(Callback):
        pass

    callbacks = [
        SweepCallback(),
        Mine(),
        CSVLoggerCallback(),
        JsonLoggerCallback(),
        _named("SomeoneElsesLogger"),
        *(_named(name) for name in BUILT_IN_TRACKER_CALLBACKS),
        _named("MLflowLoggerCallback"),
        object(),  # not a callback: neither counts it
    ]
    assert count_callbacks(callbacks) == usage._count_callbacks(callbacks)
    assert count_callbacks(callbacks)["MLflowLoggerCallback"] == 2
    assert count_callbacks(callbacks)["CustomCallback"] == 2
    assert count_callbacks(None) == usage._count_callbacks(None) == {}


def test_each_named_tracker_callback_is_rays() -> None:
    for name, module in BUILT_IN_TRACKER_CALLBACKS.items():
        assert getattr(importlib.import_module(module), name).__name__ == name


def test_the_context_puts_rays_counting_back() -> None:
    original = usage._count_callbacks
    with callback_tags_from_names():
        assert usage._count_callbacks is count_callbacks
    assert usage._count_callbacks is original


def test_tagging_a_sweeps_callbacks_imports_no_tracker_integration() -> None:
    # In a fresh process: tagged within the context, no integration module is imported; Ray's own
    # counting (after the context) imports them, so the check can fail.
    script = textwrap.dedent(
        f"""
        import sys
        from ray.air._internal import usage
        from search.driver.callback import SweepCallback
        from search.driver.usage_tags import callback_tags_from_names
        modules = {sorted(set(BUILT_IN_TRACKER_CALLBACKS.values()))!r}
        with callback_tags_from_names():
            usage.tag_callbacks([SweepCallback()])
        print(sorted(m for m in modules if m in sys.modules))
        usage.tag_callbacks([SweepCallback()])
        print(sorted(m for m in modules if m in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    within, after = done.stdout.strip().splitlines()[-2:]
    assert within == "[]"
    assert after == repr(sorted(set(BUILT_IN_TRACKER_CALLBACKS.values())))
