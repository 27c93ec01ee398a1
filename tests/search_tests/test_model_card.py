"""MODEL_CARD.md of `resweep train`: the template ``search/model_card.md.j2`` filled by
``search.models.train._card`` (no sweep, no training: the values a trained model would give it)."""

from __future__ import annotations

from importlib.resources import files
from types import SimpleNamespace
from typing import Any

from search.models.train import Recipe, _card
from trainables.metrics import METRIC_KEYS

DATA = {
    "label": "two-phase/mixed/none",
    "trained_at": "2026-01-01T00:00:00+00:00",
    "in_domain": "semeval",
    "ood": "tacred",
    "train": 12345,
    "dev": 800,
    "test": 2717,
    "ood_train": 4000,
    "carved": [],
    "labels": ["a", "b", "Other"],
    "negative": ["Other"],
}
CONFIG = {"architecture": "two-phase", "strategy": "mixed", "ood_pct": 25.0, "imbalance": "none"}
CONFIG |= {"learning_rate": 0.001, "patience": None, "seed": 3, "max_length": 40}
EVIDENCE = {
    "metric": "dev_f1_weighted",
    "size": 0.3,
    "source_size": 0.5,
    "pool": None,
    "label": "two-phase/mixed/none",
    "rank": 1,
    "n_seeds": 3,
    "mean": 0.61234,
    "tie": True,
    "interval": [0.5, 0.7],
    "decision": {"line": "50%: mixed wins (P(best) 0.97)"},
    "estimate": {"strategy": "mixed", "value": 0.6, "band": [0.55, 0.66], "method": "power-law fit"},
    "chosen_over": [
        {"cell": "local", "best": "two-phase/local/none", "mean": 0.55, "n_seeds": 2, "flags": ["tie"]},
        {"cell": "global", "best": None, "mean": None, "n_seeds": None, "flags": []},
    ],
    "floor": {"label": "tfidf-linear/baseline/none", "mean": 0.4, "n_seeds": 1},
}


def _render(evidence: dict[str, Any], data: dict[str, Any] = DATA) -> str:
    recipe = Recipe(CONFIG, "recommended at size 30%", "demo", "dev_f1_weighted", None, evidence)
    scores = {"dev": dict.fromkeys(METRIC_KEYS, 0.5), "test": {"accuracy": 0.4}}
    result = SimpleNamespace(best={"selected_epoch": 4}, epochs_done=9)
    return _card(recipe, SimpleNamespace(to_config=lambda: CONFIG), scores, data, result)  # type: ignore[arg-type]


def test_the_card_says_data_recipe_scores_evidence_and_limits() -> None:
    card = _render(EVIDENCE)
    assert card.startswith(
        "# two-phase/mixed/none — a resweep model\n\nTrained by `resweep train` from sweep `demo` on "
        "2026-01-01T00:00:00+00:00 (recommended at size 30%).\n\n## Data\n\n- In-domain: `semeval` — "
        "trained on all 12,345 sentences of its training pool; early stopping on 800 dev sentences; "
        "scored on 2,717 test sentences.\n- Out-of-domain: `tacred` — 4,000 sentences (25%) in strategy "
        "`mixed`.\n- Labels: 3 in-domain (Other negative);"
    )
    assert "| setting | value |\n|---|---|\n| architecture | `two-phase` |\n" in card
    assert "| patience |" not in card  # None: not shown
    header = "| split | " + " | ".join(METRIC_KEYS) + " |\n|---|" + "---|" * len(METRIC_KEYS) + "\n"
    assert header + "| dev | 0.5000 |" in card
    assert "| test | 0.4000 | - |" in card
    assert (
        "\n\n## Why this recipe\n\nrecommended at size 30%: `two-phase/mixed/none`, rank 1 at size 0.5, "
        "mean dev_f1_weighted 0.6123 over 3 seed(s), 95% CI [0.5000, 0.7000]; its cell is still in "
        "contention.\nThe decision at size 50%: 50%: mixed wins (P(best) 0.97).\nSize 0.3 was not swept: "
        "strategy `mixed` leads the learning-curve estimates there (0.6000, power-law fit).\n\n"
        "Chosen over (each other cell's best at that size):\n\n| cell | best | mean | seeds | flags |\n"
        "|---|---|---|---|---|\n| local | two-phase/local/none | 0.5500 | 2 | tie |\n"
        "| global | (nothing finished) | - | - |  |\n\nThe classical floor `tfidf-linear/baseline/none` "
        "scored 0.4000 there.\n\n## Known limits\n\n- One training run (seed 3):"
    ) in card
    assert card.endswith(
        "but is not calibrated.\n- The recipe was chosen for size 0.3; the model is trained on the whole "
        "pool (12,345 sentences).\n"
    )


def test_an_explicit_config_has_no_evidence_and_a_dataset_without_splits_says_so() -> None:
    data = {**DATA, "ood": None, "carved": ["dev", "test"], "negative": []}
    card = _render({}, data)
    assert "scored on 2,717 test sentences (dev and test carved from train: the dataset has none).\n" in card
    assert "- Out-of-domain: none (strategy `baseline`).\n- Labels: 3 in-domain (none negative);" in card
    why = "\n\n## Why this recipe\n\nGiven explicitly (`--config`): no leaderboard evidence.\n\n## Known"
    assert why in card
    assert card.endswith("but is not calibrated.\n")


def test_the_template_ships_in_the_package() -> None:
    assert (files("search.models") / "model_card.md.j2").is_file()
