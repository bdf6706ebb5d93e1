"""Hooks through which packages add levels to the quest.

A level pack is any module that implements `triton_quest_levels`. Installed packages announce it
with an entry point in the group `triton_quest`; during development the environment variable
TRITON_QUEST_PACKS (comma-separated module names) does the same. The built-in levels use this hook
too (`pytest_triton_quest.levels`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .levels.base import Level

PROJECT = "triton_quest"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def triton_quest_levels() -> "list[Level]":
    """Return the levels this pack adds. Level numbers must be unique across packs."""
