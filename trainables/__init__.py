"""What one trial runs: data and regimes (:mod:`trainables.data`), architectures
(:mod:`trainables.architectures`), transfer strategies (:mod:`trainables.strategies`), imbalance
techniques (:mod:`trainables.imbalance`), the training loop (:mod:`trainables.loop`), metrics and
the keys a trial reports (:mod:`trainables.metrics`, :mod:`trainables.report_keys`), phase-1
artifacts (:mod:`trainables.phase1`) and model folders (:mod:`trainables.model_folder`). Only the
thin Tune/Train adapter at the top of this package (:mod:`trainables.ray_adapter`) imports Ray
(and the stand-in trials of :mod:`trainables.testing`, for tests)."""
