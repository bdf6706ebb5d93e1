"""Issue 23, "any CUDA card measured": the datasheet table, the measured figures kept in the progress
file, the profile and the run's header naming the card in front of the learner, and an old card told
which levels it can run. Everything runs on the CPU: the measurement itself is faked here (it needs a
GPU; `benchmarks/card_check.py` runs the real one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_triton_quest import card_rates, plugin
from pytest_triton_quest import session as session_module
from pytest_triton_quest.card import (
    DATASHEETS, REFERENCE, Measured, card_for, datasheet_for, figure_rows, measured_figures, missing,
)
from pytest_triton_quest.card_rates import CardAtHand, MeasureError, skip_reason, support_line, the_card
from pytest_triton_quest.model import Mode, Work
from pytest_triton_quest.options import Settings
from pytest_triton_quest.profiling import advice, profile_header, roofline
from pytest_triton_quest.progress import Progress, ProgressStore
from pytest_triton_quest.registry import all_levels, level_by_number
from pytest_triton_quest.session import QuestSession
from tests.support import QuestProject

GPU = Mode("cuda", False, "tests: a GPU that is not there")
H100 = "NVIDIA H100 80GB HBM3"
T4 = "Tesla T4"


def measured(name: str = H100, capability: tuple[int, int] = (9, 0), **rates: float | None) -> Measured:
    figures: dict[str, float | None] = {
        "copy_gb_per_s": 2912.3, "fp16_tflops": 742.1, "bf16_tflops": 751.0, "tf32_tflops": 381.2, "fp32_tflops": 51.2,
    }
    figures.update(rates)
    return Measured(name, capability, **figures, torch="2.11.0+cu130", measured_at="2026-12-03T10:00:00+00:00")  # type: ignore[arg-type]


# ----- the datasheet table ------------------------------------------------------------------------------
def test_every_card_of_the_issue_is_in_the_table_by_the_name_torch_reports() -> None:
    names = [sheet.name for sheet in DATASHEETS]
    assert len(set(names)) == len(names)
    assert set(names) == {
        "NVIDIA H200", H100, "NVIDIA H100 PCIe", "NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-40GB", "NVIDIA A100-PCIE-40GB",
        "NVIDIA A100 80GB PCIe", "NVIDIA L4", "NVIDIA L40S", "NVIDIA GeForce RTX 3090", "NVIDIA GeForce RTX 4090", T4,
    }
    capabilities = {sheet.name: sheet.capability for sheet in DATASHEETS}
    assert capabilities[H100] == capabilities["NVIDIA H200"] == capabilities["NVIDIA H100 PCIe"] == (9, 0)
    assert capabilities["NVIDIA A100-PCIE-40GB"] == (8, 0) and capabilities["NVIDIA L4"] == (8, 9)
    assert capabilities["NVIDIA GeForce RTX 3090"] == (8, 6) and capabilities[T4] == (7, 5)
    for sheet in DATASHEETS:
        assert sheet.source and sheet.fp16_tflops > sheet.fp32_tflops > 0 and sheet.memory_gb_per_s > 0
        assert sheet.tf32_tflops is None or sheet.fp16_tflops == pytest.approx(2 * sheet.tf32_tflops, rel=0.02)  # the L40S sheet: 362.05 and 183


def test_the_figures_are_the_datasheets_dense_ones() -> None:
    h100, pcie, t4 = datasheet_for(H100), datasheet_for("NVIDIA H100 PCIe"), datasheet_for(T4)
    assert h100 is not None and pcie is not None and t4 is not None
    assert (h100.memory_gb_per_s, h100.fp16_tflops, h100.tf32_tflops, h100.fp32_tflops) == (3350, 989.4, 494.7, 67)
    assert (pcie.memory_gb_per_s, pcie.fp16_tflops, pcie.tf32_tflops) == (2000, 756.5, 378)
    # GeForce: tl.dot accumulates in fp32, which these cards run at half their fp16-accumulate rate.
    assert datasheet_for("NVIDIA GeForce RTX 4090").fp16_tflops == 165.2  # type: ignore[union-attr]
    assert datasheet_for("NVIDIA GeForce RTX 3090").fp16_tflops == 71  # type: ignore[union-attr]
    assert [datasheet_for(name).memory_gb_per_s for name in ("NVIDIA A100-SXM4-80GB", "NVIDIA A100 80GB PCIe", "NVIDIA A100-PCIE-40GB")] == [2039, 1935, 1555]  # type: ignore[union-attr]
    assert t4.tf32_tflops is None and t4.bf16_tflops is None and h100.bf16_tflops == 989.4


def test_the_two_measured_copy_rates_stay_what_they_are() -> None:
    h200, h100 = datasheet_for("NVIDIA H200"), datasheet_for(H100)
    assert h200 is not None and h100 is not None
    assert (h200.copy_gb_per_s, h100.copy_gb_per_s) == (4223, 3000) and "BENCHMARKS.md" in h200.copy_source
    assert REFERENCE.name == "NVIDIA H200" and REFERENCE.copy_gb_per_s == 4223 and REFERENCE.copy_measured
    card = card_for(H100)
    assert card is not None and card.copy_gb_per_s == 3000 and not card.peaks_measured


def test_a_card_is_found_by_its_exact_name_only_and_its_measurement_comes_first() -> None:
    assert datasheet_for("NVIDIA H200 NVL") is None and datasheet_for("NVIDIA A100") is None and card_for(None) is None
    card = card_for("NVIDIA L4")
    assert card is not None and card.copy_gb_per_s == 300 and not card.copy_measured and "not measured" in card.source
    mine = card_for(H100, measured())
    assert mine is not None and mine.copy_gb_per_s == 2912.3 and mine.peak_fp16_tflops == 742.1 and mine.peaks_measured
    assert "copy 2.91 TB/s measured (datasheet 3.35 TB/s)" in mine.source
    assert card_for(H100, measured(name="NVIDIA L4")) == card_for(H100)  # another card's figures are not these
    unknown = card_for("NVIDIA RTX PRO 9000", measured(name="NVIDIA RTX PRO 9000"))
    assert unknown is not None and "in no datasheet table" in unknown.source


def test_a_card_without_tf32_runs_float32_products_on_its_cuda_cores() -> None:
    t4 = card_for(T4)
    assert t4 is not None and t4.tensor_flops_per_s("fp32") == 8.1e12 and t4.tensor_flops_per_s("fp16") == 65e12
    mine = card_for(T4, measured(T4, (7, 5), bf16_tflops=None, tf32_tflops=None, fp32_tflops=7.9))
    assert mine is not None and mine.tensor_flops_per_s("fp32") == pytest.approx(7.9e12)
    line = measured_figures(measured(T4, (7, 5), bf16_tflops=None, tf32_tflops=None))
    assert "bf16 tensor cores: none on this card" in line and "tf32 tensor cores: none on this card" in line


def test_the_figure_rows_put_measured_and_datasheet_side_by_side() -> None:
    rows = figure_rows(measured(), datasheet_for(H100))
    assert rows[0] == ("copy", "2.91 TB/s", "3.35 TB/s")
    assert rows[1] == ("fp16 tensor cores", "742 TFLOP/s", "989.4 TFLOP/s")
    assert figure_rows(measured(name="NVIDIA RTX PRO 9000"), None)[0] == ("copy", "2.91 TB/s", "-")


# ----- the progress file's `cards` ----------------------------------------------------------------------
def test_measured_cards_round_trip_through_the_progress_file(tmp_path: Path) -> None:
    progress = Progress()
    progress.level(1).attempts = 2
    progress.cards[H100] = measured()
    progress.cards[T4] = measured(T4, (7, 5), bf16_tflops=None, tf32_tflops=None)
    store = ProgressStore(tmp_path / "state.json")
    assert store.save(progress)
    again = store.load()
    assert again == progress and again.cards[T4].tf32_tflops is None and not store.warnings
    assert json.loads(store.path.read_text())["cards"][H100]["capability"] == [9, 0]
    assert "cards" not in Progress().to_json()  # a CPU learner's file stays as it was


def test_a_malformed_card_is_dropped_with_a_warning_and_nothing_else_is(tmp_path: Path) -> None:
    good = measured().to_json()
    path = tmp_path / "state.json"
    data = {
        "schema": 1,
        "levels": {"1": {"passed_at": "2026-12-01T00:00:00+00:00", "attempts": 3}},
        "cards": {
            H100: good,
            "NVIDIA L4": {**good, "copy_gb_per_s": "fast"},
            T4: {**good, "capability": [7]},
            "NVIDIA L40S": ["not", "an", "object"],
        },
    }
    path.write_text(json.dumps(data))
    store = ProgressStore(path)
    progress = store.load()
    assert progress.is_passed(1) and progress.level(1).attempts == 3
    assert list(progress.cards) == [H100] and progress.cards[H100] == Measured.from_json(H100, good)
    assert len(store.warnings) == 3 and all("dropped" in warning for warning in store.warnings)
    assert any("'NVIDIA L4'" in warning and "copy_gb_per_s" in warning for warning in store.warnings)
    assert not list(tmp_path.glob("*.bad-*")), "a bad card entry is no reason to set the file aside"
    path.write_text(json.dumps({**data, "cards": "none"}))
    store = ProgressStore(path)
    assert store.load().is_passed(1) and store.warnings and "not an object" in store.warnings[0]


# ----- measuring once, keeping, measuring again ---------------------------------------------------------
def test_the_first_run_on_a_card_measures_it_and_later_runs_reuse_it(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "state.json")
    calls: list[int] = []

    def fake() -> Measured:
        calls.append(1)
        return measured()

    first = the_card(store, (H100, (9, 0)), measure_with=fake)
    assert first.fresh and first.measured == measured() and len(calls) == 1
    assert "measured now, once for this card" in first.line() and "copy 2.91 TB/s measured (datasheet 3.35 TB/s)" in first.line()
    later = the_card(store, (H100, (9, 0)), measure_with=fake)
    assert not later.fresh and later.measured == measured() and len(calls) == 1
    assert "measured now" not in later.line() and later.line().startswith(f"{H100} (compute capability 9.0): copy 2.91 TB/s")
    the_card(store, (H100, (9, 0)), again=True, measure_with=fake)
    assert len(calls) == 2 and ProgressStore(store.path).load().cards[H100] == measured()


def test_a_card_that_cannot_be_measured_says_so_in_one_line(tmp_path: Path) -> None:
    def broken() -> Measured:
        raise MeasureError("only 100 MiB of GPU memory is free")

    store = ProgressStore(tmp_path / "state.json")
    known = the_card(store, ("NVIDIA L4", (8, 9)), measure_with=broken)
    assert known.measured is None and known.card is not None and not known.card.peaks_measured
    assert "could not be measured (only 100 MiB" in known.line() and "datasheet" in known.line()
    unknown = the_card(store, ("NVIDIA RTX PRO 9000", (12, 0)), measure_with=broken)
    assert unknown.card is None and "\n" not in unknown.line()
    assert unknown.line().startswith("NVIDIA RTX PRO 9000 (compute capability 12.0) is in no datasheet table of card.py and could not be measured")
    assert not store.path.exists(), "nothing measured, nothing written"


def test_a_child_measuring_another_device_is_not_kept(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "state.json")
    hand = the_card(store, (H100, (9, 0)), measure_with=lambda: measured(name="NVIDIA L4"))
    assert hand.measured is None and "another device, NVIDIA L4" in (hand.problem or "")


# ----- the profile names the card in front of the learner ----------------------------------------------
def test_the_profile_header_names_the_measured_card_and_never_another() -> None:
    level = level_by_number(8)
    assert level is not None
    header = profile_header(level, CardAtHand(H100, (9, 0), measured()))
    assert f"on {H100}:" in header and "copy 2.91 TB/s measured (datasheet 3.35 TB/s)" in header and "H200" not in header
    datasheet_only = profile_header(level, CardAtHand("NVIDIA L4", (8, 9), problem="no time"))
    assert "on NVIDIA L4:" in datasheet_only and "memory 300 GB/s (datasheet, not measured" in datasheet_only
    nothing = profile_header(level, CardAtHand("NVIDIA RTX PRO 9000", (12, 0), problem="the driver said no"))
    assert "in no datasheet table" in nothing and "the driver said no" in nothing and "H200" not in nothing


def test_the_profile_divides_by_the_measured_roofs() -> None:
    mine = card_for(H100, measured())
    line = roofline(Work(flops=0, bytes=2.9123e9), 1e-3, mine)
    assert "2912 GB/s (100% of 2912)" in line
    assert roofline(Work(flops=2e12, bytes=4e9), 1e-2, None) == "200 TFLOP/s, 400 GB/s"  # no card: rates alone
    assert advice([], Work(flops=1e6, bytes=1e9), 1e-3, None) == []
    datasheet_only = card_for("NVIDIA L4")
    line = roofline(Work(flops=0, bytes=0.31e9), 1e-3, datasheet_only)
    assert "at or above the 300 GB/s datasheet bandwidth" in line


# ----- an old card: which levels it can run --------------------------------------------------------------
def test_bf16_needs_ampere_and_no_level_needs_hopper() -> None:
    levels = all_levels()
    assert all(not level.needs for level in levels)
    assert [feature.name for feature in missing(("bf16",), (7, 5))] == ["bf16"] and missing(("bf16",), (8, 0)) == []
    with_bf16 = [level.number for level in levels if any("bf16" in level.case_needs(case) for case in level.cases(GPU))]
    assert with_bf16 == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11]


def test_an_old_card_is_told_which_levels_it_runs_and_what_it_skips() -> None:
    levels = all_levels()
    line = support_line(levels, GPU, T4, (7, 5))
    assert line is not None and line.startswith(f"this {T4} (compute capability 7.5) has no bfloat16 (it needs compute capability 8.0)")
    assert "levels 1, 2, 3, 4, 6, 7, 8, 9, 10, 11 run here without the" in line and "and can be passed" in line
    assert line.endswith("level 5 runs whole") and "cannot run" not in line
    assert support_line(levels, GPU, "NVIDIA A100-SXM4-80GB", (8, 0)) is None
    level = level_by_number(2)
    assert level is not None
    bf16 = next(case for case in level.cases(GPU) if case.dtype == "bf16")
    fp16 = next(case for case in level.cases(GPU) if case.dtype == "fp16")
    assert "has no bfloat16" in (skip_reason(level, bf16, T4, (7, 5)) or "")
    assert skip_reason(level, fp16, T4, (7, 5)) is None and skip_reason(level, bf16, H100, (9, 0)) is None


def test_a_level_that_needs_what_the_card_lacks_is_said_to_be_unrunnable() -> None:
    level = level_by_number(5)
    assert level is not None
    needy = type("NeedsBf16", (type(level),), {"needs": ("bf16",)})()
    line = support_line((needy,), GPU, T4, (7, 5))
    assert line is not None and line.endswith("level 5 cannot run on this card")


def test_a_level_must_name_features_the_quest_knows() -> None:
    from pytest_triton_quest.levels.base import definition_problems

    level = level_by_number(5)
    assert level is not None and definition_problems(level) == []
    wrong = type("NeedsMagic", (type(level),), {"needs": ("tma",)})()
    assert any("`needs` must be a tuple of card features (bf16)" in problem for problem in definition_problems(wrong))


def test_on_an_old_card_a_level_passes_without_its_bf16_cases(tmp_path: Path) -> None:
    settings = Settings(
        level=None, hint=None, katas=tmp_path, unlock_all=False, device="cuda", timeout=None, isolation="none",
        sanitize="off", state=tmp_path / "state.json", benchmark=False, plot=None, watch=False, where=False,
    )
    quest = QuestSession(settings, GPU, all_levels(), ProgressStore(settings.state), Progress())
    quest.card = CardAtHand(T4, (7, 5))
    level = level_by_number(1)
    assert level is not None
    expected = quest.run_of(level).expected
    assert expected and all(not case_id.startswith("bf16") for case_id in expected)
    assert expected == {case.id for case in level.cases(GPU) if case.dtype != "bf16"}
    assert quest.card_lines()[0].startswith(f"{T4} (compute capability 7.5)") and "has no bfloat16" in quest.card_lines()[1]


def test_a_run_on_an_old_card_says_so_before_its_checks_and_skips_bf16(project: QuestProject, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole path through pytest, with the GPU and its measurement faked."""
    kept = measured(T4, (7, 5), copy_gb_per_s=251.0, fp16_tflops=41.0, bf16_tflops=None, tf32_tflops=None, fp32_tflops=7.6)
    monkeypatch.setattr(plugin, "detect_mode", lambda requested="auto": Mode("cuda", False, f"CUDA GPU found: {T4}"))
    monkeypatch.setattr(session_module, "the_card", lambda store: card_rates.the_card(store, (T4, (7, 5)), measure_with=lambda: kept))
    project.solution(1)
    result = project.pytester.runpytest("--level", "1", "-k", "bf16", "-rs", "--quest-sanitize", "off")
    header = [line for line in result.outlines if line.startswith(f"triton-quest: {T4}") or line.startswith(f"triton-quest: this {T4}")]
    assert len(header) == 2, result.outlines
    assert "copy 251 GB/s measured (datasheet 320 GB/s)" in header[0] and "measured now, once for this card" in header[0]
    assert "has no bfloat16" in header[1] and "levels 1, 2, 3, 4, 6, 7, 8, 9, 10, 11 run here" in header[1]
    outcomes = result.parseoutcomes()
    assert outcomes.get("skipped", 0) >= 1 and "passed" not in outcomes and "failed" not in outcomes
    result.stdout.fnmatch_lines(["*has no bfloat16 (it needs compute capability 8.0)*"])
    assert project.state()["cards"][T4]["copy_gb_per_s"] == 251.0


def test_the_card_verb_on_the_cpu_names_the_reference_card(project: QuestProject) -> None:
    shown = project.quest("card")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("No CUDA GPU here") and "the NVIDIA H200: copy 4223 GB/s" in shown.stdout
    assert "Tesla T4" in shown.stdout  # the datasheets it knows
    assert project.quest("card", "--measure").returncode == 1
