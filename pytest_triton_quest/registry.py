"""All levels known to this environment: the built-in eight, season 2 (an in-tree pack) and any
installed level packs."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pluggy

from . import hookspecs
from .levels.base import Level, definition_problems

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
    from . import season2

    manager.register(builtin, name="triton_quest_builtin")
    # Season 2 ships in this package but joins as a pack does, through the hook.
    manager.register(season2, name="triton_quest_season2")
    manager.load_setuptools_entrypoints(hookspecs.PROJECT)
    for name in filter(None, (part.strip() for part in os.environ.get(PACKS_VARIABLE, "").split(","))):
        if manager.get_plugin(name) is None:
            manager.register(importlib.import_module(name), name=name)
    return manager


def _pack_levels(pack_name: str, made: object) -> list[Level]:
    """The levels one pack returned, each checked: a broken pack fails here, named, not mid-run."""
    if not isinstance(made, (list, tuple)):
        raise RegistryError(f"level pack {pack_name}: triton_quest_levels() must return a list of Level objects")
    levels = []
    for level in made:
        if not isinstance(level, Level):
            raise RegistryError(f"level pack {pack_name}: {level!r} is not a Level (subclass pytest_triton_quest.levels.base.Level)")
        problems = definition_problems(level)
        if problems:
            raise RegistryError(f"level pack {pack_name}: {type(level).__qualname__}: " + "; ".join(problems))
        levels.append(level)
    return levels


@lru_cache(maxsize=1)
def all_levels() -> tuple[Level, ...]:
    manager = _plugin_manager()
    found: dict[int, Level] = {}
    for implementation in manager.hook.triton_quest_levels.get_hookimpls():
        pack_name = implementation.plugin_name
        try:
            made = implementation.function()
        except TypeError as error:  # an abstract method left out: the class cannot be instantiated
            raise RegistryError(f"level pack {pack_name}: {error}") from None
        for level in _pack_levels(pack_name, made):
            if level.number in found:
                other = found[level.number]
                raise RegistryError(
                    f"two levels claim number {level.number}: {type(other).__qualname__} and {type(level).__qualname__}"
                )
            found[level.number] = level
    return tuple(found[number] for number in sorted(found))


def level_by_number(number: int) -> Level | None:
    return next((level for level in all_levels() if level.number == number), None)


def span(numbers: list[int]) -> str:
    """The level numbers as a learner reads them: `1 to 8`, or `1, 2, 5` when there are gaps."""
    if not numbers:
        return "none"
    if numbers == list(range(numbers[0], numbers[-1] + 1)):
        return f"{numbers[0]} to {numbers[-1]}"
    return ", ".join(str(number) for number in numbers)


def template_of(level: Level) -> Path | None:
    """The pristine kata file of a level, as shipped inside the package (None for a level pack)."""
    candidate = Path(__file__).parent / "templates" / level.kata_file
    return candidate if candidate.is_file() else None


def kata_is_untouched(katas: Path, level: Level) -> bool:
    """The learner's kata file of the level is still byte for byte its template: whatever passed that
    level, it was not this file. A missing file or a level pack without a template says nothing."""
    template = template_of(level)
    kata = katas / level.kata_file
    if template is None or not kata.is_file():
        return False
    try:
        return kata.read_bytes() == template.read_bytes()
    except OSError:
        return False

