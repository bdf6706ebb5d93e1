"""Level 9 - Flash Attention backward: recompute P from lse, one walk for dK/dV and one for dQ.

Three launches: delta = rowsum(dO * O); a kernel per key tile accumulating dK and dV over the query tiles
that see it; a kernel per query tile accumulating dQ over the key tiles it sees. No S x S buffer.
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
ROWS_T = 32 if INTERPRETED else 64   # query rows per tile
KEYS_T = 32 if INTERPRETED else 64   # keys per tile
DELTA_T = 64


@triton.jit
def _bwd_delta(O, DO, DELTA, seq_len, s_bh, s_s, D: tl.constexpr, T: tl.constexpr):
    head = tl.program_id(0)
    blk = tl.program_id(1)
    r = blk * T + tl.arange(0, T)
    c = tl.arange(0, D)
    ok = r < seq_len
    off = head.to(tl.int64) * s_bh + r[:, None] * s_s + c[None, :]
    o = tl.load(O + off, mask=ok[:, None], other=0.0).to(tl.float32)
    g = tl.load(DO + off, mask=ok[:, None], other=0.0).to(tl.float32)
    tl.store(DELTA + head.to(tl.int64) * seq_len + r, tl.sum(o * g, axis=1), mask=ok)


@triton.jit
def _bwd_dkdv(
    Q, K, V, DO, LSE, DELTA, DK, DV,
    seq_len, sm_scale, sm_scale_log2, s_bh, s_s,
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, TQ: tl.constexpr, TK: tl.constexpr,
):
    head = tl.program_id(0)
    kblk = tl.program_id(1)
    hoff = head.to(tl.int64) * s_bh
    loff = head.to(tl.int64) * seq_len
    keys = kblk * TK + tl.arange(0, TK)
    c = tl.arange(0, D)
    key_ok = keys < seq_len
    kt = tl.load(K + hoff + keys[:, None] * s_s + c[None, :], mask=key_ok[:, None], other=0.0)
    vt = tl.load(V + hoff + keys[:, None] * s_s + c[None, :], mask=key_ok[:, None], other=0.0)
    grad_k = tl.zeros((TK, D), dtype=tl.float32)
    grad_v = tl.zeros((TK, D), dtype=tl.float32)

    if IS_CAUSAL:
        first = (kblk * TK) // TQ * TQ
    else:
        first = 0
    for q0 in range(first, seq_len, TQ):
        rows = q0 + tl.arange(0, TQ)
        row_ok = rows < seq_len
        qt = tl.load(Q + hoff + rows[:, None] * s_s + c[None, :], mask=row_ok[:, None], other=0.0)
        gt = tl.load(DO + hoff + rows[:, None] * s_s + c[None, :], mask=row_ok[:, None], other=0.0)
        lse2 = tl.load(LSE + loff + rows, mask=row_ok, other=0.0) * 1.4426950408889634
        dlt = tl.load(DELTA + loff + rows, mask=row_ok, other=0.0)
        st = tl.dot(kt, tl.trans(qt)) * sm_scale_log2          # (TK, TQ)
        seen = key_ok[:, None] & row_ok[None, :]
        if IS_CAUSAL:
            seen = seen & (keys[:, None] <= rows[None, :])
        pt = tl.where(seen, tl.math.exp2(st - lse2[None, :]), 0.0)
        grad_v += tl.dot(pt.to(gt.dtype), gt)
        dpt = tl.dot(vt, tl.trans(gt))
        dst = pt * (dpt - dlt[None, :])
        grad_k += tl.dot(dst.to(qt.dtype), qt)

    tl.store(DK + hoff + keys[:, None] * s_s + c[None, :], grad_k.to(DK.dtype.element_ty),
             mask=key_ok[:, None])
    tl.store(DV + hoff + keys[:, None] * s_s + c[None, :], grad_v.to(DV.dtype.element_ty), mask=key_ok[:, None])


@triton.jit
def _bwd_dq(
    Q, K, V, DO, LSE, DELTA, DQ,
    seq_len, sm_scale, sm_scale_log2, s_bh, s_s,
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, TQ: tl.constexpr, TK: tl.constexpr,
):
    head = tl.program_id(0)
    qblk = tl.program_id(1)
    hoff = head.to(tl.int64) * s_bh
    loff = head.to(tl.int64) * seq_len
    rows = qblk * TQ + tl.arange(0, TQ)
    c = tl.arange(0, D)
    row_ok = rows < seq_len
    qt = tl.load(Q + hoff + rows[:, None] * s_s + c[None, :], mask=row_ok[:, None], other=0.0)
    gt = tl.load(DO + hoff + rows[:, None] * s_s + c[None, :], mask=row_ok[:, None], other=0.0)
    lse2 = tl.load(LSE + loff + rows, mask=row_ok, other=0.0) * 1.4426950408889634
    dlt = tl.load(DELTA + loff + rows, mask=row_ok, other=0.0)
    grad_q = tl.zeros((TQ, D), dtype=tl.float32)

    if IS_CAUSAL:
        last = tl.minimum((qblk + 1) * TQ, seq_len)
    else:
        last = seq_len
    for k0 in range(0, last, TK):
        keys = k0 + tl.arange(0, TK)
        key_ok = keys < seq_len
        kt = tl.load(K + hoff + keys[:, None] * s_s + c[None, :], mask=key_ok[:, None], other=0.0)
        vt = tl.load(V + hoff + keys[:, None] * s_s + c[None, :], mask=key_ok[:, None], other=0.0)
        st = tl.dot(qt, tl.trans(kt)) * sm_scale_log2          # (TQ, TK)
        seen = row_ok[:, None] & key_ok[None, :]
        if IS_CAUSAL:
            seen = seen & (keys[None, :] <= rows[:, None])
        p = tl.where(seen, tl.math.exp2(st - lse2[:, None]), 0.0)
        dp = tl.dot(gt, tl.trans(vt))
        ds = p * (dp - dlt[:, None])
        grad_q += tl.dot(ds.to(kt.dtype), kt)

    tl.store(DQ + hoff + rows[:, None] * s_s + c[None, :], (grad_q * sm_scale).to(DQ.dtype.element_ty),
             mask=row_ok[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    s_bh, s_s = q.stride(1), q.stride(2)
    _bwd_delta[(B * H, triton.cdiv(S, DELTA_T))](o, do, delta, S, s_bh, s_s, D=D, T=DELTA_T)
    _bwd_dkdv[(B * H, triton.cdiv(S, KEYS_T))](
        q, k, v, do, lse, delta, dk, dv, S, scale, scale * LOG2E, s_bh, s_s,
        D=D, IS_CAUSAL=bool(causal), TQ=ROWS_T, TK=KEYS_T,
    )
    _bwd_dq[(B * H, triton.cdiv(S, ROWS_T))](
        q, k, v, do, lse, delta, dq, S, scale, scale * LOG2E, s_bh, s_s,
        D=D, IS_CAUSAL=bool(causal), TQ=ROWS_T, TK=KEYS_T,
    )
    return dq, dk, dv
