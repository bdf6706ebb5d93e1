"""Level 4 - Attention Scores: score[b, h, i, j] = (q[b, h, i, :] . k[b, h, j, :]) * scale, tile by tile."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def _qk_tile_kernel(
    Q, K, OUT,
    seq_len, sm_scale,
    q_sh, q_ss, q_sd,
    k_sh, k_ss, k_sd,
    o_sh, o_si, o_sj,
    HEAD_DIM: tl.constexpr, TILE_Q: tl.constexpr, TILE_K: tl.constexpr,
):
    # axis 0 walks the tiles of one score matrix (query tiles outer, key tiles inner); axis 1 is the head
    tile_id = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    n_key_tiles = tl.cdiv(seq_len, TILE_K)
    tq = tile_id // n_key_tiles
    tk = tile_id % n_key_tiles

    qi = tq * TILE_Q + tl.arange(0, TILE_Q)
    kj = tk * TILE_K + tl.arange(0, TILE_K)
    d = tl.arange(0, HEAD_DIM)
    q_ok = qi < seq_len
    k_ok = kj < seq_len

    q_blk = tl.load(Q + head * q_sh + qi[:, None] * q_ss + d[None, :] * q_sd,
                    mask=q_ok[:, None], other=0.0)
    # load k already transposed: (HEAD_DIM, TILE_K)
    kT_blk = tl.load(K + head * k_sh + kj[None, :] * k_ss + d[:, None] * k_sd,
                     mask=k_ok[None, :], other=0.0)

    acc = tl.dot(q_blk, kT_blk, out_dtype=tl.float32)
    acc = acc * sm_scale

    o_ptrs = OUT + head * o_sh + qi[:, None] * o_si + kj[None, :] * o_sj
    tl.store(o_ptrs, acc, mask=q_ok[:, None] & k_ok[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    scale = 1.0 / math.sqrt(D)
    qf = q.reshape(B * H, S, D)
    kf = k.reshape(B * H, S, D)
    out = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    TILE_Q, TILE_K = 32, 16
    grid = (triton.cdiv(S, TILE_Q) * triton.cdiv(S, TILE_K), B * H)
    _qk_tile_kernel[grid](
        qf, kf, out, S, float(scale),
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
    torch.testing.assert_close(attention_scores(q, k, scale=0.5), (q @ k.transpose(-1, -2)) * 0.5, atol=1e-2, rtol=1e-2)
    print("level 4 self-check passed")
