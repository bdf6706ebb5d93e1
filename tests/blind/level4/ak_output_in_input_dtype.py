"""Level 4 - Attention Scores: score[b, h, i, j] = (q[b, h, i, :] . k[b, h, j, :]) * scale.

One program per (head, query-row tile); it walks over the key tiles itself and writes one
BLOCK_M x BLOCK_N float32 tile of the (B*H, S, S) output per step.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def _qk_rowblock_kernel(
    Q, K, OUT,
    seq_len, sm_scale,
    q_sh, q_ss, q_sd,
    k_sh, k_ss, k_sd,
    o_sh, o_si, o_sj,
    HEAD_DIM: tl.constexpr, TILE_Q: tl.constexpr, TILE_K: tl.constexpr,
):
    head = tl.program_id(0)
    qblk = tl.program_id(1)

    q_idx = qblk * TILE_Q + tl.arange(0, TILE_Q)
    d_idx = tl.arange(0, HEAD_DIM)
    q_ok = q_idx < seq_len

    q_base = Q + head * q_sh
    q_tile = tl.load(
        q_base + q_idx[:, None] * q_ss + d_idx[None, :] * q_sd,
        mask=q_ok[:, None], other=0.0,
    )

    k_base = K + head * k_sh
    o_base = OUT + head * o_sh
    for start in range(0, seq_len, TILE_K):
        k_idx = start + tl.arange(0, TILE_K)
        k_ok = k_idx < seq_len
        k_tile = tl.load(
            k_base + k_idx[:, None] * k_ss + d_idx[None, :] * k_sd,
            mask=k_ok[:, None], other=0.0,
        )
        s = tl.dot(q_tile, tl.trans(k_tile)).to(tl.float32) * sm_scale
        tl.store(
            o_base + q_idx[:, None] * o_si + k_idx[None, :] * o_sj,
            s,
            mask=q_ok[:, None] & k_ok[None, :],
        )


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    qf = q.reshape(B * H, S, D)
    kf = k.reshape(B * H, S, D)
    out = torch.empty((B * H, S, S), device=q.device, dtype=q.dtype)
    TILE_Q, TILE_K = 32, 16
    grid = (B * H, triton.cdiv(S, TILE_Q))
    _qk_rowblock_kernel[grid](
        qf, kf, out,
        S, scale,
        qf.stride(0), qf.stride(1), qf.stride(2),
        kf.stride(0), kf.stride(1), kf.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        HEAD_DIM=D, TILE_Q=TILE_Q, TILE_K=TILE_K,
    )
    return out.reshape(B, H, S, S)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q = torch.randn(2, 3, 77, 32, device=device)
    k = torch.randn(2, 3, 77, 32, device=device)
    expected = (q @ k.transpose(-1, -2)) / math.sqrt(32)
    torch.testing.assert_close(attention_scores(q, k), expected, atol=1e-2, rtol=1e-2)
    print("ok")
