"""Mutant: the grid rounds down, so the partial last tiles of rows and columns get no program."""

EXPECT = 'last, partial block'

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def scores_kernel(
    q_ptr, k_ptr, out_ptr,
    S, scale,
    stride_qh, stride_qs, stride_qd,
    stride_kh, stride_ks, stride_kd,
    stride_oh, stride_os, stride_oj,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    pid_m = tl.program_id(0)  # which block of queries (rows of the score matrix)
    pid_n = tl.program_id(1)  # which block of keys (columns)
    bh = tl.program_id(2).to(tl.int64)  # which (batch, head) pair; int64 as B*H*S*S can exceed 2^31

    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, D)  # D is a power of two, so one tile covers the whole head dimension

    # The last block of rows or columns may stick out past S: those lanes load 0 and are never stored.
    q_ptrs = q_ptr + bh * stride_qh + rows[:, None] * stride_qs + dims[None, :] * stride_qd
    k_ptrs = k_ptr + bh * stride_kh + cols[:, None] * stride_ks + dims[None, :] * stride_kd
    q = tl.load(q_ptrs, mask=rows[:, None] < S, other=0.0)
    k = tl.load(k_ptrs, mask=cols[:, None] < S, other=0.0)

    # Row i of the tile is query i, column j is key j: q @ k^T, accumulated in float32.
    scores = tl.dot(q, tl.trans(k)) * scale

    out_ptrs = out_ptr + bh * stride_oh + rows[:, None] * stride_os + cols[None, :] * stride_oj
    tl.store(out_ptrs, scores, mask=(rows[:, None] < S) & (cols[None, :] < S))


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q3 = q.reshape(B * H, S, D)
    k3 = k.reshape(B * H, S, D)
    out = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)

    # 64 x 64 tiles: big enough to keep the GPU's tensor cores busy, and >= 16 in every dimension, as
    # tl.dot requires on a GPU.
    BLOCK_M, BLOCK_N = 64, 64
    grid = (max(S // BLOCK_M, 1), max(S // BLOCK_N, 1), B * H)
    scores_kernel[grid](
        q3, k3, out,
        S, scale,
        q3.stride(0), q3.stride(1), q3.stride(2),
        k3.stride(0), k3.stride(1), k3.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out.reshape(B, H, S, S)

