"""``resweep data ...``: inspect, validate, fetch and list datasets; preview a regime."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from trainables.data.datasets import DATASETS, RelationDataset, validate_dataset
from trainables.data.fetch import fetch_dataset
from trainables.data.regimes import Regime, sample_regime
from trainables.data.summary import summarise

from ._common import UserError, labels_file, load_data, number_list, parse_size, print_table


def print_summary(dataset: RelationDataset, summary: dict[str, Any]) -> None:
    negatives = ", ".join(summary["negative_labels"]) or "none"
    print(f"{summary['name']}  ({summary['source']})")
    print(f"{summary['records']:,} records, {summary['labels']} labels, negative label(s): {negatives}\n")
    splits = summary["splits"]
    rows = []
    for split, info in splits.items():
        length = info["length"]
        rows.append(
            [
                split,
                info["records"],
                info["labels"],
                f"{info['imbalance_ratio']:g}:1",
                f"{100 * info['negative_share']:.1f}%",
                f"{length['p50']:.0f}/{length['p90']:.0f}/{length['p99']:.0f}/{length['max']}",
            ]
        )
    print_table(rows, ["split", "records", "labels", "imbalance", "negative", "tokens p50/p90/p99/max"])
    print()
    labels = sorted(
        dataset.labels,
        key=lambda label: (-sum(s["label_counts"].get(label, 0) for s in splits.values()), label),
    )
    print_table(
        [[label, *(s["label_counts"].get(label, 0) for s in splits.values())] for label in labels],
        ["label", *splits],
    )
    for split, problems in dataset.skipped.items():
        print(f"\nnote: {len(problems)} invalid record(s) of {split} skipped, e.g. {problems[0]}")
    for split in ("dev", "test"):
        if split not in splits and "train" in splits:
            print(f"note: no {split} split; trials carve a stratified one from train (see Regime)")


def cmd_data_info(args: argparse.Namespace) -> int:
    dataset = load_data(args)
    summary = summarise(dataset)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(dataset, summary)
    return 0


def cmd_data_validate(args: argparse.Namespace) -> int:
    dataset, problems = validate_dataset(
        args.dataset, format=args.format, root=args.root, split=args.split, labels=labels_file(args.labels)
    )
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s) found", file=sys.stderr)
        return 1
    assert dataset is not None
    counts = ", ".join(f"{split} {table.num_rows:,}" for split, table in dataset.splits.items())
    print(f"OK: {dataset.name}: {len(dataset):,} records ({counts}), {len(dataset.labels)} labels")
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from ..outputs import check_output

    if args.root is not None:  # never into a sweep, a storage or a model folder
        check_output(args.root, "--root", kind="folder")
    folder = fetch_dataset(args.name, root=args.root, force=args.force)
    print(f"{args.name}: files verified in {folder}")
    return 0


def cmd_data_list(args: argparse.Namespace) -> int:
    rows = []
    for name in DATASETS:
        spec = DATASETS.get(name)
        rows.append([name, spec.format, spec.description])
    print_table(rows, ["name", "format", "description"])
    return 0


def regime_rows(
    in_domain: RelationDataset,
    ood: RelationDataset | None,
    sizes: Sequence[float | int],
    ood_pcts: Sequence[float],
    local_pct: float,
    seed: int,
) -> list[list[Any]]:
    """One table row per (size, OOD share): what the regime gives a trial."""
    rows = []
    for size in sizes:
        for ood_pct in ood_pcts if ood is not None else [0.0]:
            data = sample_regime(in_domain, Regime(size, ood_pct, local_pct, seed), ood)
            counts = data.counts()
            train_labels = len(set(data.train["label"].to_pylist()))
            rows.append(
                [
                    str(size),
                    f"{ood_pct:g}",
                    counts["train"],
                    train_labels,
                    counts["dev"],
                    counts["test"],
                    counts["ood_train"],
                    counts["local_pretrain"],
                    ",".join(data.carved) or "-",
                ]
            )
    return rows


def print_regimes(rows: list[list[Any]]) -> None:
    print_table(
        rows,
        [
            "in_domain_size",
            "ood_pct",
            "train",
            "labels",
            "dev",
            "test",
            "ood_train",
            "local_pretrain",
            "carved",
        ],
    )


def cmd_data_regimes(args: argparse.Namespace) -> int:
    in_domain = load_data(args)
    ood = load_data(args, args.ood) if args.ood else None
    if ood is not None:
        from trainables.data.overlap import OverlapError, overlap_warning, without_shared

        try:
            kept, left_out = without_shared(in_domain, ood)
        except OverlapError as err:
            raise UserError(f"--ood {args.ood}: {err}") from None
        if left_out:
            print(f"resweep: warning: --ood {args.ood}: {overlap_warning(ood, left_out)}", file=sys.stderr)
        ood = kept
    sizes = [parse_size(s, "--sizes") for s in args.sizes.split(",")]
    print_regimes(
        regime_rows(in_domain, ood, sizes, number_list(args.ood_pct, float), args.local_pct, args.seed)
    )
    return 0
