"""The built-in levels: every `levelN_*.py` module beside this file defines one `Level` subclass.

They are registered through the same hook a level pack uses, so adding a level is adding a file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from ..hookspecs import hookimpl
from .base import Level


def _level_classes() -> list[type[Level]]:
    found = []
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("level"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        found.extend(
            member
            for member in vars(module).values()
            if inspect.isclass(member) and issubclass(member, Level) and member is not Level and member.__module__ == module.__name__
        )
    return found


@hookimpl
def triton_quest_levels() -> list[Level]:
    return [level_class() for level_class in _level_classes()]
