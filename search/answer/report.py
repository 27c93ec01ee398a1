"""``resweep report NAME``: the sweep's answer as Markdown and a self-contained HTML page.

Written to ``<sweep>/report/`` (or ``--out``; for a sweep in an object store, ``./<name>-report/``
on the local disk): ``report.md`` (links the PNGs beside it),
``report.html`` (the same, images embedded as data URIs: one file to mail or archive), and
the plots:

* ``learning_curves.png`` — per transfer strategy, its best finished configuration's mean score
  against the in-domain size (log scale), with the 95% interval over seeds as a band, and the
  floor (``tfidf-linear``) where it ran;
* ``imbalance.png`` — per size, the best configuration of each imbalance technique;
* ``phase1.png`` — per size, the best configuration of each phase-1 encoder variant, when the
  sweep tried more than one.

Every best, rank and count of configurations is over finished trials only; the trials the
scheduler stopped early are listed apart per size, never compared with finished ones.

Every file is written to a temporary name and renamed, so a failed report leaves nothing half-made.
"""

from __future__ import annotations

import base64
import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cluster.storage import Location
from trainables.errors import ResweepError

from ..sizes import size_text
from .leaderboard import Entry, SizeBoard

if TYPE_CHECKING:
    from .annotation import AnnotationPlan

__all__ = ["ReportFiles", "write_board_csv", "write_report"]


def write_board_csv(rows: Sequence[Mapping[str, Any]], handle: Any) -> None:
    """Leaderboard rows (:func:`search.answer.leaderboard.summary_rows`) as CSV into an open text
    ``handle``, one column per key any row has (a stopped entry may lack a test score a
    finished one has): ``resweep leaderboard --csv`` and the trackers' leaderboard artifacts."""
    writer = csv.DictWriter(
        handle, fieldnames=list(dict.fromkeys(k for row in rows for k in row)) or ["size"]
    )
    writer.writeheader()
    writer.writerows(rows)


@dataclass
class ReportFiles:
    markdown: Path
    html: Path
    images: list[Path]


def _figure_png(figure: Any) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return buffer.getvalue()


def _best_by(board: SizeBoard, column: str) -> dict[str, Entry]:
    best: dict[str, Entry] = {}
    for entry in board.entries:  # finished, ranked: the first of each value is its best
        if entry.floor_run:
            continue  # the reference line, not a candidate
        value = entry.describe.get(column)
        if column == "phase1_model" and value is not None:
            finetune = entry.describe.get("phase1_finetune")
            value = f"{value} ({finetune})" if finetune and finetune != "none" else str(value)
        best.setdefault(str(value), entry)
    return best


def learning_curves_png(boards: Sequence[SizeBoard]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.4, 4.2))
    strategies = sorted({s for b in boards for s in b.best_per_strategy()})
    for strategy in strategies:
        points = [
            (b.size, b.best_per_strategy()[strategy]) for b in boards if strategy in b.best_per_strategy()
        ]
        xs = [p[0] for p in points]
        (line,) = axes.plot(xs, [p[1].mean for p in points], marker="o", label=strategy)
        bands = [p[1].interval for p in points]
        if all(band is not None for band in bands):
            low, high = [b[0] for b in bands if b], [b[1] for b in bands if b]
            axes.fill_between(xs, low, high, alpha=0.2, color=line.get_color())
    floors = [(b.size, b.floor.mean) for b in boards if b.floor is not None]
    if floors:
        axes.plot(
            *zip(*floors, strict=True), linestyle="--", color="grey", marker="x", label="floor (tfidf-linear)"
        )
    axes.set_xscale("log")
    axes.set_xlabel("in-domain size (fraction or sentences, log scale)")
    axes.set_ylabel(f"{boards[0].metric} (best configuration, mean over seeds)")
    axes.set_title("Learning curves per transfer strategy (bands: 95% CI over seeds)")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _figure_png(figure)


def comparison_png(boards: Sequence[SizeBoard], column: str, title: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    values = sorted({v for b in boards for v in _best_by(b, column)})
    figure, axes = plt.subplots(figsize=(6.4, 4.2))
    width = 0.8 / max(1, len(values))
    positions = np.arange(len(boards))
    for i, value in enumerate(values):
        means, errors = [], []
        for board in boards:
            entry = _best_by(board, column).get(value)
            interval = entry.interval if entry is not None else None
            means.append(entry.mean if entry is not None else np.nan)
            errors.append((interval[1] - interval[0]) / 2 if interval is not None else np.nan)
        # Error bars only where seeds give an interval (a single run has none, not a zero one).
        yerr = errors if not all(np.isnan(errors)) else None
        axes.bar(positions + i * width, means, width, yerr=yerr, capsize=3, label=value)
    axes.set_xticks(positions + width * (len(values) - 1) / 2, [size_text(b.size) for b in boards])
    axes.set_xlabel("in-domain size")
    axes.set_ylabel(f"{boards[0].metric} (best configuration)")
    axes.set_title(title)
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize="small")
    return _figure_png(figure)


def _cost(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    wall = [float(r["wall_seconds"]) for r in rows if r.get("wall_seconds") is not None]
    slots = [
        float(r.get("gpus") or 0) if (r.get("gpus") or 0) > 0 else float(r.get("cpus") or 1) for r in rows
    ]
    return {
        "trials": len(rows),
        "finished": sum((r.get("status") or "finished") == "finished" for r in rows),
        "pruned": sum(r.get("status") == "stopped" for r in rows),
        "failed": sum(r.get("status") == "error" for r in rows),
        "timed": len(wall),
        "hours": sum(wall) / 3600,
        "resource_hours": sum(w * s for w, s in zip(wall, slots, strict=False)) / 3600,
    }


def _table_md(board: SizeBoard, top: int) -> list[str]:
    """The ranked finished configurations: the first ``top``, plus the floor and the
    recommended configuration wherever they rank."""
    floor, recommended = board.floor, board.recommended
    lines = [
        "| rank | configuration | n_seeds | mean | std | 95% CI | tie | test accuracy | test F1 (weighted) "
        "| note |",
        "|---:|---|---:|---:|---:|---|---|---:|---:|---|",
    ]
    for i, e in enumerate(board.entries):
        if i >= top and e is not floor and e is not recommended:
            continue
        interval = e.interval
        notes = ", ".join(name for name, x in (("recommended", recommended), ("floor", floor)) if e is x)
        lines.append(
            f"| {e.rank} | {e.label} | {e.n_seeds} | {e.mean:.4f} | "
            f"{'-' if e.std is None else f'{e.std:.4f}'} | "
            f"{'-' if interval is None else f'[{interval[0]:.4f}, {interval[1]:.4f}]'} | "
            f"{'tie' if e.tie else ''} | {e.test.get('accuracy', float('nan')):.4f} | "
            f"{e.test.get('f1_weighted', float('nan')):.4f} | {notes} |"
        )
    return lines


def _epochs(value: float | None) -> str:
    return "epochs unknown" if value is None else f"{value:g} epoch" + ("" if value == 1 else "s")


def _size_notes(board: SizeBoard, top: int) -> list[str]:
    """Below a size's table: the best per question cell with its evidence, the floor, and the
    trials stopped early."""
    cells = []
    for name, cell in board.cells().items():
        best = cell.best
        shown = "no finished configuration" if best is None else f"{best.mean:.4f} (#{best.rank})"
        cells.append(
            f"{name} {shown}, {cell.finished} finished / {cell.stopped} stopped"
            + "".join(f", {flag}" for flag in cell.flags)
        )
    axes = "/".join(board.axes)
    lines = ["", f"Best per {axes}: {'; '.join(cells) or 'none'}.", ""]
    floor = board.floor
    if floor is None:
        lines += ["Floor: not run.", ""]
    else:
        below = sum(e.below_floor for e in board.entries)
        lines += [
            f"Floor {floor.label}: {floor.mean:.4f} (#{floor.rank}); {below} configuration(s) below it.",
            "",
        ]
    if board.stopped:
        stopped = "; ".join(f"{e.label} ({_epochs(e.epochs_run)}) {e.mean:.4f}" for e in board.stopped[:top])
        more = len(board.stopped) - len(board.stopped[:top])
        lines += [
            f"Stopped early by the scheduler, not ranked ({len(board.stopped)}): {stopped}"
            + (f"; and {more} more." if more else "."),
            "",
        ]
    return lines


def _markdown(
    title: str, boards: Sequence[SizeBoard], cost: dict[str, Any], images: dict[str, str], top: int
) -> str:
    lines = [f"# {title}", ""]
    decided = [b.decision for b in boards if b.decision is not None]
    if decided:
        lines += ["## Decision per in-domain size", ""]
        for board in boards:
            if board.decision is not None:
                lines.append(f"- {board.decision.line()}")
                if board.without_floor is not None:
                    # Four spaces: nested for Python-Markdown (the HTML) as for CommonMark.
                    lines.append(f"    - without the floor: {board.without_floor.verdict_text()}")
        lines += [
            "",
            f"Margin {decided[0].margin:g}, confidence {decided[0].confidence:g}. P(best): the "
            "probability that a cell's best configuration is the best of all, from a seed-blocked "
            "model of the runs (runs that share a seed share its in-domain subset) that re-selects "
            "each cell's best in every posterior draw (the winner's curse); one-seed configurations "
            "never decide alone. `winner`: one cell best at the confidence; `equivalent`: every "
            "cell within the margin of the leader at the confidence; `undetermined`: neither, with "
            "the seeds that would settle it. `tie` marks the cells still in contention.",
            "",
        ]
    lines += [
        f"Ranked by mean `{boards[0].metric}` over seeds of finished trials. Recommended: the best "
        "configuration of the decided (or leading) cell among those with two seeds or more. Trials "
        "the scheduler stopped early are listed apart.",
        "",
        "## Answer per in-domain size",
        "",
        "| size | best configuration | n_seeds | mean | tie | test accuracy | test F1 (weighted) "
        "| recommended | floor |",
        "|---:|---|---:|---:|---|---:|---:|---|---:|",
    ]
    for b in boards:
        floor = "not run" if b.floor is None else f"{b.floor.mean:.4f}"
        if not b.entries:
            lines.append(f"| {size_text(b.size)} | - (only trials stopped early) | | | | | | | {floor} |")
            continue
        w, r = b.winner, b.recommended
        recommended = "the best" if r is w or r is None else f"#{r.rank} {r.label} ({r.n_seeds} seeds)"
        lines.append(
            f"| {size_text(b.size)} | {w.label} | {w.n_seeds} | {w.mean:.4f} | {'tie' if w.tie else ''} | "
            f"{w.test.get('accuracy', float('nan')):.4f} | {w.test.get('f1_weighted', float('nan')):.4f} | "
            f"{recommended} | {floor} |"
        )
    lines += ["", "## Learning curves", "", f"![learning curves]({images['learning_curves']})", ""]
    lines += ["## Imbalance techniques", "", f"![imbalance techniques]({images['imbalance']})", ""]
    if "phase1" in images:
        lines += ["## Phase-1 encoders", "", f"![phase-1 encoders]({images['phase1']})", ""]
    lines += ["## Leaderboard per size", ""]
    for b in boards:
        stopped = f", {len(b.stopped)} stopped early" if b.stopped else ""
        lines += [
            f"### in-domain size {size_text(b.size)} ({len(b.entries)} finished configurations{stopped})",
            "",
        ]
        if b.entries:
            lines += _table_md(b, top)
        lines += _size_notes(b, top)
    lines += [
        "## Cost",
        "",
        f"{cost['trials']} trials: {cost['finished']} finished, {cost['pruned']} pruned by the scheduler "
        f"({cost['pruned'] / max(1, cost['trials']):.0%}), {cost['failed']} failed; "
        + (
            f"{cost['hours']:.2f} trial hours, {cost['resource_hours']:.2f} CPU/GPU hours."
            if cost["timed"]
            else "compute time unknown (no wall_seconds in the rows)."
        ),
        "",
    ]
    return "\n".join(lines)


def _html(text: str, images: dict[str, bytes], names: dict[str, str]) -> str:
    """The report's Markdown as one HTML file (Python-Markdown with tables), every plot embedded
    as a data URI in place of its file name."""
    import markdown  # here, not at the top: `resweep` starts without it

    for key, file in names.items():
        data = base64.b64encode(images[key]).decode()
        text = text.replace(f"]({file})", f"](data:image/png;base64,{data})")
    converter = markdown.Markdown(extensions=["tables"], output_format="html")
    # Raw HTML (a `<` in a configuration's label) shown as text, escaped, never as markup.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    # The annotation plan's indented block as <pre> alone (the page's style sets pre, not code).
    body = converter.convert(text).replace("<pre><code>", "<pre>").replace("</code></pre>", "</pre>")
    style = (
        "body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "font-size:14px}th{background:#f2f2f2}img{max-width:100%}pre{margin:0;font-size:13px}"
    )
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>resweep report</title>'
        f"<style>{style}</style></head><body>\n" + body + "\n</body></html>\n"
    )


def _with_plan(markdown: str, plan: AnnotationPlan, image: str) -> str:
    """The annotation plan's section, after the learning curves: its lines as a block, then its
    picture (curves with bands, the target, the swept sizes, the floor)."""
    section = [
        f"## Annotation plan: {plan.metric} {plan.target:g}",
        "",
        *(f"    {line}" for line in plan.lines()),
        "",
        f"![annotation plan]({image})",
        "",
    ]
    marker = "## Imbalance techniques"
    head, sep, tail = markdown.partition(marker)
    return head + "\n".join(section) + "\n" + sep + tail if sep else markdown + "\n" + "\n".join(section)


def write_report(
    boards: Sequence[SizeBoard],
    rows: Sequence[dict[str, Any]],
    out: Path,
    *,
    title: str,
    top: int = 10,
    plan: AnnotationPlan | None = None,
) -> ReportFiles:
    """Write the report's Markdown, HTML and PNGs into ``out``; with ``plan`` (``resweep report
    --target``), its annotation plan and picture (:mod:`search.answer.annotation`) too."""
    if not boards:
        raise ResweepError("nothing to report: no scored trials")
    out.mkdir(parents=True, exist_ok=True)
    images = {
        "learning_curves": learning_curves_png(boards),
        "imbalance": comparison_png(boards, "imbalance", "Best configuration per imbalance technique"),
    }
    if len({v for b in boards for v in _best_by(b, "phase1_model")}) > 1:
        images["phase1"] = comparison_png(boards, "phase1_model", "Best configuration per phase-1 encoder")
    if plan is not None:
        images["annotation_plan"] = plan.png()
    names = {key: f"{key}.png" for key in images}
    for key, data in images.items():
        Location.parse(out / names[key]).write_bytes(data)
    markdown = _markdown(title, boards, _cost(rows), names, top)
    if plan is not None:
        markdown = _with_plan(markdown, plan, names["annotation_plan"])
    Location.parse(out / "report.md").write_text(markdown)
    Location.parse(out / "report.html").write_text(_html(markdown, images, names))
    return ReportFiles(out / "report.md", out / "report.html", [out / n for n in names.values()])
