"""All levels known to this environment: the built-in eight plus any installed level packs."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import lru_cache

import pluggy

from . import hookspecs
from .levels.base import Level

PACKS_VARIABLE = "TRITON_QUEST_PACKS"


class RegistryError(Exception):
    pass


@dataclass(frozen=True)
class LevelRef:
    """How a worker process finds the same level again: the module and class that define it."""

    module: str
    qualname: str

    @classmethod
    def of(cls, level: Level) -> "LevelRef":
        return cls(type(level).__module__, type(level).__qualname__)

    def load(self) -> Level:
        owner = importlib.import_module(self.module)
        level_class = getattr(owner, self.qualname)
        return level_class()


def _plugin_manager() -> pluggy.PluginManager:
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    from . import levels as builtin

    manager.register(builtin, name="triton_quest_builtin")
    manager.load_setuptools_entrypoints(hookspecs.PROJECT)
    for name in filter(None, (part.strip() for part in os.environ.get(PACKS_VARIABLE, "").split(","))):
        if manager.get_plugin(name) is None:
            manager.register(importlib.import_module(name), name=name)
    return manager


@lru_cache(maxsize=1)
def all_levels() -> tuple[Level, ...]:
    found: dict[int, Level] = {}
    for pack in _plugin_manager().hook.triton_quest_levels():
        for level in pack:
            if level.number in found:
                other = found[level.number]
                raise RegistryError(
                    f"two levels claim number {level.number}: {type(other).__qualname__} and {type(level).__qualname__}"
                )
            found[level.number] = level
    return tuple(found[number] for number in sorted(found))


def level_by_number(number: int) -> Level | None:
    return next((level for level in all_levels() if level.number == number), None)
