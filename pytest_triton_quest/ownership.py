"""Progress belongs to the learner's own kata folder.

Only checks of the configured kata folder count (options.Settings.records). A progress file written
before that rule may count passes of other folders (`pytest --katas solutions_hidden` once, to see
what passing looks like, unlocked every level): a pass whose level's kata file in the learner's
folder is still the template cannot be theirs. Such passes are set apart, with their
date, and count for nothing; every other entry is the learner's and is kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .levels.base import Level
from .progress import ProgressStore
from .registry import kata_is_untouched


def set_apart_foreign_passes(store: ProgressStore, katas: Path, levels: Sequence[Level]) -> list[int]:
    """One locked repair of the progress file: passes that cannot be the learner's are set apart."""
    by_number = {level.number: level for level in levels}
    progress = store.load()
    suspects = [n for n, e in progress.levels.items() if e.passed_at is not None and e.katas != str(katas) and n in by_number]
    if not suspects:
        return []
    with store.update() as progress:
        return progress.set_apart_foreign_passes(katas, lambda number: number in by_number and kata_is_untouched(katas, by_number[number]))


def foreign_passes_line(moved: list[int], katas: Path) -> str:
    levels = ", ".join(str(number) for number in moved)
    return (
        f"progress: level{'s' if len(moved) > 1 else ''} {levels} counted as passed, but your kata file"
        f"{'s are' if len(moved) > 1 else ' is'} still the template in {katas}: that pass came from another folder. "
        "It is kept apart and no longer counts"
    )
