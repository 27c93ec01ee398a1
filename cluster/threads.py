"""Threads for a command that trains or predicts in its own process (``train``, ``predict``,
``trial``): as many as the machine has cores free now.

A sweep's trials get their threads from Ray (one per CPU the trial asks for). A standalone command
would otherwise take one thread per core of the machine in torch, OpenMP and the BLAS under
numpy and scikit-learn, whatever else runs: on a busy machine the threads then wait on each other
(measured on a 2-core machine beside two busy processes: the demo's floor trained in 4 min 26 s
with every core's thread, 14 s with one).
"""

from __future__ import annotations

import os
import sys

__all__ = ["free_cores", "limit_threads"]

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_limits: list[object] = []  # threadpoolctl's limiter, alive for the process


def free_cores() -> int:
    """The cores this process may use (its CPU affinity) less the load already on them (the
    one-minute load average), at least 1."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, round(cores - busy)))


def limit_threads(threads: int | None = None) -> int:
    """Set every thread pool of this process (torch, OpenMP, BLAS) to ``threads`` (default
    :func:`free_cores`), also for libraries loaded later; returns the number."""
    n = threads if threads is not None else free_cores()
    for variable in _THREAD_VARIABLES:
        os.environ[variable] = str(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it the variables above still apply
        pass
    else:
        _limits.append(threadpool_limits(limits=n))
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(n)
    return n
