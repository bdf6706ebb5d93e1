"""Level 4 - Attention scores (seventh author's version).

Grid (batch*head, query tile): each program owns BLOCK_M query rows of one head and walks ALL the key
tiles of that head in a loop, writing one (BLOCK_M, BLOCK_N) tile of scores per step. The scale is
folded into q before the product.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def scores_row_kernel(
    q_ptr, k_ptr, out_ptr,
    S, scale,
    stride_qh, stride_qs, stride_kh, stride_ks, stride_oh, stride_os,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    bh = tl.program_id(0).to(tl.int64)
    rows = tl.program_id(1) * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    row_ok = rows < S
    q = tl.load(q_ptr + bh * stride_qh + rows[:, None] * stride_qs + dims[None, :],
                mask=row_ok[:, None], other=0.0).to(tl.float32)
    q = q * scale
    for start_n in range(0, S, BLOCK_N):
        cols = start_n + tl.arange(0, BLOCK_N)
        col_ok = cols < S
        kt = tl.load(k_ptr + cols[None, :] * stride_ks + dims[:, None],
                     mask=col_ok[None, :], other=0.0).to(tl.float32)  # (D, BLOCK_N)
        tile = tl.dot(q, kt)
        tl.store(out_ptr + bh * stride_oh + rows[:, None] * stride_os + cols[None, :], tile,
                 mask=row_ok[:, None] & col_ok[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    BLOCK_M, BLOCK_N = 16, 32
    grid = (B * H, triton.cdiv(S, BLOCK_M))
    scores_row_kernel[grid](
        q, k, out, S, scale,
        q.stride(1), q.stride(2), k.stride(1), k.stride(2), out.stride(1), out.stride(2),
        D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out
