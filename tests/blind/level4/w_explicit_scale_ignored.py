"""Level 4 - Attention Scores: every query against every key, tile by tile.

My version: one program per (block of query rows, batch*head); it walks across all the key tiles
of that head itself, so the grid is 2-D. q and k stay 4-D and I index batch and head separately.
"""

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
    S, H, scale,
    stride_qb, stride_qh, stride_qs, stride_qd,
    stride_kb, stride_kh, stride_ks, stride_kd,
    stride_ob, stride_oh, stride_oi, stride_oj,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H

    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    row_ok = rows < S

    q_base = q_ptr + b * stride_qb + h * stride_qh
    k_base = k_ptr + b * stride_kb + h * stride_kh
    o_base = out_ptr + b * stride_ob + h * stride_oh

    # (BLOCK_M, D) tile of queries, loaded once
    q_tile = tl.load(q_base + rows[:, None] * stride_qs + dims[None, :] * stride_qd,
                     mask=row_ok[:, None], other=0.0)

    for n0 in range(0, S, BLOCK_N):
        cols = n0 + tl.arange(0, BLOCK_N)
        col_ok = cols < S
        # load k already transposed: a (D, BLOCK_N) tile
        kT = tl.load(k_base + dims[:, None] * stride_kd + cols[None, :] * stride_ks,
                     mask=col_ok[None, :], other=0.0)
        s = tl.dot(q_tile, kT) * scale
        tl.store(o_base + rows[:, None] * stride_oi + cols[None, :] * stride_oj,
                 s, mask=row_ok[:, None] & col_ok[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    scale = 1.0 / math.sqrt(D)
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    BLOCK_M, BLOCK_N = 32, 32
    grid = (triton.cdiv(S, BLOCK_M), B * H)
    scores_kernel[grid](
        q, k, out, S, H, scale,
        q.stride(0), q.stride(1), q.stride(2), q.stride(3),
        k.stride(0), k.stride(1), k.stride(2), k.stride(3),
        out.stride(0), out.stride(1), out.stride(2), out.stride(3),
        D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q = torch.randn(2, 3, 77, 32, device=device)
    k = torch.randn(2, 3, 77, 32, device=device)
    expected = (q @ k.transpose(-1, -2)) / math.sqrt(32)
    torch.testing.assert_close(attention_scores(q, k), expected, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(attention_scores(q, k, scale=0.5), (q @ k.transpose(-1, -2)) * 0.5, atol=1e-2, rtol=1e-2)
    print("level 4 self-check passed: now run `pytest --level 4`")
