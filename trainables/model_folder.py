"""The model folder: a trained recipe, self-describing, that loads without unpickling anything.

What :func:`save_model_folder` writes (see docs/guides/models.md):

* ``resweep_model.json`` — the architecture, the full trial config, the label list (negative
  labels marked, OOD-only labels apart), marker style and max length, the final scores and the
  leaderboard evidence behind the choice;
* ``model.safetensors`` — the trained model's weights (safetensors: tensors only, no code);
* what the architecture needs to read new records (:meth:`BaseArchitecture.export`): the
  tokenizer and the encoder's config (for ``bert-seqcls`` at the top, so the folder also loads
  with ``AutoModelForSequenceClassification.from_pretrained``), the phase-1 encoder of
  ``two-phase`` (``phase1/``), the vocabulary and idf weights of ``tfidf-linear``
  (``vectorizer.json``);
* ``MODEL_CARD.md`` and ``manifest.json`` (versions, data files and their SHA-256), when given.

The folder is written under a temporary name and renamed: it is complete or absent.
:func:`load_model` refuses a folder holding a pickle (by name or by content) and reads only
JSON, tokenizer files and safetensors. :class:`RelationModel` predicts records, tables, or marked
text (``"<e1>Ann</e1> works for <e2>ACME</e2> ."``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from cluster.storage import atomic_folder

from .architectures import ARCHITECTURES
from .architectures._base import BaseArchitecture
from .checkpoint import save_weights
from .config import TrialSpec
from .data.inline import parse_marked_text
from .data.labels import LabelSpace
from .data.records import Record, records_to_table
from .errors import ResweepError
from .loop import predict

__all__ = [
    "CARD_FILE",
    "MANIFEST_FILE",
    "MODEL_FILE",
    "ModelFolderError",
    "Predictions",
    "RelationModel",
    "load_model",
    "save_model_folder",
]

FORMAT = "resweep-model"
FORMAT_VERSION = 1
MODEL_FILE = "resweep_model.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "MODEL_CARD.md"
MANIFEST_FILE = "manifest.json"
# Files a model folder never holds: pickles, and containers that wrap them (torch.save, joblib).
PICKLE_SUFFIXES = (".pkl", ".pickle", ".pt", ".pth", ".bin", ".ckpt", ".joblib", ".npy", ".npz", ".skops")
CHUNK = 1024  # records encoded and scored at a time: bounded memory, progress for long inputs


class ModelFolderError(ResweepError):
    """A folder that is not a loadable resweep model folder (the message names the file)."""


def _looks_pickled(path: Path) -> bool:
    """A pickle by its first bytes (protocol 2-5 start with 0x80 and the protocol number) or a zip
    container (``torch.save``'s format holds a pickle inside)."""
    with open(path, "rb") as handle:
        head = handle.read(4)
    return (len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5) or head.startswith(b"PK\x03\x04")


def check_no_pickles(folder: Path) -> None:
    """Refuse a folder that holds any file a pickle could hide in."""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix.lower() in PICKLE_SUFFIXES or _looks_pickled(path):
            raise ModelFolderError(
                f"{path}: a pickle file in a model folder; resweep writes none and never loads one "
                "(unpickling runs code): remove it, or train the model again"
            )


@dataclass
class Predictions:
    """Predictions for N records: ``probabilities`` (N, C) over :attr:`labels` (the in-domain
    labels; OOD-only classes are masked out, as in every resweep evaluation)."""

    ids: list[str]
    labels: tuple[str, ...]
    probabilities: np.ndarray  # (N, C) float32, rows sum to 1
    scores: np.ndarray  # (N, C) the model's raw decision scores (logits), in-domain columns

    @property
    def predicted(self) -> list[str]:
        return [self.labels[i] for i in self.probabilities.argmax(axis=1)]

    def top_k(self, k: int) -> list[list[tuple[str, float]]]:
        """Per record, the ``k`` most probable labels with their probabilities, best first."""
        order = np.argsort(-self.probabilities, axis=1, kind="stable")[:, :k]
        return [
            [(self.labels[j], float(self.probabilities[i, j])) for j in row] for i, row in enumerate(order)
        ]

    def rows(self, k: int = 3) -> list[dict[str, Any]]:
        """``{"id", "label", "score", "top_k": [{"label", "score"}, ...]}`` per record (``top_k``
        holds at most as many alternatives as there are labels)."""
        tops = self.top_k(min(k, len(self.labels)))
        return [
            {
                "id": record_id,
                "label": top[0][0],
                "score": top[0][1],
                "top_k": [{"label": label, "score": score} for label, score in top],
            }
            for record_id, top in zip(self.ids, tops, strict=True)
        ]


class RelationModel:
    """A trained architecture, ready to read new records (see the module docstring)."""

    def __init__(
        self,
        architecture: BaseArchitecture,
        info: Mapping[str, Any],
        *,
        device: torch.device | None = None,
        folder: Path | None = None,
    ):
        self.architecture = architecture
        self.info = dict(info)
        self.folder = folder
        self.device = device or torch.device("cpu")
        architecture.model.to(self.device).eval()

    @property
    def spec(self) -> TrialSpec:
        return self.architecture.spec

    @property
    def label_space(self) -> LabelSpace:
        return self.architecture.label_space

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels predictions can take (the in-domain ones)."""
        return self.label_space.in_domain

    def as_table(self, items: pa.Table | Iterable[Record | str]) -> pa.Table:
        """A record table from a table, records, or marked texts (ids ``text-1``, ``text-2``...)."""
        if isinstance(items, pa.Table):
            return items
        records = []
        for number, item in enumerate(items, start=1):
            if isinstance(item, str):
                parsed = parse_marked_text(item)
                item = Record.of_spans(
                    f"text-{number}",
                    parsed.tokens,
                    parsed.head,
                    parsed.tail,
                    "",
                    dataset="input",
                    split="test",
                )
            records.append(item)
        return records_to_table(records)

    def predict(
        self,
        items: pa.Table | Iterable[Record | str],
        *,
        batch_size: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Predictions:
        """Score ``items`` (a record table, records, or marked texts); gold labels are ignored.
        ``progress(n)`` is told after each chunk how many more records are done."""
        table = self.as_table(items)
        loop = self.spec.loop if batch_size is None else replace(self.spec.loop, eval_batch_size=batch_size)
        n_in = len(self.labels)
        # Encoding needs a label per record; the first in-domain one stands in (never read back).
        stand_in = pa.array([self.labels[0]] * table.num_rows, pa.string())
        table = table.set_column(table.schema.get_field_index("label"), "label", stand_in)
        chunks = []
        for start in range(0, table.num_rows, CHUNK):
            part = table.slice(start, CHUNK)
            encoded = self.architecture.encode(part)
            chunks.append(predict(self.architecture, encoded, loop, self.device)[:, :n_in])
            if progress is not None:
                progress(part.num_rows)
        scores = np.concatenate(chunks) if chunks else np.zeros((0, n_in), dtype=np.float32)
        shifted = scores - scores.max(axis=1, keepdims=True) if len(scores) else scores
        exp = np.exp(shifted)
        probabilities = (exp / exp.sum(axis=1, keepdims=True)).astype(np.float32)
        return Predictions(table["id"].to_pylist(), self.labels, probabilities, scores)


def _info(architecture: BaseArchitecture, extra: Mapping[str, Any]) -> dict[str, Any]:
    spec, space = architecture.spec, architecture.label_space
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "architecture": spec.model.architecture,
        "encoder": spec.model.encoder,
        "marker_style": spec.model.marker_style,
        "max_length": spec.model.max_length,
        "config": spec.to_config(),
        "labels": {
            "in_domain": list(space.in_domain),
            "ood_only": list(space.ood_only),
            "ood": list(space.ood),
            "negative": sorted(space.negative),
            "mapping": dict(space.mapping),
            "all": [
                {
                    "id": i,
                    "label": label,
                    "negative": label in space.negative,
                    "in_domain": i < len(space.in_domain),
                }
                for i, label in enumerate(space.labels)
            ],
        },
        "weights": WEIGHTS_FILE,
        "encoder_folder": type(architecture).exported_encoder(spec),
        **extra,
    }


def save_model_folder(
    folder: str | Path,
    architecture: BaseArchitecture,
    *,
    info: Mapping[str, Any] | None = None,
    card: str | None = None,
    manifest: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the model folder of a trained ``architecture`` (whole or not at all); its path.

    ``info`` joins ``resweep_model.json`` (scores, evidence, data); ``card`` is the model card's
    markdown; ``manifest`` the versions manifest. An existing non-empty folder is replaced only
    with ``overwrite``."""
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())) and not overwrite:
        raise ModelFolderError(f"{folder}: exists and is not empty (choose another folder, or overwrite it)")
    with atomic_folder(folder) as temporary:
        architecture.export(temporary)
        save_weights(architecture.model.state_dict(), temporary / WEIGHTS_FILE)
        document = _info(architecture, info or {})
        document["checksum"] = description_checksum(document)
        (temporary / MODEL_FILE).write_text(json.dumps(document, indent=1, default=str) + "\n")
        if card is not None:
            (temporary / CARD_FILE).write_text(card)
        if manifest is not None:
            (temporary / MANIFEST_FILE).write_text(json.dumps(dict(manifest), indent=1, default=str) + "\n")
        check_no_pickles(temporary)  # what an export wrote, too
        _readable(temporary)
    return folder


def _readable(folder: Path) -> None:
    """The permissions of an ordinary folder (mkdtemp makes it private; some writers make files
    owner-only): a model folder is for sharing."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def description_checksum(document: Mapping[str, Any]) -> str:
    """The SHA-256 of a model description as JSON stores it (keys sorted, ``checksum`` aside):
    a description edited after training (a reordered label list would predict swapped labels)
    no longer matches."""
    import hashlib

    stored = json.loads(json.dumps({k: v for k, v in document.items() if k != "checksum"}, default=str))
    canonical = json.dumps(stored, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _check_checksum(path: Path, info: Mapping[str, Any]) -> None:
    """Refuse a description whose checksum does not match (one without: written before there was
    one, read as it is)."""
    if "checksum" in info and info["checksum"] != description_checksum(info):
        raise ModelFolderError(
            f"{path}: the description was changed after `resweep train` wrote it (its checksum does "
            "not match): the labels or config would no longer match the weights; restore the file, "
            "or train the model again"
        )
    # Without a checksum, the label list still has to agree with the numbered one beside it.
    labels = info.get("labels")
    if isinstance(labels, Mapping) and isinstance(labels.get("all"), list):
        numbered = [entry.get("label") for entry in labels["all"] if isinstance(entry, Mapping)]
        listed = [*(labels.get("in_domain") or []), *(labels.get("ood_only") or [])]
        if numbered != listed:
            raise ModelFolderError(
                f"{path}: labels: in_domain and ood_only ({', '.join(map(str, listed))}) are not the "
                f"numbered labels.all ({', '.join(map(str, numbered))}): the description was edited; "
                "restore the file, or train the model again"
            )


def _check_weights_fit(weights: Path, model: torch.nn.Module, state: Mapping[str, Any], labels: int) -> None:
    """Weights whose class dimension is not the description's label count are refused, naming the
    labels (the description belongs to another model)."""
    expected = {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}
    for name, tensor in state.items():
        want, got = expected.get(name), tuple(tensor.shape)
        if want is None or want == got or len(want) != len(got):
            continue
        for dim, (w, g) in enumerate(zip(want, got, strict=True)):
            if w != g and w == labels:
                raise ModelFolderError(
                    f"{weights.parent / MODEL_FILE}: labels: {labels} labels, but the weights "
                    f"({weights.name}, {name} dimension {dim}) score {g} classes: the description "
                    "does not belong to these weights"
                )


def read_info(folder: str | Path) -> dict[str, Any]:
    """``resweep_model.json`` of a model folder, checked."""
    folder = Path(folder)
    path = folder / MODEL_FILE
    if not folder.is_dir():
        raise ModelFolderError(f"{folder}: no such model folder")
    if not path.is_file():
        raise ModelFolderError(
            f"{folder}: not a resweep model folder (no {MODEL_FILE}; `resweep train` writes one)"
        )
    try:
        info = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelFolderError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise ModelFolderError(f"{path}: not a resweep model description (format is not {FORMAT!r})")
    if int(info.get("format_version", 0)) > FORMAT_VERSION:
        raise ModelFolderError(
            f"{path}: model format version {info['format_version']} is newer than this resweep reads "
            f"({FORMAT_VERSION}); upgrade resweep"
        )
    _check_checksum(path, info)
    return info


def load_model(folder: str | Path, *, device: str | torch.device | None = None) -> RelationModel:
    """Load a model folder (never unpickling anything) onto ``device`` (default: CPU)."""
    from safetensors.torch import load_file

    folder = Path(folder).resolve()
    info = read_info(folder)
    check_no_pickles(folder)
    config = dict(info["config"])
    architecture_class = ARCHITECTURES.get(str(config["architecture"]))
    if info.get("encoder_folder") is not None:
        config["encoder"] = str(folder / info["encoder_folder"])  # the folder's own, not the original
    spec = TrialSpec.from_config(config)
    labels = info["labels"]
    space = LabelSpace(
        tuple(labels["in_domain"]),
        tuple(labels["ood"]),
        frozenset(labels["negative"]),
        dict(labels["mapping"]),
    )
    architecture = architecture_class(spec, space)
    architecture.restore(folder)
    torch.manual_seed(0)  # what build_model initialises is overwritten by the weights
    architecture.build_model()
    weights = folder / str(info.get("weights", WEIGHTS_FILE))
    try:
        state = load_file(str(weights))
        _check_weights_fit(weights, architecture.model, state, len(space.labels))
        architecture.model.load_state_dict(state)
    except (OSError, RuntimeError) as err:
        raise ModelFolderError(
            f"{weights}: the weights do not fit the model ({str(err).splitlines()[0]})"
        ) from None
    return RelationModel(architecture, info, device=torch.device(device) if device else None, folder=folder)
