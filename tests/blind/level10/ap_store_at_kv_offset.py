"""Level 10 - Grouped-query attention: each query head reads kv head h // (Hq // Hkv) in place."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
BM, BN = (16, 16) if INTERPRETED else (64, 64)


@triton.jit
def _gqa_fwd(Q, K, V, Out, S, HQ, HKV, scale,
             sq_b, sq_h, sk_b, sk_h, s_s,
             D: tl.constexpr, CAUSAL: tl.constexpr, BLK_M: tl.constexpr, BLK_N: tl.constexpr):
    pid_bh = tl.program_id(0)
    pid_m = tl.program_id(1)
    b = pid_bh // HQ
    h = pid_bh % HQ
    kvh = h // (HQ // HKV)
    q_base = b.to(tl.int64) * sq_b + h.to(tl.int64) * sq_h
    kv_base = b.to(tl.int64) * sk_b + kvh.to(tl.int64) * sk_h
    rows = pid_m * BLK_M + tl.arange(0, BLK_M)
    d = tl.arange(0, D)
    rmask = rows < S
    q_offs = q_base + rows[:, None] * s_s + d[None, :]
    q = tl.load(Q + q_offs, mask=rmask[:, None], other=0.0)
    m_i = tl.full((BLK_M,), float("-inf"), dtype=tl.float32)
    l_i = tl.zeros((BLK_M,), dtype=tl.float32)
    acc = tl.zeros((BLK_M, D), dtype=tl.float32)
    if CAUSAL:
        hi = tl.minimum((pid_m + 1) * BLK_M, S)
    else:
        hi = S
    for n0 in range(0, hi, BLK_N):
        cols = n0 + tl.arange(0, BLK_N)
        cmask = cols < S
        kv_offs = kv_base + cols[:, None] * s_s + d[None, :]
        k = tl.load(K + kv_offs, mask=cmask[:, None], other=0.0)
        v = tl.load(V + kv_offs, mask=cmask[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * scale
        ok = cmask[None, :]
        if CAUSAL:
            ok = ok & (cols[None, :] <= rows[:, None])
        s = tl.where(ok, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp(m_i - m_new)
        p = tl.exp(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new
    res = acc / l_i[:, None]
    tl.store(Out + kv_base + rows[:, None] * s_s + d[None, :], res.to(Out.dtype.element_ty), mask=rmask[:, None])


def gqa_attention(q, k, v, causal=True, scale=None):
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (B * H_q, triton.cdiv(S, BM))
    _gqa_fwd[grid](q, k, v, out, S, H_q, H_kv, float(scale),
                   q.stride(0), q.stride(1), k.stride(0), k.stride(1), q.stride(2),
                   D=D, CAUSAL=bool(causal), BLK_M=BM, BLK_N=BN)
    return out
