"""Level 4 - Attention Scores: score[b, h, i, j] = (q[b, h, i] . k[b, h, j]) * scale, tile by tile.

One program per (head, query tile, key tile), all packed into a single flat grid axis.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
TILE_Q, TILE_K = (32, 16) if INTERPRETED else (64, 64)


@triton.jit
def qk_tile_kernel(
    q_ptr, k_ptr, o_ptr,
    seq, sm_scale, n_tq, n_tk,
    q_head_stride, q_row_stride, k_head_stride, k_row_stride, o_head_stride, o_row_stride,
    HD: tl.constexpr, TQ: tl.constexpr, TK: tl.constexpr,
):
    pid = tl.program_id(0)
    per_head = n_tq * n_tk
    head = pid // per_head
    rest = pid % per_head
    tq = rest // n_tk
    tk = rest % n_tk

    i = tq * TQ + tl.arange(0, TQ)
    j = tk * TK + tl.arange(0, TK)
    d = tl.arange(0, HD)
    head = head.to(tl.int64)

    q_tile = tl.load(q_ptr + head * q_head_stride + i[:, None] * q_row_stride + d[None, :],
                     mask=(i < seq)[:, None], other=0.0)
    k_tile = tl.load(k_ptr + head * k_head_stride + j[:, None] * k_row_stride + d[None, :],
                     mask=(j < seq)[:, None], other=0.0)

    sc = tl.dot(q_tile, tl.trans(k_tile)) * sm_scale

    keep = (i < seq)[:, None] & (j < seq)[None, :]
    tl.store(o_ptr + head * o_head_stride + i[:, None] * o_row_stride + j[None, :], sc, mask=keep)


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / D
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    n_tq = triton.cdiv(S, TILE_Q)
    n_tk = triton.cdiv(S, TILE_K)
    grid = (B * H * n_tq * n_tk,)
    qk_tile_kernel[grid](
        q, k, out,
        S, scale, n_tq, n_tk,
        q.stride(1), q.stride(2), k.stride(1), k.stride(2), out.stride(1), out.stride(2),
        HD=D, TQ=TILE_Q, TK=TILE_K,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    q = torch.randn(2, 3, 77, 32, device=device)
    k = torch.randn(2, 3, 77, 32, device=device)
    expected = (q @ k.transpose(-1, -2)) / math.sqrt(32)
    torch.testing.assert_close(attention_scores(q, k), expected, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(attention_scores(q, k, scale=0.5), (q @ k.transpose(-1, -2)) * 0.5, atol=1e-2, rtol=1e-2)
    print("level 4 self-check passed")
