"""Level 9 - Flash Attention backward (author ab).

Recompute P = exp(s - lse) tile by tile; one kernel for delta = rowsum(dO * O), one for dK/dV (each
program owns a key tile and walks queries), one for dQ (each program owns a query tile and walks keys).
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"

TILE_Q = 16
TILE_K = 16
ROWS_DELTA = 32


@triton.jit
def _row_dot_kernel(O, DO, DELTA, seq, row_stride, head_stride,
                    D: tl.constexpr, ROWS: tl.constexpr):
    head = tl.program_id(0)
    blk = tl.program_id(1)
    r = blk * ROWS + tl.arange(0, ROWS)
    c = tl.arange(0, D)
    base = head.to(tl.int64) * head_stride
    ptrs = base + r[:, None] * row_stride + c[None, :]
    ok = r[:, None] < seq
    o = tl.load(O + ptrs, mask=ok, other=0.0).to(tl.float32)
    g = tl.load(DO + ptrs, mask=ok, other=0.0).to(tl.float32)
    tl.store(DELTA + head.to(tl.int64) * seq + r, tl.sum(o * g, axis=1), mask=r < seq)


@triton.jit
def _key_side_kernel(Q, K, V, DO, LSE, DELTA, DK, DV,
                     seq, sm_scale, row_stride, head_stride,
                     D: tl.constexpr, IS_CAUSAL: tl.constexpr,
                     TQ: tl.constexpr, TK: tl.constexpr):
    head = tl.program_id(0)
    kb = tl.program_id(1)
    base = head.to(tl.int64) * head_stride
    lbase = head.to(tl.int64) * seq
    c = tl.arange(0, D)
    kr = kb * TK + tl.arange(0, TK)
    kok = kr < seq
    kv_off = base + kr[:, None] * row_stride + c[None, :]
    kt = tl.load(K + kv_off, mask=kok[:, None], other=0.0)
    vt = tl.load(V + kv_off, mask=kok[:, None], other=0.0)
    acc_k = tl.zeros((TK, D), dtype=tl.float32)
    dl = tl.load(DELTA + lbase + kr, mask=kok, other=0.0)
    acc_v = tl.zeros((TK, D), dtype=tl.float32)

    first = 0
    if IS_CAUSAL:
        first = ((kb * TK) // TQ) * TQ
    for q0 in range(first, seq, TQ):
        qr = q0 + tl.arange(0, TQ)
        qok = qr < seq
        q_off = base + qr[:, None] * row_stride + c[None, :]
        qt = tl.load(Q + q_off, mask=qok[:, None], other=0.0)
        gt = tl.load(DO + q_off, mask=qok[:, None], other=0.0)
        lse = tl.load(LSE + lbase + qr, mask=qok, other=0.0)
        s = tl.dot(qt, tl.trans(kt)) * sm_scale  # (TQ, TK)
        keep = qok[:, None] & kok[None, :]
        if IS_CAUSAL:
            keep = keep & (kr[None, :] <= qr[:, None])
        p = tl.where(keep, tl.exp(s - lse[:, None]), 0.0)
        acc_v += tl.dot(tl.trans(p.to(gt.dtype)), gt)
        dp = tl.dot(gt, tl.trans(vt))
        ds = p * (dp - dl[:, None])
        acc_k += tl.dot(tl.trans(ds.to(qt.dtype)), qt)

    acc_k = acc_k * sm_scale
    tl.store(DK + kv_off, acc_k.to(DK.dtype.element_ty), mask=kok[:, None])
    tl.store(DV + kv_off, acc_v.to(DV.dtype.element_ty), mask=kok[:, None])


@triton.jit
def _query_side_kernel(Q, K, V, DO, LSE, DELTA, DQ,
                       seq, sm_scale, row_stride, head_stride,
                       D: tl.constexpr, IS_CAUSAL: tl.constexpr,
                       TQ: tl.constexpr, TK: tl.constexpr):
    head = tl.program_id(0)
    qb = tl.program_id(1)
    base = head.to(tl.int64) * head_stride
    lbase = head.to(tl.int64) * seq
    c = tl.arange(0, D)
    qr = qb * TQ + tl.arange(0, TQ)
    qok = qr < seq
    q_off = base + qr[:, None] * row_stride + c[None, :]
    qt = tl.load(Q + q_off, mask=qok[:, None], other=0.0)
    gt = tl.load(DO + q_off, mask=qok[:, None], other=0.0)
    lse = tl.load(LSE + lbase + qr, mask=qok, other=0.0)
    dl = tl.load(DELTA + lbase + qr, mask=qok, other=0.0)
    acc_q = tl.zeros((TQ, D), dtype=tl.float32)

    last = seq
    if IS_CAUSAL:
        last = tl.minimum((qb + 1) * TQ, seq)
    for k0 in range(0, last, TK):
        kr = k0 + tl.arange(0, TK)
        kok = kr < seq
        kv_off = base + kr[:, None] * row_stride + c[None, :]
        kt = tl.load(K + kv_off, mask=kok[:, None], other=0.0)
        vt = tl.load(V + kv_off, mask=kok[:, None], other=0.0)
        s = tl.dot(qt, tl.trans(kt)) * sm_scale
        keep = qok[:, None] & kok[None, :]
        if IS_CAUSAL:
            keep = keep & (kr[None, :] <= qr[:, None])
        p = tl.where(keep, tl.exp(s - lse[:, None]), 0.0)
        dp = tl.dot(gt, tl.trans(vt))
        ds = p * (dp - dl[:, None])
        acc_q += tl.dot(ds.to(kt.dtype), kt)

    acc_q = acc_q * sm_scale
    tl.store(DQ + q_off, acc_q.to(DQ.dtype.element_ty), mask=qok[:, None])


def flash_attention_backward(q, k, v, o, lse, do, causal=True, scale=None):
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    rs, hs = q.stride(2), q.stride(1)
    _row_dot_kernel[(B * H, triton.cdiv(S, ROWS_DELTA))](o, do, delta, S, rs, hs, D=D, ROWS=ROWS_DELTA)
    _key_side_kernel[(B * H, triton.cdiv(S, TILE_K))](
        q, k, v, do, lse, delta, dk, dv, S, scale, rs, hs,
        D=D, IS_CAUSAL=bool(causal), TQ=TILE_Q, TK=TILE_K)
    _query_side_kernel[(B * H, triton.cdiv(S, TILE_Q))](
        q, k, v, do, lse, delta, dq, S, scale, rs, hs,
        D=D, IS_CAUSAL=bool(causal), TQ=TILE_Q, TK=TILE_K)
    return dq, dk, dv
