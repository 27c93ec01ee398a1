"""Helpers for tests and benchmarks: tiny random BERTs built locally from a config.

A tiny model (2 layers, 4 heads, hidden 32) with a word-level vocabulary runs the real code paths
(``from_pretrained`` on a folder, markers, fine-tuning, features) in milliseconds and downloads
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "build_tiny_bert",
    "predict_in_fresh_process",
    "stand_in_trial",
    "synthetic_words",
    "write_small_corpora",
]

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def synthetic_words() -> set[str]:
    """Every (lower-cased) word of the built-in synthetic corpus, both domains."""
    from .data.synthetic import generate

    words: set[str] = set()
    for dataset in ("synthetic", "synthetic_ood"):
        for records in generate(dataset).values():
            for record in records:
                words.update(token.lower() for token in record.tokens)
    return words


def build_tiny_bert(
    folder: Path, words: Iterable[str] | None = None, *, hidden: int = 32, seed: int = 0
) -> Path:
    """Write a random BERT (``save_pretrained`` layout) whose vocabulary is ``words`` (default:
    the synthetic corpus's), one token per word; return the folder."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = SPECIAL_TOKENS + sorted(
        set(words if words is not None else synthetic_words()) - set(SPECIAL_TOKENS)
    )
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer.from_pretrained(
        str(folder), do_lower_case=True
    )  # Rust-backed in transformers 5
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    torch.manual_seed(seed)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def write_small_corpora(folder: Path, train_per_label: int = 8, test_per_label: int = 2) -> tuple[Path, Path]:
    """Folders of Parquet splits with the first few records of each label of the synthetic
    in-domain and OOD corpora: for tests that run whole trials, or sweeps, many times."""
    import pyarrow.parquet as pq

    from .data.datasets import load_dataset

    folders = []
    for name in ("synthetic", "synthetic_ood"):
        target = folder / name
        target.mkdir(parents=True, exist_ok=True)
        dataset = load_dataset(name)
        for split, per_label in (("train", train_per_label), ("test", test_per_label)):
            table = dataset[split]
            seen: dict[str, int] = {}
            rows = []
            for row, label in enumerate(table["label"].to_pylist()):
                seen[label] = seen.get(label, 0) + 1
                if seen[label] <= per_label:
                    rows.append(row)
            pq.write_table(table.take(rows), target / f"{split}.parquet")
        folders.append(target)
    return folders[0], folders[1]


def stand_in_trial(config: dict[str, Any], runtime: Any, contexts: Any) -> None:
    """A sweep trial that trains nothing (``run_sweep(..., trial_function=stand_in_trial)``):
    it reports once, like a trial that ran to its end, a dev score that is a fixed function of
    its configuration and seed, so runs of the machinery (extend, resume) are fast and checkable."""
    import hashlib
    import json

    from ray import tune

    keys = {k: v for k, v in config.items() if not k.startswith("resweep_")}
    digest = hashlib.sha256(json.dumps(keys, sort_keys=True, default=str).encode()).digest()
    score = 0.3 + 0.5 * int.from_bytes(digest[:4], "big") / 2**32
    tune.report(
        {
            "selected_dev_f1_weighted": score,
            "dev_f1_weighted": score,
            "selected_epoch": 1,
            "epochs_done": 1,
            "final_stage_epochs": 1,
            "training_done": True,
        }
    )


def stand_in_epochs_trial(
    config: dict[str, Any], runtime: Any, contexts: Any, epochs: int = 3, checkpoints: bool = False
) -> None:
    """Like :func:`stand_in_trial`, over ``epochs`` reports with dev and test scores that rise
    each epoch (the last is the selected one), as a trial's per-epoch reports are; with
    ``checkpoints``, each report carries a small checkpoint, as a real trial's does."""
    import hashlib
    import json
    import tempfile

    from ray import tune

    keys = {k: v for k, v in config.items() if not k.startswith("resweep_")}
    digest = hashlib.sha256(json.dumps(keys, sort_keys=True, default=str).encode()).digest()
    score = 0.3 + 0.4 * int.from_bytes(digest[:4], "big") / 2**32
    for epoch in range(1, epochs + 1):
        dev, test = score + 0.05 * epoch, score + 0.04 * epoch
        metrics = {
            "train_loss": 1.0 / epoch,
            "dev_f1_weighted": dev,
            "dev_accuracy": dev,
            "test_f1_weighted": test,
            "test_accuracy": test,
            "selected_dev_f1_weighted": dev,
            "selected_dev_accuracy": dev,
            "selected_test_f1_weighted": test,
            "selected_test_accuracy": test,
            "selected_epoch": epoch,
            "epochs_done": epoch,
            "final_stage_epochs": epoch,
            "training_done": epoch == epochs,
        }
        if not checkpoints:
            tune.report(metrics)
            continue
        with tempfile.TemporaryDirectory(prefix="stand-in-") as folder:  # Tune copies it in report
            (Path(folder) / "epoch.txt").write_text(f"{epoch}\n")
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))


def predict_in_fresh_process(folder: Path, records: Path) -> tuple[list[str], list[list[float]]]:
    """Load model folder ``folder`` in a new interpreter (nothing shared with this one) and
    predict the Parquet records file ``records``: (predicted labels, raw scores per record)."""
    import json
    import subprocess
    import sys

    import torch

    # The same intra-op threads as this process: float32 sums split over another number of
    # threads round differently (~1e-5), and an earlier test may have limited this process's.
    code = (
        f"import torch; torch.set_num_threads({torch.get_num_threads()});"
        "import json, sys; import pyarrow.parquet as pq; from trainables.model_folder import load_model;"
        "p = load_model(sys.argv[1]).predict(pq.read_table(sys.argv[2]));"
        "print(json.dumps({'labels': p.predicted, 'scores': p.scores.tolist()}))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(folder), str(records)],
        capture_output=True,
        text=True,
        check=False,
        env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[1],
        timeout=300,
    )
    if run.returncode != 0:
        raise RuntimeError(f"loading {folder} in a fresh process failed:\n{run.stderr[-2000:]}")
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    return answer["labels"], answer["scores"]
