"""Sweeps, their answers and the models they recommend. The Python API is :mod:`search.api`
(one function per ``resweep`` command; the command line, :mod:`search.cli`, parses and prints
around it). Its names are not re-exported here: ``search.sweep``, ``search.leaderboard``,
``search.plan``, ... are the modules beneath it, and ``import search`` stays light."""
