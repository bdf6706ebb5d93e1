"""Issue 25, first slice: a failing case's picture (picture.py) shows whose tiles are where.

The view is pure (made from the failure's store map in the worker); the PNG is read back and its
pixels checked at the elements the view says are right, wrong or never stored. Drawing needs
matplotlib (the `test` extra installs it); without it the report says how to get the picture.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from pytest_triton_quest.checking import check_case
from pytest_triton_quest.model import Case, Failure, LaunchRecord, Mode, Tolerance
from pytest_triton_quest.picture import COLOURS, RIGHT, UNSTORED, WRONG, TileView, element_pixel, picture_line, tile_view
from pytest_triton_quest.registry import level_by_number
from tests.support import ON_GPU, REPO, write_kata

CASE = Case("fp32-8x8", "fp32", "test")


def _failure(owner: np.ndarray, table: list[tuple[str, tuple[int, int, int]]], bad: torch.Tensor) -> Failure:
    shape = tuple(bad.shape)
    ref = torch.zeros(shape, dtype=torch.float64)
    return Failure(CASE, {}, ref + bad.double(), ref, bad, Tolerance(0.0, 0.0), [LaunchRecord("k", (2, 2, 1), ())], (owner, table), output="c")


def _two_by_two_tiles() -> tuple[np.ndarray, list[tuple[str, tuple[int, int, int]]]]:
    """An 8 x 8 output in four 4 x 4 tiles, stored by programs (0,0), (1,0), (0,1); the last tile by none."""
    owner = np.full((8, 8), -1, dtype=np.int64)
    table = [("k", (0, 0, 0)), ("k", (1, 0, 0)), ("k", (0, 1, 0))]
    owner[:4, :4], owner[4:, :4], owner[:4, 4:] = 0, 1, 2
    return owner.reshape(-1), table


def test_the_view_marks_each_element_and_outlines_each_programs_tile() -> None:
    owner, table = _two_by_two_tiles()
    bad = torch.zeros(8, 8, dtype=torch.bool)
    bad[4:, :4] = True  # program (1, 0)'s tile is wrong
    view = tile_view(_failure(owner, table, bad), "case fp32-8x8", "likely: something")
    assert view is not None
    assert view.rows[0] == RIGHT * 8 and view.rows[5] == WRONG * 4 + UNSTORED * 4
    assert view.programs == [("0", 0, 4, 0, 4), ("1", 4, 8, 0, 4), ("0,1", 0, 4, 4, 8)]
    assert view.counts() == {RIGHT: 32, WRONG: 16, UNSTORED: 16}
    assert TileView.from_dict(view.to_dict()) == view  # it travels from the worker as JSON


def test_no_store_map_no_view() -> None:
    owner, table = _two_by_two_tiles()
    failure = _failure(owner, table, torch.zeros(8, 8, dtype=torch.bool))
    failure.writers = None  # a compiled run
    assert tile_view(failure, "case") is None


def _colour_at(png: Path, view: Any, row: int, col: int, nudge: int = 0) -> tuple[float, float, float]:
    """The pixel at the cell's centre, or `nudge` pixels up and left of it (off a count printed there)."""
    import matplotlib.image

    image = matplotlib.image.imread(str(png))
    x, y = element_pixel(view, row, col)
    x, y = x - nudge, y - nudge
    return tuple(float(channel) for channel in image[y, x, :3])  # type: ignore[return-value]


def _close(rgb: tuple[float, float, float], hex_colour: str) -> bool:
    from matplotlib.colors import to_rgb

    return all(abs(a - b) < 0.02 for a, b in zip(rgb, to_rgb(hex_colour)))


def test_the_png_shows_right_wrong_and_unstored_where_they_are(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    owner, table = _two_by_two_tiles()
    bad = torch.zeros(8, 8, dtype=torch.bool)
    bad[4:, :4] = True
    view = tile_view(_failure(owner, table, bad), "case fp32-8x8")
    assert view is not None
    line = picture_line(view, tmp_path, 2, "fp32-8x8")
    png = tmp_path / "level2-fp32-8x8.png"
    assert line == f"picture: {png}" and png.exists()
    assert _close(_colour_at(png, view, 1, 2), COLOURS[RIGHT])
    assert _close(_colour_at(png, view, 6, 2), COLOURS[WRONG])
    assert _close(_colour_at(png, view, 6, 6), COLOURS[UNSTORED])


def test_without_matplotlib_the_report_says_how_to_get_the_picture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    owner, table = _two_by_two_tiles()
    view = tile_view(_failure(owner, table, torch.zeros(8, 8, dtype=torch.bool)), "case")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    line = picture_line(view, tmp_path, 2, "fp32-8x8")
    assert line is not None and "needs matplotlib" in line and not any(tmp_path.iterdir())
    assert picture_line(view, None, 2, "fp32-8x8") is None  # not asked for


@pytest.mark.skipif(ON_GPU, reason="the store map is the interpreter's")
@pytest.mark.usefixtures("interpreter")
def test_a_transposed_store_is_drawn_where_its_values_landed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Level 2 with the store's row and column offsets swapped: on a square case every element off the
    diagonal holds its mirror's value, so the picture is wrong everywhere but the diagonal."""
    pytest.importorskip("matplotlib")
    level = level_by_number(2)
    assert level is not None
    source = (REPO / "solutions_hidden" / level.kata_file).read_text()
    right = "c_ptrs = c_ptr + rows[:, None] * stride_cm + cols[None, :] * stride_cn"
    assert right in source
    edited = source.replace(right, "c_ptrs = c_ptr + cols[None, :] * stride_cm + rows[:, None] * stride_cn")
    kata = write_kata(level.kata_file, edited, tmp_path, monkeypatch)
    mode = Mode("cpu", True, "tests")
    result = check_case(level, level.case_by_id("fp32-64x64x64", mode), kata, mode, pictures=True)
    assert check_case(level, level.case_by_id("fp32-64x64x64", mode), kata, mode).picture is None  # only when asked
    assert not result.passed and result.picture is not None
    view = TileView.from_dict(result.picture)
    assert len(view.rows) == 64 and view.rows[0][0] == RIGHT and view.rows[0][1] == WRONG and view.rows[10][3] == WRONG
    line = picture_line(view, tmp_path / "pictures", 2, "fp32-64x64x64")
    assert line is not None and line.startswith("picture: ")
    png = Path(line.removeprefix("picture: "))
    assert _close(_colour_at(png, view, 20, 20), COLOURS[RIGHT]) and _close(_colour_at(png, view, 20, 50), COLOURS[WRONG])
    shutil.rmtree(tmp_path / "pictures")


# ----- attention: the key tiles each query program read --------------------------------------------------
TRAFFIC_CASE = "fp32-2x2x77x32-causal"  # level 8's representative case on the CPU


def _level8_kata(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mistake: str | None) -> Path:
    from tests.mistakes import all_mistakes

    level = level_by_number(8)
    assert level is not None
    solution = REPO / "solutions_hidden" / level.kata_file
    text = solution.read_text()
    if mistake is not None:
        text = next(m for number, m in all_mistakes() if number == 8 and m.name == mistake).apply(text, str(solution))
    return write_kata(level.kata_file, text, tmp_path, monkeypatch)


@pytest.mark.skipif(ON_GPU, reason="the loads are recorded by the interpreter")
@pytest.mark.usefixtures("interpreter")
def test_a_flash_attention_that_skips_reads_only_the_tiles_it_needs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_triton_quest.picture import KeyTileView, MISSED, READ_NEEDED, READ_SKIPPABLE, SKIPPED

    level = level_by_number(8)
    assert level is not None
    kata = _level8_kata(tmp_path, monkeypatch, None)
    mode = Mode("cpu", True, "tests")
    # The representative case (whose traffic a passing level reports) is the one a pass draws.
    data = check_case(level, level.case_by_id(TRAFFIC_CASE, mode), kata, mode, pictures=True).key_picture
    assert data is not None
    view = KeyTileView.from_dict(data)
    counts = view.counts()
    assert counts[READ_SKIPPABLE] == 0 and counts[MISSED] == 0 and counts[READ_NEEDED] > 0 and counts[SKIPPED] > 0
    first = next(index for index, (_, start, _) in enumerate(view.queries) if start == 0)
    assert view.states[first][0] == READ_NEEDED and view.states[first][-1] == SKIPPED  # row 0 needs key tile 0 only


@pytest.mark.skipif(ON_GPU, reason="the loads are recorded by the interpreter")
@pytest.mark.usefixtures("interpreter")
def test_one_that_visits_every_key_tile_shows_the_tiles_it_could_skip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from pytest_triton_quest.picture import KEY_COLOURS, READ_NEEDED, READ_SKIPPABLE, KeyTileView, draw_key_tiles

    level = level_by_number(8)
    assert level is not None
    kata = _level8_kata(tmp_path, monkeypatch, "future_tiles_masked_not_skipped")
    mode = Mode("cpu", True, "tests")
    # The representative case (whose traffic a passing level reports) is the one a pass draws.
    data = check_case(level, level.case_by_id(TRAFFIC_CASE, mode), kata, mode, pictures=True).key_picture
    assert data is not None
    view = KeyTileView.from_dict(data)
    first = next(index for index, (_, start, _) in enumerate(view.queries) if start == 0)
    assert view.states[first][0] == READ_NEEDED and view.states[first][-1] == READ_SKIPPABLE
    png = draw_key_tiles(view, tmp_path / "keys.png")
    assert _close(_colour_at(png, view, first, len(view.states[first]) - 1, nudge=15), KEY_COLOURS[READ_SKIPPABLE])
    assert _close(_colour_at(png, view, first, 0, nudge=15), KEY_COLOURS[READ_NEEDED])


# ----- where the stray lanes of a stopped access fell ---------------------------------------------------
@pytest.mark.skipif(ON_GPU, reason="the guard stops accesses under the interpreter")
@pytest.mark.usefixtures("interpreter")
def test_stray_lanes_are_drawn_where_they_fell_past_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from pytest_triton_quest.picture import PAST, STRAY, STRAY_COLOURS, INSIDE, StrayView, draw_stray

    level = level_by_number(1)
    assert level is not None
    source = (REPO / "solutions_hidden" / level.kata_file).read_text()
    edited = source.replace("    mask = offsets < n  #", "    mask = offsets < n + 7  #")
    assert edited != source
    kata = write_kata(level.kata_file, edited, tmp_path, monkeypatch)
    mode = Mode("cpu", True, "tests")
    result = check_case(level, level.case_by_id("fp32-98765", mode), kata, mode, pictures=True)
    assert not result.passed and result.stray_picture is not None
    view = StrayView.from_dict(result.stray_picture)
    # 98765 elements in rows of 64: the tensor ends 13 elements into row 1543; lanes 98765..98771 stray.
    row = 1543 - view.first_row
    assert view.rows[row][:13] == INSIDE * 13 and view.rows[row][13:20] == STRAY * 7 and set(view.rows[row][20:]) == {PAST}
    assert view.shown == view.count == 7
    png = draw_stray(view, tmp_path / "stray.png")
    assert _close(_colour_at(png, view, row, 15), STRAY_COLOURS[STRAY])
    assert _close(_colour_at(png, view, row - 1, 40), STRAY_COLOURS[INSIDE])
    assert _close(_colour_at(png, view, row, 50), STRAY_COLOURS[PAST])


def test_a_key_tile_caption_carries_the_traffic_of_a_pass_and_the_headline_of_a_failure() -> None:
    from pytest_triton_quest.model import CaseResult
    from pytest_triton_quest.picture import _caption_extra
    from pytest_triton_quest.traffic import TrafficReport

    from pytest_triton_quest.traffic import LaunchRow

    rows = [LaunchRow("attention", (2, 1, 1), 3_000_000, 1_000_000, 4_000_000, 0)]
    traffic = TrafficReport(8, "case", "fp32", rows, 3_000_000, 1_000_000, 4_000_000, 0, 2_000_000, 1.0).to_dict()
    assert _caption_extra(CaseResult("passed", traffic=traffic)) == "\n" + TrafficReport.from_dict(traffic).lines()[0]
    assert "2.0x the minimum" in _caption_extra(CaseResult("passed", traffic=traffic))
    assert _caption_extra(CaseResult("failed", diagnoses=["likely: x"])) == "\nlikely: x"


@pytest.mark.skipif(ON_GPU, reason="the store map is the interpreter's")
@pytest.mark.usefixtures("interpreter")
def test_a_passing_level_draws_its_traffic_case_with_the_traffic_below(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from pytest_triton_quest.picture import pictures_lines

    level = level_by_number(2)
    assert level is not None
    kata = write_kata(level.kata_file, (REPO / "solutions_hidden" / level.kata_file).read_text(), tmp_path, monkeypatch)
    mode = Mode("cpu", True, "tests")
    chosen = level.traffic_case(mode)
    assert chosen is not None
    result = check_case(level, chosen, kata, mode, pictures=True)
    assert result.passed and result.picture is not None
    view = TileView.from_dict(result.picture)
    assert view.counts()[WRONG] == 0 and view.counts()[UNSTORED] == 0 and len(view.programs) > 1
    assert view.headline.startswith("memory traffic: read ")
    lines = pictures_lines(result, tmp_path / "pics", 2, chosen.id)
    png = tmp_path / "pics" / f"level2-{chosen.id}.png"
    assert lines == [f"picture: {png}"] and png.exists()
    assert _close(_colour_at(png, view, 20, 5), COLOURS[RIGHT])  # inside program 0's tile, off its outline
