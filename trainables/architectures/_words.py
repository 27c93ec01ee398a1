"""Shared by the architectures that read embeddings, not a transformer: ``bilstm``, ``cnn-mtl``.

Per token: a subword id of the encoder's tokenizer (so embeddings can start from the encoder's
input embeddings, ``word_embeddings: encoder``, or at random, ``random``), its distance to the head
and to the tail (clipped to ``max_length``), and an entity tag: the mention's entity type (or
"entity" where the record has none), as a ``B-``/``I-`` tag for models that want BIO tags. Tags
and types are hashed into :data:`TAG_BUCKETS` ids, 0 for tokens outside both mentions.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pyarrow as pa
import torch

from ..encoders import encoder_config, from_pretrained, load_tokenizer, save_structure
from ..loop import EncodedSplit
from ._base import BaseArchitecture
from .settings import WordSettings

if TYPE_CHECKING:
    from ..suggest import Suggester

__all__ = ["POSITION_DIM", "TAG_BUCKETS", "TAG_DIM", "WordFeatureArchitecture", "WordFeatures"]

POSITION_DIM = 16
TAG_DIM = 16
TAG_BUCKETS = 64  # entity tags hashed into buckets (0: outside both mentions)
COLUMNS = ("input_ids", "head_position", "tail_position", "entity_tag")


def _tag_id(name: str) -> int:
    return 1 + zlib.crc32(name.encode()) % (TAG_BUCKETS - 1)


def _subwords(first: dict[Any, int], after: dict[Any, int], start: int, end: int) -> tuple[int, int]:
    """The subword span of the word span [start, end)."""
    begin = first.get(start, 0)
    return begin, after.get(end - 1, begin + 1)


def _relative(length: int, start: int, end: int, clip: int) -> list[int]:
    """Each token's distance to the span [start, end) (0 inside), clipped, shifted to >= 0."""
    distances = [i - start if i < start else (i - end + 1 if i >= end else 0) for i in range(length)]
    return [max(-clip, min(clip, d)) + clip for d in distances]


class WordFeatures(torch.nn.Module):
    """(B, L) ids, positions and tags -> (B, L, E + 2P + T) token vectors (:attr:`width`)."""

    def __init__(self, embedding: torch.nn.Embedding, clip: int):
        super().__init__()
        self.embedding = embedding
        self.head_position = torch.nn.Embedding(2 * clip + 1, POSITION_DIM)
        self.tail_position = torch.nn.Embedding(2 * clip + 1, POSITION_DIM)
        self.entity_tag = torch.nn.Embedding(TAG_BUCKETS, TAG_DIM)
        self.width = embedding.embedding_dim + 2 * POSITION_DIM + TAG_DIM

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return torch.cat(
            [
                self.embedding(batch["input_ids"]),
                self.head_position(batch["head_position"]),
                self.tail_position(batch["tail_position"]),
                self.entity_tag(batch["entity_tag"]),
            ],
            dim=-1,
        )  # (B, L, E + 2P + T)


class WordFeatureArchitecture(BaseArchitecture):
    """Encoding, batching and the embedding layer of the word-feature models."""

    settings_class: ClassVar[type] = WordSettings

    @classmethod
    def search_dimensions(cls, trial: Suggester, prefix: str = "") -> dict[str, Any]:
        # No transformer: their own learning rates and widths.
        return {
            **cls.loop_dimensions(trial, prefix, (3e-4, 3e-3), [16, 32, 64]),
            "hidden_units": trial.suggest_categorical(f"{prefix}{cls.name}.hidden_units", [64, 128, 256]),
            "word_embeddings": trial.suggest_categorical(f"{prefix}word_embeddings", ["encoder", "random"]),
        }

    bio_tags: ClassVar[bool] = False  # True: B-<type>/I-<type> tags; False: the type on every token
    encoder_folder = "encoder"  # the tokenizer and the config its embeddings are built from

    def _tokenizer(self) -> Any:
        if not hasattr(self, "tokenizer"):
            self.tokenizer = load_tokenizer(self.spec.model.encoder)
        return self.tokenizer

    def export(self, folder: Path) -> None:
        config = encoder_config(self.spec.model.encoder)
        assert self.encoder_folder is not None
        save_structure(folder / self.encoder_folder, self._tokenizer(), config, "model.safetensors")

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
            tags = [0] * len(ids)
            for (start, end), kind in ((head, record.head_type), (tail, record.tail_type)):
                kind = kind or "entity"
                for position in range(start, end):
                    prefix = ("B-" if position == start else "I-") if self.bio_tags else ""
                    tags[position] = _tag_id(prefix + kind)
            n = len(ids)
            examples.append(
                (ids[keep], _relative(n, *head, limit)[keep], _relative(n, *tail, limit)[keep], tags[keep])
            )
        lengths = np.array([max(1, len(e[0])) for e in examples], dtype=np.int64)
        return EncodedSplit(examples, self._labels(table, ood), lengths)

    def build_features(self) -> WordFeatures:
        """The embedding layers, words from the encoder's input embeddings or random."""
        model_config = self.spec.model
        if self.settings(self.spec).word_embeddings == "encoder":
            from transformers import AutoModel

            weights = from_pretrained(AutoModel, model_config.encoder).get_input_embeddings().weight.detach()
            embedding = torch.nn.Embedding.from_pretrained(weights.clone(), freeze=False)
        else:
            embedding = torch.nn.Embedding(len(self._tokenizer()), model_config.hidden_units)
        return WordFeatures(embedding, model_config.max_length)

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        examples = [split.inputs[i] for i in indices]
        width = max(1, max(len(e[0]) for e in examples))
        pad = self._tokenizer().pad_token_id or 0
        fills = dict(zip(COLUMNS, (pad, 0, 0, 0), strict=True))
        batch = {
            name: torch.full((len(examples), width), fill, dtype=torch.long) for name, fill in fills.items()
        }
        for row, example in enumerate(examples):
            for name, values in zip(COLUMNS, example, strict=True):
                batch[name][row, : len(values)] = torch.as_tensor(values, dtype=torch.long)
        batch["lengths"] = torch.as_tensor([max(1, len(e[0])) for e in examples])
        batch["labels"] = torch.as_tensor(split.labels[indices])
        return batch

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(batch)
