"""Known-buggy variants of the solutions must fail their level, and the report must name the bug.

A mutant (tests/mutants/levelN.py) is the level's current hidden solution with a few text edits that
plant one bug, and an `expect` phrase that the failure message or a diagnosis line must contain. It is
written to a temporary katas/ folder under the kata's own file name and checked from there, so the
report names the file and lines as a learner would see them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest

from pytest_triton_quest.checking import check_case
from pytest_triton_quest.levels.base import Level
from pytest_triton_quest.model import Case, CaseResult, Mode
from pytest_triton_quest.runner import IsolatedRunner
from pytest_triton_quest.sanitizer import find_tool, plan_sanitizer
from pytest_triton_quest.registry import all_levels, level_by_number
from pytest_triton_quest.model import SCREEN_ROWS, format_report, screen_rows
from tests.mutants import Mutant, edit_problems, level_module
from tests.support import ON_GPU, SOLUTIONS

pytestmark = pytest.mark.usefixtures("interpreter")
MODE = Mode("cuda", False, "QUEST_TEST_DEVICE=cuda") if ON_GPU else Mode("cpu", True, "tests")
LEVEL_NUMBERS = [level.number for level in all_levels()]
MUTANTS: dict[int, list[Mutant]] = {number: level_module(number).MUTANTS for number in LEVEL_NUMBERS}
ALL_MUTANTS = [(number, mutant) for number, mutants in MUTANTS.items() for mutant in mutants]


def sanitized_checker(request: pytest.FixtureRequest) -> Callable[[Level, Case, Path, Mode], CaseResult]:
    """check_case in a worker process run under compute-sanitizer (skips the test without the tool)."""
    tool = find_tool()
    if tool is None:
        pytest.skip("compute-sanitizer was not found: compiled, only it catches this out-of-bounds access")
    runner = IsolatedRunner(MODE, 300.0, sanitizer=plan_sanitizer("on", True, True, tool))
    request.addfinalizer(runner.close)

    def check(level: Level, case: Case, path: Path, mode: Mode) -> CaseResult:
        return runner.run(level, case, path)[0]

    return check


def level_of(number: int) -> Level:
    level = level_by_number(number)
    assert level is not None, f"no level {number}"
    return level


def solution_of(level: Level) -> Path:
    return SOLUTIONS / level.kata_file


def write_kata(level: Level, source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The source as katas/<the level's kata file> in a fresh folder, which becomes the current one."""
    katas = tmp_path / "katas"
    katas.mkdir()
    path = katas / level.kata_file
    path.write_text(source)
    monkeypatch.chdir(tmp_path)  # reports name the file relative to here: katas/levelN_x.py
    return path


def flat(text: str) -> str:
    # A report line may be wrapped to the screen width: a phrase can straddle the line break.
    return " ".join(text.split()).lower()


def test_every_level_has_at_least_three_mutants() -> None:
    counts = {number: len(mutants) for number, mutants in MUTANTS.items()}
    assert all(count >= 3 for count in counts.values()), counts


@pytest.mark.parametrize("number", LEVEL_NUMBERS, ids=lambda number: f"level{number}")
def test_mutants_are_well_formed_and_match_the_current_solution(number: int) -> None:
    """Cheap and first: a stale edit is reported here for every mutant of the level at once."""
    level = level_of(number)
    problems = edit_problems(MUTANTS[number], solution_of(level), level.kata_file)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("number", LEVEL_NUMBERS, ids=lambda number: f"level{number}")
def test_the_unedited_solution_passes_from_the_same_place(
    number: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Control: written and checked exactly as the mutants are, the solution itself passes."""
    level = level_of(number)
    path = write_kata(level, solution_of(level).read_text(), tmp_path, monkeypatch)
    for case in level.cases(MODE)[:3]:
        result = check_case(level, case, path, MODE)
        assert result.passed, f"[{case.id}] {format_report(result)}"


@pytest.mark.parametrize("number, mutant", ALL_MUTANTS, ids=[f"level{n}/{m.name}" for n, m in ALL_MUTANTS])
def test_mutant_fails_and_the_report_names_the_bug(
    number: int, mutant: Mutant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    level = level_of(number)
    solution = solution_of(level)
    path = write_kata(level, mutant.apply(solution.read_text(), str(solution)), tmp_path, monkeypatch)
    check = check_case
    if ON_GPU and mutant.guard_only:
        # Compiled, a stray lane reads or writes memory next to the tensor and nothing notices:
        # only compute-sanitizer, around the quest's worker process, sees it (as in a learner's run).
        check = sanitized_checker(request)
    expect = flat(mutant.expect_compiled or mutant.expect if ON_GPU else mutant.expect)
    reports = []
    for case in level.cases(MODE):
        result = check(level, case, path, MODE)
        if result.passed:
            continue
        report = format_report(result)
        if ON_GPU and mutant.probe_only:
            return  # compiled there are no probes: failing is all that is asked
        if expect in flat(report):
            # With pytest's header line for the item, a case's report fits one terminal screen.
            assert screen_rows(report) <= SCREEN_ROWS - 2, report
            return
        reports.append(f"[{case.id}] {report}")
    what = f"{mutant.name} ({mutant.bug})"
    assert reports, f"{what} passed every case of level {number}: the checks cannot catch this bug"
    pytest.fail(f"{what} failed, but no report mentions {mutant.expect!r}:\n" + "\n".join(reports[:3]))
