"""Sweeps, their answers and the models they recommend. The Python API is :mod:`search.api`
(one function per ``resweep`` command; the command line, :mod:`search.cli`, parses and prints
around it). Beneath it, three rooms and what they share:

- :mod:`search.driver`: running a sweep (the Tune experiment, searchers, studies, confirmation);
- :mod:`search.answer`: what the results say (decision, leaderboard, curves, plan, report);
- :mod:`search.models`: training the recommended recipe and predicting with it;
- shared, below them: what a sweep is (:mod:`search.config`, :mod:`search.sizes`,
  :mod:`search.plan`, :mod:`search.paths`, :mod:`search.results`, ...) and :mod:`search.tracking`.

Names are not re-exported here, and ``import search`` stays light. Module names from before the
rooms (``search.leaderboard``, ``search.searchers``, ...) still import: see
:mod:`search.moved_modules`."""

from .moved_modules import install as _install_moved_modules

_install_moved_modules()
