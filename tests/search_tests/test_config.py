"""Sweep configs: the shipped examples validate; every mistake is one located line."""

from __future__ import annotations

from pathlib import Path

import pytest

from search.config import ConfigError, load_sweep_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", ["demo.yaml", "thesis.yaml", "own_data.yaml"])
def test_shipped_configs_validate(name: str) -> None:
    config = load_sweep_config(CONFIGS / name)
    assert config.data.sizes and config.search.budget >= 1
    context = config.trial_context(config.data.sizes[0], config.data.seeds[0])
    assert context["in_domain"] == config.data.in_domain and context["encoder"] == config.encoder


def test_demo_config_values() -> None:
    config = load_sweep_config(CONFIGS / "demo.yaml")
    assert config.name == "demo" and config.data.sizes == (0.1, 0.5, 1.0)
    assert (config.search.space, config.search.searcher, config.search.scheduler) == ("demo", "tpe", "asha")
    assert config.resources.workers == 1 and config.trial == {"max_length": 64}


GOOD = """name: x
data:
  in_domain: synthetic
  sizes: [0.1, 0.3]
search:
  budget: 4
"""


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ("  budget: 4", "  budget: 0", r"x.yaml:6: search.budget: expected an integer >= 1, got 0"),
        (
            "  budget: 4",
            "  budgt: 4",
            r"x.yaml:6: search.budgt: unknown key; valid keys of search: space, searcher",
        ),
        (
            "  budget: 4",
            "  searcher: bayes",
            r"x.yaml:6: search.searcher: got 'bayes'; allowed: tpe, random, grid",
        ),
        ("  budget: 4", "  space: thesys", r"search.space: got 'thesys'; allowed: demo, demo-smoke"),
        (
            "[0.1, 0.3]",
            "[0.1, 1.5]",
            r"x.yaml:4: data.sizes: in_domain_size 1.5 as a fraction must be in \(0, 1\]",
        ),
        (
            "name: x",
            "name: x\nstorge: here",
            r"x.yaml:2: storge: unknown key; valid top-level keys: name, data",
        ),
        ("search:\n  budget: 4", "resources:\n  gpus: -1", r"resources.gpus: expected a number >= 0"),
        (
            "search:\n  budget: 4",
            "trial:\n  lr: 0.1",
            r"x.yaml:6: trial.lr: unknown trial key; valid: architecture, batch_size",
        ),
        ("  in_domain: synthetic\n", "", r"x.yaml:2: data: missing data.in_domain"),
        ("  sizes: [0.1, 0.3]", "  sizes: [0.1, 0.3", r"x.yaml:\d+: invalid YAML"),
    ],
)
def test_mistakes_are_located(tmp_path: Path, replace: str, by: str, message: str) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(GOOD.replace(replace, by))
    with pytest.raises(ConfigError, match=message):
        load_sweep_config(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such sweep config"):
        load_sweep_config(tmp_path / "absent.yaml")


def test_a_space_that_needs_ood_data_fails_without_it(tmp_path: Path) -> None:
    path = tmp_path / "no_ood.yaml"
    path.write_text("name: x\ndata:\n  in_domain: synthetic\n  sizes: [0.2]\nsearch:\n  space: demo-smoke\n")
    with pytest.raises(
        ConfigError, match=r"no_ood.yaml:2: data: space 'demo-smoke' proposes global, local, mixed"
    ):
        load_sweep_config(path)
    path.write_text(path.read_text().replace("data:\n", "data:\n  ood: synthetic_ood\n"))
    assert load_sweep_config(path).data.ood == "synthetic_ood"
