"""RE architectures, registered by the names users type and results store.

Adding one is one module plus one line here; ``tests/trainables_tests/test_architectures.py``
runs the conformance checks on every registered name. Entries are imported lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..registry import Registry

if TYPE_CHECKING:
    from ._base import BaseArchitecture, PrepareContext, concat_splits

__all__ = ["ARCHITECTURES", "BaseArchitecture", "PrepareContext", "concat_splits"]

ARCHITECTURES: Registry[type[BaseArchitecture]] = Registry("architecture")
ARCHITECTURES.register("bert-seqcls", "trainables.architectures.bert_seqcls:BertSeqCls")
ARCHITECTURES.register("two-phase", "trainables.architectures.two_phase:TwoPhase")
ARCHITECTURES.register("rbert", "trainables.architectures.rbert:RBert")
ARCHITECTURES.register("entity-start", "trainables.architectures.entity_start:EntityStart")
ARCHITECTURES.register("bilinear", "trainables.architectures.bilinear:Bilinear")
ARCHITECTURES.register("bilstm", "trainables.architectures.bilstm:BiLSTM")
ARCHITECTURES.register("redn", "trainables.architectures.redn:Redn")
ARCHITECTURES.register("cnn-mtl", "trainables.architectures.cnn_mtl:CnnMtl")
ARCHITECTURES.register("two-step", "trainables.architectures.two_step:TwoStep")
ARCHITECTURES.register("tfidf-linear", "trainables.architectures.tfidf_linear:TfidfLinear")


def __getattr__(name: str) -> Any:
    # The base classes import torch; listing names (search spaces, the CLI) must not.
    if name in ("BaseArchitecture", "PrepareContext", "concat_splits"):
        from . import _base

        return getattr(_base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
