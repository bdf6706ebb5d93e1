"""Known-buggy variants of the solutions must fail their level, and the report must name the bug.

Each file under tests/mutants/levelN/ is a complete kata with one planted bug and an `EXPECT` string
that the failure message or a diagnosis line must contain.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

ON_GPU = os.environ.get("QUEST_TEST_DEVICE") == "cuda"  # see test_levels.py
if not ON_GPU:
    os.environ["TRITON_INTERPRET"] = "1"

from conftest import MUTANTS  # noqa: E402
from pytest_triton_quest.checking import check_case  # noqa: E402
from pytest_triton_quest.levels.base import Mode  # noqa: E402
from pytest_triton_quest.registry import level_by_number  # noqa: E402

MODE = Mode("cuda", False, "QUEST_TEST_DEVICE=cuda") if ON_GPU else Mode("cpu", True, "tests")
MUTANT_FILES = sorted(MUTANTS.glob("level*/*.py"))


def expected_text(path: Path) -> str:
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXPECT" for t in node.targets):
            return str(ast.literal_eval(node.value))
    raise AssertionError(f"{path} has no EXPECT")


def test_every_level_has_at_least_three_mutants() -> None:
    counts = {number: len(list(MUTANTS.glob(f"level{number}/*.py"))) for number in range(1, 9)}
    assert all(count >= 3 for count in counts.values()), counts


@pytest.mark.parametrize("path", MUTANT_FILES, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_mutant_fails_and_the_report_names_the_bug(path: Path) -> None:
    level = level_by_number(int(path.parent.name.removeprefix("level")))
    assert level is not None
    expect = expected_text(path).lower()
    reports = []
    for case in level.cases(MODE):
        result = check_case(level, case, path, MODE)
        if result.passed:
            continue
        report = "\n".join([result.message, *result.diagnoses])
        if expect in report.lower():
            return
        reports.append(f"[{case.id}] {report}")
    assert reports, f"{path.name} passed every case of level {level.number}: the checks cannot catch this bug"
    pytest.fail(f"{path.name} failed, but no report mentions {expect!r}:\n" + "\n".join(reports[:3]))
