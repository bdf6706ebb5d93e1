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
