"""Property-based fuzz of the two readers a user feeds text to: the sweep config parser and the
result-table reader behind ``--from-table``. Whatever the input, the outcome is a valid parse or
resweep's own error as one line (exit 1 on the command line) — never another exception, never a
hang: every example runs under a hard time limit (a signal), not only Hypothesis's deadline.

The examples are the same on every run (``tests/conftest.py`` loads a derandomized profile).
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import io
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.cli import main
from search.config import QUESTION_AXES, SweepConfig, parse_sweep_text
from trainables.errors import ResweepError

LIMIT_S = 20  # per example: a reader that takes longer hangs (they take milliseconds)
FUZZ = settings(
    max_examples=100,
    deadline=None,  # the signal below is the limit; a deadline would flake on a loaded machine
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Hang(Exception):
    """An example ran past :data:`LIMIT_S`."""


@contextlib.contextmanager
def time_limit(seconds: float = LIMIT_S) -> Iterator[None]:
    def expired(signum: int, frame: Any) -> None:
        raise Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- the sweep config parser ---------------------------------------------------------------------

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
SIZES = st.lists(
    st.one_of(st.floats(min_value=-2, max_value=2), st.integers(min_value=-10, max_value=10**6)), max_size=3
)


def _either(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes anything at all."""
    return st.one_of(good, good, VALUES)


# Each section's keys with plausible values (valid and invalid), so examples reach deep checks.
SECTIONS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "data": {
        "in_domain": _either(st.sampled_from(["synthetic", "no/such/file.jsonl", ""])),
        "ood": _either(st.sampled_from(["synthetic_ood", "synthetic"])),
        "sizes": _either(SIZES),
        "seeds": _either(st.lists(st.integers(min_value=-3, max_value=2**40), max_size=3)),
        "label_mapping": VALUES,
        "in_domain_format": _either(st.sampled_from(["jsonl", "tacred", "xml"])),
    },
    "search": {
        "space": _either(st.sampled_from(["demo-smoke", "demo", "thesis-smoke", "huge"])),
        "searcher": _either(st.sampled_from(["tpe", "random", "grid", "bayes"])),
        "budget": _either(st.integers(min_value=-5, max_value=10**12)),
        "scheduler": _either(st.sampled_from(["asha", "fifo", "pbt"])),
        "max_concurrent": _either(st.sampled_from(["auto", 1, 0, 10**9])),
        "question": _either(st.lists(st.sampled_from([*QUESTION_AXES, "colour"]), max_size=3)),
        "confirm_top_k": _either(st.integers(min_value=-2, max_value=10**9)),
        "confirm_max_seeds": _either(st.integers(min_value=-2, max_value=10**9)),
        "study_storage": _either(
            st.sampled_from(["", "sqlite:///x.db", "sqlite:////no/such/dir/x.db", "foo://x", "db"])
        ),
        "floor": VALUES,
    },
    "resources": {
        "cpus": _either(st.floats(min_value=-1, max_value=10**6)),
        "gpus": _either(st.floats(min_value=-1, max_value=8)),
        "workers": _either(st.integers(min_value=-1, max_value=64)),
        "executor": _either(st.sampled_from(["auto", "inline", "train", "slurm"])),
    },
    "decision": {
        "margin": _either(st.floats(allow_nan=True, allow_infinity=True)),
        "confidence": _either(st.floats(allow_nan=True, allow_infinity=True)),
    },
    "trial": {
        "learning_rate": _either(st.floats(allow_nan=True, allow_infinity=True)),
        "max_length": _either(st.integers(min_value=-5, max_value=10**6)),
        "architecture": _either(st.sampled_from(["bert-seqcls", "tfidf-linear", "nope"])),
        "imbalance": _either(st.sampled_from(["none", "undersampling", "oversampling", "nope"])),
        "imbalance_params": VALUES,
        "max_epochs": _either(st.integers(min_value=-1, max_value=10**9)),
        "learning_rat": SCALARS,
        "seed": SCALARS,
    },
    "tracking": {
        "trackers": _either(st.lists(st.sampled_from(["mlflow", "wandb", "tensorboard", "x"]), max_size=2)),
        "timeout": _either(st.floats(allow_nan=True, allow_infinity=True)),
    },
}


@st.composite
def sweep_documents(draw: st.DrawFn) -> Any:
    """A sweep config document: mostly the real sections and keys with good or bad values, with
    unknown keys, sections that are not mappings and top-level values of any shape mixed in."""
    if draw(st.integers(0, 19)) == 0:
        return draw(VALUES)  # not a mapping at all
    document: dict[Any, Any] = {
        "name": draw(_either(st.sampled_from(["fz", "a b", "..", "x/y"]))),
        "data": {"in_domain": "synthetic", "ood": "synthetic_ood", "sizes": [0.1]},
        "search": {"space": "demo-smoke", "budget": 4},
    }
    for section, keys in SECTIONS.items():
        if not draw(st.booleans()):
            continue
        if draw(st.integers(0, 9)) == 0:
            document[section] = draw(VALUES)
            continue
        chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique=True, max_size=len(keys)))
        base = document.get(section, {})
        document[section] = {**base, **{key: draw(keys[key]) for key in chosen}}
    if draw(st.integers(0, 9)) == 0:
        document[draw(st.one_of(st.text(max_size=6), st.sampled_from(["a\nb", "\x00", "\u2028"])))] = 1
    if draw(st.integers(0, 9)) == 0:  # a control character in a key or a value of a section
        section = draw(st.sampled_from(["search", "trial", "data"]))
        key = draw(st.sampled_from(["a\nb", "space", "imbalance", "in_domain_format"]))
        if isinstance(document.get(section, {}), dict):
            document.setdefault(section, {})[key] = draw(st.sampled_from(["x\ny", "\r", "ok"]))
    if draw(st.integers(0, 9)) == 0:
        document["storage"] = draw(
            _either(st.sampled_from(["~nosuchuser/x", "ftp://h/x", "s3://", "s3://b/x?secret_key=s"]))
        )
    if draw(st.integers(0, 9)) == 0:
        document["extensions"] = draw(_either(st.just([{"at": "t", "changes": {"budget": [4, 8]}}])))
    return document


def _parses_or_says_one_line(text: str) -> SweepConfig | None:
    with time_limit():
        try:
            config = parse_sweep_text(text, source="fuzz.yaml")
        except ResweepError as err:
            message = str(err)
            assert message.startswith("fuzz.yaml"), message
            assert "\n" not in message and "\r" not in message, message
            return None
    assert isinstance(config, SweepConfig)
    return config


@pytest.fixture(scope="module", autouse=True)
def _warm() -> None:
    """The first parse imports the registries and spaces (seconds): not an example's time."""
    parse_sweep_text("name: w\ndata: {in_domain: synthetic, ood: synthetic_ood}\n", source="w.yaml")


@FUZZ
@given(sweep_documents())
def test_a_config_document_parses_or_is_one_config_error(document: Any) -> None:
    _parses_or_says_one_line(yaml.safe_dump(document, sort_keys=False, allow_unicode=True))


GOOD_TEXT = (
    "name: fz\n"
    "data: {in_domain: synthetic, ood: synthetic_ood, sizes: [0.1, 0.5]}\n"
    "search:\n  space: demo-smoke\n  budget: 4\n"
    "resources: {cpus: 1}\n"
)
YAML_PIECES = st.sampled_from(
    ["&a ", "*a", "<<: ", "- ", ": ", "? ", "[", "]", "{", "}", ",", "\n", "  ", "!!python/object ", "!!str ",
     "'", '"', "#", "|\n", ">\n", "%YAML 1.1\n", "---\n", "...\n", "\t", "\ufeff", "\x00", "\\"]
)  # fmt: skip


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    """The good config with YAML syntax (anchors, aliases, tags, merge keys, directives, control
    characters) spliced in at random places."""
    text = GOOD_TEXT
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.one_of(YAML_PIECES, st.text(max_size=4)))
        text = text[:at] + piece + text[at + draw(st.integers(0, 3)) :]
    return text


@FUZZ
@given(mutated_texts())
def test_a_mangled_config_text_parses_or_is_one_config_error(text: str) -> None:
    _parses_or_says_one_line(text)


@settings(FUZZ, max_examples=60)
@given(st.integers(1, 12), st.integers(2, 12), st.sampled_from(["list", "map"]))
def test_an_alias_bomb_of_any_shape_is_refused_in_time(depth: int, width: int, shape: str) -> None:
    """A "billion laughs" of ``width ** depth`` values written in a few lines: refused when it
    expands past the limit, parsed (or refused for its content) below it, never a hang."""
    layers = ["&l0 [x, x]"]
    for level in range(1, depth):
        refs = ", ".join([f"*l{level - 1}"] * width)
        layers.append(f"&l{level} [{refs}]" if shape == "list" else f"&l{level} {{k: [{refs}]}}")
    text = GOOD_TEXT + f"trial:\n  imbalance_params: {{bomb: [{', '.join(layers)}]}}\n"
    _parses_or_says_one_line(text)


# -- the result-table reader (`leaderboard --from-table`, `report --from-table`) -----------------

COLUMNS = [
    "in_domain_pct",
    "in_domain_size",
    "ood_pct",
    "strategy",
    "imbalance",
    "architecture",
    "accuracy",
    "f1_weighted",
    "dev_f1_weighted",
    "seed",
    "status",
    "wall_seconds",
]
CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.floats(min_value=0, max_value=1).map(lambda x: f"{x:.3f}"),
    st.sampled_from(["", "baseline", "local", "mixed", "none", "finished", "stopped", "NaN", "-", "1e999"]),
    st.text(max_size=8),
)


@st.composite
def result_tables(draw: st.DrawFn) -> tuple[str, bytes]:
    """A result table file: a CSV of known and odd columns, short, long and ragged rows, in
    several encodings, sometimes compressed, sometimes not a table at all."""
    suffix = draw(st.sampled_from([".csv", ".csv", ".csv", ".parquet", ".tsv"]))
    if draw(st.integers(0, 9)) == 0:
        return suffix, draw(st.binary(max_size=200))
    header = draw(st.lists(st.one_of(st.sampled_from(COLUMNS), st.text(max_size=6)), min_size=1, max_size=7))
    if draw(st.booleans()):
        header = [*dict.fromkeys(["in_domain_pct", "strategy", "accuracy", *header])]
    rows = draw(
        st.lists(
            st.lists(CELLS, min_size=max(0, len(header) - 2), max_size=len(header) + 2),
            min_size=0,
            max_size=8,
        )
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    text = buffer.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:
        data = gzip.compress(data)
    return suffix, data


@FUZZ
@given(result_tables(), st.sampled_from([[], ["--json"], ["--size", "0.1"], ["--metric", "f1_weighted"]]))
def test_a_result_table_ranks_or_is_one_error_line(table: tuple[str, bytes], options: list[str]) -> None:
    suffix, data = table
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"table{suffix}"
        path.write_bytes(data)
        out, err = io.StringIO(), io.StringIO()
        with time_limit(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(["leaderboard", "--from-table", str(path), *options])
            except SystemExit as exit_:  # argparse's usage errors
                code = int(exit_.code or 0)
        said = [line for line in err.getvalue().splitlines() if line.strip()]
        if code != 0:
            assert code in (1, 2), code
            assert len(said) == 1 and said[0].startswith("resweep"), err.getvalue()
        assert "Traceback" not in err.getvalue()
