"""A corpus of realistic learner mistakes: the evidence base for judging the `likely:` diagnoses.

The mutants in tests/mutants/ are bugs we planted to exercise rules we wrote; they are tuned to the
engine. The mistakes here are what a learner writes from the template's TODOs (a grid rounded down,
an accumulator overwritten, a missing head offset, a mask off by one, ...), including every mistake
that issue 13 reports the diagnoses getting wrong. They are meant to measure the engine, not to
pass it: `benchmarks/corpus_report.py` runs every case of each mistake's level and scores the
headlines, and `tests/test_mistakes.py` checks that each mistake still applies and fails its level.

A mistake is a `Mutant` (the level's hidden solution with exact `(old, new)` text edits; see
tests/mutants/__init__.py) plus what a good tutor would and would not say about it:

- `expect`: a phrase that the RIGHT headline would contain, case-insensitively. It describes the bug
  as a tutor would name it; today's engine may not say it yet.
- `wrong`: phrases that would make a headline WRONG for this bug: the rival diagnoses a learner could
  be misled by (for the overwritten accumulator, "without a mask" names a bug that is not there).
- `issue`: where the mistake was reported, e.g. "13.1" for issue 13, point 1; "22" for issue 22's
  corpus of season 2 (levels 9 to 11); "" for mistakes taken from the templates' TODOs.

The hidden solutions are optimised (tensor descriptors, autotuning, two-stage loops); each mistake's
edits are written so that the resulting kernel is the one a learner with that misconception would
have written, which sometimes takes a second edit (e.g. turning off a fast path the learner's
template does not have).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from types import ModuleType

from tests.mutants import Mutant


def flat(text: str) -> str:
    """Report text as the judge compares it: a line may be wrapped, so runs of whitespace collapse;
    case and the backticks that mark code (`scale` says "scale") do not count."""
    return " ".join(text.replace("`", "").split()).lower()


def says(phrase: str, line: str) -> bool:
    """A rival (`wrong`) phrase is said by a line when it stands there as words of its own, a plural
    allowed: "scale" is not said by "rescaled", nor "mask" by "unmasked". Expected phrases are plain
    substrings of `flat` text, since they are often stems ("rescal")."""
    return re.search(r"(?<![a-z0-9_])" + re.escape(flat(phrase)) + r"(?:s|es)?(?![a-z0-9_])", flat(line)) is not None


@dataclass(frozen=True)
class Mistake(Mutant):
    # Headline phrases that would misname this bug. Required: a default only because Mutant's last
    # field has one, so __post_init__ refuses an empty tuple.
    wrong: tuple[str, ...] = ()
    # Where the mistake was observed: "13.N" is issue 13, point N; "22" is issue 22 (season 2); "" is
    # from the templates' TODOs.
    issue: str = ""

    def __post_init__(self) -> None:
        assert self.wrong, f"mistake {self.name!r}: list at least one phrase that a wrong headline would contain"
        lowered_expect = self.expect.lower()
        clashes = [phrase for phrase in self.wrong if says(phrase, lowered_expect) or lowered_expect in phrase.lower()]
        # A phrase both expected and forbidden would make the verdict meaningless.
        assert not clashes, f"mistake {self.name!r}: expect {self.expect!r} overlaps wrong phrases {clashes}"


def level_module(number: int) -> ModuleType:
    """`tests/mistakes/levelN.py`, which defines `MISTAKES: list[Mistake]`."""
    return importlib.import_module(f"{__name__}.level{number}")


def all_mistakes() -> list[tuple[int, Mistake]]:
    """Every (level number, mistake) of the corpus, in level order."""
    return [(number, mistake) for number in range(1, 12) for mistake in level_module(number).MISTAKES]
