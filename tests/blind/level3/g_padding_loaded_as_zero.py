"""Level 3 - Softmax (seventh author's version).

One kernel for every width. Each lane keeps its OWN running max and running sum over the chunks it
sees (a per-lane online softmax); the lanes are combined once at the end, then a second pass writes
exp(x - M) / L.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

CHUNK = 256


@triton.jit
def softmax_lanes_kernel(x_ptr, out_ptr, N, stride_x, stride_out, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    lanes = tl.arange(0, BLOCK)
    x_row = x_ptr + row * stride_x
    o_row = out_ptr + row * stride_out
    m = tl.full((BLOCK,), float("-inf"), tl.float32)
    l = tl.zeros((BLOCK,), tl.float32)
    for c0 in range(0, N, BLOCK):
        cols = c0 + lanes
        x = tl.load(x_row + cols, mask=cols < N, other=0.0).to(tl.float32)
        m_new = tl.maximum(m, x)
        finite = m_new > float("-inf")
        safe = tl.where(finite, m_new, 0.0)
        l = tl.where(finite, l * tl.exp(m - safe) + tl.exp(x - safe), 0.0)
        m = m_new
    big = tl.max(m, axis=0)
    total = tl.sum(tl.where(m > float("-inf"), l * tl.exp(m - big), 0.0), axis=0)
    for c0 in range(0, N, BLOCK):
        cols = c0 + lanes
        x = tl.load(x_row + cols, mask=cols < N, other=0.0).to(tl.float32)
        y = tl.exp(x - big) / total
        tl.store(o_row + cols, y.to(out_ptr.dtype.element_ty), mask=cols < N)


def softmax(x: torch.Tensor) -> torch.Tensor:
    M, N = x.shape
    out = torch.empty_like(x)
    BLOCK = min(triton.next_power_of_2(N), CHUNK)
    softmax_lanes_kernel[(M,)](x, out, N, x.stride(0), out.stride(0), BLOCK=BLOCK)
    return out
