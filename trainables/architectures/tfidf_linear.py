"""``tfidf-linear``: the classical floor every neural recipe must beat. No encoder (the trial's
``encoder``, ``max_length``, ``marker_style``, ``hidden_units`` and ``dropout`` are ignored): TF-IDF
over per-record feature strings, then multinomial logistic regression as one linear layer,
trained by resweep's own loop, so strategies, imbalance techniques, early stopping and
checkpoints apply unchanged (the loop's ``weight_decay`` is the L2 penalty). A trial costs seconds.

Features of a record (:func:`record_features`), all lowercased:

* word unigrams and bigrams of the sentence marked ``<e1> head </e1>`` / ``<e2> tail </e2>``;
* the head's words (``h=``), the tail's (``t=``), the words between the mentions (``b=``) and
  their bigrams (``b2=``);
* the order of the mentions (``order=head_first``/``tail_first``), their distance in tokens,
  bucketed (``dist=``), and the entity types where the record has them (``types=``, ``ht=``, ``tt=``).

The vectorizer is fitted in :meth:`TfidfLinear.prepare` on the records the trial trains on only
(in-domain train, its OOD share and ``local`` pre-training), never on dev or test. Fitting is
deterministic, so a resumed trial refits the same vocabulary and its checkpoint's weights fit.

Recipe (measured on SemEval-2010 Task 8 with oversampling, batch 16, the loop's weight decay
0.01): ``learning_rate`` 5e-3, ``max_epochs`` 5, ``patience`` 2 — official F1 ~0.58 at 10%, ~0.76
at 100%. AdamW on sparse n-grams overfits once the training loss nears zero (weight decay 0.01
barely bounds the weights), so a short schedule is the regulariser: 1e-2 for 10 epochs scores
~0.01 lower, 3e-2 and up 0.02-0.04 lower at 10%. Small data with few steps per epoch (a few hundred
sentences, no oversampling) wants a larger rate (the synthetic corpus: 3e-2 to 1e-1).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import torch

from ..data.markers import marked_words
from ..data.records import Record, table_to_records
from ..loop import EncodedSplit
from ._base import BaseArchitecture, PrepareContext

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from ..config import TrialSpec
    from ..suggest import Suggester

__all__ = ["MAX_FEATURES", "VECTORIZER_FILE", "TfidfLinear", "record_features"]

VECTORIZER_FILE = "vectorizer.json"  # a model folder's vocabulary and idf weights (no pickle)

# The most frequent feature strings kept. SemEval's 8,000 training sentences yield ~120k distinct
# strings, most of them bigrams seen once; a TACRED-sized corpus yields millions. The cap bounds
# what grows with the vocabulary: the weights and AdamW's two moments (V x C each), every epoch's
# checkpoint, and each densified batch (B x V float32: 64 x 50k is 13 MB).
MAX_FEATURES = 50_000
DISTANCE_BUCKETS = (0, 1, 2, 3, 4, 6, 9, 14, 20)  # upper bounds; farther is "dist>20"


def _distance_bucket(distance: int) -> str:
    for bound in DISTANCE_BUCKETS:
        if distance <= bound:
            return f"dist<={bound}"
    return f"dist>{DISTANCE_BUCKETS[-1]}"


def _bigrams(words: list[str]) -> list[str]:
    return [f"{a} {b}" for a, b in itertools.pairwise(words)]


def record_features(record: Record) -> list[str]:
    """The feature strings of one record (the vectorizer's ``analyzer``; see the module docstring)."""
    sentence = [word.lower() for word in marked_words(record, "semeval").words]
    tokens = [word.lower() for word in record.tokens]
    head = tokens[record.head_start : record.head_end]
    tail = tokens[record.tail_start : record.tail_end]
    head_first = record.head_start < record.tail_start
    # Disjoint spans (marked_words checks): the gap runs from the first one's end to the second's start.
    between = tokens[min(record.head_end, record.tail_end) : max(record.head_start, record.tail_start)]
    features = [*sentence, *_bigrams(sentence)]
    features += [f"h={w}" for w in head] + [f"t={w}" for w in tail]
    features += [f"b={w}" for w in between] + [f"b2={bigram}" for bigram in _bigrams(between)]
    features += ["order=head_first" if head_first else "order=tail_first", _distance_bucket(len(between))]
    if record.head_type is not None or record.tail_type is not None:
        head_type, tail_type = (record.head_type or "-").lower(), (record.tail_type or "-").lower()
        features += [f"types={head_type}|{tail_type}", f"ht={head_type}", f"tt={tail_type}"]
    return features


class TfidfLinear(BaseArchitecture):
    name = "tfidf-linear"
    description = "no encoder: TF-IDF of marked-sentence n-grams and entity-pair features -> a linear layer"
    vectorizer_: TfidfVectorizer

    @classmethod
    def encoder_models(cls, spec: TrialSpec) -> int:
        return 0  # TF-IDF features and a linear layer: seconds of CPU per trial

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        # Logistic regression on TF-IDF: no encoder, no width. SemEval (batch 16) wants 3e-3 to
        # 1e-2; small data with few steps an epoch up to 1e-1 (see the module docstring).
        return cls.loop_dimensions(trial, prefix, (2e-3, 1e-1), [16, 32, 64])

    def prepare(self, context: PrepareContext) -> None:
        data = context.data
        # `local_pretrain` is a prefix of `train`: each record counts once in the document frequencies.
        seen: set[tuple[str, str]] = set()
        records = []
        for table in (data.train, data.ood_train, data.local_pretrain):
            for record in table_to_records(table):
                if (record.dataset, record.id) not in seen:
                    seen.add((record.dataset, record.id))
                    records.append(record)
        # Imported here: ~1 s that every process parsing a trial config need not pay.
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer_ = TfidfVectorizer(
            analyzer=record_features, sublinear_tf=True, max_features=MAX_FEATURES, dtype=np.float32
        ).fit(records)

    def export(self, folder: Path) -> None:
        vocabulary = sorted(self.vectorizer_.vocabulary_, key=self.vectorizer_.vocabulary_.__getitem__)
        document = {
            "features": "trainables.architectures.tfidf_linear.record_features",
            "sublinear_tf": True,
            "norm": "l2",
            "smooth_idf": True,
            "vocabulary": vocabulary,  # column i of the weights is vocabulary[i]
            "idf": [float(x) for x in self.vectorizer_.idf_],
        }
        (folder / VECTORIZER_FILE).write_text(json.dumps(document))

    def restore(self, folder: Path) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        document = json.loads((folder / VECTORIZER_FILE).read_text())
        vectorizer = TfidfVectorizer(
            analyzer=record_features,
            sublinear_tf=document["sublinear_tf"],
            norm=document["norm"],
            smooth_idf=document["smooth_idf"],
            vocabulary=document["vocabulary"],
            dtype=np.float32,
        )
        vectorizer.idf_ = np.asarray(document["idf"], dtype=np.float64)
        self.vectorizer_ = vectorizer

    def encode(self, table: pa.Table, *, ood: bool = False) -> EncodedSplit:
        matrix = self.vectorizer_.transform(self._records(table)).tocsr()  # (N, V) sparse float32
        return EncodedSplit(matrix, self._labels(table, ood), np.ones(matrix.shape[0], dtype=np.int64))

    def build_model(self) -> torch.nn.Module:
        self.model = torch.nn.Linear(len(self.vectorizer_.vocabulary_), len(self.label_space))
        # A convex problem: start where a solver would, at zero (no symmetry to break).
        torch.nn.init.zeros_(self.model.weight)
        torch.nn.init.zeros_(self.model.bias)
        return self.model

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        # Only the batch's rows are densified: (B, V) float32.
        return {
            "features": torch.from_numpy(split.inputs[indices].toarray()),
            "labels": torch.as_tensor(split.labels[indices]),
        }

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(batch["features"])  # (B, V) -> (B, C)
