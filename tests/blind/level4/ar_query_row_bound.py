"""Level 4 - Attention Scores: score[b, h, i, j] = (q[b, h, i] . k[b, h, j]) * scale, tile by tile."""

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
    H, seq, scale,
    sq_b, sq_h, sq_s, sq_d,
    sk_b, sk_h, sk_s, sk_d,
    so_b, so_h, so_i, so_j,
    HEAD_DIM: tl.constexpr, CHUNK_D: tl.constexpr, TILE_Q: tl.constexpr, TILE_K: tl.constexpr,
):
    # grid axis 0 walks (batch, head); axes 1 and 2 walk the query / key tiles
    pair = tl.program_id(0)
    tq = tl.program_id(1)
    tk = tl.program_id(2)
    batch = pair // H
    head = pair % H

    qi = tq * TILE_Q + tl.arange(0, TILE_Q)
    kj = tk * TILE_K + tl.arange(0, TILE_K)
    q_ok = qi < seq - 1
    k_ok = kj < seq

    q_base = q_ptr + batch * sq_b + head * sq_h
    k_base = k_ptr + batch * sk_b + head * sk_h

    acc = tl.zeros((TILE_Q, TILE_K), dtype=tl.float32)
    for d0 in range(0, HEAD_DIM, CHUNK_D):
        dd = d0 + tl.arange(0, CHUNK_D)
        qa = tl.load(q_base + qi[:, None] * sq_s + dd[None, :] * sq_d, mask=q_ok[:, None], other=0.0)
        # k chunk loaded already transposed: (CHUNK_D, TILE_K)
        kb = tl.load(k_base + dd[:, None] * sk_d + kj[None, :] * sk_s, mask=k_ok[None, :], other=0.0)
        acc = tl.dot(qa, kb, acc)

    acc = acc * scale
    o_base = o_ptr + batch * so_b + head * so_h
    tl.store(o_base + qi[:, None] * so_i + kj[None, :] * so_j, acc, mask=q_ok[:, None] & k_ok[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty((B, H, S, S), device=q.device, dtype=torch.float32)
    TILE_Q, TILE_K = 32, 16
    CHUNK_D = min(D, 32)
    grid = (B * H, triton.cdiv(S, TILE_Q), triton.cdiv(S, TILE_K))
    qk_tile_kernel[grid](
        q, k, out,
        H, S, scale,
        *q.stride(), *k.stride(), *out.stride(),
        HEAD_DIM=D, CHUNK_D=CHUNK_D, TILE_Q=TILE_Q, TILE_K=TILE_K,
    )
    return out
