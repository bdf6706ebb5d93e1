"""Level 10 - Grouped-query attention: Hq query heads share Hkv key/value heads, read in place.

One program per (query tile, batch * query head); query head h reads kv head h // (Hq // Hkv) straight
from k and v (no repeat). Flash attention with the online softmax in base 2.
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
BLOCK_M, BLOCK_N = (32, 16) if INTERPRETED else (128, 64)


@triton.jit
def _gqa_fwd(
    q_ptr, k_ptr, v_ptr, o_ptr,
    seq_len, n_q_heads, n_kv_heads, qk_scale,
    s_q_head, s_kv_head, s_tok,
    GROUP: tl.constexpr, D: tl.constexpr, CAUSAL: tl.constexpr,
    BM: tl.constexpr, BN: tl.constexpr,
):
    tile = tl.program_id(0)
    bh = tl.program_id(1)
    batch = bh // n_q_heads
    qh = bh % n_q_heads
    kvh = qh % n_kv_heads
    kv_row = batch * n_kv_heads + kvh

    q_base = q_ptr + bh.to(tl.int64) * s_q_head
    o_base = o_ptr + bh.to(tl.int64) * s_q_head
    k_base = k_ptr + kv_row.to(tl.int64) * s_kv_head
    v_base = v_ptr + kv_row.to(tl.int64) * s_kv_head

    qi = tile * BM + tl.arange(0, BM)
    cols = tl.arange(0, D)
    q_ok = qi < seq_len
    qt = tl.load(q_base + qi[:, None] * s_tok + cols[None, :], mask=q_ok[:, None], other=0.0)

    mx = tl.full((BM,), float("-inf"), dtype=tl.float32)
    den = tl.zeros((BM,), dtype=tl.float32)
    acc = tl.zeros((BM, D), dtype=tl.float32)

    if CAUSAL:
        free_end = tile * BM
        full_end = tl.minimum((tile + 1) * BM, seq_len)
    else:
        free_end = (seq_len // BN) * BN
        full_end = seq_len

    # keys every query of the tile may see, no mask needed
    for j0 in range(0, free_end, BN):
        kj = j0 + tl.arange(0, BN)
        kt = tl.load(k_base + kj[:, None] * s_tok + cols[None, :])
        vt = tl.load(v_base + kj[:, None] * s_tok + cols[None, :])
        s = tl.dot(qt, tl.trans(kt)) * qk_scale
        mx_new = tl.maximum(mx, tl.max(s, axis=1))
        corr = tl.exp2(mx - mx_new)
        p = tl.exp2(s - mx_new[:, None])
        den = den * corr + tl.sum(p, axis=1)
        acc = acc * corr[:, None] + tl.dot(p.to(vt.dtype), vt)
        mx = mx_new

    # diagonal / ragged keys, masked
    for j0 in range(free_end, full_end, BN):
        kj = j0 + tl.arange(0, BN)
        k_ok = kj < seq_len
        kt = tl.load(k_base + kj[:, None] * s_tok + cols[None, :], mask=k_ok[:, None], other=0.0)
        vt = tl.load(v_base + kj[:, None] * s_tok + cols[None, :], mask=k_ok[:, None], other=0.0)
        s = tl.dot(qt, tl.trans(kt)) * qk_scale
        visible = k_ok[None, :]
        if CAUSAL:
            visible = visible & (kj[None, :] <= qi[:, None])
        s = tl.where(visible, s, float("-inf"))
        mx_new = tl.maximum(mx, tl.max(s, axis=1))
        corr = tl.exp2(mx - mx_new)
        p = tl.exp2(s - mx_new[:, None])
        den = den * corr + tl.sum(p, axis=1)
        acc = acc * corr[:, None] + tl.dot(p.to(vt.dtype), vt)
        mx = mx_new

    res = acc / den[:, None]
    tl.store(o_base + qi[:, None] * s_tok + cols[None, :], res.to(o_ptr.dtype.element_ty), mask=q_ok[:, None])


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (triton.cdiv(S, BLOCK_M), B * H_q)
    _gqa_fwd[grid](
        q, k, v, out,
        S, H_q, H_kv, scale * LOG2E,
        q.stride(1), k.stride(1), q.stride(2),
        GROUP=H_q // H_kv, D=D, CAUSAL=bool(causal), BM=BLOCK_M, BN=BLOCK_N,
    )
    return out
