"""Run the benchmarks and write their figures to one file, ``bench/RESULTS.md`` (``make bench``).

    .venv/bin/python bench/run_all.py                          # real sizes -> bench/RESULTS.md
    .venv/bin/python bench/run_all.py --smoke                  # tiny sizes -> results/bench/RESULTS-smoke.md
    .venv/bin/python bench/run_all.py --only load_cache,leaderboard_scale
    .venv/bin/python bench/run_all.py --list                   # what would run, and for how long

Each benchmark runs as its own process from the repository root, bounded by a timeout. The lines
of its output that match its summary pattern are its figures; they go into the results file with
the command, the date, the git commit and the machine, one section per benchmark, and the file
is written whole or not at all; a benchmark not run this time (``--only``) keeps its section from
the run before. A benchmark that fails or times out is recorded as such (with the end of its
output) and the run exits 1.

The ground-truth generator (``ground_truth.py``: hours) and the page built from its tables
(``thesis_findings.py``: tested by ``tests/search_tests/test_thesis_findings.py``) are not run
here. ``architectures_semeval`` (hours on 2 cores, and SemEval-2010 Task 8 from ``../shared``)
runs at real size only when named with ``--only``; with ``--smoke``, everything runs.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SMOKE_TIMEOUT_S = 300.0  # a smoke run takes seconds to a minute or two
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@dataclass(frozen=True)
class Benchmark:
    """One script in ``bench/`` as ``make bench`` runs it."""

    name: str  # the script is bench/<name>.py
    figure: str  # what it measures, as docs/benchmarks.md quotes it
    summary: str  # a pattern (re.MULTILINE); every line it matches in the output is a figure
    minutes: float  # expected wall time at real size on the 2-core development box
    args: tuple[str, ...] = ()
    smoke_args: tuple[str, ...] = ("--smoke",)
    default: bool = True  # False: runs only when named with --only

    @property
    def timeout_s(self) -> float:
        # Three times the expectation (a loaded machine is slower), never under 5 minutes.
        return max(300.0, 180.0 * self.minutes)

    def timeout(self, smoke: bool) -> float:
        return SMOKE_TIMEOUT_S if smoke else self.timeout_s

    def command(self, smoke: bool) -> list[str]:
        return [sys.executable, f"bench/{self.name}.py", *(self.smoke_args if smoke else self.args)]


BENCHMARKS = (
    Benchmark(
        "leaderboard_scale",
        "the leaderboard over 10,000 trial rows (goal: under 1 s) and the store's bytes per trial",
        r"^[\d,]+ rows, [\d,]+ configurations: .*$",
        minutes=0.2,
    ),
    Benchmark(
        "load_cache",
        "loading a 30,000-record SemEval-format file cold (parse) vs warm (the Parquet parse cache)",
        r"^(\S+: [\d,]+ records, .*|cold parse .*|warm cache .*|ratio .*)$",
        minutes=0.5,
    ),
    Benchmark(
        "executor_overhead",
        "the fixed cost of a trial through Tune, inline executor vs a one-worker Ray Train job, "
        "beside Ray's own bare Tune trial and Tune + TorchTrainer (goal: Train job <= 1.3x Ray's)",
        r"^(trial run directly .*|\s*(inline|train) executor through Tune: .*|Train job fixed cost .*"
        r"|anchors: .*|resweep / Ray's own: .*)$",
        minutes=3,
    ),
    Benchmark(
        "sweep_overhead",
        "the sweep machinery's overhead share on 1-second stand-in trials (goal for inline: <= 10%)",
        r"^(.*overhead share .*|.*wall time: .*)$",
        minutes=7,
    ),
    Benchmark(
        "scale",
        "the sweep machinery on a simulated 4-node cluster beside a bare Ray Tune run (goal: >= 0.9x its "
        "trials/s), the searcher's ask as a study grows to 1,000 trials (goal: p99 < 10% of a trial), "
        "driver memory, the results store per trial, resume after a kill, the leaderboard over 100,000 rows",
        r"^(\$ .*|machine: .*|cluster: .*|(bare Tune|resweep): \d.*|\s+(bare Tune|resweep) .*|scale: .*"
        r"|resume: .*|ask .*|leaderboard: .*)$",
        minutes=15,
        # What fits ~15 minutes on the 2-core box (the script's defaults are the sizes).
        args=("--trials", "400", "--cpus-per-node", "8", "--resume-trials", "300"),
    ),
    Benchmark(
        "loop_throughput",
        "resweep's training loop vs a bare PyTorch loop (goal >= 90%), and a cached phase-2 trial vs "
        "a full bert-seqcls trial (goal <= 5%), MiniLM",
        r"^(in-domain .*|train examples/s: .*|two-phase trial.*)$",
        minutes=15,
    ),
    Benchmark(
        "search_correctness",
        "is the answer right: resweep's search replayed against the ground-truth tables",
        r"^(overall: .*|WARNING: .*|regret \(.*|\s*learning curve: .*)$",
        minutes=5,
        args=("--processes", "2"),
        # search_correctness has no --smoke flag (tests/search_tests/test_search_correctness.py
        # covers it): the fewest replays, one method, two planted draws.
        smoke_args=("--replays", "2", "--methods", "tpe+asha-notransfer", "--planted-draws", "2"),
    ),
    Benchmark(
        "architectures_semeval",
        "every architecture on SemEval-2010 Task 8 at 10% in-domain (official score, weighted F1)",
        r"^\|.*\|$",
        minutes=240,
        default=False,
    ),
)
BY_NAME = {b.name: b for b in BENCHMARKS}


@dataclass(frozen=True)
class Outcome:
    benchmark: Benchmark
    command: str
    started: datetime
    wall_s: float
    status: str  # "ok", "exit N", "timed out after N s"
    figures: list[str]
    tail: str  # the end of the output, kept when the run failed or matched nothing
    load: float  # 1-minute load average when it started


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return ""
    return done.stdout.strip()


def commit() -> str:
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (
        " (with uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no") else ""
    )


def machine() -> str:
    model = ""
    if Path("/proc/cpuinfo").is_file():
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        model = f" ({found.group(1).strip()})" if found else ""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    gpus = ""
    if shutil.which("nvidia-smi"):
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True).stdout.splitlines()
        gpus = f", {len(listed)} GPU(s)" if listed else ""
    return (
        f"{platform.node()}, {platform.system()} {platform.release()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs{model}, {memory:.0f} GiB{gpus}, Python {platform.python_version()}"
    )


def _display(command: list[str]) -> str:
    """The command as typed from the repository root."""
    python = os.path.relpath(command[0], ROOT) if command[0].startswith(str(ROOT)) else "python"
    return shlex.join([python, *command[1:]])


def run(benchmark: Benchmark, smoke: bool, environment: dict[str, str]) -> Outcome:
    command = benchmark.command(smoke)
    shown = _display(command)
    print(f"$ {shown}", flush=True)
    started, load, clock = datetime.now(UTC), os.getloadavg()[0], time.perf_counter()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=benchmark.timeout(smoke),
        )
        output, status = done.stdout, ("ok" if done.returncode == 0 else f"exit {done.returncode}")
    except subprocess.TimeoutExpired as expired:
        output = expired.output.decode(errors="replace") if isinstance(expired.output, bytes) else ""
        status = f"timed out after {benchmark.timeout(smoke):.0f} s"
    wall = time.perf_counter() - clock
    figures = [m.group(0).rstrip() for m in re.finditer(benchmark.summary, output, re.MULTILINE)]
    if status == "ok" and not figures:
        status = "no summary line"
    tail = "" if status == "ok" else "\n".join(output.splitlines()[-30:])
    for line in figures or [f"({status})"]:
        print(f"  {line}", flush=True)
    return Outcome(benchmark, shown, started, wall, status, figures, tail, load)


def section(o: Outcome, revision: str, host: str) -> str:
    lines = [
        f"## {o.benchmark.name}: {o.benchmark.figure}",
        "",
        f"- command: `{o.command}`",
        f"- date: {o.started:%Y-%m-%d %H:%M} UTC; {o.wall_s:.0f} s wall; {o.status}",
        f"- commit: {revision}",
        f"- machine: {host}; load average {o.load:.2f} at the start",
        "",
        "```",
        *(o.figures or ["(no summary line)"]),
        "```",
    ]
    if o.tail:
        lines += ["", "The end of its output:", "", "```", o.tail, "```"]
    return "\n".join(lines)


def previous_sections(path: Path) -> dict[str, str]:
    """The sections of an earlier results file, by benchmark name."""
    if not path.is_file():
        return {}
    parts = re.split(r"^(?=## [a-z_]+: )", path.read_text(), flags=re.MULTILINE)[1:]
    return {part[3:].split(":", 1)[0]: part.rstrip("\n") for part in parts}


def render(sections: dict[str, str], smoke: bool) -> str:
    header = [
        "# Benchmark results" + (" (smoke sizes: these are not figures)" if smoke else ""),
        "",
        "Written by `bench/run_all.py` (`make bench`); do not edit by hand: rerun it.",
        "docs/benchmarks.md quotes these figures. Each section: what was measured, the command (from",
        "the repository root), when, at which commit, on which machine, and the lines the script",
        "printed as its summary.",
    ]
    ordered = [sections[b.name] for b in BENCHMARKS if b.name in sections]
    return "\n\n".join(["\n".join(header), *ordered]) + "\n"


def write(path: Path, text: str) -> None:
    from cluster.storage import atomic_file

    with atomic_file(path) as temporary:
        temporary.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="every benchmark at its smoke size")
    parser.add_argument("--only", help=f"comma-separated names (of: {', '.join(BY_NAME)})")
    parser.add_argument(
        "--out", type=Path, help="default bench/RESULTS.md (smoke: results/bench/RESULTS-smoke.md)"
    )
    parser.add_argument("--list", action="store_true", help="print what would run and its expected time")
    args = parser.parse_args(argv)
    # At smoke size every benchmark is cheap: all of them run.
    names = args.only.split(",") if args.only else [b.name for b in BENCHMARKS if b.default or args.smoke]
    unknown = sorted(set(names) - set(BY_NAME))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; valid: {', '.join(BY_NAME)}")
    chosen = [BY_NAME[name] for name in names]
    if args.list:
        for b in chosen:
            timing = f"~{b.minutes:g} min (timeout {b.timeout_s / 60:.0f} min)"
            print(f"{b.name:22} {timing}: {_display(b.command(args.smoke))}")
        print(f"expected in all: ~{sum(b.minutes for b in chosen):g} min at real size on 2 cores")
        return 0
    out = args.out or (
        ROOT / "results" / "bench" / "RESULTS-smoke.md" if args.smoke else ROOT / "bench" / "RESULTS.md"
    )
    environment = dict(os.environ)
    environment.setdefault("HF_HUB_OFFLINE", "1")  # nothing is downloaded: MiniLM ships as a package
    if args.smoke:
        # Smoke runs check that scripts run; with torch's default threads a tiny model on a busy
        # 2-core machine runs tens of times slower (the threads spin against other processes).
        environment.setdefault("OMP_NUM_THREADS", "1")
    revision, host = commit(), machine()
    outcomes = [run(b, args.smoke, environment) for b in chosen]
    # A benchmark not run this time keeps its section from the last run (its own date and commit).
    sections = {name: text for name, text in previous_sections(out).items() if name in BY_NAME}
    sections.update({o.benchmark.name: section(o, revision, host) for o in outcomes})
    write(out, render(sections, args.smoke))
    failed = [o.benchmark.name for o in outcomes if o.status != "ok"]
    print(f"run_all: {len(outcomes) - len(failed)} of {len(outcomes)} benchmarks ok; wrote {out}", end="")
    print(f"; failed: {', '.join(failed)}" if failed else "")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
