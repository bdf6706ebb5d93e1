"""Level 4 - Attention Scores: score[b, h, i, j] = (q[b, h, i, :] . k[b, h, j, :]) * scale.

One program per (batch*head, tile) pair: axis 0 walks the B*H heads, axis 1 walks the flattened
BLOCK_M x BLOCK_N tiles of that head's S x S score matrix. The head dimension is reduced in
BLOCK_D chunks, each a tl.dot accumulated in float32.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def qk_tile_kernel(
    q_ptr, k_ptr, o_ptr,
    S, H, tiles_n, scale,
    sq_b, sq_h, sq_s, sq_d,
    sk_b, sk_h, sk_s, sk_d,
    so_b, so_h, so_i, so_j,
    D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr, BD: tl.constexpr,
):
    head_id = tl.program_id(0)
    tile_id = tl.program_id(1)
    tm = tile_id // tiles_n
    tn = tile_id % tiles_n
    b = head_id // H
    h = head_id % H

    ii = tm * BM + tl.arange(0, BM)
    jj = tn * BN + tl.arange(0, BN)
    q_head = q_ptr + b * sq_b + h * sq_h
    k_head = k_ptr + b * sk_b + h * sk_h

    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for d0 in range(0, D, BD):
        dd = d0 + tl.arange(0, BD)
        q_blk = tl.load(q_head + ii[:, None] * sq_s + dd[None, :] * sq_d,
                        mask=ii[:, None] < S, other=0.0)
        # k read straight into its transposed (BD, BN) layout
        kT_blk = tl.load(k_head + jj[None, :] * sk_s + dd[:, None] * sk_d,
                         mask=jj[None, :] < S, other=0.0)
        acc += tl.dot(q_blk, kT_blk)
    acc = acc * scale

    o_ptrs = o_ptr + b * so_b + h * so_h + ii[:, None] * so_i + jj[None, :] * so_j
    tl.store(o_ptrs, acc, mask=(ii[:, None] < S) & (jj[None, :] < S))


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    BM, BN, BD = 32, 16, 16
    tiles_m = max(S // BM, 1)
    tiles_n = max(S // BN, 1)
    grid = (B * H, tiles_m * tiles_n)
    qk_tile_kernel[grid](
        q, k, out,
        S, H, tiles_n, float(scale),
        q.stride(0), q.stride(1), q.stride(2), q.stride(3),
        k.stride(0), k.stride(1), k.stride(2), k.stride(3),
        out.stride(0), out.stride(1), out.stride(2), out.stride(3),
        D=D, BM=BM, BN=BN, BD=BD,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q = torch.randn(2, 3, 77, 32, device=device)
    k = torch.randn(2, 3, 77, 32, device=device)
    expected = (q @ k.transpose(-1, -2)) / math.sqrt(32)
    torch.testing.assert_close(attention_scores(q, k), expected, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(attention_scores(q, k, scale=0.5), (q @ k.transpose(-1, -2)) * 0.5, atol=1e-2, rtol=1e-2)
    print("level 4 self-check passed")
