"""Memory traffic, counted by the interpreter's guard: exact on levels 1 to 3, the lesson of levels 6 to
8, remarks only when the counts prove them, and the pure parts of the GPU profile.

Levels 1 to 3 run the hidden solutions on small ragged shapes and compare every tensor's bytes with a
formula worked out from the solution's tiles and masks: a masked-off lane moves nothing, so the edge
tiles read only what lies inside the tensor.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
import triton
import triton.language as tl

from pytest_triton_quest.checking import case_seed, check_case
from pytest_triton_quest.compat import apply_interpreter_fixes
from pytest_triton_quest.guard import watch_kernels
from pytest_triton_quest.levels.attention_traffic import attention_traffic_remark
from pytest_triton_quest.loading import load_function
from pytest_triton_quest.model import CallTraffic, Case, Mode, StoreMap, TensorTraffic, Work
from pytest_triton_quest.profiling import (
    PROFILED_MARK,
    KernelResources,
    advice,
    config_notes,
    ncu_lines,
    parse_ncu_csv,
    profiled_kernels,
    resources_of,
    resources_table,
    roofline,
)
from pytest_triton_quest.registry import level_by_number
from pytest_triton_quest.traffic import H200, LaunchRow, TrafficReport, call_traffic, duration, megabytes
from tests.support import SOLUTIONS

pytestmark = pytest.mark.usefixtures("interpreter")
CPU = Mode("cpu", True, "tests")


def cdiv(a: int, b: int) -> int:
    return -(-a // b)


def run_counted(number: int, case: Case) -> tuple[CallTraffic, dict[str, Any]]:
    """The hidden solution of a level, called once on the case's inputs with traffic counting."""
    level = level_by_number(number)
    assert level is not None
    apply_interpreter_fixes()  # as check_case does: Triton 3.6's interpreter with numpy >= 2.4
    function = load_function(SOLUTIONS / level.kata_file, level.function, level.positional, level.keywords)
    inputs = level.make_inputs(case, torch.Generator().manual_seed(case_seed(level, case)))
    args, kwargs = level.call_arguments(inputs)
    with watch_kernels(True, count_traffic=True) as watch:
        out = function(*args, **kwargs)
    return call_traffic(watch, inputs, {"out": out}), inputs


def moved(call: CallTraffic, name: str) -> tuple[int, int, int, int]:
    tensor = call.tensor(name)
    assert tensor is not None, [t.name for t in call.tensors]
    return tensor.read, tensor.written, tensor.read_distinct, tensor.written_distinct


def solution_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"quest_solution_{name}", SOLUTIONS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----- exact on levels 1 to 3 --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_level1_reads_x_and_y_once_and_writes_out_once(dtype: str) -> None:
    n = 2500  # a ragged last block: its masked lanes must not count
    call, _ = run_counted(1, Case("t", dtype, "", {"n": n}))
    e = 4 if dtype == "fp32" else 2
    assert moved(call, "x") == (n * e, 0, n * e, 0)
    assert moved(call, "y") == (n * e, 0, n * e, 0)
    assert moved(call, "out") == (0, n * e, 0, n * e)
    assert sum(launch.traffic.dot_flops for launch in call.launches if launch.traffic) == 0


@pytest.mark.parametrize(
    ("dtype", "M", "N", "K"),
    [("fp32", 150, 97, 40), ("fp16", 70, 130, 45), ("fp32", 1, 65, 33)],  # descriptors, pointers, a single row
)
def test_level2_reads_a_once_per_column_of_tiles_and_b_once_per_row_of_tiles(dtype: str, M: int, N: int, K: int) -> None:
    config = solution_module("level2_matmul").POINTER_CONFIGS[0].kwargs  # the interpreter's one tile
    BM, BN, BK = config["BLOCK_M"], config["BLOCK_N"], config["BLOCK_K"]
    call, _ = run_counted(2, Case("t", dtype, "", {"M": M, "N": N, "K": K}))
    e = 4 if dtype == "fp32" else 2
    # Each tile of c loads its rows of a over all of K and its columns of b over all of K; lanes past
    # M, N or K are masked off (or outside a descriptor) and move nothing.
    assert moved(call, "a") == (M * K * e * cdiv(N, BN), 0, M * K * e, 0)
    assert moved(call, "b") == (K * N * e * cdiv(M, BM), 0, K * N * e, 0)
    assert moved(call, "out") == (0, M * N * e, 0, M * N * e)
    dots = sum(launch.traffic.dot_flops for launch in call.launches if launch.traffic)
    assert dots == cdiv(M, BM) * cdiv(N, BN) * cdiv(K, BK) * 2 * BM * BN * BK  # whole tiles, padding included


@pytest.mark.parametrize(("dtype", "M", "N", "passes"), [("fp32", 5, 700, 1), ("fp16", 3, 1500, 2), ("fp32", 2, 3000, 2)])
def test_level3_reads_each_row_once_when_it_fits_a_block_and_twice_when_it_does_not(dtype: str, M: int, N: int, passes: int) -> None:
    assert (N > solution_module("level3_softmax").MAX_SINGLE_BLOCK) == (passes == 2)
    call, _ = run_counted(3, Case("t", dtype, "", {"M": M, "N": N, "logits": "normal"}))
    e = 4 if dtype == "fp32" else 2
    assert moved(call, "x") == (passes * M * N * e, 0, M * N * e, 0)
    assert moved(call, "out") == (0, M * N * e, 0, M * N * e)


@pytest.mark.parametrize("number", [1, 2, 3])
def test_the_minimum_of_levels_1_to_3_is_reading_every_input_and_writing_the_output_once(number: int) -> None:
    level = level_by_number(number)
    assert level is not None
    case = level.traffic_case(CPU)
    assert case is not None
    call, _ = run_counted(number, case)
    once = sum(tensor.size for tensor in call.tensors)
    assert level.work(case).bytes == once


# ----- the guard's counting on its own kernels ----------------------------------------------------
@triton.jit
def _half_copy_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    keep = (offsets < n) & (offsets % 2 == 0)  # every other lane is masked off
    tl.store(out_ptr + offsets, tl.load(x_ptr + offsets, mask=keep), mask=keep)


@triton.jit
def _dot_twice_kernel(a_ptr, out_ptr, BLOCK: tl.constexpr):
    rows = tl.arange(0, BLOCK)
    a = tl.load(a_ptr + rows[:, None] * BLOCK + rows[None, :])
    a = tl.load(a_ptr + rows[:, None] * BLOCK + rows[None, :])  # the same tile again: a re-read
    tl.store(out_ptr + rows[:, None] * BLOCK + rows[None, :], tl.dot(tl.dot(a, a), a))


@triton.jit
def _atomic_kernel(counter_ptr):
    tl.atomic_add(counter_ptr, 1.0)


def test_masked_off_lanes_move_nothing() -> None:
    x, out = torch.randn(100), torch.zeros(100)
    with watch_kernels(True, count_traffic=True) as watch:
        _half_copy_kernel[(2,)](x, out, 100, BLOCK=64)
    (launch,) = watch.launches
    assert launch.traffic is not None
    assert (launch.traffic.read, launch.traffic.written) == (50 * 4, 50 * 4)


def test_a_re_read_counts_again_but_not_as_distinct_and_each_dot_counts_its_flops() -> None:
    a, out = torch.randn(16, 16), torch.empty(16, 16)
    with watch_kernels(True, count_traffic=True) as watch:
        _dot_twice_kernel[(3,)](a, out, BLOCK=16)
    (launch,) = watch.launches
    traffic = launch.traffic
    assert traffic is not None
    a_moved = next(arg for arg in traffic.arguments if arg.name == "a_ptr")
    assert (a_moved.read, a_moved.read_distinct) == (3 * 2 * 256 * 4, 256 * 4)
    assert traffic.dot_flops == 3 * 2 * (2 * 16 * 16 * 16)


def test_an_atomic_is_a_read_and_a_write() -> None:
    counter = torch.zeros(1)
    with watch_kernels(True, count_traffic=True) as watch:
        _atomic_kernel[(5,)](counter)
    traffic = watch.launches[0].traffic
    assert traffic is not None and (traffic.read, traffic.written) == (5 * 4, 5 * 4)


def test_counting_is_opt_in() -> None:
    x, out = torch.randn(100), torch.zeros(100)
    with watch_kernels(True) as watch:
        _half_copy_kernel[(2,)](x, out, 100, BLOCK=64)
    assert watch.launches[0].traffic is None and not watch.seen


# ----- the lesson of levels 6 to 8 ----------------------------------------------------------------
def _report(number: int) -> TrafficReport:
    level = level_by_number(number)
    assert level is not None
    case = level.traffic_case(CPU)
    assert case is not None
    result = check_case(level, case, SOLUTIONS / level.kata_file, CPU, count_traffic=True)
    assert result.passed and result.traffic, result.message
    return TrafficReport.from_dict(result.traffic)


def test_levels_6_7_8_show_the_traffic_fall_and_say_why() -> None:
    naive, fused, flash = (_report(number) for number in (6, 7, 8))
    assert naive.case == fused.case == flash.case  # like with like
    assert naive.ratio is not None and fused.ratio is not None and flash.ratio is not None
    assert naive.ratio > fused.ratio > flash.ratio >= 1.0
    assert naive.ratio > 4 and naive.distinct > 3 * naive.minimum_bytes  # the S x S buffers: no cache saves those
    assert fused.distinct == flash.distinct == fused.minimum_bytes  # every byte beyond the minimum is a re-read
    assert naive.remark is not None and "S x S scores go through memory" in naive.remark
    assert fused.remark == "K and V are re-read by every query block of 32 rows"
    assert flash.remark is not None and "up to its last row only" in flash.remark
    assert "memory traffic: read" in fused.lines()[0] and "(K and V are re-read" in fused.lines()[0]


def _attention_call(k_read: int, rows: int = 32, S: int = 77, D: int = 32, scratch: int = 0) -> CallTraffic:
    import numpy as np

    q = torch.zeros(1, 1, S, D)
    size = S * D * 4
    tensors = [
        TensorTraffic("q", "input", S * D, 4, size, 0, size, 0),
        TensorTraffic("k", "input", S * D, 4, k_read, 0, size, 0),
        TensorTraffic("v", "input", S * D, 4, k_read, 0, size, 0),
        TensorTraffic("out", "output", S * D, 4, 0, size, 0, size),
    ]
    if scratch:
        tensors.append(TensorTraffic("scores_ptr", "scratch", scratch, 4, 3 * scratch * 4, scratch * 4, scratch * 4, scratch * 4))
    blocks = [np.arange(start * D, min(start + rows, S) * D) for start in range(0, S, rows)]
    stores = StoreMap([("k", (index, 0, 0)) for index in range(len(blocks))], blocks, S * D)
    return CallTraffic(tensors, [], {"q": q}, stores)


def test_a_remark_names_a_cause_only_on_an_exact_match() -> None:
    size = 77 * 32 * 4
    assert attention_traffic_remark(_attention_call(3 * size)) == "K and V are re-read by every query block of 32 rows"
    assert attention_traffic_remark(_attention_call(3 * size - 4)) is None  # one element short: no claim
    assert attention_traffic_remark(_attention_call(3 * size, rows=16)) is None  # 5 blocks of 16 would read 5x
    causal = (32 + 64 + 77) * 32 * 4
    assert "up to its last row only" in (attention_traffic_remark(_attention_call(causal)) or "")
    assert "S x S" in (attention_traffic_remark(_attention_call(size, scratch=77 * 77)) or "")


def test_a_report_below_the_remarkable_ratio_says_no_why() -> None:
    report = TrafficReport(1, "c", "fp32", [LaunchRow("k", (1, 1, 1), 110, 0, 110, 0)], 110, 0, 110, 0, 100.0, 0.0,
                           remark="something", rereads=[("x", 1.1)])
    assert report.lines()[0] == "memory traffic: read 110 B, wrote 0 B, 1.1x the minimum (100 B)"
    report.read = 300
    assert report.lines()[0] == "memory traffic: read 300 B, wrote 0 B, 3.0x the minimum (100 B) (something)"
    assert TrafficReport.from_dict(report.to_dict()) == report


def test_an_uncounted_launch_says_so_instead_of_numbers() -> None:
    report = TrafficReport(1, "c", "fp32", [LaunchRow("k", (1, 1, 1), 0, 0, 0, 0, counted=False)], 0, 0, 0, 0, 100.0, 0.0)
    assert report.lines() == ["memory traffic: not counted (the guard could not count kernel `k`)"]


def test_the_bound_names_what_binds_and_uses_the_card_once() -> None:
    memory = TrafficReport(1, "c", "fp16", [LaunchRow("k", (1, 1, 1), 4_223_000, 0, 0, 0)], 4_223_000, 0, 0, 0, 4_223_000.0, 1.0)
    assert "memory-bound" in memory.bound_line() and ">= 1.00 us" in memory.bound_line()
    compute = TrafficReport(2, "c", "fp16", [LaunchRow("k", (1, 1, 1), 10, 0, 0, 989_400_000)], 10, 0, 0, 989_400_000, 10.0, 989_400_000.0)
    assert "compute-bound" in compute.bound_line() and ">= 1.00 us" in compute.bound_line()
    assert H200.copy_bytes_per_s == 4223e9 and H200.fp16_flops_per_s == 989.4e12 and "BENCHMARKS.md" in H200.source


def test_units() -> None:
    assert (megabytes(999), megabytes(14_200_000), megabytes(2.5e9)) == ("999 B", "14.2 MB", "2.5 GB")
    assert (duration(3e-3), duration(2.5e-6), duration(4e-8)) == ("3.00 ms", "2.50 us", "40.0 ns")


# ----- the cost of counting -------------------------------------------------------------------------
@pytest.mark.parametrize("number", [1, 7])
def test_counting_adds_less_than_a_third_to_a_level_check(number: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every case of the level checked with counting; the time spent counting (per access, per launch,
    and the summary) must stay under 30% of the rest. Measured inside one run, so a busy machine
    slows both sides alike. Level 1 is the worst case: its kernel does least per byte."""
    from pytest_triton_quest import checking, guard

    spent = [0.0]

    def timed(function: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.perf_counter() - started

        return wrapper

    monkeypatch.setattr(guard._TrafficCounter, "add", timed(guard._TrafficCounter.add))
    monkeypatch.setattr(guard._TrafficCounter, "result", timed(guard._TrafficCounter.result))
    monkeypatch.setattr(guard._STATE, "add_seen", timed(guard._STATE.add_seen))
    monkeypatch.setattr(checking, "_traffic", timed(checking._traffic))
    level = level_by_number(number)
    assert level is not None
    kata = SOLUTIONS / level.kata_file
    started = time.perf_counter()
    for case in level.cases(CPU):
        result = check_case(level, case, kata, CPU, count_traffic=True)
        assert result.passed and result.traffic, result.message
    total = time.perf_counter() - started
    assert spent[0] > 0
    assert total <= 1.3 * (total - spent[0]), f"counting took {spent[0]:.3f} s of {total:.3f} s"


# ----- the GPU profile's pure parts ----------------------------------------------------------------
def test_spills_get_the_tile_advice_and_a_clean_kernel_gets_none() -> None:
    spilling = KernelResources("attn", 255, 48, 65536, 8, 3)
    clean = KernelResources("attn", 128, 0, 65536, 8, 3)
    compute_bound = Work(flops=1e12, bytes=1e8)
    assert any("spills 48 bytes" in line and "smaller tile" in line for line in advice([spilling], compute_bound, 1e-3, H200))
    assert advice([clean], compute_bound, 1e-3, H200) == []


def test_low_bandwidth_advice_only_on_a_memory_bound_shape() -> None:
    copy = Work(flops=1e6, bytes=1e9)  # 1 GB at the copy rate is 0.24 ms
    clean = [KernelResources("add", 32, 0, 0, 4, 1)]
    assert any("coalescing" in line for line in advice(clean, copy, 1e-3, H200))  # 24% of the copy rate
    assert advice(clean, copy, 0.3e-3, H200) == []  # 79%: fine
    matmul = Work(flops=2 * 4096**3, bytes=3 * 4096 * 4096 * 2)
    assert advice(clean, matmul, 1.0, H200) == []  # slow, but compute-bound: coalescing is not the rule to cite


def test_roofline_shares() -> None:
    line = roofline(Work(flops=989e9, bytes=4.223e9), 1e-3, H200)
    assert "989 TFLOP/s (100% of 989)" in line and "4223 GB/s (100% of 4223)" in line and "100% of the roofline" in line


def test_resources_come_from_the_compiled_kernel() -> None:
    compiled = SimpleNamespace(n_regs=96, n_spills=0, metadata=SimpleNamespace(name="flash", shared=49152, num_warps=4, num_stages=3))
    found = resources_of(compiled)
    assert found == KernelResources("flash", 96, 0, 49152, 4, 3)
    assert "48.0 KiB" in resources_table([found])[1]
    bare = resources_of(SimpleNamespace(name="x"))
    assert bare == KernelResources("x", None, None, None, None, None)


NCU_CSV = '''==PROF== Connected to process 1234
"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream","Block Size","Grid Size","Device","CC","Section Name","Metric Name","Metric Unit","Metric Value"
"0","1234","python","h","flash_attention_kernel","1","7","(128, 1, 1)","(8, 512, 1)","0","9.0","Command line profiler metrics","dram__throughput.avg.pct_of_peak_sustained_elapsed","%","12.5"
"0","1234","python","h","flash_attention_kernel","1","7","(128, 1, 1)","(8, 512, 1)","0","9.0","Command line profiler metrics","gpu__time_duration.sum","usecond","375.2"
"0","1234","python","h","flash_attention_kernel","1","7","(128, 1, 1)","(8, 512, 1)","0","9.0","Command line profiler metrics","launch__registers_per_thread","register/thread","168"
'''


def test_ncu_csv_is_read_into_a_few_headline_numbers() -> None:
    metrics = parse_ncu_csv(NCU_CSV)
    assert metrics == {"flash_attention_kernel": {
        "warps": "4", "DRAM throughput, % of peak": "12.5 %", "time": "375.2 usecond", "registers per thread": "168 register/thread",
    }}
    lines = ncu_lines(NCU_CSV, "", 0)
    assert lines[1].startswith("  flash_attention_kernel: warps 4; DRAM throughput")


def test_a_config_tuned_again_under_nsight_is_named_and_the_same_one_is_not() -> None:
    measured = [KernelResources("flash_attention_kernel", 106, 0, 41984, 4, 2)]
    other = KernelResources("flash_attention_kernel", 255, 0, 98304, 8, 3)
    stderr = "warming up\n" + PROFILED_MARK + json.dumps(dataclasses.asdict(other)) + "\n"
    assert profiled_kernels(stderr) == [other]
    [note] = config_notes(measured, profiled_kernels(stderr))
    assert "another config" in note and "8 warps, 3 stages, 255 registers" in note
    assert config_notes(measured, measured) == []
    assert config_notes(measured, []) == []  # the child said nothing: no claim either way


def test_a_rate_past_the_measured_copy_rate_reads_as_at_the_roof() -> None:
    line = roofline(Work(flops=0, bytes=4.4e9), 1e-3, H200)
    assert "4400 GB/s (at or above the 4223 GB/s copy rate)" in line and "at the roofline" in line and "104%" not in line


def test_counters_that_are_not_permitted_are_one_line() -> None:
    lines = ncu_lines("", "==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access NVIDIA GPU Performance Counters", 1)
    assert len(lines) == 1 and "not permitted" in lines[0]
    assert "no metrics came back" in ncu_lines("", "==ERROR== something else", 1)[0]


def test_the_profile_module_imports_nothing_gpu_only_at_import() -> None:
    source = Path(__file__).resolve().parent.parent / "pytest_triton_quest" / "profiling.py"
    head = source.read_text().split("\ndef ", 1)[0]
    assert "import torch" not in head and "import triton" not in head
