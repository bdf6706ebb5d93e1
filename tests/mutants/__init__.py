"""Known-buggy variants of the hidden solutions, written as edits of the current solution.

`tests/mutants/levelN.py` lists the mutants of level N in `MUTANTS`. A mutant is the level's
solution (`solutions_hidden/levelN_*.py`) with a few `(old, new)` text replacements applied: one
planted bug, described in one sentence (`bug`), and a phrase (`expect`) that the failure report of
the level must contain, case-insensitively. `tests/test_mutants.py` builds every mutant and checks it.

Each `old` must occur exactly once in the solution, so a mutant cannot silently drift from the
solution it breaks: when the solution changes under an edit, building the mutant fails and says
which one to update.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Sequence


@dataclass(frozen=True)
class Mutant:
    name: str  # unique within its level; the test id is levelN/name
    bug: str  # the planted bug, one sentence
    expect: str  # must appear (case-insensitively) in the failure report
    edits: tuple[tuple[str, str], ...]  # (old, new) replacements of the level's solution source
    # An out-of-bounds access. Compiled on a GPU, an unmasked access touches whatever memory lies past
    # the tensor (the output can even be right): only compute-sanitizer sees it, so on a GPU the test
    # runs it as a learner's run does, in a worker under the sanitizer.
    guard_only: bool = False
    # What the compiled report must contain instead of `expect` (the sanitizer's report has no
    # interpreter probes behind it); None: `expect` itself.
    expect_compiled: str | None = None
    # Its diagnosis needs evidence only the interpreter gives (a probe: the learner's function run
    # again; which program stored which element; values read as the guard returns them); compiled,
    # the mutant must still fail, with no diagnosis asked of it.
    probe_only: bool = False

    def apply(self, solution: str, where: str = "the solution") -> str:
        """The solution's source with this mutant's edits applied, one after the other."""
        assert self.edits, f"mutant {self.name!r} has no edits"
        source = solution
        for old, new in self.edits:
            assert old != new, f"mutant {self.name!r}: an edit replaces {old!r} with itself"
            in_solution = solution.count(old)
            in_source = source.count(old)
            assert in_solution == 1 and in_source == 1, (
                f"mutant {self.name!r}: {old!r} occurs {in_solution} times in {where}"
                + (f" ({in_source} after the earlier edits)" if in_source != in_solution else "")
                + ", not exactly once. The solution changed: update this mutant's edits in tests/mutants/"
                " to the new code."
            )
            source = source.replace(old, new)
        return source


def edit_problems(variants: Sequence[Mutant], solution: Path, kata_file: str) -> list[str]:
    """What is wrong with a level's variants (mutants or mistakes) as written: a duplicate name, a
    missing description, an edit that no longer applies to the solution, a result that does not parse."""
    names = [variant.name for variant in variants]
    problems = [f"duplicate names: {names}"] if len(set(names)) != len(names) else []
    source = solution.read_text()
    for variant in variants:
        if not (variant.name.isidentifier() and variant.bug.strip() and variant.expect.strip()):
            problems.append(f"{variant.name}: a name, a bug and an expect phrase are required")
        try:
            compile(variant.apply(source, str(solution)), kata_file, "exec")
        except (AssertionError, SyntaxError) as error:
            problems.append(f"{variant.name}: {error}")
    return problems


def level_module(number: int) -> ModuleType:
    """`tests/mutants/levelN.py`, which defines `MUTANTS: list[Mutant]`."""
    return importlib.import_module(f"{__name__}.level{number}")
