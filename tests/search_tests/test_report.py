"""``resweep report``: Markdown, self-contained HTML and plots; the HTML rendered by Chromium."""

from __future__ import annotations

import base64
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
        "| 0.5 | two-phase(seqcls, joined)/local/oversampling ood10 local10 | 1 | 0.8100 | tie |" in markdown
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


@pytest.mark.skipif(CHROMIUM is None, reason="needs headless Chromium (Debian package `chromium`)")
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
