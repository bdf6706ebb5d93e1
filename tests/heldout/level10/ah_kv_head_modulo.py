"""Level 10 - Grouped-query attention: each query head reads its kv head h // (Hq // Hkv) in place.

One launch, grid (B * Hq, query tiles). Each program runs the base-2 online softmax over the key tiles
of its kv head, with k and v read exactly as given (no repeat of the kv heads).
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634
TILE_Q, TILE_K = (32, 16) if INTERPRETED else (64, 64)


@triton.jit
def _gqa_fwd(
    Q, K, V, O,
    seq_len, n_q_heads, n_kv_heads, sm_scale_log2,
    sq_b, sq_h, sq_s, sk_b, sk_h, sk_s,
    GROUP: tl.constexpr, D: tl.constexpr, IS_CAUSAL: tl.constexpr,
    TQ: tl.constexpr, TK: tl.constexpr,
):
    pid_bh = tl.program_id(0)
    pid_q = tl.program_id(1)
    batch = pid_bh // n_q_heads
    qh = pid_bh % n_q_heads
    kvh = qh % n_kv_heads

    q_base = Q + batch.to(tl.int64) * sq_b + qh.to(tl.int64) * sq_h
    o_base = O + batch.to(tl.int64) * sq_b + qh.to(tl.int64) * sq_h
    k_base = K + batch.to(tl.int64) * sk_b + kvh.to(tl.int64) * sk_h
    v_base = V + batch.to(tl.int64) * sk_b + kvh.to(tl.int64) * sk_h

    rows = pid_q * TQ + tl.arange(0, TQ)
    dims = tl.arange(0, D)
    row_ok = rows < seq_len
    q_tile = tl.load(q_base + rows[:, None] * sq_s + dims[None, :], mask=row_ok[:, None], other=0.0)

    run_max = tl.full((TQ,), float("-inf"), dtype=tl.float32)
    run_sum = tl.zeros((TQ,), dtype=tl.float32)
    out_acc = tl.zeros((TQ, D), dtype=tl.float32)

    if IS_CAUSAL:
        kv_end = tl.minimum((pid_q + 1) * TQ, seq_len)
    else:
        kv_end = seq_len

    for kstart in range(0, kv_end, TK):
        cols = kstart + tl.arange(0, TK)
        col_ok = cols < seq_len
        k_tile = tl.load(k_base + cols[:, None] * sk_s + dims[None, :], mask=col_ok[:, None], other=0.0)
        v_tile = tl.load(v_base + cols[:, None] * sk_s + dims[None, :], mask=col_ok[:, None], other=0.0)
        logits = tl.dot(q_tile, tl.trans(k_tile)) * sm_scale_log2
        keep = col_ok[None, :]
        if IS_CAUSAL:
            keep = keep & (cols[None, :] <= rows[:, None])
        logits = tl.where(keep, logits, float("-inf"))
        new_max = tl.maximum(run_max, tl.max(logits, axis=1))
        shrink = tl.math.exp2(run_max - new_max)
        probs = tl.math.exp2(logits - new_max[:, None])
        run_sum = run_sum * shrink + tl.sum(probs, axis=1)
        out_acc = out_acc * shrink[:, None] + tl.dot(probs.to(v_tile.dtype), v_tile)
        run_max = new_max

    result = out_acc / run_sum[:, None]
    tl.store(o_base + rows[:, None] * sq_s + dims[None, :], result.to(O.dtype.element_ty), mask=row_ok[:, None])


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (B * H_q, triton.cdiv(S, TILE_Q))
    _gqa_fwd[grid](
        q, k, v, out,
        S, H_q, H_kv, scale * LOG2E,
        q.stride(0), q.stride(1), q.stride(2), k.stride(0), k.stride(1), k.stride(2),
        GROUP=H_q // H_kv, D=D, IS_CAUSAL=bool(causal), TQ=TILE_Q, TK=TILE_K,
    )
    return out
