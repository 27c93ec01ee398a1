"""Annotation planning (`resweep plan`): sizes for a target on curves whose truth is known, the
band, unreachable targets, what a sweep that cannot support a plan is told, the JSON, the picture."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from search.answer.annotation import AnnotationPlan, fit_curve, plan_from_boards, table_pool
from search.answer.leaderboard import build_leaderboard
from search.cli import main
from trainables.errors import ResweepError

# The generating curve: score(n) = A - B n^-C, n a fraction of a 1,000-sentence pool. It reaches
# 0.72 at n = (B / (A - 0.72))^(1/C) = 1.431, i.e. 1,431 sentences; it approaches 0.85.
A, B, C = 0.85, 0.15, 0.4
POOL = 1000
SIZES = (0.05, 0.1, 0.2, 0.5, 1.0)


def true_size(target: float) -> float:
    return (B / (A - target)) ** (1 / C)


def _rows(
    seeds: int,
    *,
    sizes: tuple[float, ...] = SIZES,
    noise: float = 0.01,
    cells: dict[str, float] | None = None,
    rng_seed: int = 0,
    configs: int = 2,
    gap: float = 0.005,
) -> list[dict[str, Any]]:
    """Results-store rows of ``configs`` configurations per cell (each ``gap`` worse than the
    one before) on the known curve, shifted by the cell's offset, with a shared per-seed effect
    and run noise."""
    rng = np.random.default_rng(rng_seed)
    rows = []
    for size in sizes:
        seed_effect = rng.normal(0, noise / 2, seeds)
        for cell, offset in (cells or {"baseline": 0.0}).items():
            for k in range(configs):
                config = {"architecture": "two-phase", "strategy": cell, "imbalance": "none", "lr": k}
                for seed in range(seeds):
                    score = A - B * size ** (-C) + offset - gap * k + seed_effect[seed]
                    rows.append(
                        {
                            "in_domain_size": size,
                            "seed": seed,
                            "strategy": cell,
                            "architecture": "two-phase",
                            "imbalance": "none",
                            "config": json.dumps(config),
                            "dev_f1_weighted": float(score + rng.normal(0, noise)),
                            "status": "finished",
                        }
                    )
    return rows


def _plan(rows: list[dict[str, Any]], target: float, **kwargs: Any) -> AnnotationPlan:
    kwargs.setdefault("draws", 100)
    return plan_from_boards(build_leaderboard(rows, "dev_f1_weighted"), target, pool=POOL, **kwargs)


def test_a_power_law_is_fitted_exactly_and_solved_for_the_target() -> None:
    xs = [0.05, 0.1, 0.3, 1.0]
    curve = fit_curve(xs, [A - B * x ** (-C) for x in xs])
    assert curve.method == "power-law fit"
    assert curve.asymptote == pytest.approx(A, abs=1e-3)
    assert curve.size_for(0.75, limit=10.0) == pytest.approx(true_size(0.75), rel=0.01)
    assert math.isinf(curve.size_for(0.86, limit=10.0))  # above the asymptote
    # Scores that fall: no rising power law, linear in log n; it never reaches a higher score.
    falling = fit_curve(xs, [0.6, 0.5, 0.45, 0.4])
    assert falling.method == "log-n interpolation" and math.isinf(falling.size_for(0.7, 10.0))


def test_the_planned_size_lies_in_the_band_and_near_the_truth() -> None:
    plan = _plan(_rows(seeds=5), 0.72)
    cell = plan.cell_plan("baseline")
    assert cell is not None and cell.reachable and cell.low is not None and cell.high is not None
    assert cell.low <= cell.size <= cell.high  # type: ignore[operator]
    assert cell.low <= true_size(0.72) <= cell.high
    assert cell.size == pytest.approx(true_size(0.72), rel=0.25)
    # Answered in sentences of the pool: 1,431 is the truth.
    document = plan.as_dict()["per_strategy"][0]
    assert document["sentences"] == math.ceil(cell.size * POOL)  # type: ignore[operator]
    assert document["low"] <= 1431 <= document["high"]


def test_the_band_shrinks_with_more_seeds() -> None:
    def width(seeds: int) -> float:
        """The band's width in log n, the mean over three generated tables."""
        widths = []
        for rng_seed in (1, 2, 3):
            cell = _plan(_rows(seeds=seeds, rng_seed=rng_seed, configs=1), 0.72).cell_plan("baseline")
            assert cell is not None and cell.low is not None and cell.high is not None
            assert cell.low <= true_size(0.72) <= cell.high
            widths.append(math.log(cell.high / cell.low))
        return sum(widths) / len(widths)

    few, many = width(3), width(12)
    assert many < 0.6 * few, (few, many)


def test_a_target_above_every_curve_says_so_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    plan = _plan(_rows(seeds=3), 0.99)  # the curve approaches 0.85
    cell = plan.cell_plan("baseline")
    assert cell is not None and not cell.reachable and cell.note.startswith("flattens at 0.")
    assert cell.curve.asymptote == pytest.approx(A, abs=0.08)
    assert plan.message is not None and plan.message.startswith(
        "target 0.99 is above what any curve approaches (the highest: baseline, 0."
    )
    assert plan.message.endswith("no amount of in-domain data is likely to reach it with these recipes")
    assert plan.decision is None and plan.as_dict()["recommended"] is None
    (document,) = plan.as_dict()["per_strategy"]
    assert document["reachable"] is False and document["sentences"] is None and document["note"] == cell.note


def test_a_target_reached_only_beyond_ten_times_the_pool_is_not_planned() -> None:
    # 0.84 is below the asymptote 0.85, but the curve gets there at ~3,000x the pool.
    plan = _plan(_rows(seeds=5, noise=0.002), 0.84)
    cell = plan.cell_plan("baseline")
    assert cell is not None and not cell.reachable and cell.note == "not within 10x the pool"
    assert plan.message == (
        "no strategy reaches 0.84 within 10x the pool (10,000 sentences): the curves rise too slowly"
    )


def test_the_recipe_is_the_decided_cell_and_the_gain_per_100_sentences_follows_the_curve() -> None:
    # local is 0.05 better: it reaches 0.77 at (0.15 / 0.13)^2.5 = 1.43x the pool, baseline at 4.8x.
    plan = _plan(_rows(seeds=3, cells={"baseline": 0.0, "local": 0.05}), 0.77)
    assert plan.planned is not None and plan.planned.cell == "local"
    assert plan.decision is not None and plan.decision.verdict == "winner"
    assert plan.decision.cell == "local" and plan.decision.p_best["local"] >= 0.95
    assert plan.recipe is not None and plan.recipe.describe["strategy"] == "local"
    assert plan.recipe_size == 1.0  # the nearest swept size to the planned ~1.4x the pool
    # B n^-C from n = 1 to 1.1 (100 sentences of 1,000): 0.15 (1 - 1.1^-0.4) = 0.0056.
    local = plan.cell_plan("local")
    assert local is not None and local.gain == pytest.approx(B * (1 - 1.1 ** (-C)), rel=0.3)
    recommended = plan.as_dict()["recommended"]
    assert recommended["cell"] == "local" and recommended["verdict"] == "winner"
    assert recommended["more_sentences"] == recommended["sentences"] - POOL > 0
    text = "\n".join(plan.lines())
    assert "plan: local reaches 0.77 first, at about" in text and "local wins" in text
    assert "expected gain per 100 more sentences at today's 1,000 sentences: +0.0" in text


@pytest.mark.parametrize(
    ("sizes", "why", "suggested"),
    [
        ((0.5, 1.0), "results at 2 sizes (50%, 100%)", "0.1,0.3,0.5,1.0"),
        ((0.6, 0.8, 1.0), "sizes 60%, 80%, 100% all within a factor 2", "0.1,0.3,0.6,0.8,1.0"),
    ],
)
def test_a_sweep_that_cannot_support_a_plan_is_told_what_to_add(
    sizes: tuple[float, ...], why: str, suggested: str
) -> None:
    boards = build_leaderboard(_rows(seeds=2, sizes=sizes), "dev_f1_weighted")
    with pytest.raises(ResweepError) as caught:
        plan_from_boards(boards, 0.7, pool=POOL, name="demo")
    message = str(caught.value)
    assert message.startswith(f"cannot support a plan: {why};")
    assert message.endswith(f"`resweep extend demo --sizes {suggested}`")


def _table(tmp_path: Path, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / "runs.csv"
    columns = ["in_domain_size", "seed", "strategy", "architecture", "imbalance", "config", "dev_f1_weighted"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_command_json_has_the_documented_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = _table(tmp_path, _rows(seeds=3, cells={"baseline": 0.0, "mixed": 0.03}))
    argv = ["plan", "--from-table", str(table), "--metric", "dev_f1_weighted", "--target", "0.75"]
    assert main([*argv, "--pool", str(POOL), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["target"] == 0.75 and document["metric"] == "dev_f1_weighted"
    assert document["pool"] == POOL and document["today"] == {"size": 1.0, "sentences": POOL}
    cells = {c["cell"]: c for c in document["per_strategy"]}
    assert set(cells) == {"baseline", "mixed"}
    for cell in cells.values():
        assert {"cell", "sentences", "low", "high", "reachable"} <= set(cell)
        assert cell["reachable"] is True and cell["low"] <= cell["sentences"] <= cell["high"]
    assert cells["mixed"]["sentences"] < cells["baseline"]["sentences"]  # 0.03 better: sooner
    recommended = document["recommended"]
    assert recommended["cell"] == "mixed" and recommended["sentences"] == cells["mixed"]["sentences"]
    assert set(recommended["p_best"]) == {"baseline", "mixed"} and recommended["configuration"]
    # Without the pool a table's fractions cannot become sentences: shares of the pool instead.
    assert main([*argv, "--json"]) == 0
    shares = json.loads(capsys.readouterr().out)
    assert shares["pool"] is None and shares["per_strategy"][0]["sentences"] is None
    assert shares["per_strategy"][0]["size"] == pytest.approx(document["per_strategy"][0]["size"])


def test_user_mistakes_are_one_line_and_exit_non_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = _table(tmp_path, _rows(seeds=2, sizes=(0.5, 1.0)))
    assert main(["plan", "--from-table", str(table), "--target", "0.75", "--metric", "dev_f1_weighted"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("resweep: error: cannot support a plan: results at 2")
    with pytest.raises(SystemExit) as exited:
        main(["plan", "--from-table", str(table), "--target", "80"])
    assert exited.value.code == 2
    assert "got '80' (a percentage? give 0.8)" in capsys.readouterr().err
    jpeg = tmp_path / "p.jpg"
    assert main(["plan", "--from-table", str(table), "--target", "0.75", "--plot", str(jpeg)]) == 1
    assert capsys.readouterr().err == f"resweep: error: --plot {jpeg}: expected a file name ending in .png\n"
    assert not jpeg.exists()


def _red_rows(image: np.ndarray) -> np.ndarray:
    """Rows of an RGB(A) image whose pixels are mostly the target line's pure red."""
    rgb = image[..., :3]
    red = (rgb[..., 0] > 0.9) & (rgb[..., 1] < 0.15) & (rgb[..., 2] < 0.15)
    return np.nonzero(red.mean(axis=1) > 0.5)[0]


def test_the_plot_is_a_png_with_the_target_line_where_the_target_is(tmp_path: Path) -> None:
    import matplotlib.image
    import matplotlib.pyplot as plt

    plan = _plan(_rows(seeds=3, cells={"baseline": 0.0, "mixed": 0.03}), 0.75)
    figure = plan.figure()
    axes = figure.axes[0]
    (target,) = [line for line in axes.get_lines() if line.get_label() == "target 0.75"]
    assert list(target.get_ydata()) == [0.75, 0.75]
    labels = [text.get_text() for text in axes.get_legend().get_texts()]
    assert {"baseline", "mixed", "swept sizes", "target 0.75"} <= set(labels)
    # Rendered as it is laid out, the red row is where the data coordinates put 0.75.
    figure.canvas.draw()
    _, y = axes.transData.transform((1.0 * POOL, 0.75))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=figure.dpi)
    plt.close(figure)
    buffer.seek(0)
    image = matplotlib.image.imread(buffer)
    rows = _red_rows(image)
    assert len(rows) and abs(float(np.median(rows)) - (image.shape[0] - y)) <= 2
    # What --plot writes: a real PNG that decodes, with the line across it.
    data = plan.png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    decoded = matplotlib.image.imread(io.BytesIO(data))
    assert decoded.shape[0] > 200 and decoded.shape[1] > 300 and len(_red_rows(decoded)) >= 1


def test_plan_plot_option_writes_the_picture_and_the_report_carries_the_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import matplotlib.image

    table = _table(tmp_path, _rows(seeds=2))
    plot = tmp_path / "plan.png"
    argv = ["--from-table", str(table), "--metric", "dev_f1_weighted", "--target", "0.75", "--pool", "1000"]
    assert main(["plan", *argv, "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("annotation plan: dev_f1_weighted 0.75 (swept 5%, 10%, 20%, 50%, 100%; pool 1,000")
    assert f"wrote {plot}" in out
    assert len(_red_rows(matplotlib.image.imread(plot))) >= 1
    report = tmp_path / "report"
    assert main(["report", *argv, "--out", str(report)]) == 0
    markdown = (report / "report.md").read_text()
    assert "## Annotation plan: dev_f1_weighted 0.75" in markdown
    assert "![annotation plan](annotation_plan.png)" in markdown
    assert len(_red_rows(matplotlib.image.imread(report / "annotation_plan.png"))) >= 1
    assert "<pre>annotation plan: dev_f1_weighted 0.75" in (report / "report.html").read_text()


def test_a_parquet_table_says_its_pool_in_its_provenance(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(seeds=2)
    table = pa.Table.from_pylist(rows)
    provenance = {b"resweep.ground_truth": json.dumps({"pool": 1234, "seeds": [0, 1]}).encode()}
    path = tmp_path / "runs.parquet"
    pq.write_table(table.replace_schema_metadata(provenance), path)
    assert table_pool(str(path)) == 1234
    from search.answer.annotation import plan_annotation

    plan = plan_annotation(table=str(path), target=0.75, metric="dev_f1_weighted", draws=50)
    assert plan.pool == 1234 and plan.as_dict()["today"]["sentences"] == 1234
    plain = tmp_path / "plain.parquet"
    pq.write_table(table, plain)
    assert table_pool(str(plain)) is None


def test_the_held_out_check_finds_the_left_out_size_in_the_band() -> None:
    """bench/correctness_report.py's figure on a table whose truth is the known curve: the
    largest size left out, the plan for the score reached there lands near it."""
    import re
    import sys
    from types import SimpleNamespace

    bench = Path(__file__).resolve().parents[2] / "bench"
    if str(bench) not in sys.path:
        sys.path.insert(0, str(bench))
    import correctness_report

    boards = build_leaderboard(_rows(seeds=3, sizes=(0.1, 0.2, 0.5, 1.0), configs=3), "dev_f1_weighted")
    sizes = []
    for board in boards:
        best = board.best_per_strategy()["baseline"]
        truth = SimpleNamespace(best={"baseline": best.key}, dev_mean={best.key: best.mean})
        sizes.append(SimpleNamespace(size=board.size, board=board, truth=truth))
    check = correctness_report.annotation_plan_check([SimpleNamespace(pair="toy", sizes=sizes)])
    (case,) = check["cases"]
    assert case["inside"] and case["from_sizes"] == [0.1, 0.2, 0.5] and case["true_size"] == 1.0
    assert 1 / 1.5 < case["ratio"] < 1.5 and check["median_ratio"] == case["ratio"]
    last = correctness_report._annotation_plan_lines(check)[-1]
    assert re.fullmatch(
        r"   annotation plan: truth inside the band in 100\.0% of held-out cases, median size ratio "
        r"\d\.\d\d \(1 cases; .*\)",
        last,
    ), last


def test_a_sweep_plan_answers_in_its_training_pool_and_names_it_in_the_extend_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import search.answer.leaderboard
    import search.plan
    from search.answer.annotation import plan_annotation

    boards = build_leaderboard(_rows(seeds=3), "dev_f1_weighted")
    monkeypatch.setattr(search.answer.leaderboard, "leaderboard", lambda *args, **kwargs: boards)
    monkeypatch.setattr(search.plan, "load_saved_sweep", lambda storage, name: (object(), None))
    monkeypatch.setattr(search.plan, "train_pool", lambda config: 2000)
    plan = plan_annotation("demo", target=0.72, draws=50)
    assert plan.pool == 2000 and plan.as_dict()["today"] == {"size": 1.0, "sentences": 2000}
    two = build_leaderboard(_rows(seeds=2, sizes=(0.5, 1.0)), "dev_f1_weighted")
    monkeypatch.setattr(search.answer.leaderboard, "leaderboard", lambda *args, **kwargs: two)
    with pytest.raises(ResweepError, match=r"`resweep extend demo --storage /s --sizes 0.1,0.3,0.5,1.0`$"):
        plan_annotation("demo", target=0.72, storage="/s")


def test_a_sweep_in_counts_is_planned_in_sentences_without_a_pool() -> None:
    rows = _rows(seeds=3, sizes=(0.05, 0.1, 0.3, 1.0))
    for row in rows:
        row["in_domain_size"] = round(row["in_domain_size"] * 4000)  # 200 ... 4000 sentences
    plan = plan_from_boards(build_leaderboard(rows, "dev_f1_weighted"), 0.72, draws=50)
    document = plan.as_dict()
    assert document["unit"] == "count" and document["pool"] is None
    assert document["limit"] == {"size": 40000.0, "sentences": 40000}  # 10x the largest size
    (cell,) = document["per_strategy"]
    assert cell["sentences"] == math.ceil(cell["size"]) and cell["low"] <= cell["sentences"] <= cell["high"]
    assert cell["sentences"] == pytest.approx(true_size(0.72) * 4000, rel=0.25)
