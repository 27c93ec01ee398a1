"""``bilstm`` (the TACRED study's non-transformer model, Zhang et al. 2017 style): token
embeddings, two position embeddings (each token's distance to the head and to the tail), an
entity-type embedding where records carry types, a bidirectional LSTM over packed sequences, then
a fully connected layer with batch normalisation and a linear classifier.

Tokens are the encoder tokenizer's subwords, so the embeddings can start from the encoder's
input embeddings (``word_embeddings: encoder``, default) or at random (``random``); see
:mod:`._words`. No transformer runs, so it trains fast on a CPU.
"""

from __future__ import annotations

import torch

from ._words import WordFeatureArchitecture, WordFeatures

__all__ = ["BiLSTM"]


class _BiLSTMModel(torch.nn.Module):
    def __init__(self, features: WordFeatures, hidden: int, classes: int, dropout: float):
        super().__init__()
        self.features = features
        self.lstm = torch.nn.LSTM(features.width, hidden, batch_first=True, bidirectional=True)
        self.dropout = torch.nn.Dropout(dropout)
        self.fc = torch.nn.Linear(2 * hidden, hidden)
        self.norm = torch.nn.BatchNorm1d(hidden)
        self.classifier = torch.nn.Linear(hidden, classes)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self.features(batch)  # (B, L, E + 2P + T)
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


class BiLSTM(WordFeatureArchitecture):
    name = "bilstm"
    description = "no transformer: token + position + entity-type embeddings -> BiLSTM -> FC with batch norm"

    def build_model(self) -> torch.nn.Module:
        model_config = self.spec.model
        self.model = _BiLSTMModel(
            self.build_features(), model_config.hidden_units, len(self.label_space), model_config.dropout
        )
        return self.model
