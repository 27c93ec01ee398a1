"""Running a sweep: the Tune experiment (:mod:`.sweep`), the per-cell Optuna searcher and its
studies (:mod:`.searchers`, :mod:`.studies`), the schedulers, sequential confirmation, the
results-store callback and its checkpoint pruning, the progress view, the pre-flight checks, the
dry run's cost estimate and ``extend``. The only room that imports Ray and Optuna; it writes the
results store that :mod:`search.answer` reads."""
