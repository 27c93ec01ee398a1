"""The sweep driver and the ``resweep`` command line (:mod:`search.cli`). Searchers, schedulers,
the results store and the leaderboard arrive with the sweep and leaderboard issues."""
