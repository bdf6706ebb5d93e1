"""Deferred imports of torch and triton.

An installed pytest plugin is imported by every pytest run in its environment, and importing torch
plus triton costs seconds. Level definitions therefore refer to torch through this proxy, which imports
the real module on first attribute access only.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def _load(self) -> ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._load(), attribute)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r} ({state})>"


torch: Any = LazyModule("torch")
