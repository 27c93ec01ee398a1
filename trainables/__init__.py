"""What one trial runs: data and regimes (:mod:`trainables.data`); architectures, transfer
strategies, imbalance techniques, the training loop and metrics arrive with the trainables issue.
Only the thin Tune/Train adapters at the top of this package will import Ray."""
