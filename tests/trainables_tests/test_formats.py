"""Every registered format parses its fixture into the record schema; detection; the parse cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trainables.data.datasets import load_dataset
from trainables.data.formats import FORMATS, detect_format
from trainables.data.inline import MarkerError, parse_marked_text
from trainables.data.loading import parse_file
from trainables.data.records import RECORD_SCHEMA, Record, records_to_table, table_to_records


def _parquet_fixture(tmp_path: Path) -> Path:
    records = [
        Record("p1", ("Ann", "founded", "ACME"), 0, 1, 2, 3, "founded", "x", "train", "PERSON", "ORG"),
        Record("p2", ("Bob", "left", "Oslo"), 0, 1, 2, 3, "no_relation", "x", "train"),
        Record("p3", ("Cy", "founded", "Zeta"), 0, 1, 2, 3, "founded", "x", "test"),
    ]
    path = tmp_path / "records.parquet"
    pq.write_table(records_to_table(records), path)
    return path


def fixture_for(name: str, fixtures: Path, tmp_path: Path) -> Path:
    files = {
        "semeval": fixtures / "semeval_train.txt",
        "tacred": fixtures / "tacred.json",
        "fewrel": fixtures / "fewrel.json",
        "jsonl": fixtures / "records.jsonl",
    }
    return _parquet_fixture(tmp_path) if name == "parquet" else files[name]


@pytest.mark.parametrize("name", FORMATS.names())
def test_every_format_parses_its_fixture_and_is_detected(name: str, fixtures: Path, tmp_path: Path) -> None:
    path = fixture_for(name, fixtures, tmp_path)
    table = parse_file(path, name, dataset="d", split="train")
    assert table.schema.equals(RECORD_SCHEMA, check_metadata=False)
    assert table.num_rows >= 2
    for record in table_to_records(table):
        assert 0 <= record.head_start < record.head_end <= len(record.tokens)
        assert 0 <= record.tail_start < record.tail_end <= len(record.tokens)
        assert record.label
    assert detect_format(path) == name


def test_semeval_spans_labels_and_crlf(fixtures: Path) -> None:
    records = table_to_records(
        parse_file(fixtures / "semeval_train.txt", "semeval", dataset="d", split="train")
    )
    first = records[0]
    assert first.id == "1"
    assert first.head_text == "author" and first.tail_text == "disassembler"
    assert first.label == "Instrument-Agency(e2,e1)"
    assert first.tokens[-1] == "." and "<e1>" not in first.tokens
    assert "Karen's" in records[1].tokens  # apostrophes stay inside words
    assert [r.label for r in records] == [
        "Instrument-Agency(e2,e1)",
        "Entity-Destination(e2,e1)",
        "Product-Producer(e2,e1)",
        "Other",
    ]


def test_semeval_lf_and_crlf_give_the_same_records(fixtures: Path, tmp_path: Path) -> None:
    lf = tmp_path / "lf.txt"
    lf.write_bytes((fixtures / "semeval_train.txt").read_bytes().replace(b"\r\n", b"\n"))
    crlf = parse_file(fixtures / "semeval_train.txt", "semeval", dataset="d", split="train")
    assert parse_file(lf, "semeval", dataset="d", split="train").equals(crlf)


def test_tacred_inclusive_spans_types_and_ptb_brackets(fixtures: Path) -> None:
    first, second = table_to_records(
        parse_file(fixtures / "tacred.json", "tacred", dataset="d", split="train")
    )
    assert first.tokens[:5] == ("Tom", "Smith", "(", "ACME", ")")
    assert (first.head_text, first.tail_text) == ("Tom Smith", "ACME")
    assert (first.head_type, first.tail_type) == ("PERSON", "ORGANIZATION")
    assert first.label == "per:employee_of"
    assert (second.head_text, second.tail_text) == ("Ann", "ACME")  # subject after object


def test_fewrel_relation_keys_become_labels(fixtures: Path) -> None:
    records = table_to_records(parse_file(fixtures / "fewrel.json", "fewrel", dataset="d", split="train"))
    assert [r.label for r in records] == ["P26", "P26", "P40"]
    assert (records[0].head_text, records[0].tail_text) == ("Ann Lee", "Bob Ray")
    assert (records[2].head_text, records[2].tail_text) == ("Dora", "Carl")
    assert len({r.id for r in records}) == 3


def test_jsonl_accepts_all_three_shapes(fixtures: Path) -> None:
    records = table_to_records(parse_file(fixtures / "records.jsonl", "jsonl", dataset="d", split="dev"))
    texts = [(r.head_text, r.tail_text, r.label) for r in records]
    assert texts == [
        ("Ann", "ACME", "works_for"),
        ("ACME", "Oslo", "based_in"),
        ("Bob", "Carl", "no_relation"),
        ("enzyme", "the receptor", "binds"),
    ]
    assert records[0].head_type == "PERSON" and records[1].head_type == "ORG" and records[1].tail_type is None
    assert records[1].id == "dev-2"  # no id: split and line
    assert all(r.split == "dev" for r in records)


def test_parquet_with_a_split_column_yields_several_splits(tmp_path: Path) -> None:
    dataset = load_dataset(_parquet_fixture(tmp_path))
    assert {split: t.num_rows for split, t in dataset.splits.items()} == {"train": 2, "test": 1}
    assert dataset.negative_labels == frozenset({"no_relation"})


def test_parquet_text_with_inline_markers(tmp_path: Path) -> None:
    path = tmp_path / "text.parquet"
    pq.write_table(pa.table({"text": ["<e1>Ann</e1> runs <e2>ACME</e2> ."], "label": ["leads"]}), path)
    (record,) = table_to_records(parse_file(path, dataset="d", split="train"))
    assert (record.head_text, record.tail_text, record.label) == ("Ann", "ACME", "leads")


def test_scibert_markers_that_also_occur_as_text() -> None:
    parsed = parse_marked_text("<< Ang II >>-induced rise ; [[ valsartan ]] , STA2>>17 and a >> b >> c")
    assert parsed.tokens[parsed.head[0] : parsed.head[1]] == ("valsartan",)
    assert parsed.tokens[parsed.tail[0] : parsed.tail[1]] == ("Ang", "II")
    assert ">" in parsed.tokens  # the literal ">>" after both entities closed is text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<e1>a</e1> b c", "missing entity marker <e2>"),
        ("<e1>a b <e2>c</e2>", "opens inside the unclosed <e1>"),
        ("<e1>a</e1> </e2>b<e2>", "comes before its <e2>"),
        ("<e1>a</e1> <e1>b</e1> <e2>c</e2>", "occurs more than once"),
        ("<e1></e1> <e2>c</e2>", "is empty"),
        ("<e1>a</e1> <e2>c", "never closed"),
        ("no markers here", "no entity markers"),
    ],
)
def test_marker_problems_are_named(text: str, problem: str) -> None:
    with pytest.raises(MarkerError, match=problem):
        parse_marked_text(text)


def test_second_load_reads_the_cache_and_a_changed_file_is_parsed_again(
    fixtures: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_cache: Path
) -> None:
    path = tmp_path / "train.txt"
    shutil.copy(fixtures / "semeval_train.txt", path)
    calls = []
    semeval = FORMATS.get("semeval")
    original = semeval.parse

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(semeval, "parse", counting)
    first = parse_file(path, "semeval", dataset="d", split="train")
    second = parse_file(path, "semeval", dataset="d", split="train")
    assert len(calls) == 1 and first.equals(second)
    assert len(list((_isolated_cache / "parsed").glob("*.parquet"))) == 1

    path.write_bytes(path.read_bytes().replace(b"author", b"writer"))
    changed = table_to_records(parse_file(path, "semeval", dataset="d", split="train"))
    assert len(calls) == 2 and changed[0].head_text == "writer"
    assert not list((_isolated_cache / "parsed").glob(".*tmp"))  # no temporary files left


def test_folder_of_split_files(fixtures: Path, tmp_path: Path) -> None:
    shutil.copy(fixtures / "semeval_train.txt", tmp_path / "train.txt")
    shutil.copy(fixtures / "semeval_test.txt", tmp_path / "test.txt")
    dataset = load_dataset(tmp_path)
    assert {s: t.num_rows for s, t in dataset.splits.items()} == {"train": 4, "test": 2}
    assert dataset.negative_labels == frozenset({"Other"})
    assert dataset.files["test"].endswith("test.txt")


TACRED_OK = {
    "id": "a",
    "token": ["Ann", "works", "for", "ACME"],
    "subj_start": 0,
    "subj_end": 0,
    "obj_start": 3,
    "obj_end": 3,
    "relation": "per:employee_of",
}


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("subj_start", "0", "span offsets must be integers, got subj_start='0'"),
        ("subj_end", 0.5, "span offsets must be integers, got subj_end=0.5"),
        ("obj_end", True, "span offsets must be integers, got obj_end=True"),
        ("relation", None, "`relation` must be a label (text), got None"),
        ("relation", 3, "`relation` must be a label (text), got 3"),
        ("relation", " ", "`relation` must be a label (text), got ' '"),
    ],
)
def test_tacred_takes_no_offset_or_label_it_would_have_to_guess(
    tmp_path: Path, key: str, value: object, says: str
) -> None:
    import json

    from trainables.data.errors import DataError

    path = tmp_path / "train.json"
    path.write_text(json.dumps([{**TACRED_OK, key: value}]))
    with pytest.raises(DataError) as caught:
        parse_file(path, "tacred", dataset="d", split="train")
    assert str(caught.value) == f"{path}: record 'a': {says}"


def test_fewrel_token_positions_are_integers(tmp_path: Path) -> None:
    import json

    from trainables.data.errors import DataError

    example = {
        "tokens": ["Ann", "works", "for", "ACME"],
        "h": ["Ann", "Q1", [["0"]]],
        "t": ["ACME", "Q2", [[3]]],
    }
    path = tmp_path / "train.json"
    path.write_text(json.dumps({"P108": [example]}))
    with pytest.raises(DataError, match=r"`h` token positions must be integers, got \['0'\]"):
        parse_file(path, "fewrel", dataset="d", split="train")


@pytest.mark.parametrize(
    ("label", "expected"),
    [(3, "3"), ("works_for", "works_for"), (0.5, None), (True, None), ([1], None), ({"a": 1}, None)],
)
def test_jsonl_labels_are_text_or_integer_ids(tmp_path: Path, label: object, expected: str | None) -> None:
    import json

    from trainables.data.errors import DataError

    path = tmp_path / "train.jsonl"
    path.write_text(
        json.dumps({"id": "r1", "tokens": ["A", "x", "B"], "head": [0, 1], "tail": [2, 3], "label": label})
    )
    if expected is None:
        with pytest.raises(DataError, match="`label` must be a label \\(text, or an integer class id\\)"):
            parse_file(path, "jsonl", dataset="d", split="train", cache=False)
    else:
        (record,) = table_to_records(parse_file(path, "jsonl", dataset="d", split="train", cache=False))
        assert record.label == expected
