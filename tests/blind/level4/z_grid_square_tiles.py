"""Level 4 - Attention Scores: score[b, h, i, j] = (q[b, h, i] . k[b, h, j]) * scale, one tile per program."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def qk_tile_kernel(
    Q, K, O,
    seq, sm_scale, n_tiles_j,
    sq_h, sq_s, sq_d,
    sk_h, sk_s, sk_d,
    so_h, so_i, so_j,
    D: tl.constexpr, TILE_I: tl.constexpr, TILE_J: tl.constexpr,
):
    head = tl.program_id(0)
    tile = tl.program_id(1)
    ti = tile // n_tiles_j
    tj = tile % n_tiles_j

    offs_i = ti * TILE_I + tl.arange(0, TILE_I)
    offs_j = tj * TILE_J + tl.arange(0, TILE_J)
    offs_d = tl.arange(0, D)
    ok_i = offs_i < seq
    ok_j = offs_j < seq

    q_base = Q + head * sq_h
    k_base = K + head * sk_h
    qa = tl.load(q_base + offs_i[:, None] * sq_s + offs_d[None, :] * sq_d, mask=ok_i[:, None], other=0.0)
    ka = tl.load(k_base + offs_j[:, None] * sk_s + offs_d[None, :] * sk_d, mask=ok_j[:, None], other=0.0)

    acc = tl.dot(qa, tl.trans(ka), out_dtype=tl.float32)
    acc = acc * sm_scale

    o_ptrs = O + head * so_h + offs_i[:, None] * so_i + offs_j[None, :] * so_j
    tl.store(o_ptrs, acc, mask=ok_i[:, None] & ok_j[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    qf = q.reshape(B * H, S, D)
    kf = k.reshape(B * H, S, D)
    scores = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    TILE_I, TILE_J = 32, 16
    n_i = triton.cdiv(S, TILE_I)
    n_j = triton.cdiv(S, TILE_J)
    qk_tile_kernel[(B * H, n_i * n_i)](
        qf, kf, scores,
        S, scale, n_j,
        qf.stride(0), qf.stride(1), qf.stride(2),
        kf.stride(0), kf.stride(1), kf.stride(2),
        scores.stride(0), scores.stride(1), scores.stride(2),
        D=D, TILE_I=TILE_I, TILE_J=TILE_J,
    )
    return scores.reshape(B, H, S, S)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q = torch.randn(2, 3, 77, 32, device=device)
    k = torch.randn(2, 3, 77, 32, device=device)
    expected = (q @ k.transpose(-1, -2)) / math.sqrt(32)
    torch.testing.assert_close(attention_scores(q, k), expected, atol=1e-2, rtol=1e-2)
    print("ok")
