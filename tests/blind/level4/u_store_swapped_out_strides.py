"""Level 4 - Attention Scores: every query against every key, tile by tile."""

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
    S, H, scale,
    stride_qb, stride_qh, stride_qs, stride_qd,
    stride_kb, stride_kh, stride_ks, stride_kd,
    stride_ob, stride_oh, stride_oi, stride_oj,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):
    # one program per output tile, tiles numbered row-major; second axis = (batch, head)
    tile = tl.program_id(0)
    pid_bh = tl.program_id(1)
    n_tiles_n = tl.cdiv(S, BLOCK_N)
    tile_m = tile // n_tiles_n
    tile_n = tile % n_tiles_n
    b = pid_bh // H
    h = pid_bh % H

    offs_i = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_j = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, BLOCK_D)

    q_base = q_ptr + b * stride_qb + h * stride_qh
    k_base = k_ptr + b * stride_kb + h * stride_kh

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for d0 in range(0, D, BLOCK_D):
        dd = d0 + offs_d
        q_tile = tl.load(q_base + offs_i[:, None] * stride_qs + dd[None, :] * stride_qd,
                         mask=offs_i[:, None] < S, other=0.0)
        # k loaded already transposed: (BLOCK_D, BLOCK_N)
        kT_tile = tl.load(k_base + offs_j[None, :] * stride_ks + dd[:, None] * stride_kd,
                          mask=offs_j[None, :] < S, other=0.0)
        acc += tl.dot(q_tile, kT_tile)
    acc = acc * scale

    out_ptrs = out_ptr + b * stride_ob + h * stride_oh + offs_i[:, None] * stride_oj + offs_j[None, :] * stride_oi
    tl.store(out_ptrs, acc, mask=(offs_i[:, None] < S) & (offs_j[None, :] < S))


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    BLOCK_M, BLOCK_N, BLOCK_D = 32, 16, 16
    grid = (triton.cdiv(S, BLOCK_M) * triton.cdiv(S, BLOCK_N), B * H)
    scores_kernel[grid](
        q, k, out, S, H, scale,
        q.stride(0), q.stride(1), q.stride(2), q.stride(3),
        k.stride(0), k.stride(1), k.stride(2), k.stride(3),
        out.stride(0), out.stride(1), out.stride(2), out.stride(3),
        D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_D=BLOCK_D,
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
