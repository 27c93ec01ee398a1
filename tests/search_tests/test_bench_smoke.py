"""Every benchmark in bench/ runs, at its smoke size, as docs/benchmarks.md tells a reader to run it: a
script that an API change broke fails here, not in a reader's hands. Each runs as its own process
(``sys.executable bench/X.py --smoke``) from the repository root, offline, and must exit 0 and print
its summary line. The figures themselves are noise at these sizes: only their shape is checked."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench"

# Modules the scripts import, not scripts.
HELPERS = {"ground_truth_tables", "correctness_report", "planted_effects", "reference_answers", "old_search"}
# Scripts with tests of their own: search_correctness in test_search_correctness.py, the
# thesis-findings page in test_thesis_findings.py.
TESTED_ELSEWHERE = {"search_correctness", "thesis_findings"}

NUMBER = r"-?\d+(?:\.\d+)?"
# script -> the lines its smoke run must print (each pattern must match a whole line).
SMOKE = {
    "leaderboard_scale": [
        r"300 rows, [\d,]+ configurations: read \d+ ms, read \+ rank \d+ ms, \+ size query \d+ ms "
        r"\(goal < 1000 ms\); store \d+ KiB = \d+ bytes per trial",
    ],
    "load_cache": [
        r"TRAIN_FILE\.TXT: 3,000 records, \d+\.\d MB",
        rf"ratio\s+{NUMBER}x faster from the cache",
    ],
    "executor_overhead": [
        rf"trial run directly \(no Ray\): {NUMBER} s \(median of 1\)",
        rf"\s*train executor through Tune: {NUMBER} s -> fixed cost {NUMBER} s",
        rf"Train job fixed cost / inline fixed cost = ({NUMBER}x|n/a \(.*\))",
    ],
    "sweep_overhead": [
        rf"4 search trials \(\+ 0 confirmation runs\) x 1 s through the sweep, 2 concurrent, inline, "
        rf"storage local disk, tracking off: {NUMBER} s wall; overhead share {NUMBER}%",
        rf"4 trials x 1 s through a bare Tune Tuner with OptunaSearch \(the anchor\), 2 concurrent: "
        rf"{NUMBER} s wall; overhead share {NUMBER}%",
        rf"4 evaluations in a plain in-process Optuna loop, sequential: {NUMBER} s wall; "
        rf"overhead share {NUMBER}%",
        rf"4 search trials \(\+ 0 confirmation runs\) through the Ray Train executor, 2 concurrent: "
        rf"{NUMBER} s; overhead share {NUMBER}% \({NUMBER} s per trial slot\)",
    ],
    "scale": [
        rf"scale: resweep {NUMBER} trials/s vs bare Tune {NUMBER} trials/s \(ratio {NUMBER}; steady "
        rf"{NUMBER}; goal >= 0\.9: (met|NOT met)\); 20 trials, 4 at once, 1 node\(s\)",
        rf"resweep: 20 trials in {NUMBER} s: {NUMBER} trials/s \(steady {NUMBER}\); slot efficiency "
        rf"{NUMBER}% \(mean sleep {NUMBER} s\); the first trial ended {NUMBER} s in, the last {NUMBER} s "
        r"before the run's end",
        rf"\s+resweep in an object store results store: .*; the callback's step end {NUMBER} ms per trial "
        rf"\(\d+ steps\): the progress view {NUMBER} ms, the rows \(waits, follow-ups\) {NUMBER} ms",
        rf"\s+resweep driver, per trial: ask .*, tell {NUMBER} ms; the driver process's CPU {NUMBER} ms a "
        rf"trial \(\d+% of a core\); the machine's CPU {NUMBER} ms a trial \(every process; \d+% of its "
        rf"\d+ cores\)",
        rf"\s+resweep driver memory: .*; Tune's saved state {NUMBER} KiB per trial, "
        rf"{NUMBER} KiB per trial on disk in all",
        rf"\s+resweep in an object store, Tune's state saves: \d+ \(every {NUMBER} s on average\), .* "
        rf"the staging folder each upload copies whole: \d+ KiB at trial \d+, \d+ KiB at trial \d+ .*",
        rf"object store: resweep {NUMBER} trials/s with the sweep in an S3 server on this machine vs "
        rf"{NUMBER} on the local disk: wall time {NUMBER}x the local disk's \(time a trial in the steady "
        rf"middle {NUMBER}x; goal <= 1\.15x\)",
        rf"object store: bare Tune {NUMBER} trials/s with the sweep in an S3 server on this machine vs "
        rf"{NUMBER} on the local disk: wall time {NUMBER}x the local disk's \(time a trial in the steady "
        rf"middle {NUMBER}x\)",
        rf"resume: driver killed \(SIGKILL\) at \d+ of 20 rows; resume: first trial ended after {NUMBER} s, "
        rf"complete after {NUMBER} s .*; -?\d+ rows for a budget of 20 \([+-]\d+; each row once\), 0 errors",
        rf"ask at 0-50 trials in the study \(4 running\): resweep \(TPE multivariate, SQLite\) p50 {NUMBER} "
        rf"ms p99 {NUMBER} ms \(writes Optuna's way: p50 {NUMBER} ms p99 {NUMBER} ms; every read from the "
        rf"database too: .*\); OptunaSearch default .*",
        rf"tell, mean over the study: resweep {NUMBER} ms \(writes Optuna's way {NUMBER} ms: {NUMBER}x; "
        rf"every read from the database too {NUMBER} ms\); OptunaSearch default {NUMBER} ms",
        rf"ask p99 at 50 trials per study: {NUMBER} ms = {NUMBER}% of the mean trial time 0\.6 s .*",
        r"leaderboard: 300 rows, .* bytes per trial",
    ],
    "loop_throughput": [
        rf"train examples/s: bare loop {NUMBER}, resweep loop {NUMBER}; ours/bare {NUMBER}%",
        rf"two-phase trial, artifact cached: {NUMBER} s; full bert-seqcls trial \(1 epochs\): {NUMBER} s; "
        rf"phase-2/full = {NUMBER}%",
    ],
    "architectures_semeval": [
        rf"\| {name} \| nan \| \d\.\d{{3}} \| 1 \| 1 \| \d+ \| \d+ \|"
        for name in ("rbert", "bilstm", "two-phase")
    ],
}


def _environment() -> dict[str, str]:
    # The test's own cache folder (conftest) is inherited. One torch thread: on a busy 2-core
    # machine the default threads make a tiny model tens of times slower.
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def _run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, (
        f"{' '.join(args)} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done


def _run_all_module() -> ModuleType:
    name = "_resweep_bench_run_all"
    spec = importlib.util.spec_from_file_location(name, BENCH / "run_all.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_every_bench_script_has_a_smoke_run_and_a_place_in_make_bench() -> None:
    scripts = {path.stem for path in BENCH.glob("*.py")}
    covered = SMOKE.keys() | HELPERS | TESTED_ELSEWHERE | {"ground_truth", "run_all"}
    assert scripts - covered == set(), "a new script in bench/: give it --smoke and a line in SMOKE"
    benchmarks = {b.name for b in _run_all_module().BENCHMARKS}
    assert benchmarks == (SMOKE.keys() | {"search_correctness"}), "bench/run_all.py's BENCHMARKS"


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SMOKE))
def test_the_benchmark_runs_at_its_smoke_size(script: str) -> None:
    output = _run(f"bench/{script}.py", "--smoke").stdout
    for pattern in SMOKE[script]:
        assert re.search(rf"^{pattern}$", output, re.MULTILINE), (
            f"no line matches {pattern!r} in:\n{output[-3000:]}"
        )


@pytest.mark.slow
def test_the_ground_truth_generator_counts_its_cells(tmp_path: Path) -> None:
    # Its real run trains MiniLM on real datasets for hours; --count reads the table, builds the
    # grid and counts the cells to run, which is everything it does before training.
    done = _run(
        "bench/ground_truth.py", "--data-root", str(tmp_path), "--count", "--out", str(tmp_path / "t.parquet")
    )
    assert re.search(
        r"^ground truth: 0 cells in .*t\.parquet, [1-9]\d* to run$", done.stderr, re.MULTILINE
    ), done.stderr


@pytest.mark.slow
def test_make_bench_writes_one_results_file_with_where_each_figure_came_from(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    # Two runs of one benchmark each: the second keeps the first one's section.
    for name in ("load_cache", "leaderboard_scale"):
        done = _run("bench/run_all.py", "--smoke", "--only", name, "--out", str(out))
        assert "run_all: 1 of 1 benchmarks ok" in done.stdout
    text = out.read_text()
    assert text.index("## leaderboard_scale: ") < text.index("## load_cache: ")  # run_all's order
    for name in ("leaderboard_scale", "load_cache"):
        section = text.split(f"## {name}: ", 1)[1].split("\n## ", 1)[0]
        assert re.search(rf"^- command: `\S*python\S* bench/{name}\.py --smoke`$", section, re.MULTILINE)
        assert re.search(r"^- date: \d{4}-\d\d-\d\d \d\d:\d\d UTC; \d+ s wall; ok$", section, re.MULTILINE)
        assert re.search(r"^- commit: \S+", section, re.MULTILINE)
        assert re.search(r"^- machine: .*CPUs", section, re.MULTILINE)
    assert re.search(r"^300 rows, .* bytes per trial$", text, re.MULTILINE)
    assert re.search(r"^ratio\s+\S+x faster from the cache$", text, re.MULTILINE)
    assert not list(tmp_path.glob(".RESULTS.md.*")), "the temporary file of the atomic write is left"


def test_the_rounds_report_each_ratio_and_judges_the_goal_by_their_median() -> None:
    """``bench/scale.py --rounds``: per round the side-by-side ratio, then the median, which alone
    decides the goal (one round's luck does not)."""
    spec = importlib.util.spec_from_file_location("_resweep_bench_scale_rounds", BENCH / "scale.py")
    assert spec is not None and spec.loader is not None
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)

    def turn(ours: float, bare: float, bucket: float, cpu: float) -> dict[str, dict[str, float]]:
        return {
            "resweep": {"rate": ours, "wall": 300 / ours, "cpu": cpu, "machine_cpu": 2 * cpu},
            "bare": {"rate": bare, "wall": 300 / bare, "cpu": 0.02, "machine_cpu": 0.02},
            "object-store": {"rate": 300 / bucket, "wall": bucket, "cpu": 0.05, "machine_cpu": 0.1},
        }

    lines = scale.round_ratios(
        [turn(4.0, 5.0, 90.0, 0.03), turn(6.0, 5.0, 80.0, 0.05), turn(4.5, 5.0, 75.0, 0.02)]
    )
    assert lines == [
        "rounds: resweep/bare Tune trials/s, 3 rounds in alternation: 0.80, 1.20, 0.90; median 0.90 "
        "(goal >= 0.9x: met by the median)",
        "rounds: resweep/bare Tune driver CPU a trial, 3 rounds in alternation: 1.50, 2.50, 1.00; "
        "median 1.50",
        "rounds: resweep/bare Tune machine CPU a trial, 3 rounds in alternation: 3.00, 5.00, 2.00; "
        "median 3.00",
        "rounds: resweep's wall time in the object store / on the local disk, 3 rounds in alternation: "
        "1.20, 1.60, 1.12; median 1.20 (goal <= 1.15x: NOT met by the median)",
    ]  # no bare-object-store side: no line for it


def test_the_heap_split_charges_a_planted_allocation_to_its_owner() -> None:
    """``bench/scale.py --heap``: 100 "trials" that each keep 10,000 bytes allocated here (a file of
    this repository: resweep's) grow the heap by that much a trial, charged to resweep."""
    import tracemalloc

    spec = importlib.util.spec_from_file_location("_resweep_bench_scale", BENCH / "scale.py")
    assert spec is not None and spec.loader is not None
    scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(scale)
    tracemalloc.start(12)
    try:
        first = scale.heap_snapshot()
        kept = [bytearray(10_000) for _ in range(100)]
        last = scale.heap_snapshot()
    finally:
        tracemalloc.stop()
    growth = scale.heap_growth(first, last, trials=len(kept))
    assert growth["owners"]["resweep"] == pytest.approx(10_000, rel=0.02)
    assert growth["per_trial"] == pytest.approx(10_000, rel=0.05)
    assert scale.heap_owner("/x/.venv/lib/python3.11/site-packages/ray/tune/experiment/trial.py") == "Tune"
    assert scale.heap_owner("/x/.venv/lib/python3.11/site-packages/ray/_private/worker.py") == "Ray"
    assert scale.heap_owner("/usr/lib/python3.11/json/encoder.py") is None
