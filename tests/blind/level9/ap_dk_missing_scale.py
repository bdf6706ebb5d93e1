"""Level 9 - Flash Attention backward: recompute P from lse, one walk for dK/dV, one walk for dQ."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
TILE = 16 if INTERPRETED else 64


@triton.jit
def _bwd_delta(O, dO, Delta, S, H, s_b, s_h, s_s, D: tl.constexpr, BR: tl.constexpr):
    pid_r = tl.program_id(0)
    pid_bh = tl.program_id(1)
    b = pid_bh // H
    h = pid_bh % H
    base = b.to(tl.int64) * s_b + h.to(tl.int64) * s_h
    rows = pid_r * BR + tl.arange(0, BR)
    cols = tl.arange(0, D)
    offs = base + rows[:, None] * s_s + cols[None, :]
    rmask = rows < S
    o = tl.load(O + offs, mask=rmask[:, None], other=0.0).to(tl.float32)
    g = tl.load(dO + offs, mask=rmask[:, None], other=0.0).to(tl.float32)
    stat_base = pid_bh.to(tl.int64) * S
    tl.store(Delta + stat_base + rows, tl.sum(o * g, axis=1), mask=rmask)


@triton.jit
def _bwd_kv(Q, K, V, dO, LSE, Delta, dK, dV, S, H, s_b, s_h, s_s, scale,
            D: tl.constexpr, CAUSAL: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    pid_n = tl.program_id(0)
    pid_bh = tl.program_id(1)
    b = pid_bh // H
    h = pid_bh % H
    base = b.to(tl.int64) * s_b + h.to(tl.int64) * s_h
    stat_base = pid_bh.to(tl.int64) * S
    kn = pid_n * BN + tl.arange(0, BN)
    d = tl.arange(0, D)
    kmask = kn < S
    k_offs = base + kn[:, None] * s_s + d[None, :]
    k = tl.load(K + k_offs, mask=kmask[:, None], other=0.0)
    v = tl.load(V + k_offs, mask=kmask[:, None], other=0.0)
    acc_dk = tl.zeros((BN, D), dtype=tl.float32)
    acc_dv = tl.zeros((BN, D), dtype=tl.float32)
    if CAUSAL:
        lo = ((pid_n * BN) // BM) * BM
    else:
        lo = 0
    for m0 in range(lo, S, BM):
        qm = m0 + tl.arange(0, BM)
        qmask = qm < S
        q_offs = base + qm[:, None] * s_s + d[None, :]
        q = tl.load(Q + q_offs, mask=qmask[:, None], other=0.0)
        g = tl.load(dO + q_offs, mask=qmask[:, None], other=0.0)
        lse = tl.load(LSE + stat_base + qm, mask=qmask, other=0.0)
        dl = tl.load(Delta + stat_base + qm, mask=qmask, other=0.0)
        sT = tl.dot(k, tl.trans(q)) * scale
        pT = tl.exp(sT - lse[None, :])
        ok = qmask[None, :] & kmask[:, None]
        if CAUSAL:
            ok = ok & (kn[:, None] <= qm[None, :])
        pT = tl.where(ok, pT, 0.0)
        acc_dv += tl.dot(pT.to(g.dtype), g)
        dpT = tl.dot(v, tl.trans(g))
        dsT = pT * (dpT - dl[None, :])
        acc_dk += tl.dot(dsT.to(q.dtype), q)
    tl.store(dK + k_offs, acc_dk.to(dK.dtype.element_ty), mask=kmask[:, None])
    tl.store(dV + k_offs, acc_dv.to(dV.dtype.element_ty), mask=kmask[:, None])


@triton.jit
def _bwd_q(Q, K, V, dO, LSE, Delta, dQ, S, H, s_b, s_h, s_s, scale,
           D: tl.constexpr, CAUSAL: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr):
    pid_m = tl.program_id(0)
    pid_bh = tl.program_id(1)
    b = pid_bh // H
    h = pid_bh % H
    base = b.to(tl.int64) * s_b + h.to(tl.int64) * s_h
    stat_base = pid_bh.to(tl.int64) * S
    qm = pid_m * BM + tl.arange(0, BM)
    d = tl.arange(0, D)
    qmask = qm < S
    q_offs = base + qm[:, None] * s_s + d[None, :]
    q = tl.load(Q + q_offs, mask=qmask[:, None], other=0.0)
    g = tl.load(dO + q_offs, mask=qmask[:, None], other=0.0)
    lse = tl.load(LSE + stat_base + qm, mask=qmask, other=0.0)
    dl = tl.load(Delta + stat_base + qm, mask=qmask, other=0.0)
    acc = tl.zeros((BM, D), dtype=tl.float32)
    if CAUSAL:
        hi = tl.minimum((pid_m + 1) * BM, S)
    else:
        hi = S
    for n0 in range(0, hi, BN):
        kn = n0 + tl.arange(0, BN)
        kmask = kn < S
        k_offs = base + kn[:, None] * s_s + d[None, :]
        k = tl.load(K + k_offs, mask=kmask[:, None], other=0.0)
        v = tl.load(V + k_offs, mask=kmask[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * scale
        p = tl.exp(s - lse[:, None])
        ok = kmask[None, :]
        if CAUSAL:
            ok = ok & (kn[None, :] <= qm[:, None])
        p = tl.where(ok, p, 0.0)
        dp = tl.dot(g, tl.trans(v))
        ds = p * (dp - dl[:, None])
        acc += tl.dot(ds.to(k.dtype), k)
    tl.store(dQ + q_offs, (acc * scale).to(dQ.dtype.element_ty), mask=qmask[:, None])


def flash_attention_backward(q, k, v, o, lse, do, causal=True, scale=None):
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    s_b, s_h, s_s = q.stride(0), q.stride(1), q.stride(2)
    grid = (triton.cdiv(S, TILE), B * H)
    _bwd_delta[grid](o, do, delta, S, H, s_b, s_h, s_s, D=D, BR=TILE)
    _bwd_kv[grid](q, k, v, do, lse, delta, dk, dv, S, H, s_b, s_h, s_s, float(scale),
                  D=D, CAUSAL=bool(causal), BM=TILE, BN=TILE)
    _bwd_q[grid](q, k, v, do, lse, delta, dq, S, H, s_b, s_h, s_s, float(scale),
                 D=D, CAUSAL=bool(causal), BM=TILE, BN=TILE)
    return dq, dk, dv
