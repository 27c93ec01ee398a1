"""``bert-seqcls``: the thesis baseline. The marked sentence goes through a pre-trained encoder with
a sequence-classification head (``AutoModelForSequenceClassification``), fine-tuned end to end."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import torch

from ..data.markers import encode, prepare_tokenizer
from ..encoders import from_pretrained, load_tokenizer, save_structure
from ..loop import EncodedSplit
from ._base import BaseArchitecture

if TYPE_CHECKING:
    from ..config import TrialSpec

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


def transformer_config(model: torch.nn.Module) -> Any:
    """The config of the outermost Hugging Face model inside ``model`` (its trained vocabulary
    size: marker tokens included)."""
    from transformers import PreTrainedModel

    found = next((m for m in model.modules() if isinstance(m, PreTrainedModel)), None)
    if found is None:
        raise TypeError(f"{type(model).__name__} holds no Hugging Face model")
    return found.config


class MarkedTokenizer(BaseArchitecture):
    """Architectures that read the marked sentence: the encoder's tokenizer with the marker
    style's tokens added (``added_tokens``: how many, for resizing the embeddings)."""

    encoder_folder = "encoder"

    def _tokenizer(self) -> Any:
        if not hasattr(self, "tokenizer"):
            self.tokenizer = load_tokenizer(self.spec.model.encoder)
            self.added_tokens = prepare_tokenizer(self.tokenizer, self.spec.model.marker_style)
        return self.tokenizer

    def export(self, folder: Path) -> None:
        where = type(self).exported_encoder(self.spec)
        assert where is not None
        save_structure(folder / where, self._tokenizer(), self._export_config(), "model.safetensors")

    def _export_config(self) -> Any:
        return transformer_config(self.model)


class BertSeqCls(MarkedTokenizer):
    name = "bert-seqcls"
    description = "the thesis baseline: marked sentence -> encoder with a sequence-classification head"

    @classmethod
    def exported_encoder(cls, spec: TrialSpec) -> str | None:
        # The model folder itself, so that it loads with AutoModelForSequenceClassification; not
        # inside a wrapper (``two-step``), whose weights hold two models.
        return "" if spec.model.architecture == cls.name else "encoder"

    def _export_config(self) -> Any:
        config = transformer_config(self.model)
        config.id2label = dict(enumerate(self.label_space.labels))
        config.label2id = {label: i for i, label in enumerate(self.label_space.labels)}
        return config

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
