"""`pytest --hint N`: reveal the next of a level's six hints and remember how many are out."""

from __future__ import annotations

import textwrap
import pytest

from .options import Settings
from .progress import ProgressStore
from .registry import RegistryError, all_levels, span


def reveal_next_hint(number: int, settings: Settings) -> int:
    try:
        levels = all_levels()
    except RegistryError as error:
        print(f"triton-quest: {error}")
        return pytest.ExitCode.USAGE_ERROR
    level = next((level for level in levels if level.number == number), None)
    if level is None:
        print(f"triton-quest: level {number} does not exist: the levels are {span([level.number for level in levels])}")
        return pytest.ExitCode.USAGE_ERROR
    store = ProgressStore(settings.state)
    # Hints are open for every level, locked ones too: reading ahead never hurts.
    with store.update() as progress:
        entry = progress.level(number)
        total = len(level.hints)
        if entry.hints_revealed >= total:
            print(f"{level.title}: all {total} hints are out. Here they are again:")
            for index, hint in enumerate(level.hints, start=1):
                print(format_hint(index, total, hint))
        else:
            entry.hints_revealed += 1
            seen = entry.hints_revealed - 1
            again = f" (after the {'one' if seen == 1 else seen} you have seen)" if seen else ""
            print(f"{level.title}: hint {entry.hints_revealed} of {total}{again}")
            # Hints build on each other: the new one reads best after the ones before it.
            for index in range(1, entry.hints_revealed + 1):
                print(format_hint(index, total, level.hints[index - 1]))
            if entry.hints_revealed < total:
                print(f"More help: pytest --hint {number} (hint {entry.hints_revealed + 1} of {total}).")
    for warning in store.warnings:
        print(f"warning: {warning}")
    return pytest.ExitCode.OK


def format_hint(index: int, total: int, hint: str) -> str:
    first = f"  {index}/{total}  "
    # Continuation lines start under the hint's first word, whatever the width of "index/total".
    return textwrap.fill(hint, width=96, initial_indent=first, subsequent_indent=" " * len(first))
