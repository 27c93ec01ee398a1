"""``bilstm`` (the TACRED study's non-transformer model, Zhang et al. 2017 style): token
embeddings, two position embeddings (each token's distance to the head and to the tail), an
entity-type embedding where records carry types, a bidirectional LSTM over packed sequences, then
a fully connected layer with batch normalisation and a linear classifier.

Tokens are the encoder tokenizer's subwords, so the embeddings can start from the encoder's
input embeddings (``word_embeddings: encoder``, default) or at random (``random``); no
transformer runs, so it trains fast on a CPU.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import pyarrow as pa
import torch

from ..encoders import from_pretrained, load_tokenizer
from ..loop import EncodedSplit
from ._base import BaseArchitecture

__all__ = ["BiLSTM"]

POSITION_DIM = 16
TYPE_DIM = 16
TYPE_BUCKETS = 64  # entity types hashed into buckets (0: no type / not an entity)


def _type_id(name: str | None) -> int:
    return 0 if not name else 1 + zlib.crc32(name.encode()) % (TYPE_BUCKETS - 1)


def _subwords(first: dict[Any, int], after: dict[Any, int], start: int, end: int) -> tuple[int, int]:
    """The subword span of the word span [start, end)."""
    begin = first.get(start, 0)
    return begin, after.get(end - 1, begin + 1)


def _relative(length: int, start: int, end: int, clip: int) -> list[int]:
    """Each token's distance to the span [start, end) (0 inside), clipped, shifted to >= 0."""
    distances = [i - start if i < start else (i - end + 1 if i >= end else 0) for i in range(length)]
    return [max(-clip, min(clip, d)) + clip for d in distances]


class _BiLSTMModel(torch.nn.Module):
    def __init__(self, embedding: torch.nn.Embedding, hidden: int, classes: int, dropout: float, clip: int):
        super().__init__()
        self.embedding = embedding
        self.head_position = torch.nn.Embedding(2 * clip + 1, POSITION_DIM)
        self.tail_position = torch.nn.Embedding(2 * clip + 1, POSITION_DIM)
        self.entity_type = torch.nn.Embedding(TYPE_BUCKETS, TYPE_DIM)
        width = embedding.embedding_dim + 2 * POSITION_DIM + TYPE_DIM
        self.lstm = torch.nn.LSTM(width, hidden, batch_first=True, bidirectional=True)
        self.dropout = torch.nn.Dropout(dropout)
        self.fc = torch.nn.Linear(2 * hidden, hidden)
        self.norm = torch.nn.BatchNorm1d(hidden)
        self.classifier = torch.nn.Linear(hidden, classes)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = torch.cat(
            [
                self.embedding(batch["input_ids"]),
                self.head_position(batch["head_position"]),
                self.tail_position(batch["tail_position"]),
                self.entity_type(batch["entity_type"]),
            ],
            dim=-1,
        )  # (B, L, E + 2P + T)
        packed = torch.nn.utils.rnn.pack_padded_sequence(
            self.dropout(x), batch["lengths"].cpu(), batch_first=True, enforce_sorted=False
        )
        _, (final, _) = self.lstm(packed)  # final: (2, B, H), forward and backward
        sentence = torch.cat([final[0], final[1]], dim=-1)  # (B, 2H)
        h = self.fc(self.dropout(sentence))  # (B, H)
        # Batch statistics need two examples; a last batch of one uses the running ones.
        training_stats = self.training and h.shape[0] > 1
        h = torch.nn.functional.batch_norm(
            h,
            self.norm.running_mean,
            self.norm.running_var,
            self.norm.weight,
            self.norm.bias,
            training=training_stats,
            momentum=self.norm.momentum if self.norm.momentum is not None else 0.1,
            eps=self.norm.eps,
        )
        return self.classifier(self.dropout(torch.relu(h)))  # (B, C)


class BiLSTM(BaseArchitecture):
    name = "bilstm"
    description = "no transformer: token + position + entity-type embeddings -> BiLSTM -> FC with batch norm"

    def _tokenizer(self) -> Any:
        if not hasattr(self, "tokenizer"):
            self.tokenizer = load_tokenizer(self.spec.model.encoder)
        return self.tokenizer

    def encode(self, table: pa.Table, *, ood: bool = False) -> EncodedSplit:
        tokenizer, limit = self._tokenizer(), self.spec.model.max_length
        examples = []
        for record in self._records(table):
            encoding = tokenizer(list(record.tokens), is_split_into_words=True, add_special_tokens=False)
            ids, words = list(encoding["input_ids"]), encoding.word_ids()
            first = {w: i for i, w in reversed(list(enumerate(words)))}  # word -> its first subword
            after = {w: i + 1 for i, w in enumerate(words)}  # word -> past its last subword
            head = _subwords(first, after, record.head_start, record.head_end)
            tail = _subwords(first, after, record.tail_start, record.tail_end)
            # Longer than max_length: a window around both entities (what lies beyond is context).
            left = max(0, min(len(ids) - limit, (min(head[0], tail[0]) + max(head[1], tail[1]) - limit) // 2))
            keep = slice(left, left + limit)
            types = [0] * len(ids)
            for (start, end), kind in ((head, record.head_type), (tail, record.tail_type)):
                types[start:end] = [_type_id(kind or "entity")] * (end - start)
            n = len(ids)
            examples.append(
                (
                    ids[keep],
                    _relative(n, *head, limit)[keep],
                    _relative(n, *tail, limit)[keep],
                    types[keep],
                )
            )
        lengths = np.array([max(1, len(e[0])) for e in examples], dtype=np.int64)
        return EncodedSplit(examples, self._labels(table, ood), lengths)

    def build_model(self) -> torch.nn.Module:
        model_config = self.spec.model
        tokenizer = self._tokenizer()
        if model_config.word_embeddings == "encoder":
            from transformers import AutoModel

            weights = from_pretrained(AutoModel, model_config.encoder).get_input_embeddings().weight.detach()
            embedding = torch.nn.Embedding.from_pretrained(weights.clone(), freeze=False)
        else:
            embedding = torch.nn.Embedding(len(tokenizer), model_config.hidden_units)
        self.model = _BiLSTMModel(
            embedding,
            model_config.hidden_units,
            len(self.label_space),
            model_config.dropout,
            model_config.max_length,
        )
        return self.model

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        examples = [split.inputs[i] for i in indices]
        width = max(1, max(len(e[0]) for e in examples))
        pad = self._tokenizer().pad_token_id or 0
        columns = {"input_ids": pad, "head_position": 0, "tail_position": 0, "entity_type": 0}
        batch = {
            name: torch.full((len(examples), width), fill, dtype=torch.long) for name, fill in columns.items()
        }
        for row, example in enumerate(examples):
            for name, values in zip(columns, example, strict=True):
                batch[name][row, : len(values)] = torch.as_tensor(values, dtype=torch.long)
        batch["lengths"] = torch.as_tensor([max(1, len(e[0])) for e in examples])
        batch["labels"] = torch.as_tensor(split.labels[indices])
        return batch

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(batch)
