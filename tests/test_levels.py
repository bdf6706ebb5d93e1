"""Every level, proven on the CPU: the hidden solution passes every case, the untouched template
fails with the not-implemented message, and the tolerances reject outputs that are obviously wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_triton_quest.checking import case_seed, check_case
from pytest_triton_quest.levels.base import Level
from pytest_triton_quest.model import Mode
from pytest_triton_quest.registry import all_levels
from pytest_triton_quest.model import NOT_IMPLEMENTED
from tests.support import ON_GPU, SOLUTIONS, TEMPLATES

pytestmark = pytest.mark.usefixtures("interpreter")
MODE = Mode("cuda", False, "QUEST_TEST_DEVICE=cuda") if ON_GPU else Mode("cpu", True, "tests")
LEVELS = all_levels()


def level_id(level: Level) -> str:
    return f"level{level.number}"


def test_eleven_levels_numbered_in_order() -> None:
    """The eight built-in levels and season 2's three (an in-tree pack, registered through the hook)."""
    assert [level.number for level in LEVELS] == list(range(1, 12))
    assert {type(level).__module__.split(".")[1] for level in LEVELS if level.number > 8} == {"season2"}


@pytest.mark.parametrize("level", LEVELS, ids=level_id)
def test_the_solution_passes_every_case(level: Level) -> None:
    failures = []
    for case in level.cases(MODE):
        result = check_case(level, case, SOLUTIONS / level.kata_file, MODE)
        if not result.passed:
            failures.append(f"{case.id}: {result.message}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("level", LEVELS, ids=level_id)
def test_the_template_is_not_implemented(level: Level) -> None:
    for case in level.cases(MODE):
        result = check_case(level, case, TEMPLATES / level.kata_file, MODE)
        assert result.outcome == NOT_IMPLEMENTED, f"{case.id}: {result.outcome}: {result.message}"
        assert result.message == (
            f"level {level.number} is not implemented yet: open {_shown(TEMPLATES / level.kata_file)} and fill in the TODOs"
        )


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@pytest.mark.parametrize("level", LEVELS, ids=level_id)
def test_level_metadata_is_complete(level: Level) -> None:
    assert len(level.hints) == 6 and all(len(hint) > 40 for hint in level.hints)
    assert level.concept and level.kata_file.startswith(f"level{level.number}_")
    cases = level.cases(MODE)
    assert len({case.id for case in cases}) == len(cases), "case ids must be unique"
    assert set(level.cpu_dtypes) <= {case.dtype for case in cases}
    assert all(case.purpose for case in cases)


@pytest.mark.parametrize("level", LEVELS, ids=level_id)
def test_every_level_is_benchmarked_against_pytorch(level: Level) -> None:
    """Issue 7: each level times the learner's kernel beside at least one PyTorch row, on GPU-sized
    shapes whose work (FLOPs or bytes) is known, so the table can show TFLOP/s or GB/s."""
    cases = level.benchmark_cases()
    assert cases and level.baselines(), f"level {level.number} has no benchmark"
    assert len({case.id for case in cases}) == len(cases), "benchmark case ids must be unique"
    assert all(level.work(case).flops or level.work(case).bytes for case in cases)
    if level.number in range(6, 10):  # attention forward (6 to 8) and backward (9)
        assert list(level.baselines()) == ["sdpa", "sdpa-flash"]


@pytest.mark.parametrize("level", LEVELS, ids=level_id)
def test_zero_and_constant_outputs_fail_every_case(level: Level) -> None:
    import torch

    for case in level.cases(MODE):
        generator = torch.Generator().manual_seed(case_seed(level, case))
        inputs = level.make_inputs(case, generator)
        references = level.reference(inputs, case)
        references = references if isinstance(references, tuple) else (references,)
        tolerance = level.tolerance(case, MODE)
        # A wrong answer made of zeros (or of one value) in EVERY output must fail: one output may be
        # truly zero (level 9 at S = 1, where dq and dk vanish), the whole answer never is.
        finites = [reference[torch.isfinite(reference)] for reference in references]
        wrong_answers = [[torch.zeros_like(reference) for reference in references]]
        if any(finite.unique().numel() > 1 for finite in finites):  # a one-value answer is caught only where answers vary
            wrong_answers.append([torch.full_like(reference, float(finite.mean())) for reference, finite in zip(references, finites)])
        for wrong in wrong_answers:
            close = [torch.isclose(w, r, rtol=tolerance.rtol, atol=tolerance.atol).all() for w, r in zip(wrong, references)]
            kind = "zero" if not any(w.any() for w in wrong) else "constant"
            assert not all(bool(c) for c in close), f"{case.id}: a {kind} output would pass"


@pytest.mark.parametrize(
    "ending, message",
    [
        ("return dq, dk", "returned 2 values, expected 3: a tuple (dq, dk, dv)"),
        ("return dq, dk, dk", "`dk` and `dv` share memory"),
        ("return dq, dk, dv.double()", "`dv` has dtype torch.float64"),
        ("return torch.cat([dq, dk, dv])", "returned a Tensor, expected a tuple (dq, dk, dv)"),
    ],
)
def test_a_level_with_several_outputs_says_which_one_is_malformed(ending: str, message: str, tmp_path: Path) -> None:
    """Level 9 returns (dq, dk, dv): the answer's shape is checked output by output, by name."""
    level = next(level for level in LEVELS if level.number == 9)
    source = (SOLUTIONS / level.kata_file).read_text()
    wrapper = (
        "\n\nflash_attention_backward_right = flash_attention_backward\n\n\n"
        "def flash_attention_backward(q, k, v, o, lse, do, causal=True, scale=None):\n"
        "    dq, dk, dv = flash_attention_backward_right(q, k, v, o, lse, do, causal=causal, scale=scale)\n"
        f"    {ending}\n"
    )
    path = tmp_path / level.kata_file
    path.write_text(source + wrapper)
    result = check_case(level, level.cases(MODE)[2], path, MODE)
    assert not result.passed and message in result.message, result.message
