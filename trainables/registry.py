"""Name -> implementation registries, one per extension axis (formats, datasets, architectures...).

Names are the exact strings users type and results store. An entry may be the object itself or a
``"module:attribute"`` string that is imported on first use, so heavy optional pieces cost nothing
until somebody asks for them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from .errors import ResweepError

__all__ = ["Registry", "UnknownNameError"]

T = TypeVar("T")


class UnknownNameError(ResweepError, KeyError):
    """An unknown registry name; the message lists the valid ones."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class Registry(Generic[T]):
    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T | str] = {}

    def register(self, name: str, obj: T | str) -> None:
        """Register ``obj`` (or a lazy ``"module:attribute"``) under ``name``."""
        if name in self._entries:
            raise ResweepError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = obj

    def entry(self, name: str) -> Callable[[T], T]:
        """Decorator form of :meth:`register`."""

        def decorator(target: T) -> T:
            self.register(name, target)
            return target

        return decorator

    def check(self, name: str) -> None:
        """An unknown ``name`` is an error listing the valid ones; a known one is not imported."""
        if name not in self._entries:
            valid = ", ".join(self.names())
            raise UnknownNameError(f"unknown {self.kind} {name!r}; valid: {valid}")

    def get(self, name: str) -> T:
        self.check(name)
        entry = self._entries[name]
        if isinstance(entry, str):
            module, _, attribute = entry.partition(":")
            entry = getattr(importlib.import_module(module), attribute)
            self._entries[name] = entry
        return entry

    def names(self) -> list[str]:
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)
