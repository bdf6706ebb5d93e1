"""Mutant: exp is taken of the raw logits, which overflows for large ones."""

EXPECT = 'subtract the row max'

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
# Rows up to this width are done in one block. On a GPU a block of 8192 float32 values still fits in
# registers with 16 warps; the interpreter uses 1024 so that the quest's CPU cases exercise both paths.
MAX_SINGLE_BLOCK = 1024 if INTERPRETED else 8192
WIDE_BLOCK = 1024 if INTERPRETED else 4096


@triton.jit
def softmax_row_kernel(x_ptr, out_ptr, N, stride_x, stride_out, BLOCK: tl.constexpr):
    # One program per row; the whole row is one block (BLOCK >= N).
    row = tl.program_id(axis=0).to(tl.int64)  # int64: row * stride can pass 2^31 on large inputs
    cols = tl.arange(0, BLOCK)
    inside = cols < N
    # Padding must never win the max nor add to the sum: -inf does both (exp(-inf) = 0). A 0 would
    # win the max of a row of negative numbers and add exp(0 - max) to the sum for every padded lane.
    x = tl.load(x_ptr + row * stride_x + cols, mask=inside, other=float("-inf")).to(tl.float32)
    e = tl.exp(x)
    tl.store(out_ptr + row * stride_out + cols, (e / tl.sum(e, axis=0)).to(out_ptr.dtype.element_ty), mask=inside)


@triton.jit
def softmax_wide_kernel(x_ptr, out_ptr, N, stride_x, stride_out, BLOCK: tl.constexpr):
    # One program per row, walking it BLOCK columns at a time (N > BLOCK).
    row = tl.program_id(axis=0).to(tl.int64)
    x_row = x_ptr + row * stride_x
    out_row = out_ptr + row * stride_out

    # Pass 1, online: keep the running max m and the sum l of exp(x - m) seen so far. When a block
    # raises the max, the old terms were computed against a smaller m and are too large by
    # exp(m_new - m): multiplying l by exp(m - m_new) fixes them all at once.
    # (`while`, not `for ... in range(0, N, BLOCK)`: triton 3.6's interpreter cannot iterate a range
    # with a runtime bound under numpy >= 2.4. Every block starts inside the row, so its max is finite.)
    m = float("-inf")
    l = 0.0
    start = 0
    while start < N:
        cols = start + tl.arange(0, BLOCK)
        x = tl.load(x_row + cols, mask=cols < N, other=float("-inf")).to(tl.float32)
        l += tl.sum(tl.exp(x), axis=0)
        start += BLOCK

    # Pass 2: now that m and l are final, write the normalised weights.
    start = 0
    while start < N:
        cols = start + tl.arange(0, BLOCK)
        inside = cols < N
        x = tl.load(x_row + cols, mask=inside, other=float("-inf")).to(tl.float32)
        tl.store(out_row + cols, (tl.exp(x) / l).to(out_ptr.dtype.element_ty), mask=inside)
        start += BLOCK


def _warps(block: int) -> int:
    # More threads for wider blocks, so each thread keeps a modest number of values in registers.
    return 1 if block <= 128 else 4 if block <= 1024 else 8 if block <= 4096 else 16


def softmax(x: torch.Tensor) -> torch.Tensor:
    M, N = x.shape
    out = torch.empty_like(x)
    grid = (M,)
    if N <= MAX_SINGLE_BLOCK:
        block = triton.next_power_of_2(N)
        softmax_row_kernel[grid](x, out, N, x.stride(0), out.stride(0), BLOCK=block, num_warps=_warps(block))
    else:
        softmax_wide_kernel[grid](x, out, N, x.stride(0), out.stride(0), BLOCK=WIDE_BLOCK, num_warps=_warps(WIDE_BLOCK))
    return out

