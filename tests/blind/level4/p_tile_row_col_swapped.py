"""Level 4 - Attention scores (my version: 2-D grid, tile index flattened, 4-D strides)."""

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
    H, S, scale,
    sq_b, sq_h, sq_s, sq_d,
    sk_b, sk_h, sk_s, sk_d,
    so_b, so_h, so_i, so_j,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tile = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // H
    h = bh % H
    n_col_tiles = tl.cdiv(S, BLOCK_N)
    tm = tile % n_col_tiles
    tn = tile // n_col_tiles

    i = tm * BLOCK_M + tl.arange(0, BLOCK_M)
    j = tn * BLOCK_N + tl.arange(0, BLOCK_N)
    d = tl.arange(0, D)

    q_base = q_ptr + b * sq_b + h * sq_h
    k_base = k_ptr + b * sk_b + h * sk_h
    qt = tl.load(q_base + i[:, None] * sq_s + d[None, :] * sq_d, mask=i[:, None] < S, other=0.0)
    kt = tl.load(k_base + j[:, None] * sk_s + d[None, :] * sk_d, mask=j[:, None] < S, other=0.0)

    s = tl.dot(qt, tl.trans(kt), out_dtype=tl.float32) * scale

    o_base = out_ptr + b * so_b + h * so_h
    tl.store(o_base + i[:, None] * so_i + j[None, :] * so_j, s, mask=(i[:, None] < S) & (j[None, :] < S))


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    BLOCK_M, BLOCK_N = 16, 32
    grid = (triton.cdiv(S, BLOCK_M) * triton.cdiv(S, BLOCK_N), B * H)
    scores_kernel[grid](
        q, k, out, H, S, scale,
        *q.stride(), *k.stride(), *out.stride(),
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
    print("ok")
