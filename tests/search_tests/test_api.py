"""The Python API (:mod:`search.api`): each operation without Ray, on committed fixtures or a
stored sweep written here; and every ``resweep`` command calls its API function with what it
parsed."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from search import api
from search.cli import main
from trainables.errors import ResweepError

ROOT = Path(__file__).resolve().parents[2]
THESIS = str(ROOT / "tests/trainables_tests/fixtures/thesis_tables.csv")
GROUND_TRUTH = str(ROOT / "bench/ground_truth/semeval-fewrel.parquet")


def _stored_sweep(storage: Path, name: str = "q", budget: int = 4) -> Path:
    """A sweep's saved config and a results store of two finished trials and one stopped."""
    from search.config import parse_sweep_config
    from search.plan import SweepPaths, write_sweep_config
    from search.results import result_row

    config = parse_sweep_config(
        {
            "name": name,
            "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1]},
            "search": {"space": "demo-smoke", "budget": budget, "question": ["strategy"]},
            "storage": str(storage),
        }
    )
    paths = SweepPaths.of(storage, name)
    write_sweep_config(config, paths)
    for trial, strategy, score, status in (
        ("a", "local", 0.6, "finished"),
        ("b", "baseline", 0.5, "finished"),
        ("c", "global", 0.9, "stopped"),
    ):
        config_ = {"architecture": "two-phase", "strategy": strategy, "in_domain_size": 0.1, "seed": 0}
        paths.results.add(
            result_row(
                sweep=name,
                trial_name=trial,
                status=status,
                config=config_,
                metrics={"selected_dev_f1_weighted": score, "epochs_done": 1 if status == "stopped" else 5},
                resources={},
                finished_at=datetime.now(UTC),
            )
        )
    return storage


def test_importing_the_api_imports_nothing_heavy() -> None:
    code = (
        "import sys, search, search.api; "
        "print(sorted(m for m in ('ray', 'torch', 'optuna', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_a_sweeps_checks_before_ray_import_no_torch(tmp_path: Path) -> None:
    """A sweep's driver (demo space, inline trials) plans the sweep and checks every input before
    Ray starts without importing torch or the models (1.5-2 s of every sweep's start on a small
    machine); nor does Tune's side of it (measured: a whole stand-in sweep's driver loads none)."""
    code = (
        "import sys\n"
        "from search.config import parse_sweep_config\n"
        "from search.driver.preflight import check_inputs\n"
        "from search.driver.sweep import _check_local_resources\n"
        "from search.plan import plan_sweep\n"
        "config = parse_sweep_config({'name': 'light', 'storage': sys.argv[1], 'data': {'in_domain': "
        "'synthetic', 'ood': 'synthetic_ood', 'sizes': [0.1, 1.0]}, 'search': {'space': 'demo'}})\n"
        "plan = plan_sweep(config)\n"
        "check_inputs(config, plan)\n"
        "_check_local_resources(config, None)\n"
        "print(sorted(m for m in ('torch', 'transformers', 'sklearn', 'imblearn') if m in sys.modules))"
    )
    args = [sys.executable, "-c", code, str(tmp_path)]
    out = subprocess.run(args, capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_a_leaderboard_from_a_table_gives_the_boards_and_their_decisions() -> None:
    answer = api.leaderboard(table=THESIS)
    assert [b.size for b in answer.boards] == [0.1, 0.5, 1.0]
    assert answer.shown == answer.boards and answer.metric == "accuracy"
    assert [(d.verdict, d.cell) for d in answer.decisions] == [
        ("undetermined", "local"),
        ("undetermined", "local"),
        ("undetermined", "global"),
    ]
    lines = answer.decision_lines()
    assert lines[0].startswith("decision (margin 0.01, confidence 0.95") and len(lines) == 4
    assert answer.note is None and answer.as_dict()["decisions"][0]["verdict"] == "undetermined"
    # A name that is an existing .csv file is a table.
    assert [b.size for b in api.leaderboard(THESIS).boards] == [0.1, 0.5, 1.0]
    with pytest.raises(ResweepError, match="name a sweep, or give --from-table"):
        api.leaderboard()
    with pytest.raises(ResweepError, match="name one of them"):
        api.leaderboard("demo", table=THESIS)


def test_a_leaderboard_at_an_unswept_size_estimates_and_recommends() -> None:
    answer = api.leaderboard(table=THESIS, size=0.3)
    assert answer.answer["estimates"] and answer.recommendation is not None
    assert answer.shown == []  # the estimate is the answer; the neighbours on request
    assert len(api.leaderboard(table=THESIS, size=0.3, nearest=True).shown) == 2
    assert answer.as_dict()["recommended_config"]["from_size"] in (0.1, 0.5)


def test_a_leaderboard_and_status_of_a_stored_sweep(tmp_path: Path) -> None:
    storage = str(_stored_sweep(tmp_path / "results"))
    answer = api.leaderboard("q", storage=storage)
    (board,) = answer.boards
    assert [e.describe["strategy"] for e in board.entries] == ["local", "baseline"]
    assert [e.describe["strategy"] for e in board.stopped] == ["global"]
    assert answer.metric == "dev_f1_weighted"
    status = api.status("q", storage=storage)
    (size,) = status.sizes
    assert (size.size, size.ended, size.finished, size.pruned, size.failed) == (0.1, 3, 2, 1, 0)
    assert size.best == pytest.approx(0.9) and status.metric == "dev_f1_weighted"
    assert status.config.name == "q" and status.building == []
    with pytest.raises(FileNotFoundError, match="no sweep named 'absent'"):
        api.status("absent", storage=storage)


def test_extend_grows_the_config_and_previews_without_running(tmp_path: Path) -> None:
    storage = str(_stored_sweep(tmp_path / "results"))
    said: list[str] = []
    extension = api.extend(
        "q", storage=storage, budget=8, seeds=[0, 1, 2, 3], dry_run=True, announce=said.append
    )
    assert extension.changes == {"budget": [4, 8], "seeds": [[0, 1, 2], [0, 1, 2, 3]]}
    assert said == ["sweep q: budget 4 -> 8; seeds 0,1,2 -> 0,1,2,3"] == [extension.change_line()]
    assert extension.config.search.budget == 8 and list(extension.config.data.seeds) == [0, 1, 2, 3]
    assert extension.outcome is None and extension.preview is not None
    ((size, ended, more),) = extension.preview
    assert (size, ended) == (0.1, 3) and more > 0
    with pytest.raises(ResweepError, match="--budget 2 is below its 4"):
        api.extend("q", storage=storage, budget=2, dry_run=True)


def test_a_sweeps_dry_run_plans_without_ray(tmp_path: Path) -> None:
    dry = api.sweep(ROOT / "configs/demo.yaml", name="planned", storage=str(tmp_path), dry_run=True)
    assert isinstance(dry, api.DryRun)
    assert dry.config.name == "planned" and str(dry.folder).endswith("planned")
    assert [e.size for e in dry.estimates] == list(dry.config.data.sizes)
    assert not (tmp_path / "planned").exists()
    with pytest.raises(ResweepError, match="--name: expected a name"):
        api.sweep(ROOT / "configs/demo.yaml", name="a b", dry_run=True)


def test_a_plan_from_a_table(tmp_path: Path) -> None:
    plot = tmp_path / "plan.png"
    planned = api.plan(table=GROUND_TRUTH, metric="dev_f1_weighted", pool=7200, target=0.8, plot=plot)
    assert planned.lines() and plot.read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ResweepError, match=r"expected a file name ending in \.png"):
        api.plan(table=GROUND_TRUTH, target=0.8, plot=tmp_path / "plan.jpg")


def test_a_report_from_a_table(tmp_path: Path) -> None:
    files = api.report(table=THESIS, out=tmp_path / "report", top=3)
    assert files.markdown.exists() and files.html.exists() and files.images
    assert "thesis_tables.csv" in files.markdown.read_text()


def test_predict_with_a_model_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cluster.threads

    monkeypatch.setattr(cluster.threads, "limit_threads", lambda threads: None)  # not this process's
    from trainables.config import TrialSpec
    from trainables.model_folder import save_model_folder
    from trainables.testing import write_small_corpora
    from trainables.trial import prepare_trial

    in_domain, _ = write_small_corpora(tmp_path / "corpora")
    config = {"architecture": "tfidf-linear", "in_domain": str(in_domain), "strategy": "baseline",
              "ood_pct": 0, "local_in_domain_pretrain_pct": 0, "max_epochs": 1}  # fmt: skip
    prepared = prepare_trial(TrialSpec.from_config(config), artifacts=tmp_path / "artifacts")
    prepared.fit(report=lambda metrics, checkpoint: None)
    prepared.architecture.for_inference()
    model = save_model_folder(tmp_path / "model", prepared.architecture)
    test = in_domain / "test.parquet"
    out = tmp_path / "predicted.jsonl"
    summary = api.predict(model, test, out=str(out), top_k=2, progress=False)
    assert summary.records == len(out.read_text().splitlines()) > 0
    assert summary.metrics is not None and summary.unlabeled == 0
    assert len(json.loads(out.read_text().splitlines()[0])["top_k"]) == 2


# Every command calls its API function with what it parsed --------------------------------------

COMMANDS: list[tuple[list[str], str, tuple[Any, ...], dict[str, Any]]] = [
    (
        ["sweep", "configs/demo.yaml", "--name", "x", "--dry-run", "--quiet", "--tracking", "off"],
        "sweep",
        ("configs/demo.yaml",),
        {"name": "x", "dry_run": True, "verbose": 0, "tracking": "off", "address": None},
    ),
    (
        ["resume", "x", "--storage", "store", "--rebuild-studies", "--address", "auto"],
        "resume",
        ("x",),
        {"storage": "store", "rebuild_studies": True, "address": "auto", "verbose": 1},
    ),
    (
        ["extend", "x", "--budget", "8", "--sizes", "0.1,300", "--seeds", "0,1", "--dry-run"],
        "extend",
        ("x",),
        {"budget": 8, "sizes": [0.1, 300], "seeds": [0, 1], "dry_run": True, "confirm_top_k": None},
    ),
    (["status", "x", "--storage", "store"], "status", ("x",), {"storage": "store"}),
    (
        ["leaderboard", "--from-table", "t.csv", "--size", "300", "--pool", "1000", "--margin", "0.02"],
        "leaderboard",
        (None,),
        {"table": "t.csv", "size": 300, "pool": 1000, "margin": 0.02, "nearest": False, "epsilon": 0.0},
    ),
    (
        ["plan", "x", "--target", "0.8", "--plot", "p.png", "--confidence", "0.9"],
        "plan",
        ("x",),
        {"target": 0.8, "plot": "p.png", "confidence": 0.9, "table": None},
    ),
    (
        ["report", "x", "--out", "r", "--top", "3", "--target", "0.7"],
        "report",
        ("x",),
        {"out": "r", "top": 3, "target": 0.7, "table": None},
    ),
    (
        ["train", "x", "--out", "m", "--size", "0.5", "--rank", "2", "--seed", "3", "--overwrite"],
        "train",
        ("x",),
        {"out": "m", "size": 0.5, "rank": 2, "seed": 3, "overwrite": True, "floor": False, "config": None},
    ),
    (
        ["predict", "m", "in.jsonl", "--top-k", "2", "--progress", "off", "--batch-size", "4"],
        "predict",
        ("m", "in.jsonl"),
        {"top_k": 2, "progress": False, "batch_size": 4, "out": None},
    ),
]


@pytest.mark.parametrize(("argv", "function", "args", "kwargs"), COMMANDS, ids=[c[1] for c in COMMANDS])
def test_each_command_calls_its_api_function(
    argv: list[str],
    function: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def called(*given: Any, **options: Any) -> Any:
        calls.append((given, options))
        raise ResweepError("called")

    monkeypatch.setattr(api, function, called)
    assert main(argv) == 1
    assert capsys.readouterr().err == "resweep: error: called\n"
    ((given, options),) = calls
    assert given == args
    assert {key: options[key] for key in kwargs} == kwargs


def test_train_hands_the_model_folder_to_the_sweeps_trackers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Registering the trained model is the API's (the command only prints what was made)."""
    import search.models.train
    import search.tracking
    from search.models.train import Recipe, TrainedModel

    storage = str(_stored_sweep(tmp_path / "results"))
    recipe = Recipe(
        {"strategy": "local"}, "recommended at size 0.1", "q", "dev_f1_weighted", None, {"label": "L"}
    )
    trained = TrainedModel(tmp_path / "m", None, recipe, None, {"dev": {"f1_weighted": 0.5}}, {})  # type: ignore[arg-type]
    seen: list[Any] = []
    import cluster.threads

    monkeypatch.setattr(cluster.threads, "limit_threads", lambda threads: None)  # not this process's
    monkeypatch.setattr(search.models.train, "check_model_out", lambda *a, **k: None)
    monkeypatch.setattr(search.models.train, "choose_recipe", lambda *a, **k: recipe)
    monkeypatch.setattr(search.models.train, "train_model", lambda *a, **k: trained)

    def register(
        sweep: str, storage_: str, folder: Path, label: str, scores: Any, tracking: Any
    ) -> list[str]:
        seen.append((sweep, folder, label, scores, tracking.trackers))
        return ["mlflow: version 1"]

    monkeypatch.setattr(search.tracking, "register_model", register)
    announced: list[Recipe] = []
    made = api.train("q", out=tmp_path / "m", storage=storage, tracking="mlflow", on_recipe=announced.append)
    assert made.registered == ["mlflow: version 1"] and announced == [recipe]
    assert seen == [("q", tmp_path / "m", "L", {"dev_f1_weighted": 0.5}, ("mlflow",))]
    trained.registered.clear()
    assert api.train("q", out=tmp_path / "m", storage=storage).registered == []  # the sweep tracks nothing
