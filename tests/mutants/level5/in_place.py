"""Mutant: the kernel writes the masked scores back into the input and returns it."""

EXPECT = 'return a new tensor'

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def causal_mask_kernel(
    x_ptr, out_ptr,
    S,
    stride_xh, stride_xi, stride_xj,
    stride_oh, stride_oi, stride_oj,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    bh = tl.program_id(2).to(tl.int64)  # B*H*S*S can exceed 2^31 on a GPU

    # Global query (row) and key (column) indices: the causal rule is about these, not about the
    # position inside the tile.
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    in_bounds = (rows[:, None] < S) & (cols[None, :] < S)

    x = tl.load(x_ptr + bh * stride_xh + rows[:, None] * stride_xi + cols[None, :] * stride_xj, mask=in_bounds)
    future = cols[None, :] > rows[:, None]  # key after query: hidden; the diagonal stays visible
    x = tl.where(future, float("-inf"), x)
    tl.store(out_ptr + bh * stride_oh + rows[:, None] * stride_oi + cols[None, :] * stride_oj, x, mask=in_bounds)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    x = scores.reshape(B * H, S, S)
    out = x
    BLOCK_M, BLOCK_N = 64, 64
    grid = (triton.cdiv(S, BLOCK_M), triton.cdiv(S, BLOCK_N), B * H)
    causal_mask_kernel[grid](
        x, out,
        S,
        x.stride(0), x.stride(1), x.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out.reshape(B, H, S, S)

