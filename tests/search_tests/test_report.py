"""``resweep report``: Markdown, self-contained HTML and plots; the HTML rendered by Chromium."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from search.cli import main

PNG = b"\x89PNG\r\n\x1a\n"


def _report(fixtures: Path, out: Path) -> None:
    table = str(fixtures / "thesis_tables.csv")
    assert main(["report", "--from-table", table, "--epsilon", "0.002", "--out", str(out), "--top", "5"]) == 0


def test_report_files_tables_and_plots(fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    _report(fixtures, out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["imbalance.png", "learning_curves.png", "phase1.png", "report.html", "report.md"]
    assert all((out / n).read_bytes().startswith(PNG) for n in names if n.endswith(".png"))
    markdown = (out / "report.md").read_text()
    assert (
        "| 50% | two-phase(seqcls, joined)/local/oversampling ood10 local10 | 1 | 0.8100 | tie |" in markdown
    )
    assert "![learning curves](learning_curves.png)" in markdown
    assert markdown.count("### in-domain size") == 3
    # 90 table rows; 12 repeat a run another table printed (same configuration, same scores).
    assert "78 trials: 78 finished, 0 pruned" in markdown and "compute time unknown" in markdown
    page = (out / "report.html").read_text()
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 3 and all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "<table>" in page and 'src="learning_curves.png"' not in page  # self-contained


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (`make browser` installs it)")
def test_report_renders_in_headless_chromium(fixtures: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    _report(fixtures, out)
    # The page plus a probe that writes what the browser made of it into the DOM.
    probe = """<script>window.addEventListener("load", () => {
      const images = Array.from(document.images);
      const shown = images.filter(i => i.complete && i.naturalWidth > 0).length;
      const cells = document.querySelectorAll("table td").length;
      const tables = document.querySelectorAll("table").length;
      const p = document.createElement("p"); p.id = "probe";
      p.textContent = `probe images=${images.length} decoded=${shown} tables=${tables} cells=${cells}`;
      document.body.appendChild(p);
    });</script></body>"""
    checked = tmp_path / "checked.html"
    checked.write_text((out / "report.html").read_text().replace("</body>", probe))
    run = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            "--dump-dom",
            checked.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r"probe images=(\d+) decoded=(\d+) tables=(\d+) cells=(\d+)", run.stdout)
    assert found, (run.returncode, run.stderr[-2000:])
    images, decoded, tables, cells = map(int, found.groups())
    assert images == 3 and decoded == 3  # every plot decoded and laid out
    assert tables == 4 and cells > 50  # the answer table and one leaderboard per size


def test_report_ranks_finished_trials_lists_stopped_ones_apart_and_shows_the_floor(tmp_path: Path) -> None:
    from search.answer.leaderboard import build_leaderboard
    from search.answer.report import write_report

    def row(size: float, strategy: str, seed: int, score: float, **extra: object) -> dict[str, object]:
        architecture = extra.get("architecture", "two-phase")
        config = {"architecture": architecture, "strategy": strategy, "lr": extra.get("lr", 1), "seed": seed}
        return {
            "in_domain_size": size,
            "seed": seed,
            "strategy": strategy,
            "architecture": architecture,
            "imbalance": "none",
            "config": json.dumps(config),
            "dev_f1_weighted": score,
            "accuracy": score,
            "f1_weighted": score,
            "status": extra.get("status", "finished"),
            "role": extra.get("role", "search"),
            "epochs_run": extra.get("epochs", 30),
        }

    rows = [row(0.1, "local", s, 0.70 + s / 100) for s in (0, 1, 2)]  # confirmed over 3 seeds
    rows += [row(0.1, "mixed", 0, 0.80), row(0.1, "mixed", 0, 0.50, lr=2)]
    rows += [row(0.1, "global", 0, 0.99, status="stopped", epochs=1)]
    rows += [row(0.1, "baseline", 0, 0.60, architecture="tfidf-linear", role="floor")]
    rows += [row(0.5, "local", 0, 0.90, status="stopped", epochs=2)]  # nothing finished at 0.5
    rows += [row(0.5, "mixed", 0, 0.5, status="error")]
    boards = build_leaderboard(rows, "dev_f1_weighted")
    files = write_report(boards, rows, tmp_path / "report", title="t")
    markdown = files.markdown.read_text()
    # The lucky one-seed mixed run ranks first but decides nothing alone: still in contention
    # ("tie"), and the three-seed local configuration is recommended.
    assert "- 10%: undetermined between mixed and local (P(best) mixed " in markdown
    answer = (
        "| 10% | two-phase/mixed/none lr 1 | 1 | 0.8000 | tie | 0.8000 | 0.8000 | "
        "#2 two-phase/local/none (3 seeds) |"
    )
    assert answer + " 0.6000 |" in markdown
    assert "| 50% | - (only trials stopped early) | | | | | | | not run |" in markdown
    assert "### in-domain size 10% (4 finished configurations, 1 stopped early)" in markdown
    assert "| 2 | two-phase/local/none | 3 | 0.7100 |" in markdown and "| recommended |" in markdown
    assert "| 3 | tfidf-linear/baseline/none | 1 | 0.6000 |" in markdown and "| floor |" in markdown
    assert (
        "Best per strategy: mixed 0.8000 (#1), 2 finished / 0 stopped, tie; local 0.7100 (#2), 1 finished / "
        "0 stopped, under-explored; global no finished configuration, 0 finished / 1 stopped, under-explored."
    ) in markdown
    assert "Floor tfidf-linear/baseline/none: 0.6000 (#3); 1 configuration(s) below it." in markdown
    assert (
        "Stopped early by the scheduler, not ranked (1): two-phase/global/none (1 epoch) 0.9900." in markdown
    )
    assert "Floor: not run." in markdown  # size 0.5
    assert "9 trials: 6 finished, 2 pruned" in markdown and "1 failed" in markdown
    page = files.html.read_text()
    assert page.count("<table>") == 1 + 1  # the answer, and the one size that has finished trials
