"""The kernel guard: launch counting, and out-of-bounds loads and stores stopped under the interpreter.

The kernels run on the CPU through Triton's interpreter. TRITON_INTERPRET=1 is set while they are
decorated (so @triton.jit gives interpreted functions) and during each test, and put back as it was
afterwards, so that other test modules see the environment they started with.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

_INTERPRET = "TRITON_INTERPRET"
_saved_interpret = os.environ.get(_INTERPRET)
os.environ[_INTERPRET] = "1"  # before any @triton.jit below

import torch  # noqa: E402
import triton  # noqa: E402
import triton.language as tl  # noqa: E402
from triton.runtime import interpreter  # noqa: E402
from triton.runtime.jit import JITFunction  # noqa: E402

from pytest_triton_quest.guard import (  # noqa: E402
    BoundsViolation,
    KernelWatch,
    LaunchRecord,
    OutOfBoundsAccess,
    TensorArg,
    watch_kernels,
)

REPO = Path(__file__).resolve().parent.parent


# ----- kernels ---------------------------------------------------------------------------------------
@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, x + y, mask=mask)


@triton.jit
def add_unmasked_store_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    x = tl.load(x_ptr + offsets, mask=mask)
    y = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, x + y)  # the bug: no mask


@triton.jit
def copy_unmasked_load_kernel(x_ptr, out_ptr, n, SHIFT: tl.constexpr, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    x = tl.load(x_ptr + offsets + SHIFT)  # the bug: no mask (and maybe a bad shift)
    tl.store(out_ptr + offsets, x, mask=mask)


@triton.jit
def masked_wild_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # Masked-off lanes point a long way outside every tensor; that is allowed.
    offsets = tl.arange(0, BLOCK)
    mask = offsets < n
    wild = tl.where(mask, offsets, offsets + 50_000_000)
    x = tl.load(x_ptr + wild, mask=mask, other=0.0)
    tl.store(out_ptr + wild, x + 1.0, mask=mask)


@triton.jit
def atomic_count_kernel(counts_ptr, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.atomic_add(counts_ptr + offsets, 1.0)  # unmasked


@triton.jit
def double_2d_kernel(
    x_ptr, out_ptr, M, N,
    stride_xm, stride_xn, stride_om, stride_on,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, MASK_COLUMNS: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)[:, None]
    cols = tl.program_id(1) * BLOCK_N + tl.arange(0, BLOCK_N)[None, :]
    x = tl.load(x_ptr + rows * stride_xm + cols * stride_xn, mask=(rows < M) & (cols < N), other=0.0)
    if MASK_COLUMNS:
        tl.store(out_ptr + rows * stride_om + cols * stride_on, x * 2, mask=(rows < M) & (cols < N))
    else:
        tl.store(out_ptr + rows * stride_om + cols * stride_on, x * 2, mask=rows < M)  # the bug


@triton.jit
def square_matmul_kernel(a_ptr, b_ptr, c_ptr, SIZE: tl.constexpr):
    rows = tl.arange(0, SIZE)
    tile = rows[:, None] * SIZE + rows[None, :]
    tl.store(c_ptr + tile, tl.dot(tl.load(a_ptr + tile), tl.load(b_ptr + tile)))


@triton.jit
def add_unmasked_x_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offsets < n
    x = tl.load(x_ptr + offsets)  # the bug: no mask; x's tail runs into y's memory
    y = tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, x + y, mask=mask)


@triton.jit
def pick_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # Pointers from two arguments mixed by tl.where: each lane stays inside its own tensor.
    offsets = tl.arange(0, BLOCK)
    mask = offsets < n
    ptrs = tl.where(offsets % 2 == 0, x_ptr + offsets, y_ptr + offsets)
    tl.store(out_ptr + offsets, tl.load(ptrs, mask=mask), mask=mask)


@triton.jit
def int_address_kernel(x_ptr, out_ptr, n, SHIFT: tl.constexpr, BLOCK: tl.constexpr):
    # A pointer rebuilt from an integer: its provenance is unknown to the guard.
    offsets = tl.arange(0, BLOCK)
    address = x_ptr.to(tl.uint64) + (offsets + SHIFT).to(tl.uint64) * 4
    x = tl.load(address.to(tl.pointer_type(tl.float32)))
    tl.store(out_ptr + offsets, x, mask=offsets < n)


@triton.jit
def descriptor_copy_kernel(x_ptr, out_ptr, n, ROWS: tl.constexpr, BLOCK: tl.constexpr):
    # ROWS is the shape the descriptor claims; more than the tensor has is the bug.
    descriptor = tl.make_tensor_descriptor(x_ptr, shape=[ROWS], strides=[1], block_shape=[BLOCK])
    values = descriptor.load([tl.program_id(0) * BLOCK])
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offsets, values, mask=offsets < n)


@triton.jit
def block_pointer_copy_kernel(x_ptr, out_ptr, n, BLOCK: tl.constexpr, CHECKED: tl.constexpr):
    # Triton 3.6 only (3.9 removed block pointers).
    block = tl.make_block_ptr(x_ptr, shape=(n,), strides=(1,), offsets=(tl.program_id(0) * BLOCK,),
                              block_shape=(BLOCK,), order=(0,))
    if CHECKED:
        values = tl.load(block, boundary_check=(0,), padding_option="zero")
    else:
        values = tl.load(block)  # the bug: no boundary check
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offsets, values, mask=offsets < n)


def _fake_bench(kernel_call: Any, quantiles: Any) -> list[float]:
    # The default benchmarker needs a GPU driver. Run each config once; the later config is faster.
    kernel_call()
    _fake_bench.calls += 1  # type: ignore[attr-defined]
    return [1.0 / _fake_bench.calls] * 3  # type: ignore[attr-defined]


_fake_bench.calls = 0  # type: ignore[attr-defined]

add_autotuned = triton.autotune(
    configs=[triton.Config({"BLOCK": 128}), triton.Config({"BLOCK": 256})], key=["n"], do_bench=_fake_bench
)(add_kernel)
add_heuristic = triton.heuristics({"BLOCK": lambda args: 256})(add_kernel)


def _plain_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):  # compiled-mode tests only
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offsets, tl.load(x_ptr + offsets) + tl.load(y_ptr + offsets))


if _saved_interpret is None:
    del os.environ[_INTERPRET]
else:
    os.environ[_INTERPRET] = _saved_interpret


@pytest.fixture(autouse=True)
def _interpret(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(_INTERPRET, "1")
    yield


# ----- helpers ---------------------------------------------------------------------------------------
N = 1000
BLOCK = 256


def _inputs(n: int = N) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(n)
    return torch.randn(n, generator=generator), torch.randn(n, generator=generator)


def _guarded_view(n: int, canary: int = 4096, fill: float = 7.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A tensor of n elements at the start of a bigger buffer: writes past its end land in the buffer
    (so a broken guard shows up as a changed canary, not as a crashed process)."""
    buffer = torch.full((n + canary,), fill)
    return buffer, buffer[:n]


def _patched_objects() -> dict[str, Any]:
    return {
        "GridExecutor.__call__": vars(interpreter.GridExecutor)["__call__"],
        "GridExecutor._init_args_hst": vars(interpreter.GridExecutor)["_init_args_hst"],
        "InterpreterBuilder.set_grid_dim": vars(interpreter.InterpreterBuilder)["set_grid_dim"],
        "interpreter._interpreter": interpreter._interpreter,
        "InterpreterBuilder.create_addptr": vars(interpreter.InterpreterBuilder)["create_addptr"],
        "InterpreterBuilder.create_reshape": vars(interpreter.InterpreterBuilder)["create_reshape"],
        "InterpreterBuilder.create_masked_load": vars(interpreter.InterpreterBuilder)["create_masked_load"],
        "TensorDescHandle.materialize_pointers": vars(interpreter.TensorDescHandle)["materialize_pointers"],
        "JITFunction.run": vars(JITFunction)["run"],
    }


def _run_expecting_violation(launch: Any) -> KernelWatch:
    with pytest.raises(Exception) as caught:  # the interpreter wraps it in an InterpreterError
        with watch_kernels(True) as watch:
            launch()
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(isinstance(item, OutOfBoundsAccess) for item in chain), chain
    assert watch.violation is not None
    return watch


# ----- launches --------------------------------------------------------------------------------------
def test_masked_vector_add_is_one_clean_launch() -> None:
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as watch:
        add_kernel[(triton.cdiv(N, BLOCK),)](x, y, out, N, BLOCK=BLOCK)
    assert watch.violation is None
    torch.testing.assert_close(out, x + y)
    assert watch.launches == [
        LaunchRecord(
            "add_kernel",
            (4, 1, 1),
            (
                TensorArg("x_ptr", N, 4, x.data_ptr()),
                TensorArg("y_ptr", N, 4, y.data_ptr()),
                TensorArg("out_ptr", N, 4, out.data_ptr()),
            ),
        )
    ]


def test_grid_from_a_callable_and_keyword_tensors() -> None:
    x, y = _inputs()
    out = torch.empty(N, dtype=torch.float64)
    with watch_kernels(True) as watch:
        add_kernel[lambda meta: (triton.cdiv(N, meta["BLOCK"]),)](x, y, out_ptr=out, n=N, BLOCK=128)
    (launch,) = watch.launches
    assert launch.grid == (8, 1, 1)
    assert [(t.name, t.element_size) for t in launch.tensors] == [("x_ptr", 4), ("y_ptr", 4), ("out_ptr", 8)]
    torch.testing.assert_close(out, (x + y).double())


def test_two_launches_count_two_and_warmup_counts_none() -> None:
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as watch:
        add_kernel.warmup(x, y, out, N, BLOCK=BLOCK, grid=(4,))
        add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
        add_kernel[(4,)](out, y, out, N, BLOCK=BLOCK)
    assert [launch.kernel for launch in watch.launches] == ["add_kernel", "add_kernel"]
    torch.testing.assert_close(out, x + 2 * y)


def test_autotuned_kernel_counts_benchmark_runs_first_then_one_launch() -> None:
    x, y = _inputs(N + 1)  # a tuning key of its own, whatever ran before
    out = torch.empty(N + 1)
    n = N + 1
    _fake_bench.calls = 0  # type: ignore[attr-defined]

    def call() -> None:
        add_autotuned[lambda meta: (triton.cdiv(n, meta["BLOCK"]),)](x, y, out, n)

    # First call: the autotuner runs every config once through our benchmarker (on a GPU, the real
    # benchmarker runs each many times), then launches the chosen config: 2 + 1 launches.
    with watch_kernels(True) as first:
        call()
    assert len(first.launches) == 3
    assert [launch.grid for launch in first.launches] == [(8, 1, 1), (4, 1, 1), (4, 1, 1)]
    # Second call: the config is cached, so exactly one launch.
    with watch_kernels(True) as second:
        call()
    assert [(launch.kernel, launch.grid) for launch in second.launches] == [("add_kernel", (4, 1, 1))]
    assert second.violation is None
    torch.testing.assert_close(out, x + y)


def test_heuristics_wrapper_is_one_launch() -> None:
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as watch:
        add_heuristic[(4,)](x, y, out, N)
    assert len(watch.launches) == 1
    torch.testing.assert_close(out, x + y)


def test_no_launch_records_nothing() -> None:
    with watch_kernels(True) as watch:
        torch.ones(3) + 1
    assert watch == KernelWatch([], None)


# ----- bounds ----------------------------------------------------------------------------------------
def test_unmasked_store_past_the_end_is_stopped_before_it_writes() -> None:
    x, y = _inputs()
    buffer, out = _guarded_view(N)
    watch = _run_expecting_violation(lambda: add_unmasked_store_kernel[(4,)](x, y, out, N, BLOCK=BLOCK))
    violation = watch.violation
    assert violation is not None
    assert violation.kernel == "add_unmasked_store_kernel"
    assert violation.access == "store"
    assert violation.argument == "out_ptr"
    assert violation.count == 24
    assert violation.numel == N
    assert violation.program_id == (3, 0, 0)
    assert violation.offsets[0] == 1000 and max(violation.offsets) == 1023 and len(violation.offsets) <= 8
    # The first three programs wrote their blocks; the bad store of the last one never happened.
    torch.testing.assert_close(out[:768], (x + y)[:768])
    assert torch.all(out[768:] == 7.0)
    assert torch.all(buffer[N:] == 7.0), "the memory after the output was written"
    assert len(watch.launches) == 1 and watch.launches[0].grid == (4, 1, 1)
    text = violation.describe()
    assert text.startswith("out-of-bounds store in kernel `add_unmasked_store_kernel`, program id (3, 0, 0)")
    assert "24 unmasked lanes write outside `out_ptr`" in text
    assert "element offsets 1000..1023, the tensor has 1000 elements" in text
    assert "Mask the store with offsets < n." in text


def test_unmasked_load_past_the_end_is_a_load_violation() -> None:
    source = torch.arange(N + 4096, dtype=torch.float32)
    x = source[:N]
    out = torch.zeros(N)
    watch = _run_expecting_violation(lambda: copy_unmasked_load_kernel[(4,)](x, out, N, SHIFT=0, BLOCK=BLOCK))
    violation = watch.violation
    assert violation is not None
    assert (violation.access, violation.argument, violation.count) == ("load", "x_ptr", 24)
    assert violation.program_id == (3, 0, 0)
    assert (min(violation.offsets), max(violation.offsets)) == (1000, 1023)
    assert "read outside `x_ptr`" in violation.describe()
    assert "Mask the load (and give `other=`)." in violation.describe()
    assert torch.all(out[768:] == 0), "the bad program went on after its load"


def test_load_before_the_start_names_the_tensor_it_was_computed_from() -> None:
    source = torch.arange(20_000, dtype=torch.float32)
    x = source[16_000 : 16_000 + N]  # the lanes before x land far from every other tensor
    out = torch.zeros(N)
    watch = _run_expecting_violation(
        lambda: copy_unmasked_load_kernel[(4,)](x, out, N, SHIFT=-4096, BLOCK=BLOCK)
    )
    violation = watch.violation
    assert violation is not None
    assert (violation.access, violation.argument, violation.count) == ("load", "x_ptr", BLOCK)
    assert violation.program_id == (0, 0, 0)
    assert (min(violation.offsets), max(violation.offsets)) == (-4096, -4096 + BLOCK - 1)
    assert "Mask the load so that offsets stay in 0..n-1, or fix how the offsets are computed." in violation.describe()


# ----- provenance: the argument a pointer was computed from ------------------------------------------
def _adjacent(n: int, fill: float = 7.0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """x, y and out back to back in one buffer, and a canary after them: x's overflow lands in y,
    out's overflow in the canary."""
    buffer = torch.full((3 * n + 4096,), fill)
    return buffer, buffer[:n], buffer[n : 2 * n], buffer[2 * n : 3 * n]


def test_an_overflow_into_the_next_tensor_names_the_tensor_it_came_from_every_time() -> None:
    n = 100
    reports = set()
    for _ in range(5):
        buffer, x, y, out = _adjacent(n)
        x.copy_(torch.arange(n))
        watch = _run_expecting_violation(lambda: add_unmasked_x_kernel[(4,)](x, y, out, n, BLOCK=32))
        violation = watch.violation
        assert violation is not None
        # Lanes 100..127 of the last block read y's memory: inside a tensor, but not inside x.
        assert (violation.access, violation.argument, violation.count, violation.numel) == ("load", "x_ptr", 28, n)
        assert violation.program_id == (3, 0, 0)
        assert (min(violation.offsets), max(violation.offsets)) == (100, 127)
        reports.add(violation.describe())
    assert len(reports) == 1, reports
    (text,) = reports
    assert "28 unmasked lanes read outside `x_ptr` (element offsets 100..127, the tensor has 100 elements)" in text


def test_a_store_that_strays_into_another_argument_is_stopped() -> None:
    n = 100
    buffer = torch.full((2 * n + 4096,), 7.0)
    out, y = buffer[:n], buffer[n : 2 * n]  # out's overflow lands in y, an argument the kernel reads
    x = torch.ones(n)
    watch = _run_expecting_violation(lambda: add_unmasked_store_kernel[(4,)](x, y, out, n, BLOCK=32))
    violation = watch.violation
    assert violation is not None
    assert (violation.access, violation.argument, violation.count) == ("store", "out_ptr", 28)
    assert (min(violation.offsets), max(violation.offsets)) == (100, 127)
    assert torch.all(y == 7.0), "the store wrote into y"


def test_pointers_mixed_from_two_arguments_may_address_both() -> None:
    x, y = _inputs(64)
    out = torch.empty(64)
    with watch_kernels(True) as watch:
        pick_kernel[(1,)](x, y, out, 64, BLOCK=64)
    assert watch.violation is None and watch.unchecked == []
    expected = torch.where(torch.arange(64) % 2 == 0, x, y)
    torch.testing.assert_close(out, expected)


def test_the_same_tensor_passed_twice_may_be_used_through_either_argument() -> None:
    x = torch.arange(N, dtype=torch.float32)
    with watch_kernels(True) as watch:
        add_kernel[(4,)](x, x, x, N, BLOCK=BLOCK)  # in place: x = x + x
    assert watch.violation is None
    torch.testing.assert_close(x, 2 * torch.arange(N, dtype=torch.float32))


def test_a_descriptor_claiming_too_many_rows_names_its_base() -> None:
    buffer, x, y, out = _adjacent(16)
    with watch_kernels(True) as watch:
        descriptor_copy_kernel[(1,)](x, out, 16, ROWS=16, BLOCK=16)
    assert watch.violation is None
    watch = _run_expecting_violation(lambda: descriptor_copy_kernel[(2,)](x, out, 16, ROWS=32, BLOCK=16))
    violation = watch.violation
    assert violation is not None
    assert (violation.access, violation.argument, violation.count) == ("load", "x_ptr", 16)
    assert (min(violation.offsets), max(violation.offsets), violation.program_id) == (16, 31, (1, 0, 0))


@pytest.mark.skipif(
    not hasattr(interpreter, "BlockPointerHandle"), reason="this Triton has no block pointers (3.9 removed them)"
)
def test_a_block_pointer_without_boundary_check_names_its_base() -> None:
    buffer, x, y, out = _adjacent(20)
    with watch_kernels(True) as watch:
        block_pointer_copy_kernel[(2,)](x, out, 20, BLOCK=16, CHECKED=True)
    assert watch.violation is None
    torch.testing.assert_close(out, x)
    watch = _run_expecting_violation(lambda: block_pointer_copy_kernel[(2,)](x, out, 20, BLOCK=16, CHECKED=False))
    violation = watch.violation
    assert violation is not None
    assert (violation.access, violation.argument, violation.count, violation.program_id) == ("load", "x_ptr", 12, (1, 0, 0))
    assert (min(violation.offsets), max(violation.offsets)) == (20, 31)


def test_unknown_provenance_falls_back_to_any_tensor_and_never_names_a_neighbour() -> None:
    buffer, x, y, out = _adjacent(16)
    # A pointer rebuilt from an integer: lanes inside y's memory are accepted (the old rule)...
    with watch_kernels(True) as watch:
        int_address_kernel[(1,)](x, y, 16, SHIFT=8, BLOCK=16)  # lanes 16..23 land in y, the output here
    assert watch.violation is None
    # ...lanes outside every tensor are reported against the tensor the other lanes address...
    small = torch.arange(16, dtype=torch.float32)
    far_out = torch.zeros(16)
    watch = _run_expecting_violation(lambda: int_address_kernel[(1,)](small, far_out, 16, SHIFT=8, BLOCK=16))
    assert watch.violation is not None
    assert (watch.violation.argument, watch.violation.count, watch.violation.offsets[0]) == ("x_ptr", 8, 16)
    # ...and when no lane is inside any tensor, no tensor is named.
    watch = _run_expecting_violation(lambda: int_address_kernel[(1,)](small, far_out, 16, SHIFT=1 << 20, BLOCK=16))
    assert watch.violation is not None
    assert (watch.violation.argument, watch.violation.count) == (None, 16)
    assert "outside every tensor argument" in watch.violation.describe()


def test_masked_out_of_bounds_lanes_are_not_violations() -> None:
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as watch:
        add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)  # lanes 1000..1023 of the last block are masked
        small = torch.arange(5, dtype=torch.float32)
        small_out = torch.zeros(5)
        masked_wild_kernel[(1,)](small, small_out, 5, BLOCK=64)
    assert watch.violation is None
    assert len(watch.launches) == 2
    torch.testing.assert_close(small_out, small + 1)


@triton.jit
def first_only_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK: tl.constexpr):
    # Reads x with every lane masked off, and never loads through y at all.
    offsets = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + offsets, mask=offsets < 0, other=1.0)
    tl.store(out_ptr + offsets, x, mask=offsets < n)


def test_a_load_with_every_lane_off_counts_as_loaded_but_not_read() -> None:
    """`loaded` (a load addressed it) and `reads` (an active lane read it) are two facts: a pointer the
    kernel never loads through is in neither."""
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as watch:
        first_only_kernel[(1,)](x, y, out, 16, BLOCK=16)
    launch = watch.launches[0]
    assert launch.loaded == frozenset({x.data_ptr()})
    assert launch.reads == frozenset()


def test_unmasked_atomic_past_the_end_is_stopped() -> None:
    buffer, counts = _guarded_view(100, fill=0.0)
    watch = _run_expecting_violation(lambda: atomic_count_kernel[(4,)](counts, BLOCK=32))
    violation = watch.violation
    assert violation is not None
    assert (violation.access, violation.argument, violation.count) == ("store", "counts_ptr", 28)
    assert violation.program_id == (3, 0, 0)
    assert torch.all(buffer[:96] == 1) and torch.all(buffer[96:] == 0)


@pytest.mark.parametrize(
    ("layout", "program_id", "count", "first", "last"),
    [
        # Row-major 40 x 50: the column tail of rows 32..38 wraps into the next row (still inside the
        # tensor); only row 39 of the last tile runs past the end.
        ("row-major", (2, 3, 0), 14, 2000, 2013),
        # Column-major: every row's column tail is past the end, so the first program of the last
        # column of tiles, (0, 3), is stopped: 16 rows x 14 columns.
        ("column-major", (0, 3, 0), 16 * 14, 2000, 15 + 63 * 40),
    ],
)
def test_2d_column_tail_reports_the_program_id(
    layout: str, program_id: tuple[int, int, int], count: int, first: int, last: int
) -> None:
    M, N2 = 40, 50
    x = torch.randn(M, N2, generator=torch.Generator().manual_seed(2))
    buffer = torch.full((M * N2 + 4096,), 7.0)
    out = buffer[: M * N2].view(M, N2) if layout == "row-major" else buffer[: M * N2].view(N2, M).t()
    grid = (triton.cdiv(M, 16), triton.cdiv(N2, 16))
    watch = _run_expecting_violation(
        lambda: double_2d_kernel[grid](
            x, out, M, N2, x.stride(0), x.stride(1), out.stride(0), out.stride(1),
            BLOCK_M=16, BLOCK_N=16, MASK_COLUMNS=False,
        )
    )
    violation = watch.violation
    assert violation is not None
    assert (violation.access, violation.argument, violation.numel) == ("store", "out_ptr", M * N2)
    assert violation.program_id == program_id
    assert violation.count == count
    assert (min(violation.offsets), max(violation.offsets)) == (first, last)
    assert torch.all(buffer[M * N2 :] == 7.0)
    assert watch.launches[0].grid == (3, 4, 1)


def test_strided_view_may_be_read_across_its_whole_extent() -> None:
    # A column slice of a wider matrix: its elements span more than numel * element_size bytes,
    # and reading its last rows is still in bounds.
    wide = torch.randn(40, 64, generator=torch.Generator().manual_seed(3))
    x = wide[:, :50]
    out = torch.empty(40, 50)
    with watch_kernels(True) as watch:
        double_2d_kernel[(3, 4)](
            x, out, 40, 50, x.stride(0), x.stride(1), out.stride(0), out.stride(1),
            BLOCK_M=16, BLOCK_N=16, MASK_COLUMNS=True,
        )
    assert watch.violation is None
    assert watch.launches[0].tensors[0] == TensorArg("x_ptr", 2000, 4, x.data_ptr())
    torch.testing.assert_close(out, x * 2)


def test_first_violation_is_kept() -> None:
    x, y = _inputs()
    buffer, out = _guarded_view(N)
    with watch_kernels(True) as watch:
        for _ in range(2):
            with pytest.raises(Exception):
                add_unmasked_store_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
        with pytest.raises(Exception):
            copy_unmasked_load_kernel[(4,)](x, out, N, SHIFT=0, BLOCK=BLOCK)
    assert watch.violation is not None and watch.violation.access == "store"
    assert len(watch.launches) == 3
    assert torch.all(buffer[N:] == 7.0)


def test_describe_singular_and_without_argument() -> None:
    one = BoundsViolation("k", "store", "out_ptr", (-1,), 1, 10, (0, 0, 0))
    assert "1 unmasked lane writes outside `out_ptr` (element offset -1, the tensor has 10 elements)" in one.describe()
    assert "offsets stay in 0..n-1" in one.describe()
    anywhere = BoundsViolation("k", "load", None, (), 3, None, (1, 2, 0))
    assert anywhere.describe().startswith("out-of-bounds load in kernel `k`, program id (1, 2, 0): 3 unmasked lanes")
    assert "outside every tensor argument" in anywhere.describe()
    assert len(one.describe().splitlines()) <= 2
    error = OutOfBoundsAccess(one)
    assert error.violation is one and str(error) == one.describe()


# ----- launches that could not be checked say so ------------------------------------------------------
def test_a_checked_launch_is_not_marked_unchecked() -> None:
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as watch:
        add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
    assert watch.launches[0].unchecked is None
    assert watch.unchecked == [] and watch.unchecked_note() is None


def test_arguments_the_guard_cannot_read_mark_the_launch_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_triton_quest import guard

    def unreadable(*args: Any) -> list[Any]:
        raise ValueError("an argument type from the future")

    monkeypatch.setattr(guard.hooks, "_spans_of", unreadable)
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as watch:
        add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)  # still runs, unchecked
    torch.testing.assert_close(out, x + y)
    reason = "the guard could not read the launch's arguments (ValueError: an argument type from the future)"
    assert watch.launches[0].unchecked == reason
    assert watch.unchecked == [f"kernel `add_kernel`: {reason}"]
    assert watch.unchecked_note() == f"triton-quest: this launch was not bounds-checked: kernel `add_kernel`: {reason}"


def test_an_access_that_bypasses_the_memory_proxy_marks_the_launch_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if a Triton release stopped reading the module global `_interpreter` for its memory helpers.
    real = interpreter._interpreter
    original_call = interpreter.GridExecutor.__call__

    def call_with_the_real_helpers(self: Any, *args: Any, **kwargs: Any) -> Any:
        interpreter._interpreter = real
        return original_call(self, *args, **kwargs)

    monkeypatch.setattr(interpreter.GridExecutor, "__call__", call_with_the_real_helpers)
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as watch:
        add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
    assert watch.launches[0].unchecked == (
        "a memory access (create_masked_load) bypassed the guard's checking proxy for the interpreter's `_interpreter`"
    )
    assert len(watch.unchecked) == 1


def test_a_proxy_replaced_before_the_launch_marks_it_unchecked() -> None:
    real = interpreter._interpreter
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as watch:
        proxy = interpreter._interpreter
        interpreter._interpreter = real  # as if another tool swapped in its own helpers
        try:
            add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
        finally:
            interpreter._interpreter = proxy
    assert watch.launches[0].unchecked == "something replaced the guard's checking proxy for the interpreter's `_interpreter`"


def test_a_hook_missing_from_triton_is_reported_when_the_watch_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(interpreter, "_interpreter")
    with watch_kernels(True) as watch:
        pass
    assert watch.unchecked == [
        "this Triton has no `interpreter._interpreter` for the guard to hook: kernels run without bounds checks"
    ]


# ----- patches ---------------------------------------------------------------------------------------
def test_patches_are_installed_inside_and_restored_after() -> None:
    before = _patched_objects()
    with watch_kernels(True):
        inside = _patched_objects()
        assert inside["JITFunction.run"] is before["JITFunction.run"]  # the compiled hook is not needed
        changed = [name for name in before if name != "JITFunction.run" and inside[name] is before[name]]
        assert changed == []
    assert _patched_objects() == before
    with watch_kernels(False):
        assert vars(JITFunction)["run"] is not before["JITFunction.run"]
        assert interpreter._interpreter is before["interpreter._interpreter"]
    assert _patched_objects() == before


def test_patches_are_restored_after_an_exception() -> None:
    before = _patched_objects()
    for interpreted in (True, False):
        with pytest.raises(ZeroDivisionError):
            with watch_kernels(interpreted):
                1 / 0
    x, y = _inputs()
    _, out = _guarded_view(N)
    with pytest.raises(Exception):
        with watch_kernels(True):
            add_unmasked_store_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
    assert _patched_objects() == before
    # And a launch outside any watch runs normally.
    add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
    torch.testing.assert_close(out, x + y)


def test_nested_and_repeated_watches() -> None:
    before = _patched_objects()
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(True) as outer:
        add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
        with watch_kernels(True) as inner:
            add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
            with pytest.raises(Exception):
                copy_unmasked_load_kernel[(4,)](torch.arange(N + 4096.0)[:N], out, N, SHIFT=0, BLOCK=BLOCK)
        assert _patched_objects()["interpreter._interpreter"] is not before["interpreter._interpreter"]
        add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
    assert len(inner.launches) == 2 and len(outer.launches) == 4
    assert inner.violation is not None and inner.violation == outer.violation
    assert _patched_objects() == before
    for _ in range(3):
        with watch_kernels(True) as again:
            add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
        assert len(again.launches) == 1 and again.violation is None
    assert _patched_objects() == before


# ----- compiled kernels (no GPU here: JITFunction.run's real body is replaced by a fake) --------------
def test_compiled_launches_go_through_jitfunction_run(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[tuple[Any, bool]] = []

    def fake_run(self: Any, *args: Any, grid: Any, warmup: Any, **kwargs: Any) -> str:
        ran.append((grid, warmup))
        return "launched"

    monkeypatch.setattr(JITFunction, "run", fake_run)
    kernel = JITFunction(_plain_add)
    autotuned = triton.autotune(configs=[triton.Config({"BLOCK": 128})], key=["n"])(kernel)
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(False) as watch:
        assert kernel[(4,)](x, y, out, N, BLOCK=BLOCK) == "launched"
        kernel[lambda meta: (triton.cdiv(meta["n"], meta["BLOCK"]), 2)](x, y, out_ptr=out, n=N, BLOCK=BLOCK)
        kernel.warmup(x, y, out, N, BLOCK=BLOCK, grid=(1,))
        autotuned[lambda meta: (triton.cdiv(meta["n"], meta["BLOCK"]),)](x, y, out, N)
    assert len(ran) == 4 and ran[2][1] is True  # every call reached the original, warmup included
    assert [(launch.kernel, launch.grid) for launch in watch.launches] == [
        ("_plain_add", (4, 1, 1)),
        ("_plain_add", (4, 2, 1)),
        ("_plain_add", (8, 1, 1)),
    ]
    assert watch.launches[0].tensors == (
        TensorArg("x_ptr", N, 4, x.data_ptr()),
        TensorArg("y_ptr", N, 4, y.data_ptr()),
        TensorArg("out_ptr", N, 4, out.data_ptr()),
    )
    assert watch.violation is None
    assert vars(JITFunction)["run"] is fake_run


def test_compiled_watch_ignores_interpreted_launches_and_checks_nothing() -> None:
    x, y = _inputs()
    out = torch.empty(N)
    with watch_kernels(False) as watch:
        add_kernel[(4,)](x, y, out, N, BLOCK=BLOCK)
    assert watch.launches == [] and watch.violation is None


# ----- import cost -----------------------------------------------------------------------------------
def test_importing_the_guard_imports_neither_torch_nor_triton() -> None:
    code = (
        "import sys, pytest_triton_quest.guard\n"
        "heavy = sorted({'torch', 'triton', 'numpy'} & set(sys.modules))\n"
        "assert not heavy, heavy\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("size, warned", [(8, True), (16, False)])
def test_a_dot_tile_under_16_is_flagged_as_not_portable(size: int, warned: bool) -> None:
    a, b = torch.randn(size, size), torch.randn(size, size)
    c = torch.empty(size, size)
    with watch_kernels(True) as watch:
        square_matmul_kernel[(1,)](a, b, c, SIZE=size)
    torch.testing.assert_close(c, a @ b, rtol=1e-4, atol=1e-4)  # the interpreter computes it anyway
    if warned:
        assert watch.portability == [
            f"`square_matmul_kernel` calls tl.dot on a ({size} x {size}) @ ({size} x {size}) tile: this runs in "
            "the interpreter, but a GPU needs every tl.dot dimension >= 16"
        ]
    else:
        assert watch.portability == []



def test_last_writers_ties_each_element_to_the_program_that_stored_it() -> None:
    x, y = _inputs(1000)
    out = torch.full((1000,), -1.0)
    with watch_kernels(True) as watch:
        add_kernel[(3,)](x, y, out, 1000, BLOCK=256)  # three programs: elements 768..999 stay unwritten
    owner, table = watch.last_writers(out.data_ptr(), out.numel(), out.element_size())
    programs = [table[index][1] if index >= 0 else None for index in owner.tolist()]
    assert programs[0] == (0, 0, 0) and programs[300] == (1, 0, 0) and programs[767] == (2, 0, 0)
    assert programs[768:] == [None] * 232
    assert {kernel for kernel, _ in table} == {"add_kernel"}
