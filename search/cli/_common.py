"""Shared pieces of the command line: the user-error type, argument types, tables."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from trainables.data.datasets import RelationDataset, load_dataset
from trainables.errors import ResweepError
from trainables.inputs import not_a_file


class UserError(ResweepError):
    """A mistake in what the user asked for; printed as one line, exit status 1."""


def labels_file(value: str | None) -> frozenset[str] | None:
    """A label set: a JSON list or object (e.g. rel2id.json: its keys), or one label per line."""
    if value is None:
        return None
    path = Path(value)
    problem = not_a_file(path)  # a FIFO would wait for a writer, /dev/zero never end
    if problem is not None:
        raise UserError(f"{path}: label file: {problem}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"{path}: cannot read label file ({err.strerror})") from None
    except UnicodeDecodeError as err:
        line = err.object[: err.start].count(b"\n") + 1
        raise UserError(
            f"{path}:{line}: label file is not UTF-8 text (byte 0x{err.object[err.start]:02x}); "
            "give a JSON list or one label per line"
        ) from None
    if text.lstrip().startswith(("[", "{")):
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as err:
            raise UserError(f"{path}:{err.lineno}: invalid JSON in label file: {err.msg}") from None
        return frozenset(str(label) for label in loaded)
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def number_list(value: str, kind: type) -> list[Any]:
    try:
        return [kind(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise UserError(f"expected a comma-separated list of numbers, got {value!r}") from None


def parse_size(value: str, option: str = "") -> float | int:
    """'0.1' -> fraction 0.1, '3000' -> count 3000, '1.0' -> all; ``option`` names where it came from."""
    try:
        size = int(value) if value.strip().isdigit() else float(value)
    except ValueError:
        size = None
    if size == 1 and isinstance(size, int):
        from ..config import ONE_SENTENCE

        raise UserError(f"{option + ': ' if option else ''}{ONE_SENTENCE}; write 1.0 for the whole pool")
    if size is None or not math.isfinite(size) or size <= 0 or (isinstance(size, float) and size > 1):
        raise UserError(
            f"{option + ': ' if option else ''}in-domain size must be a fraction in (0, 1] like 0.1 "
            f"or a count like 3000, got {value!r}"
        )
    return size


def probability(value: str) -> float:
    """An argparse type: a confidence, above 0.5 and below 1."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0.5 < number < 1:
        raise argparse.ArgumentTypeError(f"expected a number above 0.5 and below 1, got {value!r}")
    return number


def margin_value(value: str) -> float:
    """An argparse type: a decision margin, >= 0 and below 1 (as ``decision.margin``)."""
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not 0 <= number < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 0 and < 1, got {value!r}")
    return number


def torch_device(value: str) -> str:
    """An argparse type: a torch device this machine has (``cpu``, ``cuda``, ``cuda:1``, ``mps``),
    checked before any work rather than failing inside torch after it."""
    import torch

    try:
        device = torch.device(value)
    except (RuntimeError, ValueError):
        raise argparse.ArgumentTypeError(
            f"not a torch device: {value!r}; e.g. cpu, cuda, cuda:1, mps"
        ) from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise argparse.ArgumentTypeError(
                f"{value}: torch sees no CUDA GPU on this machine; use --device cpu"
            )
        if device.index is not None and device.index >= count:
            raise argparse.ArgumentTypeError(
                f"{value}: this machine has {count} CUDA GPU(s), cuda:0 to cuda:{count - 1}"
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise argparse.ArgumentTypeError(f"{value}: no Apple GPU (MPS) on this machine; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise argparse.ArgumentTypeError(f"{value}: resweep trains on cpu, cuda or mps")
    return value


def seed_value(value: str) -> int:
    """An argparse type: a seed as ``data.seeds`` takes them."""
    from ..config import MAX_SEED

    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected an integer from 0 to {MAX_SEED}, got {value!r}")
    return number


def at_least(minimum: float, kind: type = float) -> Any:
    """An argparse type: a finite number of ``kind`` >= ``minimum``."""

    def parse(value: str) -> Any:
        try:
            number = kind(value)
        except ValueError:
            number = None
        if number is None or not math.isfinite(number) or number < minimum:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what} >= {minimum:g}, got {value!r}")
        return number

    return parse


def load_data(args: argparse.Namespace, name_or_path: str | None = None) -> RelationDataset:
    return load_dataset(
        name_or_path or args.dataset,
        format=getattr(args, "format", None),
        root=getattr(args, "root", None),
        split=getattr(args, "split", None),
        labels=labels_file(getattr(args, "labels", None)),
        seed=getattr(args, "data_seed", 0),
    )


def _looks_numeric(cell: str) -> bool:
    return (
        cell.replace(",", "")
        .replace(".", "")
        .replace("%", "")
        .replace(":", "")
        .replace("/", "")
        .replace("-", "")
        .isdigit()
        or cell == "-"
    )


def print_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> None:
    cells = [list(map(str, header))] + [
        [f"{c:,}" if isinstance(c, int) else str(c) for c in row] for row in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    # Numbers align right, text left.
    numeric = [i > 0 and all(_looks_numeric(row[i]) for row in cells[1:]) for i in range(len(header))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if numeric[i] else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            print("  ".join("-" * w for w in widths).rstrip())


class Parser(argparse.ArgumentParser):
    """argparse's parser; a usage mistake is one line (``resweep leaderboard: error: ...``,
    exit 2) with the way to the help, not the whole usage block."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def pool_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pool", type=at_least(1, int), help="in-domain training sentences a fraction refers to"
    )


def dashboard_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dashboard",
        nargs="?",
        const="127.0.0.1",
        metavar="HOST",
        help="start the local Ray's dashboard (port 8265), bound to 127.0.0.1 unless HOST is given",
    )


def tracking_argument(parser: argparse.ArgumentParser) -> None:
    from ..tracking import TRACKERS  # light: the trackers themselves load when one is used

    parser.add_argument(
        "--tracking",
        metavar="TRACKERS",
        help=f"experiment trackers, over the config's tracking: section: {', '.join(TRACKERS.names())} "
        "(comma-separated; mlflow=URI for a tracking server, wandb=online), or off. Needs "
        "pip install 'resweep[tracking]'",
    )


def int_list(value: str, option: str) -> list[int]:
    try:
        return [int(v) for v in value.split(",")]
    except ValueError:
        raise UserError(f"{option}: expected a comma-separated list of integers, got {value!r}") from None


def quoted(where: Any) -> str:
    """A path or URI as it must be typed in a shell (URIs may carry ``?a=b&c=d``)."""
    return shlex.quote(str(where))


def mean_pm(entry: Any) -> str:
    """``0.8100 ±0.0050``: the mean and half its 95% interval (none with one seed)."""
    interval = entry.interval
    return f"{entry.mean:.4f}" + ("" if interval is None else f" ±{(interval[1] - interval[0]) / 2:.4f}")


def quiet_transformers() -> None:
    """No per-file progress bars from transformers while resweep prints its own lines."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def resweep_version() -> str:
    try:
        return importlib.metadata.version("resweep")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"


STORAGE_HELP = "the sweeps' storage: a folder, or s3://bucket/prefix, gs://... (default: results)"


def storage_value(value: str) -> str:
    """An argparse type: ``--storage`` as a config's ``storage:`` must be (a folder, existing or
    not, or an object-store URI; not a file, not an unknown scheme)."""
    from ..config import check_storage

    try:
        check_storage(value)
    except ValueError as err:  # StorageError too
        raise argparse.ArgumentTypeError(str(err)) from None
    return value


def threads_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=at_least(1, int),
        help="CPU threads for torch, OpenMP and BLAS (default: the cores free now, from the load average)",
    )
