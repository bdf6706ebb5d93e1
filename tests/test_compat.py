"""The interpreter work-arounds: a runtime-bounded loop must run on every supported Triton."""

from __future__ import annotations

import pytest
import torch
import triton
import triton.language as tl

from pytest_triton_quest.compat import apply_interpreter_fixes

pytestmark = pytest.mark.usefixtures("interpreter")  # its kernel runs through the interpreter


@triton.jit
def _row_sum(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    total = tl.zeros([BLOCK], dtype=tl.float32)
    for start in range(0, n, BLOCK):  # a loop bound known only at run time
        offsets = start + tl.arange(0, BLOCK)
        total += tl.load(x_ptr + offsets, mask=offsets < n, other=0.0)
    tl.store(out_ptr, tl.sum(total, axis=0))


def test_a_loop_with_a_runtime_bound_runs_in_the_interpreter() -> None:
    apply_interpreter_fixes()
    apply_interpreter_fixes()  # idempotent
    x = torch.randn(1000)
    out = torch.empty(1)
    _row_sum[(1,)](x, out, x.numel(), BLOCK=128)
    torch.testing.assert_close(out[0], x.sum(), rtol=1e-5, atol=1e-4)


# ----- and / or / not on tensors: element-wise, as compiled Triton does them (issue 13) ---------------
@triton.jit
def _either(a, b):  # a device function: rewritten as well
    return a or b


@triton.jit
def _logic(x_ptr, out_ptr, n, FLAG: tl.constexpr, OFF: tl.constexpr, BLOCK: tl.constexpr):
    offsets = tl.arange(0, BLOCK)
    inside = offsets < n
    x = tl.load(x_ptr + offsets, mask=inside, other=0.0)
    positive = x > 0
    large = x > 0.5
    both = positive and large
    neither = not _either(positive, large)
    if FLAG and BLOCK > 4:  # constexpr operands: decided at compile time, as before
        both = both and inside
    if OFF or not FLAG:  # never taken
        both = positive
    pid = tl.program_id(0)
    if pid < 1 and n > 0:  # scalar tensors: a plain condition
        tl.store(out_ptr + offsets, both.to(tl.int32) * 10 + neither.to(tl.int32), mask=inside)


def test_and_or_not_on_tensors_are_element_wise_in_the_interpreter() -> None:
    """A correct kernel must not compute wrong values on the CPU only: Python's `and` on two blocks
    returned the second block and `not block` returned False, where compiled Triton is element-wise."""
    apply_interpreter_fixes()
    x = torch.tensor([-1.0, 0.2, 0.7, -0.3, 0.9, 0.0, 0.6, -2.0, 5.0])
    out = torch.full((9,), -1, dtype=torch.int32)
    _logic[(1,)](x, out, 8, FLAG=True, OFF=False, BLOCK=16)
    expected = ((x > 0) & (x > 0.5)).int() * 10 + (~((x > 0) | (x > 0.5))).int()
    expected[8] = -1  # past n: never written
    assert out.tolist() == expected.tolist()


def test_python_values_still_short_circuit() -> None:
    from pytest_triton_quest.compat import boolean, negation

    def never() -> None:
        raise AssertionError("evaluated past a deciding operand")

    assert boolean(True, lambda: 0, never) == 0
    assert boolean(False, lambda: "yes", never) == "yes"
    assert boolean(True, lambda: 1, lambda: 2) == 2
    assert boolean(False, lambda: 0, lambda: None) is None
    assert negation(0) is True and negation([1]) is False


# ----- several autotune configs: one runs, untimed, said once (issue 13) -------------------------------
@triton.autotune(
    configs=[triton.Config({"BLOCK": 64}), triton.Config({"BLOCK": 32}, num_warps=2), triton.Config({"BLOCK": 16})],
    key=["n"],
)
@triton.jit
def _doubled(x_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    inside = offsets < n
    tl.store(out_ptr + offsets, tl.load(x_ptr + offsets, mask=inside) * 2, mask=inside)


def test_an_autotuned_kernel_runs_its_first_config_and_says_so_once() -> None:
    from pytest_triton_quest.compat import take_notes

    apply_interpreter_fixes()
    take_notes()
    for n in (100, 300):  # two tuning keys: still one note
        x = torch.randn(n)
        out = torch.empty_like(x)
        _doubled[lambda meta: (triton.cdiv(n, meta["BLOCK"]),)](x, out, n)  # no "0 active drivers"
        torch.testing.assert_close(out, 2 * x)
        assert _doubled.best_config.kwargs == {"BLOCK": 64}
    assert take_notes() == [
        "`_doubled` has 3 @triton.autotune configs: the CPU interpreter cannot time them, so the checks run "
        "the first one (BLOCK=64); on a GPU Triton times them all and keeps the fastest"
    ]
