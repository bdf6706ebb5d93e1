"""Issue 13's examples, fast: each names the bug from its evidence, with one headline at most.

The whole corpus is measured in tests/test_mistakes.py (QUEST_CORPUS=1); these run one case each on
every run, so a rule that regresses on a reported example is caught at once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pytest_triton_quest.checking import check_case
from pytest_triton_quest.model import Case, Failure, Mode, Tolerance
from pytest_triton_quest.registry import level_by_number
from pytest_triton_quest.report import _map, one_headline
from tests.mistakes import level_module
from tests.support import ON_GPU, SOLUTIONS

if ON_GPU:
    pytest.skip("the diagnoses use the interpreter's store map, guard and probes", allow_module_level=True)
pytestmark = pytest.mark.usefixtures("interpreter")
MODE = Mode("cpu", True, "tests")


def report_of(number: int, mistake_name: str, case_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[str]]:
    level = level_by_number(number)
    assert level is not None
    mistake = next(m for m in level_module(number).MISTAKES if m.name == mistake_name)
    solution = SOLUTIONS / level.kata_file
    katas = tmp_path / "katas"
    katas.mkdir()
    path = katas / level.kata_file
    path.write_text(mistake.apply(solution.read_text(), str(solution)))
    monkeypatch.chdir(tmp_path)
    result = check_case(level, level.case_by_id(case_id, MODE), path, MODE)
    assert not result.passed
    assert len(result.diagnoses) <= 1, result.diagnoses
    return result.message, result.diagnoses


@pytest.mark.parametrize(
    "number, mistake, case_id, expect, wrong",
    [
        (2, "acc_overwritten", "fp32-37x37x37", "accumulator is overwritten", "without a mask"),  # 13.1
        (5, "grid_rounded_down", "fp32-2x2x77", "the grid (1, 1, 4) is too small", "GLOBAL"),  # 13.2
        (4, "missing_head_offset", "fp32-2x2x77x32", "bh * stride", "partial block"),  # 13.3
        (1, "grid_rounded_down", "fp32-1000", "the grid (0,) has no programs", "never written"),  # 13.4
        (1, "grid_rounded_down", "fp32-98765", "the grid (96,) is too small", "never written"),  # 13.4
        (1, "x_load_unmasked", "fp32-98765", "the load of `x_ptr` runs without a mask", "y_ptr"),  # 13.5
        (6, "softmax_row_stride_block", "fp32-2x2x77x32-causal", "row stride", "without a mask"),  # 13.11
        (8, "stage2_local_rows", "fp32-2x2x77x32-causal", "tile-local query rows", "diagonal tile is skipped"),  # 13.11
    ],
)
def test_a_reported_mistake_gets_its_own_headline(
    number: int, mistake: str, case_id: str, expect: str, wrong: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message, diagnoses = report_of(number, mistake, case_id, tmp_path, monkeypatch)
    assert diagnoses and expect in diagnoses[0], (message, diagnoses)
    assert wrong not in diagnoses[0]


def test_the_offsets_of_a_stray_load_are_relative_to_its_own_pointer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """13.5: x's overflow is reported against x, from offset n, whatever lies next to it in memory."""
    message, _ = report_of(1, "x_load_unmasked", "fp32-98765", tmp_path, monkeypatch)
    assert "outside `x_ptr` (element offsets 98765..99327" in message


def test_one_wrong_element_is_singular(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    message, _ = report_of(1, "grid_rounded_down", "fp32-1", tmp_path, monkeypatch)
    assert "1 wrong element was never stored" in message


def test_rival_findings_give_no_headline() -> None:
    assert one_headline(["likely: a", "likely: a"]) == "likely: a"
    assert one_headline(["likely: a", "likely: b"]) is None
    assert one_headline([]) is None


def test_an_error_map_that_is_wrong_everywhere_zooms_in() -> None:
    bad = torch.zeros(160, 160, dtype=torch.bool)
    bad[::2] = True  # every other row: each coarse cell of 10 x 4 elements holds a wrong one
    lines = _map(bad, "query rows", "cols")
    assert "at one element per character" in lines[0]
    assert len(lines) == 1 + 16 and all(len(line) == 2 + 48 for line in lines[1:])


def test_a_constant_factor_is_an_observation_not_a_diagnosis() -> None:
    from pytest_triton_quest.report import _constant_factor

    ref = torch.randn(64, dtype=torch.float64)
    failure = Failure(Case("c", "fp32", "p"), {}, ref * 2, ref, torch.ones(64, dtype=torch.bool), Tolerance(0, 0), [])
    assert _constant_factor(failure) == ["every value is off by a constant factor of about 2"]


def test_a_near_miss_another_failing_case_rules_out_is_left_out_of_the_summary() -> None:
    """Issue 22: a near miss is named only where it reproduces the output on the failing cases. One
    case's line naming a slip that another case tried at every size it knows, and found far from
    its output, is dropped (whatever its numbers: the case tried the same slip at its own sizes); in
    a line of several near misses only that one goes; nothing else is touched."""
    from pytest_triton_quest.model import borne_out, bug_key, one_of
    from pytest_triton_quest.summary import ranked_bugs

    page = "likely: the page entry of token t is looked up as t // 256 (a tile width): it is block_table[b, t // page_size]"
    tile = "likely: the page is looked up once per tile of 256 tokens, at the tile's first token"
    both = one_of([page, tile])
    assert borne_out(both, {bug_key(page)}) == tile
    assert borne_out(both, {bug_key(page), bug_key(tile)}) is None
    assert borne_out(page, {bug_key(tile)}) == page
    assert borne_out(page, {bug_key(page.replace("256", "64"))}) is None
    other = "likely: the slot inside the page is t itself, with no modulo: it must be t % page_size"
    assert ranked_bugs([page, page, other], {bug_key(page)}) == [[other]]
    assert ranked_bugs([both, both, other], {bug_key(tile)}) == [[page, page], [other]]


def test_a_case_that_rules_out_a_line_of_several_rules_out_each() -> None:
    """Level 4's default scale gives one number two readings (applied twice, or 1 / D): a case far
    from that number rules out both, so either alone, named by another case, is left out too."""
    from types import SimpleNamespace

    from pytest_triton_quest.checking import _ruled_out
    from pytest_triton_quest.model import bug_key, one_of

    twice = "likely: the scale is applied twice"
    one_over_d = "likely: the default scale is 1 / D"
    failure = SimpleNamespace(ruled_out={one_of([twice, one_over_d])}, reproduced=set())
    assert _ruled_out(failure, []) == sorted({bug_key(twice), bug_key(one_over_d)})  # type: ignore[arg-type]
    failure.reproduced = {twice}
    assert _ruled_out(failure, []) == [bug_key(one_over_d)]  # type: ignore[arg-type]


def test_the_summary_says_when_a_cases_near_miss_was_left_out() -> None:
    from pytest_triton_quest.model import FAILED, CaseResult, bug_key
    from pytest_triton_quest.summary import _grouped_diagnoses

    page = "likely: the page entry of token t is looked up as t // 256 (a tile width)"
    results = [CaseResult(FAILED, "a", [page]), CaseResult(FAILED, "b", [], ruled_out=[bug_key(page)])]
    ruled_out = {key for result in results for key in result.ruled_out}
    assert _grouped_diagnoses([line for result in results for line in result.diagnoses], ruled_out) == []
    assert CaseResult.from_dict(results[1].to_dict()).ruled_out == [bug_key(page)]  # it travels from the worker


def test_a_fact_that_names_no_cause_ranks_after_every_named_cause() -> None:
    """`seen:` lines (a fact, several possible causes) come after `likely:` ones in a level's summary,
    however many cases gave them, and lines that differ only in numbers are still one bug."""
    from pytest_triton_quest.model import SEEN
    from pytest_triton_quest.summary import ranked_bugs

    seen = SEEN + "an address past the end of the cache, from a page, slot or head index out of range"
    named = ["likely: the slot inside the page is t itself: it must be t % 16", "likely: the slot inside the page is t itself: it must be t % 8"]
    ranked = ranked_bugs([seen, seen, seen, *named])
    assert [group[0] for group in ranked] == [named[0], seen]
    assert len(ranked[0]) == 2 and len(ranked[1]) == 3
