"""``bert-seqcls``: the thesis baseline. The marked sentence goes through a pre-trained encoder with
a sequence-classification head (``AutoModelForSequenceClassification``), fine-tuned end to end."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import torch

from ..data.markers import encode, prepare_tokenizer
from ..encoders import from_pretrained, load_tokenizer
from ..loop import EncodedSplit
from ._base import BaseArchitecture

__all__ = ["BertSeqCls", "MarkedTokenizer", "pad_batch"]


def pad_batch(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Dynamic padding to the longest sequence of the batch: (B, L) ids and attention mask."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, : len(sequence)] = torch.as_tensor(sequence)
        mask[row, : len(sequence)] = 1
    return ids, mask


class MarkedTokenizer(BaseArchitecture):
    """Architectures that read the marked sentence: the encoder's tokenizer with the marker
    style's tokens added (``added_tokens``: how many, for resizing the embeddings)."""

    def _tokenizer(self) -> Any:
        if not hasattr(self, "tokenizer"):
            self.tokenizer = load_tokenizer(self.spec.model.encoder)
            self.added_tokens = prepare_tokenizer(self.tokenizer, self.spec.model.marker_style)
        return self.tokenizer


class BertSeqCls(MarkedTokenizer):
    name = "bert-seqcls"
    description = "the thesis baseline: marked sentence -> encoder with a sequence-classification head"

    def encode(self, table: pa.Table, *, ood: bool = False) -> EncodedSplit:
        tokenizer = self._tokenizer()
        style, max_length = self.spec.model.marker_style, self.spec.model.max_length
        ids = [encode(record, tokenizer, style, max_length).input_ids for record in self._records(table)]
        return EncodedSplit(ids, self._labels(table, ood), np.array([len(i) for i in ids], dtype=np.int64))

    def build_model(self) -> torch.nn.Module:
        from transformers import AutoModelForSequenceClassification

        tokenizer = self._tokenizer()
        model = from_pretrained(
            AutoModelForSequenceClassification, self.spec.model.encoder, num_labels=len(self.label_space)
        )
        if self.added_tokens:
            model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        self.model = model
        return model

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        ids, mask = pad_batch([split.inputs[i] for i in indices], self._tokenizer().pad_token_id)
        return {"input_ids": ids, "attention_mask": mask, "labels": torch.as_tensor(split.labels[indices])}

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
