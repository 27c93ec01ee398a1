"""Shared by architectures that read a marked sentence with a pre-trained encoder and classify
from token positions (the entity markers, the mentions): ``rbert``, ``entity-start``, ``bilinear``,
``redn``.

``encode`` keeps, per record, the token ids plus where the head and tail markers and mentions
are (``trainables.data.markers.encode`` computes them, truncation included); ``collate`` pads
and hands those positions to the model; subclasses give the head on top of the encoder.
"""

from __future__ import annotations

from abc import abstractmethod

import numpy as np
import pyarrow as pa
import torch

from ..data.markers import encode
from ..encoders import from_pretrained
from ..loop import EncodedSplit
from .bert_seqcls import MarkedTokenizer, pad_batch

__all__ = ["EncoderWithHead", "MarkedEncoderArchitecture", "span_mask", "span_mean"]


def span_mask(length: int, spans: torch.Tensor) -> torch.Tensor:
    """(B, L) bool: True inside each row's ``[start, end)`` token span (B, 2)."""
    positions = torch.arange(length, device=spans.device)  # (L,)
    return (positions[None, :] >= spans[:, :1]) & (positions[None, :] < spans[:, 1:])


def span_mean(hidden: torch.Tensor, spans: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` (B, L, H) over each row's ``[start, end)`` token span (B, 2) -> (B, H)."""
    weights = span_mask(hidden.shape[1], spans).to(hidden.dtype)  # (B, L)
    return (weights[:, :, None] * hidden).sum(1) / weights.sum(1, keepdim=True).clamp(min=1.0)


class EncoderWithHead(torch.nn.Module):
    """A pre-trained encoder and a head reading its last hidden states at given positions."""

    def __init__(self, encoder: torch.nn.Module, head: torch.nn.Module):
        super().__init__()
        self.encoder = encoder
        self.head = head

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.encoder(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).last_hidden_state  # (B, L, H)
        return self.head(hidden, batch)  # (B, C)


class MarkedEncoderArchitecture(MarkedTokenizer):
    """Marked sentence -> encoder -> a head over marker and mention positions."""

    def encode(self, table: pa.Table, *, ood: bool = False) -> EncodedSplit:
        tokenizer = self._tokenizer()
        style, max_length = self.spec.model.marker_style, self.spec.model.max_length
        pairs = [encode(record, tokenizer, style, max_length) for record in self._records(table)]
        lengths = np.array([len(p.input_ids) for p in pairs], dtype=np.int64)
        return EncodedSplit(pairs, self._labels(table, ood), lengths)

    @abstractmethod
    def build_head(self, hidden_size: int) -> torch.nn.Module:
        """The head: ``head(hidden (B, L, H), batch) -> (B, C)`` logits."""

    def build_model(self) -> torch.nn.Module:
        from transformers import AutoModel

        tokenizer = self._tokenizer()
        encoder = from_pretrained(AutoModel, self.spec.model.encoder)
        if self.added_tokens:
            encoder.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        self.model = self.assemble(encoder, self.build_head(int(encoder.config.hidden_size)))
        return self.model

    def assemble(self, encoder: torch.nn.Module, head: torch.nn.Module) -> torch.nn.Module:
        """Encoder and head as one module (default: the head reads the last hidden states)."""
        return EncoderWithHead(encoder, head)

    def collate(self, split: EncodedSplit, indices: np.ndarray) -> dict[str, torch.Tensor]:
        pairs = [split.inputs[i] for i in indices]
        ids, mask = pad_batch([p.input_ids for p in pairs], self._tokenizer().pad_token_id)
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "head_marker": torch.as_tensor([p.head_marker for p in pairs]),  # (B,)
            "tail_marker": torch.as_tensor([p.tail_marker for p in pairs]),  # (B,)
            "head_span": torch.as_tensor([p.head_span for p in pairs]),  # (B, 2)
            "tail_span": torch.as_tensor([p.tail_span for p in pairs]),  # (B, 2)
            "labels": torch.as_tensor(split.labels[indices]),
        }

    def logits(self, model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return model(batch)
