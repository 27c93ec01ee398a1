"""Trial checkpoints that load without unpickling anything.

A checkpoint is a folder:

* ``model.safetensors`` — the model's weights (safetensors: plain tensors, no code);
* ``best_model.safetensors`` — the weights of the best dev epoch so far, when that is not the
  current epoch (early stopping restores them at the end of a stage);
* ``state.pt`` — optimizer, LR scheduler and torch RNG state, saved with :func:`torch.save` and
  read back with ``torch.load(..., weights_only=True)``, which only accepts tensors and plain
  containers;
* ``trainer_state.json`` — progress, early-stopping state and the metric history, readable by
  people and tools.

Folders are written under a temporary name and renamed, so a crash never leaves half a checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from cluster.storage import atomic_folder

__all__ = ["load_checkpoint", "save_checkpoint", "save_weights", "unwrap"]

MODEL_FILE = "model.safetensors"
BEST_MODEL_FILE = "best_model.safetensors"
STATE_FILE = "state.pt"
TRAINER_STATE_FILE = "trainer_state.json"


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The module inside a DistributedDataParallel (or similar) wrapper."""
    return getattr(model, "module", model)


def save_weights(state: dict[str, torch.Tensor], path: Path) -> None:
    """A state dict as safetensors, with the ``format: pt`` metadata Hugging Face loaders expect.
    safetensors refuses tensors that share memory (tied embeddings): each gets its own copy."""
    seen: set[int] = set()
    plain = {}
    for key, tensor in state.items():
        tensor = tensor.detach()
        pointer = tensor.untyped_storage().data_ptr()
        plain[key] = tensor.clone().contiguous() if pointer in seen or not tensor.is_contiguous() else tensor
        seen.add(pointer)
    save_file(plain, str(path), metadata={"format": "pt"})


def save_checkpoint(
    directory: Path,
    *,
    model: torch.nn.Module,
    best_state: dict[str, torch.Tensor] | None,
    tensors: dict[str, Any],
    trainer_state: dict[str, Any],
) -> Path:
    """Write a checkpoint folder atomically; return its path."""
    directory = Path(directory)
    with atomic_folder(directory) as temporary:
        save_weights(unwrap(model).state_dict(), temporary / MODEL_FILE)
        if best_state is not None:
            save_weights(best_state, temporary / BEST_MODEL_FILE)
        torch.save(tensors, temporary / STATE_FILE)
        (temporary / TRAINER_STATE_FILE).write_text(json.dumps(trainer_state, indent=1, sort_keys=True))
    return directory


def load_checkpoint(
    directory: Path, model: torch.nn.Module
) -> tuple[dict[str, torch.Tensor] | None, dict[str, Any], dict[str, Any]]:
    """Load weights into ``model``; return (best weights or None, tensor state, trainer state)."""
    directory = Path(directory)
    unwrap(model).load_state_dict(load_file(str(directory / MODEL_FILE)))
    best_file = directory / BEST_MODEL_FILE
    best_state = load_file(str(best_file)) if best_file.is_file() else None
    tensors = torch.load(directory / STATE_FILE, weights_only=True)
    trainer_state = json.loads((directory / TRAINER_STATE_FILE).read_text())
    return best_state, tensors, trainer_state
