"""Benchmark: every registered architecture on SemEval-2010 Task 8 at 10% in-domain, one seed.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/architectures_semeval.py [--out results/bench/arch]
        [--architectures rbert,redn] [--size 0.1] [--max-epochs 10] [--patience 3]
    .venv/bin/python bench/architectures_semeval.py --smoke   # tiny: does it run?

Each architecture runs as its own ``resweep trial`` process (strategy ``baseline``, imbalance
``none``, encoder ``minilm``; word-embedding models start from MiniLM's input embeddings; seed 0)
and writes ``<out>/<architecture>.json``; an architecture whose JSON exists is not rerun, so the
table can be completed piecewise. The table: the official SemEval-2010 Task 8 score (macro-F1
over the nine relations, direction counted, ``Other`` excluded) and weighted F1 on the *test* set
at the epoch selected on dev, epochs trained, the selected epoch, wall seconds and training
examples per second. Test is scored only in epochs that improve dev (``test_every_epoch=false``),
which leaves the selected epoch's numbers exact.

Recipes: transformer architectures fine-tune with lr 2e-4 for ``--max-epochs`` (STACK.md: 800
sentences learn nothing at the BERT paper's 5e-5 in 3 epochs); the models that train no
transformer (``bilstm``, ``cnn-mtl``, and ``two-phase``'s MLP on frozen MiniLM features, phase-1
``none``) at 1e-3 for up to 30 epochs with patience 5, since their epochs cost seconds.

``--smoke``: every recipe checked, and three architectures (a transformer with entity markers, a
word-embedding model, frozen features: ``--architectures`` picks others) trained for one epoch on
8 sentences per label of the built-in synthetic corpus with a tiny random BERT, all in a
temporary folder: checks that the script runs, downloads nothing and needs no SemEval copy (the
SemEval score is ``nan`` there: the synthetic corpus is not SemEval).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

SHARED_SEMEVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "semeval2010_task8"

COMMON = {
    "strategy": "baseline",
    "imbalance": "none",
    "seed": 0,
    "max_length": 96,
    "batch_size": 16,
    "test_every_epoch": False,
}
TRANSFORMER = {"learning_rate": 2e-4}
CHEAP = {"max_epochs": 30, "patience": 5}
RECIPES: dict[str, dict[str, Any]] = {
    "bert-seqcls": TRANSFORMER,
    "rbert": {**TRANSFORMER, "marker_style": "rbert"},
    "entity-start": TRANSFORMER,
    "bilinear": TRANSFORMER,
    "redn": TRANSFORMER,
    # Epochs cost seconds here (no transformer is trained): a longer budget.
    "two-phase": {"learning_rate": 1e-3, "phase1_model": "none", "hidden_units": 256, **CHEAP},
    "bilstm": {"learning_rate": 1e-3, "hidden_units": 256, **CHEAP},
    "cnn-mtl": {"learning_rate": 1e-3, "hidden_units": 256, **CHEAP},
    "two-step": {**TRANSFORMER, "two_step_inner": "entity-start"},
}


# What --smoke runs: a transformer with entity markers, a word-embedding model and frozen features
# (every recipe is still checked); the architectures themselves have their own common tests.
SMOKE_ARCHITECTURES = ("rbert", "bilstm", "two-phase")


def trial_settings(name: str, args: argparse.Namespace) -> dict[str, Any]:
    """The ``resweep trial`` settings of one architecture."""
    settings = {
        **COMMON,
        "max_epochs": args.max_epochs,
        "patience": args.patience,
        **RECIPES.get(name, TRANSFORMER),
        "architecture": name,
        "in_domain": args.in_domain,
        **({"in_domain_root": str(args.root)} if args.root else {}),
        "in_domain_size": args.size,
        "encoder": args.encoder,
    }
    if args.epoch_cap:
        settings["max_epochs"] = min(settings["max_epochs"], args.epoch_cap)
        settings["patience"] = min(settings["patience"], args.epoch_cap)
    return settings


def run_one(name: str, args: argparse.Namespace, out: Path) -> dict[str, Any]:
    target = out / f"{name}.json"
    if not target.exists():
        command = [
            sys.executable,
            "-m",
            "search.cli",
            "trial",
            *(f"{k}={v}" for k, v in trial_settings(name, args).items()),
            "--artifacts",
            str(out / "artifacts"),
            "--out",
            str(target),
        ]
        print("$", " ".join(command[2:]), flush=True)
        log = out / f"{name}.log"
        with open(log, "w") as stream:
            done = subprocess.run(command, stdout=stream, stderr=subprocess.STDOUT)
        if done.returncode:
            tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
            raise SystemExit(f"{name}: resweep trial exited {done.returncode}; the end of {log}:\n{tail}")
    result: dict[str, Any] = json.loads(target.read_text())
    return result


def row(name: str, result: dict[str, Any]) -> list[str]:
    selected = result["selected"]
    history = result["history"]
    speeds = [h["examples_per_second"] for h in history]
    return [
        name,
        f"{selected.get('test_semeval_f1', float('nan')):.3f}",
        f"{selected['test_f1_weighted']:.3f}",
        str(len(history)),
        str(selected["selected_epoch"]),
        f"{result['wall_seconds']:.0f}",
        f"{sum(speeds) / len(speeds):.0f}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("results/bench/architectures"))
    parser.add_argument("--root", type=Path, default=SHARED_SEMEVAL, help="SemEval-2010 Task 8 folder")
    parser.add_argument("--architectures", help="comma-separated (default: every registered one)")
    parser.add_argument("--size", type=float, default=0.1)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--encoder", default="minilm", help="an encoder name or a model folder")
    parser.add_argument("--epoch-cap", type=int, help="at most this many epochs for every architecture")
    parser.add_argument(
        "--smoke", action="store_true", help="1 epoch, tiny BERT, synthetic corpus: check that it runs"
    )
    args = parser.parse_args()
    args.in_domain = "semeval2010_task8"
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with ExitStack() as stack:
        if args.smoke:
            from trainables.testing import build_tiny_bert, write_small_corpora

            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="rs-arch-smoke-")))
            args.encoder = str(build_tiny_bert(scratch / "tiny-bert"))
            in_domain, _ = write_small_corpora(scratch / "corpora")
            args.in_domain, args.root, args.size, args.epoch_cap = str(in_domain), None, 1.0, 1
            args.out = scratch / "out"
            args.architectures = args.architectures or ",".join(SMOKE_ARCHITECTURES)
        elif not args.root.is_dir():
            parser.error(f"{args.root}: no such folder (pass --root)")
        run_table(args)


def run_table(args: argparse.Namespace) -> None:
    from trainables.architectures import ARCHITECTURES
    from trainables.config import TrialSpec
    from trainables.errors import ResweepError

    names = args.architectures.split(",") if args.architectures else ARCHITECTURES.names()
    # Every recipe is checked before the first trial starts (minutes to hours each): a renamed
    # setting or an unknown name fails now, not after the architectures before it have run.
    for name in dict.fromkeys([*names, *ARCHITECTURES.names()]):
        try:
            TrialSpec.from_config(trial_settings(name, args))
        except ResweepError as err:
            raise SystemExit(f"architectures_semeval: {name}: {err}") from None
    args.out.mkdir(parents=True, exist_ok=True)
    header = ["architecture", "SemEval F1 (test)", "F1w (test)", "epochs", "selected", "wall s", "train ex/s"]
    rows = [row(name, run_one(name, args, args.out)) for name in names]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    table = "\n".join(lines)
    (args.out / "table.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
