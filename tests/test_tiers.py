"""Tiers (issue 24): bronze, silver, gold and legend are fractions of the speed that is legend, 1.0x
PyTorch, except at levels whose 1.0x proved out of reach in Triton 3.6; there legend is what the hidden
solution measured, per head dimension, and every tier moves with it."""

from __future__ import annotations

import pytest

from pytest_triton_quest.bench import geometric_mean, legend_mark, legend_words, tier
from pytest_triton_quest.progress import ProgressStore
from pytest_triton_quest.registry import level_by_number
from tests.support import QuestProject


def test_the_tiers_are_fractions_of_legend() -> None:
    assert [tier(s) for s in (1.0, 0.95, 0.5, 0.3, 0.2)] == ["legend", "gold", "silver", "bronze", ""]
    assert [tier(s, legend=0.8) for s in (0.8, 0.79, 0.73, 0.4, 0.2, 0.19)] == ["legend", "gold", "gold", "silver", "bronze", ""]
    assert tier(None) == ""


@pytest.mark.parametrize("number", [8, 9, 10])
def test_attention_levels_hold_legend_at_the_solutions_speed_per_head_dim(number: int) -> None:
    level = level_by_number(number)
    assert level is not None
    marks = {int(case.params["D"]): level.legend_speedup(case) for case in level.benchmark_cases()}
    assert set(marks) == {64, 128} and all(0.75 <= mark < 1.0 for mark in marks.values())
    assert marks[128] < marks[64], "the solutions are further from cuDNN at D = 128"
    words = legend_words(level)
    assert words is not None and f"{marks[64]:.2f}x at D = 64" in words and f"{marks[128]:.2f}x at D = 128" in words


def test_a_run_of_some_shapes_is_held_to_those_shapes_marks() -> None:
    level = level_by_number(8)
    assert level is not None
    d128 = [case.id for case in level.benchmark_cases() if case.params["D"] == 128]
    assert legend_mark(level, d128) == pytest.approx(0.81)
    assert legend_mark(level) == pytest.approx(geometric_mean([0.91, 0.81]))
    # The solution's own speed at every shape is legend; 5% slower everywhere is gold.
    assert tier(legend_mark(level), legend_mark(level)) == "legend"
    assert tier(0.95 * legend_mark(level), legend_mark(level)) == "gold"


@pytest.mark.parametrize("number", [1, 2, 3, 4, 5, 6, 7, 11])
def test_every_other_level_keeps_legend_at_pytorchs_speed(number: int) -> None:
    level = level_by_number(number)
    assert level is not None
    assert legend_words(level) is None and legend_mark(level) == 1.0


def test_the_overview_gives_the_tier_against_the_levels_own_legend(project: QuestProject) -> None:
    project.mark_passed(1, 2, 3, 4, 5, 6, 7, 8)
    store = ProgressStore(project.state_path)
    progress = store.load()
    progress.level(7).best_speedup = 0.86  # legend is 1.0x here: 0.86x is silver
    progress.level(8).best_speedup = 0.86  # the solution's own 0.86x: legend
    assert store.save(progress)
    lines = project.quest().stdout.splitlines()
    assert next(line for line in lines if "Fused Attention" in line).endswith("best 0.86x PyTorch silver")
    assert next(line for line in lines if "Flash Attention" in line).endswith("best 0.86x PyTorch legend")


def test_the_run_summary_names_the_tier_and_what_legend_means_here() -> None:
    from types import SimpleNamespace

    from pytest_triton_quest.bench import YOURS, BenchLog
    from pytest_triton_quest.progress import Progress
    from pytest_triton_quest.summary import _benchmark_lines

    level = level_by_number(8)
    assert level is not None
    log = BenchLog()
    for case in level.benchmark_cases():
        if case.params["D"] == 128:  # a run of the D = 128 shapes only, at 0.80x SDPA: gold, not legend
            log.medians[(8, case.id)] = {"sdpa": 0.8, YOURS: 1.0}
    quest = SimpleNamespace(
        settings=SimpleNamespace(benchmark=True, plot=None), mode=SimpleNamespace(on_gpu=True),
        levels=[level], bench=log, progress=Progress(),
    )
    (line,) = _benchmark_lines(quest)  # type: ignore[arg-type]
    assert line == (
        "Level 8, Flash Attention: 0.80x the speed of PyTorch (sdpa), geometric mean of 6 shapes - gold "
        "(legend here is 0.91x at D = 64 and 0.81x at D = 128: what our solution reaches)"
    )
