"""Level 10 - Grouped-query attention: Hq query heads share Hkv key/value heads, read in place.

One program per (query tile, batch * query head); it finds its kv head as h // (Hq // Hkv) and runs the
base-2 online softmax over the key tiles it may see, masking every tile (simple, not fast).
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
TILE_Q, TILE_K = (16, 16) if INTERPRETED else (64, 64)


@triton.jit
def _gqa_fwd(
    Q, K, V, O, seq, n_hq, n_hkv, scale_log2,
    GROUP: tl.constexpr, D: tl.constexpr, CAUSAL: tl.constexpr, TQ: tl.constexpr, TK: tl.constexpr,
):
    qt = tl.program_id(0)
    bh = tl.program_id(1)
    b = bh // n_hq
    h = bh % n_hq
    kvh = h // GROUP
    q_base = bh.to(tl.int64) * seq * D
    kv_base = (b * n_hkv + kvh).to(tl.int64) * seq * D

    rows = qt * TQ + tl.arange(0, TQ)
    d = tl.arange(0, D)
    row_ok = rows < seq
    q = tl.load(Q + q_base + rows[:, None] * D + d[None, :], mask=row_ok[:, None], other=0.0)

    m_i = tl.full([TQ], float("-inf"), tl.float32)
    l_i = tl.zeros([TQ], tl.float32)
    acc = tl.zeros([TQ, D], tl.float32)

    if CAUSAL:
        k_stop = tl.minimum((qt + 1) * TQ, seq)
    else:
        k_stop = seq
    for k0 in range(0, k_stop, TK):
        cols = k0 + tl.arange(0, TK)
        col_ok = cols < seq
        kt = tl.load(K + kv_base + cols[:, None] * D + d[None, :], mask=col_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(kt)) * scale_log2
        keep = col_ok[None, :]
        if CAUSAL:
            keep = keep & (cols[None, :] < rows[:, None])
        s = tl.where(keep, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        vt = tl.load(V + kv_base + cols[:, None] * D + d[None, :], mask=col_ok[:, None], other=0.0)
        acc = acc * alpha[:, None] + tl.dot(p.to(vt.dtype), vt)
        m_i = m_new

    res = acc / l_i[:, None]
    tl.store(O + q_base + rows[:, None] * D + d[None, :], res.to(O.dtype.element_ty), mask=row_ok[:, None])


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (triton.cdiv(S, TILE_Q), B * H_q)
    _gqa_fwd[grid](
        q, k, v, out, S, H_q, H_kv, scale * LOG2E,
        GROUP=H_q // H_kv, D=D, CAUSAL=bool(causal), TQ=TILE_Q, TK=TILE_K,
    )
    return out
