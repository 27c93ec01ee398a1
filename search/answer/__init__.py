"""The answer a sweep gives, read from its results store or from a result table: the decision
per size (:mod:`.decision`), the leaderboard (:mod:`.leaderboard`), learning curves and
estimates at unswept sizes (:mod:`.curves`), annotation planning (:mod:`.annotation`) and the
report (:mod:`.report`). Imports neither Ray nor Optuna, nor anything of the driver's."""
