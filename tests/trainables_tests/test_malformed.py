"""Malformed input: each case names the file, the line or record, and the problem; the CLI exits
non-zero; and no cache entry is written for a file with problems."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search.cli import main
from trainables.data.datasets import load_dataset
from trainables.data.errors import DataError

GOOD_SEMEVAL = '1\t"The <e1>author</e1> uses a <e2>tool</e2>."\nInstrument-Agency(e2,e1)\nComment:\n\n'


def _semeval(*sentences: tuple[str, str, str]) -> str:
    return "".join(f'{i}\t"{s}"\n{label}\nComment:\n\n' for i, s, label in sentences)


# name -> (file name, content as bytes, expected location, expected problem)
CASES: dict[str, tuple[str, bytes, str, str]] = {
    "missing marker": (
        "train.txt",
        (GOOD_SEMEVAL + _semeval(("2", "A <e1>cat</e1> sat on a mat.", "Other"))).encode(),
        "train.txt:5: record '2'",
        "missing entity marker <e2>",
    ),
    "unbalanced markers": (
        "train.txt",
        (GOOD_SEMEVAL + _semeval(("7", "A <e1>cat sat on <e2>a mat</e2>.", "Other"))).encode(),
        "train.txt:5: record '7'",
        "marker <e2> opens inside the unclosed <e1>",
    ),
    "span outside the sentence": (
        "train.jsonl",
        (
            json.dumps(
                {"id": "a", "tokens": ["Ann", "runs", "ACME"], "head": [0, 1], "tail": [2, 3], "label": "x"}
            )
            + "\n"
            + json.dumps({"id": "b", "tokens": ["Ann", "runs"], "head": [0, 1], "tail": [2, 4], "label": "x"})
            + "\n"
        ).encode(),
        "train.jsonl:2: record 'b'",
        "tail span [2, 4) is outside the sentence (2 tokens)",
    ),
    "overlapping head and tail": (
        "train.json",
        json.dumps(
            [
                {
                    "id": "o1",
                    "token": ["New", "York", "City", "Hall"],
                    "subj_start": 0,
                    "subj_end": 2,
                    "obj_start": 2,
                    "obj_end": 3,
                    "relation": "located_in",
                },
            ]
        ).encode(),
        "train.json: record 'o1'",
        "head span [0, 3) and tail span [2, 4) overlap",
    ),
    "empty file": ("train.txt", b"  \n\n", "train.txt", "file is empty"),
    "duplicate ids": (
        "train.txt",
        (GOOD_SEMEVAL + GOOD_SEMEVAL).encode(),
        "train.txt:5: record '1'",
        "duplicate id '1' (first on line 1)",
    ),
    "wrong encoding": (
        "train.txt",
        (GOOD_SEMEVAL + _semeval(("2", "The <e1>café</e1> sells <e2>tea</e2>.", "Other"))).encode("latin-1"),
        "train.txt:5",
        "not valid UTF-8 (byte 0xe9 at column 15)",
    ),
    "truncated JSON document": (
        "train.json",
        b'[{"id": "t1", "token": ["a", "b"], "subj_start": 0, "subj_end": 0,\n "obj_start": 1, "obj_e',
        "train.json:2",
        "JSON ends early (truncated file?)",
    ),
    "truncated JSON line": (
        "train.jsonl",
        b'{"id": "a", "tokens": ["A", "b"], "head": [0, 1], "tail": [1, 2], "label": "x"}\n{"id": "b", "tok',
        "train.jsonl:2",
        "JSON ends early (truncated line?)",
    ),
    "missing label line": (
        "train.txt",
        b'1\t"The <e1>a</e1> b <e2>c</e2>."\n\n2\t"The <e1>a</e1> b <e2>c</e2>."\nOther\n\n',
        "train.txt:1: record '1'",
        "missing the label line",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_problem_is_located_and_nothing_is_cached(case: str, tmp_path: Path, _isolated_cache: Path) -> None:
    name, content, location, problem = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as raised:
        load_dataset(path)
    message = str(raised.value)
    assert f"{tmp_path}/{location}" in message
    assert problem in message
    assert not list(_isolated_cache.rglob("*.parquet")), "a file with problems must not be cached"
    assert not list(_isolated_cache.rglob("*.tmp"))


@pytest.mark.parametrize("case", CASES)
def test_cli_validate_reports_the_problem_and_exits_non_zero(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, content, location, problem = CASES[case]
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["data", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path}/{location}" in err and problem in err


def test_unknown_label_in_a_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "train.txt").write_text(GOOD_SEMEVAL)
    (tmp_path / "test.txt").write_text(_semeval(("9", "A <e1>cat</e1> on a <e2>mat</e2>.", "Cat-Mat(e1,e2)")))
    with pytest.raises(
        DataError,
        match=r"test\.txt: record '9': label 'Cat-Mat\(e1,e2\)' in the test split "
        r"does not occur in train",
    ):
        load_dataset(tmp_path)
    assert main(["data", "info", str(tmp_path)]) == 1
    assert "does not occur in train" in capsys.readouterr().err

    # A declared label set makes it legal, and catches labels outside the set in any split.
    labels = tmp_path / "labels.txt"
    labels.write_text("Instrument-Agency(e2,e1)\nCat-Mat(e1,e2)\n")
    assert main(["data", "validate", str(tmp_path), "--labels", str(labels)]) == 0
    labels.write_text("Cat-Mat(e1,e2)\n")
    assert main(["data", "validate", str(tmp_path), "--labels", str(labels)]) == 1
    assert "does not occur in the declared label set" in capsys.readouterr().err


def test_validate_lists_every_problem_not_only_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "train.txt"
    path.write_text(
        _semeval(
            ("1", "A <e1>b</e1> c", "X"), ("2", "ok <e1>b</e1> <e2>c</e2>", "X"), ("3", "<e2>b</e2> c", "X")
        )
    )
    assert main(["data", "validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert (
        "train.txt:1: record '1'" in err and "train.txt:9: record '3'" in err and "2 problem(s) found" in err
    )


def test_skip_policy_leaves_bad_records_out_and_reports_them(tmp_path: Path) -> None:
    path = tmp_path / "train.txt"
    path.write_text(GOOD_SEMEVAL + _semeval(("2", "A <e1></e1> c <e2>d</e2>", "X")))
    dataset = load_dataset(path, on_invalid="skip")
    assert dataset["train"].num_rows == 1
    assert dataset.skipped["train"] == [f"{path}:5: record '2': entity <e1></e1> is empty"]
    # The strict default still refuses the same file, even though a skip-parse is cached.
    with pytest.raises(DataError, match="is empty"):
        load_dataset(path)


def test_unknown_format_and_missing_path_are_clear(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "notes.txt"
    odd.write_text("just some prose\n")
    assert main(["data", "info", str(odd)]) == 1
    assert "cannot tell the format; pass --format" in capsys.readouterr().err
    assert main(["data", "info", str(tmp_path / "absent.txt")]) == 1
    assert "no such file or folder, and not a dataset name" in capsys.readouterr().err
