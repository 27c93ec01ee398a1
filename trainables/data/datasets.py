"""Named datasets, loading a dataset by name or path, and downloading public copies.

A named dataset (:data:`DATASETS`) knows its format, its files per split (paths relative to the
dataset's root folder), its negative label(s), and where a public copy exists, a URL and sha256
per file. Its root is, in order: an explicit ``root``; ``$RESWEEP_DATA_DIR/<name>``; the
download folder ``<cache dir>/datasets/<name>`` that ``resweep data fetch`` fills.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ..inputs import not_a_file
from ..registry import Registry
from .errors import DataError, Problem
from .formats import detect_format
from .formats._base import normalise_split
from .loading import cache_dir, parse_file, skipped_problems
from .records import RECORD_SCHEMA, SPLITS, Record, records_to_table

__all__ = [
    "DATASETS",
    "DEFAULT_NEGATIVE_LABELS",
    "DatasetSpec",
    "RelationDataset",
    "load_dataset",
    "validate_dataset",
]

# Labels that mean "no relation" in the common datasets; metrics exclude them.
DEFAULT_NEGATIVE_LABELS = frozenset({"Other", "no_relation", "None", "NA", "N/A", "no relation", "NOTA"})

# Public copies: files at fixed commits of the repositories that distribute them (see each
# dataset's SOURCE notes in docs/guides/data.md); sha256 of the exact bytes.
_RAW = "https://raw.githubusercontent.com"
_FEWREL_COMMIT = "278a2315d2138810a379cd8d5718914dc56e2582"
_SCIBERT_COMMIT = "06793f77d7278898159ed50da30d173cdc8fdea9"


@dataclass(frozen=True)
class RemoteFile:
    url: str
    sha256: str


@dataclass(frozen=True)
class DatasetSpec:
    """What resweep knows about a named dataset."""

    name: str
    format: str
    description: str
    files: Mapping[str, str] = field(default_factory=dict)  # split -> path relative to the root
    negative_labels: frozenset[str] = frozenset()
    remote: Mapping[str, RemoteFile] = field(default_factory=dict)  # relative path -> public copy
    license: str = ""
    # "skip" for public releases with known bad records (they are reported, never silently dropped).
    on_invalid: str = "error"
    # For generated datasets: seed -> split -> records. Such a dataset has no files.
    generator: Callable[[int], Mapping[str, list[Record]]] | None = None


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def _github(repo: str, commit: str, *files: tuple[str, str, str, str]) -> dict[str, Any]:
    """``files``: (split, path under the dataset root, path in the repository, sha256) each."""
    return {
        "files": {split: local for split, local, _, _ in files},
        "remote": {
            local: RemoteFile(f"{_RAW}/{repo}/{commit}/{in_repo}", sha256)
            for _, local, in_repo, sha256 in files
        },
    }


def _synthetic(dataset: str) -> Callable[[int], Mapping[str, list[Record]]]:
    def generate(seed: int) -> Mapping[str, list[Record]]:
        from . import synthetic  # generated on demand: most commands never need it

        return synthetic.generate(dataset, seed=seed)

    return generate


_SEMEVAL_RELEASE = "SemEval2010_task8_all_data"
_CHEMPROT = "data/text_classification/chemprot"
_SCIERC = "data/text_classification/sciie-relation-extraction"

for _spec in (
    DatasetSpec(
        "semeval2010_task8",
        "semeval",
        "SemEval-2010 Task 8: 9 directed relations between nominals + Other (19 labels)",
        negative_labels=frozenset({"Other"}),
        license="CC BY 3.0",
        **_github(
            "SeoSangwoo/Attention-Based-BiLSTM-relation-extraction",
            "02c0000c5aebd9e5de8cc360d2ef45bdb7c29030",
            *(
                (split, path, path, sha256)
                for split, path, sha256 in (
                    (
                        "train",
                        f"{_SEMEVAL_RELEASE}/SemEval2010_task8_training/TRAIN_FILE.TXT",
                        "c22fee88957d245a4b1650c6743eb8c594dcdeffc6a2aa1fa6cced059eebf0e3",
                    ),
                    (
                        "test",
                        f"{_SEMEVAL_RELEASE}/SemEval2010_task8_testing_keys/TEST_FILE_FULL.TXT",
                        "9ec7a35d5582b4da0fb72aa55a6121bc414ade573459e1dcf68bf189f8c18ae8",
                    ),
                )
            ),
        ),
    ),
    DatasetSpec(
        "fewrel_wiki",
        "fewrel",
        "FewRel 1.0 validation set: 16 Wikidata relations x 700 (Wikipedia); one split",
        license="MIT (thunlp/FewRel)",
        **_github(
            "thunlp/FewRel",
            _FEWREL_COMMIT,
            (
                "train",
                "val_wiki.json",
                "data/val_wiki.json",
                "76bb44c2485b6faed358a3ce040eadafcc8a8835245cd7e6afc1bef672d4a0bf",
            ),
        ),
    ),
    DatasetSpec(
        "fewrel_pubmed",
        "fewrel",
        "FewRel 2.0 domain-adaptation set: 10 UMLS relations x 100 (PubMed); one split",
        license="MIT (thunlp/FewRel)",
        **_github(
            "thunlp/FewRel",
            _FEWREL_COMMIT,
            (
                "train",
                "val_pubmed.json",
                "data/val_pubmed.json",
                "fc0f13b534f6664fe0d8aec231d7590313bc6510d00dbc1b6746147f6a2b46e6",
            ),
        ),
    ),
    DatasetSpec(
        "kbp37",
        "semeval",
        "KBP37: 18 person/organisation relations x 2 directions + no_relation "
        "(the release has 146 records with an empty entity; they are skipped and reported)",
        negative_labels=frozenset({"no_relation"}),
        license="none stated; research use",
        on_invalid="skip",
        **_github(
            "zhangdongxu/kbp37",
            "7d88486ad632a9c6e9fe6adbc2468049e89bc11d",
            (
                "train",
                "original/train.txt",
                "train.txt",
                "75e12365f6e769f3cd9b186fe6632d4d4c03e0890e3baa683c115dce1f8b2d45",
            ),
            (
                "dev",
                "original/dev.txt",
                "dev.txt",
                "7768ed8e4cc79485ad90491726a4e4a6fe6da7d25787873fd5b5c87d5bbebe68",
            ),
            (
                "test",
                "original/test.txt",
                "test.txt",
                "e668a2127666d7c46a4519cee9c047b28ad993741eb1c925e5021b3c82b9f664",
            ),
        ),
    ),
    DatasetSpec(
        "chemprot",
        "jsonl",
        "ChemProt (BioCreative VI), SciBERT version: 13 chemical-protein relations, no negative class",
        license="research use (BioCreative VI)",
        **_github(
            "allenai/scibert",
            _SCIBERT_COMMIT,
            (
                "train",
                "scibert/train.txt",
                f"{_CHEMPROT}/train.txt",
                "ab17b85c4fb869b2338d7c9617414e63f3c7225e5005920b18d9cd996f1049d8",
            ),
            (
                "dev",
                "scibert/dev.txt",
                f"{_CHEMPROT}/dev.txt",
                "bfe8f39e5146ad4bb16b23707dade850546a305047bc666f6f6824c6a7e3df2f",
            ),
            (
                "test",
                "scibert/test.txt",
                f"{_CHEMPROT}/test.txt",
                "372249c85ffea6d9a18dc5168cf45841b3d79b03412d6c620381cfc0dd3d6d49",
            ),
        ),
    ),
    DatasetSpec(
        "scierc",
        "jsonl",
        "SciERC relations, SciBERT version: 7 relations between scientific terms, no negative class",
        license="Apache-2.0 (allenai/scibert repo)",
        **_github(
            "allenai/scibert",
            _SCIBERT_COMMIT,
            (
                "train",
                "train.txt",
                f"{_SCIERC}/train.txt",
                "83d395d97de2c02dcb4898af3c6e34b5f5aa19771298fbc9f69ae435fa1258fb",
            ),
            (
                "dev",
                "dev.txt",
                f"{_SCIERC}/dev.txt",
                "9500a8e561f1ce50d972b8473525fe24ebae732bde653c381a4c65945965567a",
            ),
            (
                "test",
                "test.txt",
                f"{_SCIERC}/test.txt",
                "be4c06d2b8903783818a5e4cba08c71b954a86f00021907706f66ac3e26c58bd",
            ),
        ),
    ),
    DatasetSpec(
        "synthetic",
        "generated",
        "SYNTHETIC biographies corpus (in-domain part of the built-in two-domain corpus)",
        negative_labels=frozenset({"no_relation"}),
        license="generated",
        generator=_synthetic("synthetic"),
    ),
    DatasetSpec(
        "synthetic_ood",
        "generated",
        "SYNTHETIC commerce/science corpus (out-of-domain part of the built-in two-domain corpus)",
        negative_labels=frozenset({"no_relation"}),
        license="generated",
        generator=_synthetic("synthetic_ood"),
    ),
):
    DATASETS.register(_spec.name, _spec)


@dataclass
class RelationDataset:
    """A loaded dataset: one record table per split present, plus what metrics need to know."""

    name: str
    splits: dict[str, pa.Table]
    negative_labels: frozenset[str]
    source: str  # the folder or file it came from, or "generated"
    files: dict[str, str] = field(default_factory=dict)  # split -> file
    skipped: dict[str, list[str]] = field(default_factory=dict)  # split -> problems of left-out records

    def __post_init__(self) -> None:
        for split, table in self.splits.items():
            if table.schema != RECORD_SCHEMA:
                self.splits[split] = table.cast(RECORD_SCHEMA)

    def __getitem__(self, split: str) -> pa.Table:
        try:
            return self.splits[split]
        except KeyError:
            raise KeyError(
                f"dataset {self.name!r} has no {split!r} split (has: {', '.join(self.splits)})"
            ) from None

    @cached_property
    def labels(self) -> list[str]:
        """All labels of all splits, sorted."""
        found: set[str] = set()
        for table in self.splits.values():
            found.update(pc.unique(table["label"]).to_pylist())
        return sorted(found)

    def label_counts(self, split: str) -> dict[str, int]:
        counts = pc.value_counts(self[split]["label"]).to_pylist()
        return dict(sorted(((c["values"], c["counts"]) for c in counts), key=lambda kv: (-kv[1], kv[0])))

    def __len__(self) -> int:
        return sum(table.num_rows for table in self.splits.values())


def _data_root(spec: DatasetSpec, root: str | Path | None) -> Path:
    if root is not None:
        return Path(root)
    if os.environ.get("RESWEEP_DATA_DIR"):
        candidate = Path(os.environ["RESWEEP_DATA_DIR"]) / spec.name
        if candidate.is_dir():
            return candidate
    return cache_dir() / "datasets" / spec.name


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _match_registered_layout(folder: Path) -> DatasetSpec | None:
    """The named dataset whose files ``folder`` holds, if any.

    A layout of plain ``train.txt``/``dev.txt``/``test.txt`` says little, so it counts only when the
    folder carries the dataset's name or the files are the public copy (same checksums). A folder
    holding several datasets' files (FewRel's) must be named.
    """
    matches = []
    for name in DATASETS:
        spec = DATASETS.get(name)
        if not spec.files or not all((folder / path).is_file() for path in spec.files.values()):
            continue
        distinctive = any(
            "/" in path or normalise_split(Path(path).stem) is None for path in spec.files.values()
        )
        if (
            distinctive
            or folder.name == spec.name
            or (
                spec.remote
                and all(_file_sha256(folder / path) == remote.sha256 for path, remote in spec.remote.items())
            )
        ):
            matches.append(spec)
    if len(matches) > 1:
        names = ", ".join(spec.name for spec in matches)
        raise DataError.at(
            folder, f"holds the files of several datasets ({names}); pass the name with --root FOLDER"
        )
    return matches[0] if matches else None


def _split_files_in(folder: Path) -> dict[str, Path]:
    """``train.*``, ``dev.*``/``val*.*``, ``test.*`` files directly in ``folder``."""
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        split = normalise_split(path.stem.split(".")[0].split("_")[0]) if path.is_file() else None
        if split is None:
            continue
        if split in found:
            raise DataError.at(folder, f"two files for split {split!r}: {found[split].name} and {path.name}")
        found[split] = path
    return found


def _split_from_file_name(path: Path) -> str:
    """``dev_wiki.json`` -> dev, ``TEST_FILE_FULL.TXT`` -> test, anything else -> train."""
    parts = path.name.split(".")[0].lower().replace("-", "_").split("_")
    return next((s for s in map(normalise_split, parts) if s is not None), "train")


def _check_label_sets(dataset: RelationDataset, declared: frozenset[str] | None) -> None:
    """Labels of dev/test must occur in train (or in the declared label set)."""
    if "train" not in dataset.splits and declared is None:
        return
    allowed = declared if declared is not None else set(dataset.label_counts("train"))
    where = "the declared label set" if declared is not None else "train"
    problems = []
    for split, table in dataset.splits.items():
        if declared is None and split == "train":
            continue
        unknown = sorted(set(pc.unique(table["label"]).to_pylist()) - set(allowed))
        for label in unknown:
            index = pc.index(table["label"], label).as_py()
            problems.append(
                Problem(
                    dataset.files.get(split, dataset.source),
                    f"label {label!r} in the {split} split does not occur in {where}",
                    record=table["id"][index].as_py(),
                )
            )
    if problems:
        raise DataError(problems)


def _check_unique_ids(dataset: RelationDataset) -> None:
    seen: dict[str, str] = {}
    for split, table in dataset.splits.items():
        for record_id in table["id"].to_pylist():
            if record_id in seen:
                raise DataError.at(
                    dataset.files.get(split, dataset.source),
                    f"duplicate id {record_id!r}: also in the {seen[record_id]} split",
                    record=record_id,
                )
            seen[record_id] = split


@dataclass(frozen=True)
class _Source:
    """Where a dataset's records come from, resolved from a name or path."""

    name: str
    location: str  # folder or file, or "generated"
    files: Mapping[str, Path]  # split -> file; empty for generated datasets
    format: str | None
    negative_labels: frozenset[str] | None  # None: guess from the labels
    on_invalid: str
    spec: DatasetSpec | None


def _resolve(
    name_or_path: str | Path, *, format: str | None, root: str | Path | None, split: str | None
) -> _Source:
    path = Path(name_or_path)
    spec: DatasetSpec | None = None
    if isinstance(name_or_path, str) and name_or_path in DATASETS and not path.exists():
        spec = DATASETS.get(name_or_path)
    elif path.is_dir():
        spec = _match_registered_layout(path)
        root = path if spec is not None else root
    elif not path.exists():
        names = ", ".join(DATASETS.names())
        raise DataError.at(path, f"no such file or folder, and not a dataset name (names: {names})")
    elif not_a_file(path) is not None:  # a FIFO, a device: reading would hang or never end
        raise DataError.at(path, str(not_a_file(path)))

    if spec is not None and spec.generator is not None:
        return _Source(spec.name, "generated", {}, None, spec.negative_labels, "error", spec)
    if spec is not None:
        folder = _data_root(spec, root)
        missing = [p for p in spec.files.values() if not (folder / p).is_file()]
        if missing:
            raise DataError.at(
                folder / missing[0],
                f"dataset {spec.name!r} is not here; run `resweep data fetch {spec.name}` "
                "or pass its folder (--root, or $RESWEEP_DATA_DIR)",
            )
        files = {s: folder / p for s, p in spec.files.items()}
        return _Source(
            spec.name, str(folder), files, format or spec.format, spec.negative_labels, spec.on_invalid, spec
        )
    if path.is_dir():
        files = _split_files_in(path)
        if not files:
            for entry in sorted(path.iterdir()):  # train.jsonl a folder, a link loop, a FIFO: say so
                split = normalise_split(entry.stem.split(".")[0].split("_")[0])
                if split is not None and not_a_file(entry) is not None:
                    raise DataError.at(entry, f"{not_a_file(entry)}; the {split} split must be a file")
            raise DataError.at(path, "no train/dev/test files in this folder and not a known dataset layout")
    else:
        given = normalise_split(split) if split else None
        if split and given is None:
            raise DataError.at(path, f"unknown split {split!r} (use train, dev or test)")
        files = {given or _split_from_file_name(path): path}
    name = path.stem if path.is_file() else path.name
    return _Source(name, str(path), files, format, None, "error", None)


def load_dataset(
    name_or_path: str | Path,
    *,
    format: str | None = None,
    root: str | Path | None = None,
    split: str | None = None,
    labels: frozenset[str] | None = None,
    negative_labels: frozenset[str] | None = None,
    seed: int = 0,
    cache: bool = True,
    on_invalid: str | None = None,
) -> RelationDataset:
    """Load a named dataset, a folder of split files, or one file.

    * a registered name (``resweep data list`` shows them); ``root`` overrides where its files are;
    * a folder: the layout of a registered dataset (e.g. the official SemEval release), or files
      named ``train.*``, ``dev.*``/``val.*``, ``test.*``;
    * a file: its split is ``split``, else guessed from its name, else ``train``.

    ``labels`` declares the label set (unknown labels in any split are errors); without it, dev
    and test labels must occur in train. ``negative_labels`` overrides the dataset's (default for
    a path: whichever of :data:`DEFAULT_NEGATIVE_LABELS` occur). ``seed`` only matters for
    generated datasets. ``on_invalid``: ``"error"`` (the default, though a named dataset with known
    bad records defaults to ``"skip"``) or ``"skip"``: leave bad records out and list them in
    :attr:`RelationDataset.skipped`.
    """
    source = _resolve(name_or_path, format=format, root=root, split=split)
    if source.spec is not None and source.spec.generator is not None:
        generated = source.spec.generator(seed)
        tables = {s: records_to_table(r) for s, r in generated.items()}
        dataset = RelationDataset(source.name, tables, source.spec.negative_labels, source.location)
    else:
        parsed = cache_dir() / "parsed"
        before = set(parsed.glob("*.parquet")) if cache and parsed.is_dir() else set()
        try:
            dataset = _load_files(source, cache, on_invalid or source.on_invalid)
            return _finish(dataset, source, negative_labels, labels)
        except DataError:
            # A dataset with problems leaves nothing cached, not even its files that parsed.
            if cache and parsed.is_dir():
                for entry in set(parsed.glob("*.parquet")) - before:
                    entry.unlink(missing_ok=True)
            raise
    return _finish(dataset, source, negative_labels, labels)


def _finish(
    dataset: RelationDataset,
    source: _Source,
    negative_labels: frozenset[str] | None,
    labels: frozenset[str] | None,
) -> RelationDataset:
    """Negative labels, then the cross-split checks (unique ids, known labels)."""
    if negative_labels is not None:
        dataset.negative_labels = frozenset(negative_labels)
    elif source.negative_labels is None:
        dataset.negative_labels = frozenset(dataset.labels) & DEFAULT_NEGATIVE_LABELS
    _check_unique_ids(dataset)
    _check_label_sets(dataset, labels)
    return dataset


def validate_dataset(
    name_or_path: str | Path,
    *,
    format: str | None = None,
    root: str | Path | None = None,
    split: str | None = None,
    labels: frozenset[str] | None = None,
) -> tuple[RelationDataset | None, list[Problem]]:
    """Every problem of every file (not only the first), then the cross-split checks.

    Returns the dataset (None when a file has problems) and the problems. Nothing is cached.
    """
    source = _resolve(name_or_path, format=format, root=root, split=split)
    if source.spec is not None and source.spec.generator is not None:
        return load_dataset(name_or_path, labels=labels), []
    problems: list[Problem] = []
    dataset = _load_files(source, False, "error", problems)  # each file parsed once, all problems kept
    # The cross-split checks too, on the files that parsed: every problem in one run. (Labels are
    # checked against train only when train parsed, or every dev/test label would be "unknown".)
    try:
        _check_unique_ids(dataset)
    except DataError as err:
        problems.extend(err.problems)
    if "train" in dataset.splits or labels is not None or "train" not in source.files:
        try:
            _check_label_sets(dataset, labels)
        except DataError as err:
            problems.extend(err.problems)
    if problems:
        return None, problems
    return _finish(dataset, source, None, labels), []


def _load_files(
    source: _Source, cache: bool, on_invalid: str, problems: list[Problem] | None = None
) -> RelationDataset:
    """Parse every file of ``source``. With ``problems`` given, a file's problems are collected
    there and the next file is read (validation); otherwise the first bad file raises."""
    tables: dict[str, list[pa.Table]] = {}
    skipped: dict[str, list[str]] = {}
    for split, file in source.files.items():
        try:
            table = parse_file(
                file,
                source.format or detect_format(file),
                dataset=source.name,
                split=split,
                cache=cache,
                on_invalid=on_invalid,
            )
        except DataError as err:
            if problems is None:
                raise
            problems.extend(err.problems)
            continue
        if left_out := skipped_problems(table):
            skipped[split] = left_out
        # A file may carry several splits (a Parquet `split` column); group by what records say.
        for present in pc.unique(table["split"]).to_pylist():
            tables.setdefault(present, []).append(table.filter(pc.equal(table["split"], present)))
    splits = {s: pa.concat_tables(tables[s]) for s in (*SPLITS, *sorted(tables)) if s in tables}
    files = {s: str(f) for s, f in source.files.items()}
    return RelationDataset(
        source.name, splits, source.negative_labels or frozenset(), source.location, files, skipped
    )
