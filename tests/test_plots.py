"""--plot (issue 16): panels per shape, fixed colours, tier guides, and a roofline under the card's roofs.

Rows are built by the functions the benchmark items use (bench.row_info, bench.plot_row), so they
have a real run's shape; only the medians are made up. Everything but the drawing runs without
matplotlib, which CI does not install; the drawing tests skip without it.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_triton_quest.bench import YOURS, plot_row, row_info
from pytest_triton_quest.card import card_for
from pytest_triton_quest.plots import (
    COLOURS, SHAPE_MARKERS, colour, marker_groups, panels, plot, roof_note, roofline_path, roofline_points, tier_legend, unit_of,
)
from pytest_triton_quest.registry import level_by_number
from tests.support import REPO

H200 = "NVIDIA H200"


def run_rows(number: int, gpu: str = H200, speed: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """A level's rows as a run would log them: each case's baselines, then yours. Medians are made up:
    row `name` reaches `speed[name]` PFLOP/s on its minimum work (TB/s for a level that counts no FLOPs)."""
    level = level_by_number(number)
    assert level is not None
    speed = speed or {}
    baseline = next(iter(level.baselines()))
    rows = []
    for case in level.benchmark_cases():
        work = level.work(case)
        ideal = work.flops / 1e15 if work.flops else work.bytes / 1e12
        medians = {}
        for name in [*level.baselines(), YOURS]:
            medians[name] = ideal / speed.get(name, 0.5)
            info = row_info(level, case, name, medians[name], gpu, medians[baseline] if name == YOURS else None)
            rows.append(plot_row(level, case, info, medians[name]))
    return rows


# ----- panels, without matplotlib ---------------------------------------------------------------------
def test_level8_has_one_panel_per_head_dim_and_causality_with_every_implementation_along_S() -> None:
    """The issue's picture: twelve lines on one axes. Now four panels, three lines each, S on the x axis."""
    found = panels(run_rows(8))
    assert [panel.title() for panel in found] == [
        "level 8, fp16, H=32, D=64, full (not causal)",
        "level 8, fp16, H=32, D=64, causal",
        "level 8, fp16, H=16, D=128, full (not causal)",
        "level 8, fp16, H=16, D=128, causal",
    ]
    for panel in found:
        series = panel.series()
        assert list(series) == [YOURS, "sdpa", "sdpa-flash"], "yours first, then the baselines in the run's order"
        assert all([x for x, _ in points] == [1024, 4096, 16384] for points in series.values())
        assert panel.swept == "S" and panel.unit == "TFLOP/s" and panel.log2_axis()


def test_a_panels_values_are_the_rows_throughput() -> None:
    rows = run_rows(8, speed={YOURS: 0.4, "sdpa": 0.5, "sdpa-flash": 0.3})
    first = panels(rows)[0]
    assert [round(y) for _, y in first.series()[YOURS]] == [400, 400, 400]
    assert [round(y) for _, y in first.series()["sdpa-flash"]] == [300, 300, 300]


def test_tier_guides_are_each_tiers_fraction_of_the_baseline_speedups_count_against() -> None:
    rows = run_rows(7, speed={"sdpa": 0.5, "sdpa-flash": 0.3})
    guides = {name: points for name, _, points in panels(rows)[0].tier_guides()}
    assert list(guides) == ["gold", "silver", "bronze"], "legend is 1.0x: the baseline's own line"
    # Against SDPA's default backend (500 TFLOP/s here), not the flash backend.
    assert [round(y) for _, y in guides["gold"]] == [450] * 3
    assert [round(y) for _, y in guides["bronze"]] == [125] * 3
    assert tier_legend(rows) == "tiers per shape: gold 0.9x, silver 0.5x, bronze 0.25x of PyTorch SDPA (default backend)"


def test_where_legend_is_our_solutions_speed_every_guide_is_that_much_lower_and_legend_is_drawn() -> None:
    """Level 8's legend is what the solution reaches (0.91x SDPA at D = 64, 0.81x at D = 128)."""
    rows = run_rows(8, speed={"sdpa": 0.5, "sdpa-flash": 0.3})
    by_d = {panel.title(): {name: points for name, _, points in panel.tier_guides()} for panel in panels(rows)}
    d64 = by_d["level 8, fp16, H=32, D=64, full (not causal)"]
    d128 = by_d["level 8, fp16, H=16, D=128, causal"]
    assert list(d64) == ["legend", "gold", "silver", "bronze"]
    assert [round(y) for _, y in d64["legend"]] == [455] * 3 and [round(y) for _, y in d64["gold"]] == [410] * 3
    assert [round(y) for _, y in d128["legend"]] == [405] * 3 and [round(y, 1) for _, y in d128["bronze"]] == [101.2] * 3
    assert "of legend" in tier_legend(rows)


def test_level10_panels_name_the_kv_heads_and_level11_sweeps_no_length() -> None:
    titles = [panel.title() for panel in panels(run_rows(10))]
    assert "level 10, fp16, Hkv=8, D=128, causal" in titles and "level 10, fp16, Hkv=1, D=64, full (not causal)" in titles
    assert len(titles) == len(set(titles)) == 6
    (decode,) = panels(run_rows(11))
    assert decode.swept is None, "level 11's shapes differ in pages and heads, not along one length"
    assert [x for x, _ in decode.series()[YOURS]] == [0, 1, 2, 3], "one tick per case"


@pytest.mark.parametrize(("number", "unit"), [(1, "GB/s"), (2, "TFLOP/s"), (3, "GB/s"), (5, "GB/s"), (8, "TFLOP/s"), (9, "TFLOP/s"), (11, "GB/s")])
def test_memory_bound_levels_are_drawn_in_bytes_per_second(number: int, unit: str) -> None:
    """Level 1 counts one FLOP per element and level 11 four per cached byte: TFLOP/s would say nothing."""
    assert unit_of(run_rows(number)) == unit


def test_every_level_that_benchmarks_falls_into_titled_panels() -> None:
    rows = [row for number in range(1, 12) for row in run_rows(number)]
    found = panels(rows)
    assert sum(len(panel.rows) for panel in found) == len(rows), "every row is drawn once"
    titles = [panel.title() for panel in found]
    assert len(titles) == len(set(titles)), "two panels with one title could not be told apart"
    assert all(title.startswith(f"level {panel.level}, {panel.dtype}") for title, panel in zip(titles, found))


def test_each_implementation_keeps_its_colour_whatever_else_ran() -> None:
    """The issue: with matplotlib's cycle, `sdpa D=128` and `yours D=64` were both blue. Colours go by
    name now, so they are the same in every panel, in both pictures and in every run."""
    assert len(set(COLOURS.values())) == len(COLOURS), "two known implementations share a colour"
    alone = panels(run_rows(8))
    mixed = panels(run_rows(1) + run_rows(8) + run_rows(11))
    assert {name: colour(name) for panel in alone for name in panel.series()} == {
        name: colour(name) for panel in mixed if panel.level == 8 for name in panel.series()
    }
    # A pack's own baseline gets a colour from its name alone (crc32, not the salted hash()).
    assert colour("my-baseline") == colour("my-baseline") and colour("my-baseline") not in COLOURS.values()


# ----- the roofline, without matplotlib ---------------------------------------------------------------
def test_roofline_points_sit_at_the_minimum_works_intensity() -> None:
    rows = run_rows(8, speed={YOURS: 0.4})
    points = [point for point in roofline_points(rows) if point.row == YOURS]
    assert len(points) == 12
    for point in points:
        S = int(point.case.split("x")[2])
        # 4 B H S^2 D FLOPs (half of it causal) over q, k, v and out in fp16: 4 B H S D * 2 bytes.
        assert point.intensity == pytest.approx(S / 4 if point.case.endswith("causal") else S / 2)
        assert point.tflops == pytest.approx(400)


def test_rows_that_count_no_flops_stay_off_the_roofline() -> None:
    assert roofline_points(run_rows(3) + run_rows(5)) == []
    assert {point.level for point in roofline_points(run_rows(1) + run_rows(3))} == {1}


def test_the_roof_is_the_cards_copy_rate_then_its_tensor_peak() -> None:
    card = card_for(H200)
    assert card is not None and card.peak_fp16_tflops == 989.4 and card.copy_gb_per_s == 4223.0
    assert card.roof_tflops(4) == pytest.approx(4 * 4.223)  # memory-bound: FLOP/byte x bytes/s
    assert card.roof_tflops(10_000) == 989.4
    assert card.roof_tflops(card.ridge()) == pytest.approx(989.4)


def test_a_card_is_picked_by_its_exact_name_and_otherwise_no_roof_is_drawn() -> None:
    """An H200 NVL has other clocks and memory than an H200: a sibling's roof would mislead."""
    assert card_for("NVIDIA H200 NVL") is None and card_for(None) is None
    card, note = roof_note(run_rows(8, gpu="NVIDIA GeForce RTX 9999"))
    assert card is None and note.startswith("no roof drawn: NVIDIA GeForce RTX 9999 is in no datasheet table of card.py and was not measured")
    card, note = roof_note(run_rows(8) + run_rows(1, gpu="NVIDIA H100 80GB HBM3"))
    assert card is None and "no single GPU" in note
    card, note = roof_note(run_rows(8))
    assert card is not None and card.name == H200 and "4223 GB/s" in note


def test_a_whole_runs_shapes_share_markers_by_level() -> None:
    one_level = marker_groups(roofline_points(run_rows(8)))
    assert list(one_level) == list(one_level.values()), "four shapes: a marker each"
    whole = marker_groups(roofline_points([row for number in range(1, 12) for row in run_rows(number)]))
    assert len(whole) > len(SHAPE_MARKERS) and set(whole.values()) == {f"level {n}" for n in (1, 2, 4, 6, 7, 8, 9, 10, 11)}


def test_the_roofline_goes_beside_the_plot() -> None:
    assert roofline_path("l8.png") == "l8.roofline.png"
    assert roofline_path(str(Path("out") / "l8.svg")) == str(Path("out") / "l8.roofline.svg")
    assert roofline_path("l8") == "l8.roofline.png"


def test_without_matplotlib_the_plot_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    line = plot(run_rows(8), str(tmp_path / "l8.png"))
    assert line.startswith("plot skipped: matplotlib is not installed") and not list(tmp_path.iterdir())


# ----- sample_plot.py draws BENCHMARKS.md's numbers ------------------------------------------------------
def _sample_plot() -> Any:
    spec = importlib.util.spec_from_file_location("sample_plot", REPO / "benchmarks" / "sample_plot.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_rows_are_benchmarks_md_level8_table() -> None:
    """sample_plot.py says it draws BENCHMARKS.md's numbers: the rows must give the table's TFLOP/s."""
    level = level_by_number(8)
    assert level is not None
    sample = _sample_plot()
    rows = sample.rows_from_table(level, REPO / "BENCHMARKS.md")
    assert len(rows) == 36 and {row["gpu"] for row in rows} == {"NVIDIA H200"}
    first = {row["row"]: row for row in rows if row["case"] == "fp16-16x32x1024x64-full"}
    assert (first[YOURS]["tflops"], first["sdpa"]["tflops"], first["sdpa-flash"]["tflops"]) == pytest.approx((357, 413, 278), abs=1)
    assert first[YOURS]["speedup_vs_torch"] == pytest.approx(0.333 / 0.385, abs=1e-3)
    history = sample.rows_from_table(level, REPO / "BENCHMARKS.md", "NVIDIA H100 80GB HBM3")
    first = {row["row"]: row for row in history if row["case"] == "fp16-16x32x1024x64-full"}
    assert (first[YOURS]["tflops"], first["sdpa"]["tflops"], first["sdpa-flash"]["tflops"]) == pytest.approx((366, 414, 271), abs=1)


# ----- drawing, with matplotlib -----------------------------------------------------------------------
def test_plot_writes_both_pictures_and_says_where(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = tmp_path / "l8.png"
    line = plot(run_rows(8), str(path))
    assert line == f"plot written to {path}; roofline written to {tmp_path / 'l8.roofline.png'}"
    for written in (path, tmp_path / "l8.roofline.png"):
        assert written.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_run_on_an_unknown_card_says_why_its_roofline_has_no_roof(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    gpu = "NVIDIA GeForce RTX 9999"
    line = plot(run_rows(1, gpu=gpu) + run_rows(11, gpu=gpu), str(tmp_path / "run.png"))
    assert line.endswith(f"(no roof drawn: {gpu} is in no datasheet table of card.py and was not measured (the first GPU run on a card measures it))")
    assert (tmp_path / "run.roofline.png").stat().st_size > 0


def test_a_run_of_bandwidth_levels_draws_no_roofline(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    assert plot(run_rows(3), str(tmp_path / "l3.png")) == f"plot written to {tmp_path / 'l3.png'}"
    assert not (tmp_path / "l3.roofline.png").exists()
