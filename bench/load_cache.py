"""Benchmark: loading a dataset file cold (parse) versus warm (the Parquet parse cache).

    .venv/bin/python bench/load_cache.py                      # a generated SemEval-format file
    .venv/bin/python bench/load_cache.py PATH [--format F]    # your own file
    .venv/bin/python bench/load_cache.py --smoke              # 3,000 records, one run: does it run?

Prints the median of several runs of each and their ratio. Uses its own temporary cache folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def _semeval_file(folder: Path, copies: int) -> Path:
    """The synthetic corpus written in SemEval layout, ``copies`` times over (fresh ids)."""
    from trainables.data.synthetic import generate

    lines = []
    n = 0
    for _ in range(copies):
        for record in generate("synthetic")["train"]:
            words = list(record.tokens)
            for index, marker in sorted(
                [
                    (record.head_start, "<e1>"),
                    (record.head_end, "</e1>"),
                    (record.tail_start, "<e2>"),
                    (record.tail_end, "</e2>"),
                ],
                key=lambda item: -item[0],
            ):
                words.insert(index, marker)
            n += 1
            lines.append(f'{n}\t"{" ".join(words)}"\n{record.label}\nComment:\n\n')
    path = folder / "TRAIN_FILE.TXT"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", help="a data file (default: generated, 30,000 records)")
    parser.add_argument("--format")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one run on 3,000 records: check that it runs")
    args = parser.parse_args()
    copies = 1 if args.smoke else 10
    if args.smoke:
        args.runs = 1
    with tempfile.TemporaryDirectory() as scratch:
        os.environ["RESWEEP_CACHE_DIR"] = str(Path(scratch) / "cache")
        from trainables.data.loading import cache_dir, parse_file

        path = Path(args.path) if args.path else _semeval_file(Path(scratch), copies=copies)
        cold, warm = [], []
        for _ in range(args.runs):
            for entry in (cache_dir() / "parsed").glob("*.parquet"):
                entry.unlink()
            start = time.perf_counter()
            table = parse_file(path, args.format, dataset="bench", split="train")
            cold.append(time.perf_counter() - start)
            start = time.perf_counter()
            parse_file(path, args.format, dataset="bench", split="train")
            warm.append(time.perf_counter() - start)
        c, w = statistics.median(cold), statistics.median(warm)
        print(f"{path.name}: {table.num_rows:,} records, {path.stat().st_size / 1e6:.1f} MB")
        print(f"cold parse   {c * 1000:8.1f} ms (median of {args.runs})")
        print(f"warm cache   {w * 1000:8.1f} ms")
        print(f"ratio        {c / w:8.1f}x faster from the cache")


if __name__ == "__main__":
    main()
