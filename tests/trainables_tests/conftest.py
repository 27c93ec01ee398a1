"""Tiny random BERTs for trainables tests: built locally from a config, never downloaded."""

from __future__ import annotations

from pathlib import Path

import pytest

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A folder with a 2-layer, hidden-32 random BERT whose word vocabulary covers the synthetic
    corpus (one token per word, so the tiny model can learn something in a few epochs)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from trainables.data.synthetic import generate

    words: set[str] = set()
    for dataset in ("synthetic", "synthetic_ood"):
        for records in generate(dataset).values():
            for record in records:
                words.update(token.lower() for token in record.tokens)
    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = SPECIAL + sorted(words)
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast.from_pretrained(str(folder), do_lower_case=True)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=128,
    )
    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.fixture
def artifacts(tmp_path: Path) -> Path:
    return tmp_path / "artifacts"
