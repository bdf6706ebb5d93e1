"""Level 4 - Attention Scores: score[b, h, i, j] = (q[b, h, i, :] . k[b, h, j, :]) * scale, tile by tile.

One program per (flattened score tile, batch*head); each tile is accumulated over chunks of the head dim.
"""

import math
import os

import torch

if not torch.cuda.is_available():
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
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):
    tile = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    n_col_tiles = tl.cdiv(S, BLOCK_N)
    tile_r = tile // n_col_tiles
    tile_c = tile % n_col_tiles

    r = tile_r * BLOCK_M + tl.arange(0, BLOCK_M)
    c = tile_c * BLOCK_N + tl.arange(0, BLOCK_N)
    r_ok = r < S
    c_ok = c < S

    q_base = q_ptr + head * stride_qh
    k_base = k_ptr + head * stride_kh

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for d0 in range(0, D, BLOCK_D):
        dd = d0 + tl.arange(0, BLOCK_D)
        a = tl.load(q_base + r[:, None] * stride_qs + dd[None, :] * stride_qd,
                    mask=r_ok[:, None], other=0.0)
        # k chunk loaded already transposed: (BLOCK_D, BLOCK_N)
        bt = tl.load(k_base + c[None, :] * stride_ks + dd[:, None] * stride_kd,
                     mask=c_ok[None, :], other=0.0)
        acc = (acc + tl.dot(a, bt)) * scale

    o_base = out_ptr + head * stride_oh
    tl.store(o_base + r[:, None] * stride_os + c[None, :] * stride_oj, acc,
             mask=r_ok[:, None] & c_ok[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q3 = q.reshape(B * H, S, D)
    k3 = k.reshape(B * H, S, D)
    out = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    BM, BN, BD = 32, 32, 16
    grid = (triton.cdiv(S, BM) * triton.cdiv(S, BN), B * H)
    scores_kernel[grid](
        q3, k3, out, S, scale,
        q3.stride(0), q3.stride(1), q3.stride(2),
        k3.stride(0), k3.stride(1), k3.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        D=D, BLOCK_M=BM, BLOCK_N=BN, BLOCK_D=BD,
    )
    return out.reshape(B, H, S, S)
