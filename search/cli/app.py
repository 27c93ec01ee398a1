"""The parser and the entry point: every command's options, and how errors end."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TypeAlias

from cluster.resources import ResourcesError
from cluster.storage import StorageError
from trainables.data.datasets import DATASETS
from trainables.data.formats import FORMATS
from trainables.errors import ResweepError

from ._common import (
    STORAGE_HELP,
    Parser,
    at_least,
    dashboard_option,
    margin_value,
    pool_option,
    probability,
    resweep_version,
    seed_value,
    storage_value,
    threads_option,
    torch_device,
    tracking_argument,
)
from .annotation import cmd_plan, target_score
from .boards import cmd_leaderboard
from .data import cmd_data_fetch, cmd_data_info, cmd_data_list, cmd_data_regimes, cmd_data_validate
from .models import cmd_predict, cmd_report, cmd_train
from .sweeps import cmd_extend, cmd_list, cmd_resume, cmd_status, cmd_sweep
from .trial import cmd_demo, cmd_trial

# The object `add_subparsers` returns (argparse leaves its class private).
_Commands: TypeAlias = "argparse._SubParsersAction[Parser]"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="resweep",
        description="Distributed hyper-parameter and data-regime search for relation extraction.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {resweep_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_demo,
        _add_trial,
        _add_sweep,
        _add_resume,
        _add_extend,
        _add_status,
        _add_leaderboard,
        _add_plan,
        _add_train,
        _add_predict,
        _add_report,
        _add_list,
        _add_data,
    ):
        add(commands)
    return parser


# Arguments that several commands share.


def _storage_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--storage", default="results", type=storage_value, help=STORAGE_HELP)


def _sweep_or_table(sub: argparse.ArgumentParser, *, table_metavar: str, table_help: str) -> None:
    """A sweep's name and storage, or an external result table in its place."""
    sub.add_argument("name", nargs="?", help="the sweep (or use --from-table)")
    _storage_option(sub)
    sub.add_argument("--from-table", metavar=table_metavar, help=table_help)


def _quiet_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--quiet", action="store_true", help="no live progress view")


def _address_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--address", help="Ray cluster address (default: $RAY_ADDRESS, else a local Ray)")


def _decision_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--margin",
        type=margin_value,
        help="the smallest difference worth acting on (default: the sweep's decision.margin, 0.01)",
    )
    sub.add_argument(
        "--confidence",
        type=probability,
        help="how sure a verdict must be, above 0.5 and below 1 (default: the sweep's, 0.95)",
    )


def _dataset_arguments(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("dataset", help="a dataset name (see `resweep data list`), a folder or a file")
    sub.add_argument("--format", choices=FORMATS.names(), help="file format (default: detected)")
    sub.add_argument("--root", help="folder holding a named dataset's files (default: the download cache)")
    sub.add_argument("--split", help="split of a single file (default: from its name, else train)")
    sub.add_argument("--labels", help="label set file (JSON list/object keys, or one per line)")


# One function per command, in the order `resweep --help` lists them.


def _add_demo(commands: _Commands) -> None:
    demo = commands.add_parser(
        "demo", help="a tour of the built-in synthetic corpus and its data regimes (no training)"
    )
    demo.set_defaults(func=cmd_demo)


def _add_trial(commands: _Commands) -> None:
    trial = commands.add_parser(
        "trial",
        help="run one trial in this process (no Ray), e.g. "
        "`resweep trial architecture=two-phase strategy=global ood=synthetic_ood ood_pct=10`",
    )
    trial.add_argument(
        "settings", nargs="*", metavar="KEY=VALUE", help="trial config keys (see docs/guides/trials.md)"
    )
    trial.add_argument(
        "--artifacts",
        default="results/artifacts",
        help="shared phase-1 artifacts: a folder, or s3://bucket/prefix, gs://...",
    )
    trial.add_argument("--checkpoints", help="keep the newest checkpoint here (default: a temporary folder)")
    trial.add_argument("--resume", help="continue from this checkpoint folder")
    trial.add_argument("--out", help="write the result (selected epoch, history) as JSON here")
    threads_option(trial)
    trial.set_defaults(func=cmd_trial)


def _add_sweep(commands: _Commands) -> None:
    sweep = commands.add_parser("sweep", help="run a sweep from a YAML config (local Ray unless --address)")
    sweep.add_argument("config", help="sweep config (see configs/)")
    sweep.add_argument("--name", help="sweep name (default: the config's)")
    sweep.add_argument(
        "--storage", help="storage folder, or s3://bucket/prefix, gs://... (default: the config's, `results`)"
    )
    _address_option(sweep)
    sweep.add_argument("--dry-run", action="store_true", help="print the plan per size and stop")
    _quiet_option(sweep)
    dashboard_option(sweep)
    tracking_argument(sweep)
    sweep.set_defaults(func=cmd_sweep)


def _add_resume(commands: _Commands) -> None:
    resume = commands.add_parser("resume", help="continue an interrupted sweep from its checkpoints")
    resume.add_argument("name")
    _storage_option(resume)
    resume.add_argument("--address")
    _quiet_option(resume)
    resume.add_argument(
        "--rebuild-studies",
        action="store_true",
        help="move a damaged optuna.db aside and rebuild the studies from the results store",
    )
    dashboard_option(resume)
    tracking_argument(resume)
    resume.set_defaults(func=cmd_resume)


def _add_extend(commands: _Commands) -> None:
    extend = commands.add_parser(
        "extend", help="grow a sweep (budget, sizes, seeds, confirmations, a wider space), rerunning nothing"
    )
    extend.add_argument("name")
    _storage_option(extend)
    extend.add_argument("--budget", type=at_least(1, int), help="the new total of search trials per size")
    extend.add_argument("--sizes", help="the new full list of sizes: the old ones and the added ones")
    extend.add_argument("--seeds", help="the new full list of seeds: the old ones and the added ones")
    extend.add_argument(
        "--confirm-top-k", type=at_least(0, int), help="configurations per cell confirmed with every seed"
    )
    extend.add_argument("--space", help="a wider search space (it keeps every value of the old one)")
    extend.add_argument("--dry-run", action="store_true", help="print what the extension adds and stop")
    _address_option(extend)
    _quiet_option(extend)
    dashboard_option(extend)
    tracking_argument(extend)
    extend.set_defaults(func=cmd_extend)


def _add_status(commands: _Commands) -> None:
    status = commands.add_parser("status", help="trials finished/failed per size, best so far")
    status.add_argument("name")
    _storage_option(status)
    status.set_defaults(func=cmd_status)


def _add_leaderboard(commands: _Commands) -> None:
    board = commands.add_parser("leaderboard", help="configurations ranked per size, with seeds and ties")
    _sweep_or_table(board, table_metavar="FILE.csv", table_help="rank an external result table instead")
    board.add_argument(
        "--metric", help="ranking column (default: the sweep's dev metric; a table's accuracy)"
    )
    board.add_argument(
        "--epsilon",
        type=at_least(0),
        default=0.0,
        help="list the cheapest one this close to rank 1",
    )
    _decision_options(board)
    board.add_argument("--size", help="a size to answer for: a count (300) or a fraction (0.3)")
    board.add_argument(
        "--nearest",
        action="store_true",
        help="with --size at an unswept size: also show the boards of the nearest swept sizes",
    )
    pool_option(board)
    board.add_argument("--top", type=at_least(1, int), default=10, help="rows per size (default 10)")
    output = board.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="machine-readable output")
    output.add_argument("--csv", action="store_true", help="one CSV row per configuration and size")
    board.set_defaults(func=cmd_leaderboard)


def _add_plan(commands: _Commands) -> None:
    plan = commands.add_parser(
        "plan",
        help="annotation planning: the in-domain sentences each strategy needs to reach a target score, "
        "with a band, and the recipe to use there",
    )
    _sweep_or_table(
        plan, table_metavar="FILE", table_help="plan from an external result table (CSV or Parquet)"
    )
    plan.add_argument(
        "--target", type=target_score, required=True, help="the score to reach, in the metric's units (0.80)"
    )
    plan.add_argument(
        "--metric", help="the score's column (default: the sweep's dev metric; a table's accuracy)"
    )
    _decision_options(plan)
    pool_option(plan)
    plan.add_argument(
        "--plot", metavar="FILE.png", help="write the learning-curve picture with the target here"
    )
    plan.add_argument("--json", action="store_true", help="machine-readable output")
    plan.set_defaults(func=cmd_plan)


def _add_train(commands: _Commands) -> None:
    train = commands.add_parser(
        "train", help="train the recommended recipe on the whole training pool; write a model folder"
    )
    train.add_argument("name", help="the sweep")
    train.add_argument("--out", required=True, help="the model folder to write")
    _storage_option(train)
    train.add_argument(
        "--size",
        help="the in-domain size whose recipe to train, a fraction or a count (default: the whole pool; "
        "an unswept size gets what `resweep leaderboard --size` recommends)",
    )
    choice = train.add_mutually_exclusive_group()
    choice.add_argument(
        "--rank", type=at_least(1, int), help="the K-th ranked configuration of that size instead"
    )
    choice.add_argument("--config", metavar="FILE", help="an explicit trial config (YAML/JSON of trial keys)")
    choice.add_argument(
        "--floor",
        action="store_true",
        help="the size's classical floor (tfidf-linear), when it beats the rest",
    )
    train.add_argument(
        "--seed", type=seed_value, help="training seed (default: the sweep's first; it fixes the dev split)"
    )
    pool_option(train)
    train.add_argument("--device", type=torch_device, help="torch device (default: cpu)")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")
    train.add_argument("--quiet", action="store_true", help="no line per epoch")
    threads_option(train)
    tracking_argument(train)
    train.set_defaults(func=cmd_train)


def _add_predict(commands: _Commands) -> None:
    predict = commands.add_parser(
        "predict", help="predict sentences with a model folder from `resweep train`"
    )
    predict.add_argument("model", help="the model folder")
    predict.add_argument("input", help="a file of sentences in any format resweep reads; labels optional")
    predict.add_argument("--format", choices=FORMATS.names(), help="the input's format (default: detected)")
    predict.add_argument("--out", help="output file, .jsonl, .csv or .parquet (default: JSONL on stdout)")
    predict.add_argument(
        "--out-format", choices=["jsonl", "csv", "parquet"], help="output format (default: from --out)"
    )
    predict.add_argument(
        "--batch-size", type=at_least(1, int), help="sentences per batch (default: the model's)"
    )
    predict.add_argument(
        "--top-k", type=at_least(1, int), default=3, help="alternatives per sentence (default 3)"
    )
    predict.add_argument("--progress", choices=["on", "off"], help="progress bar (default: on a terminal)")
    predict.add_argument("--device", type=torch_device, help="torch device (default: cpu)")
    threads_option(predict)
    predict.set_defaults(func=cmd_predict)


def _add_report(commands: _Commands) -> None:
    report = commands.add_parser("report", help="Markdown + HTML report with learning-curve plots")
    _sweep_or_table(report, table_metavar="FILE.csv", table_help="report on an external result table")
    report.add_argument("--out", help="folder (default: <sweep>/report)")
    report.add_argument(
        "--metric", help="ranking column (default: the sweep's dev metric; a table's accuracy)"
    )
    report.add_argument(
        "--epsilon", type=at_least(0), default=0.0, help="the cheapest configuration this close to rank 1"
    )
    _decision_options(report)
    report.add_argument("--top", type=at_least(1, int), default=10, help="rows per size in the tables")
    report.add_argument(
        "--target",
        type=target_score,
        help="add the annotation plan for this score (as `resweep plan --target`) and its picture",
    )
    pool_option(report)
    report.set_defaults(func=cmd_report)


def _add_list(commands: _Commands) -> None:
    listing = commands.add_parser("list", help="what is registered, or the sweeps in a storage folder")
    listing.add_argument(
        "kind", choices=["architectures", "strategies", "imbalance", "spaces", "datasets", "sweeps"]
    )
    _storage_option(listing)
    listing.set_defaults(func=cmd_list)


def _add_data(commands: _Commands) -> None:
    data = commands.add_parser("data", help="inspect, validate and fetch datasets")
    data_commands = data.add_subparsers(dest="data_command", required=True)
    for add in (_add_data_info, _add_data_validate, _add_data_fetch, _add_data_list, _add_data_regimes):
        add(data_commands)


def _add_data_info(data_commands: _Commands) -> None:
    info = data_commands.add_parser("info", help="counts per split and label, imbalance, lengths")
    _dataset_arguments(info)
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(func=cmd_data_info)


def _add_data_validate(data_commands: _Commands) -> None:
    validate = data_commands.add_parser("validate", help="report every problem in a dataset")
    _dataset_arguments(validate)
    validate.set_defaults(func=cmd_data_validate)


def _add_data_fetch(data_commands: _Commands) -> None:
    fetch = data_commands.add_parser("fetch", help="download a named dataset (checksum-verified)")
    fetch.add_argument("name", choices=[n for n in DATASETS if DATASETS.get(n).remote], metavar="NAME")
    fetch.add_argument("--root", help="download folder (default: <cache>/datasets/NAME)")
    fetch.add_argument("--force", action="store_true", help="download again even when files verify")
    fetch.set_defaults(func=cmd_data_fetch)


def _add_data_list(data_commands: _Commands) -> None:
    listing = data_commands.add_parser("list", help="the named datasets")
    listing.set_defaults(func=cmd_data_list)


def _add_data_regimes(data_commands: _Commands) -> None:
    regimes = data_commands.add_parser("regimes", help="what each data regime would give a trial")
    _dataset_arguments(regimes)
    regimes.add_argument("--ood", help="out-of-domain dataset (name, folder or file)")
    regimes.add_argument("--sizes", default="0.1,0.5,1.0", help="in-domain sizes: fractions or counts")
    regimes.add_argument("--ood-pct", default="10,50,100", help="OOD percentages (with --ood)")
    regimes.add_argument("--local-pct", type=float, default=0.0, help="local_in_domain_pretrain_pct")
    regimes.add_argument("--seed", type=seed_value, default=0)
    regimes.set_defaults(func=cmd_data_regimes)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # resweep's own progress lines on stderr; other libraries' INFO chatter (matplotlib's font
    # cache, ...) stays out of them.
    logging.basicConfig(level=logging.WARNING, format="resweep: %(message)s")
    logging.getLogger("trainables").setLevel(logging.INFO)
    try:
        return int(args.func(args))
    except BrokenPipeError:  # `resweep data info X | head`: the reader left; not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ResweepError, ResourcesError, StorageError, OSError) as err:
        # resweep's own user errors (bad data, configs, names, arguments), the cluster layer's
        # (resources, storage URIs), and OSError: files and storage (pyarrow says which key of
        # which bucket, and the store's answer). Anything else is a bug: its traceback stays.
        from ..config import one_line  # a newline in a user's value would start a second line

        print(f"resweep: error: {one_line(str(err))}", file=sys.stderr)
        return 1
