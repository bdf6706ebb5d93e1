"""Level 9 - Flash Attention backward.

Recompute P = exp(s - lse) tile by tile instead of storing it. Three launches: delta = rowsum(dO * O),
then one program per key tile accumulating dK and dV over the query tiles that see it, then one
program per query tile accumulating dQ over the key tiles it sees.
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
TILE = 32 if INTERPRETED else 64
ROWS = 32


@triton.jit
def _bwd_delta(o_ptr, g_ptr, delta_ptr, S, sbh, srow, D: tl.constexpr, R: tl.constexpr):
    head = tl.program_id(0).to(tl.int64)
    r = tl.program_id(1) * R + tl.arange(0, R)
    d = tl.arange(0, D)
    live = r < S
    off = head * sbh + r[:, None] * srow + d[None, :]
    o = tl.load(o_ptr + off, mask=live[:, None], other=0.0).to(tl.float32)
    g = tl.load(g_ptr + off, mask=live[:, None], other=0.0).to(tl.float32)
    tl.store(delta_ptr + head * S + r, tl.sum(o * g, axis=1), mask=live)


@triton.jit
def _bwd_kv(
    q_ptr, k_ptr, v_ptr, g_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
    S, scale, qk_scale, sbh, srow,
    D: tl.constexpr, CAUSAL: tl.constexpr, TQ: tl.constexpr, TK: tl.constexpr,
):
    head = tl.program_id(0).to(tl.int64)
    k0 = tl.program_id(1) * TK
    kj = k0 + tl.arange(0, TK)
    d = tl.arange(0, D)
    kin = kj < S
    base = head * sbh
    kv_off = base + kj[:, None] * srow + d[None, :]
    kt = tl.load(k_ptr + kv_off, mask=kin[:, None], other=0.0)
    vt = tl.load(v_ptr + kv_off, mask=kin[:, None], other=0.0)
    dk = tl.zeros((TK, D), dtype=tl.float32)
    dv = tl.zeros((TK, D), dtype=tl.float32)

    first = 0
    if CAUSAL:
        first = (k0 // TQ) * TQ
    for q0 in range(first, S, TQ):
        qi = q0 + tl.arange(0, TQ)
        qin = qi < S
        q_off = base + qi[:, None] * srow + d[None, :]
        qt = tl.load(q_ptr + q_off, mask=qin[:, None], other=0.0)
        gt = tl.load(g_ptr + q_off, mask=qin[:, None], other=0.0)
        lse2 = tl.load(lse_ptr + head * S + qi, mask=qin, other=0.0)
        dl = tl.load(delta_ptr + head * S + qi, mask=qin, other=0.0)

        sT = tl.dot(kt, tl.trans(qt)) * qk_scale  # (TK, TQ): keys along the rows
        seen = kin[:, None] & qin[None, :]
        if CAUSAL:
            seen = seen & (qi[None, :] >= kj[:, None])
        pT = tl.where(seen, tl.exp2(sT - lse2[None, :]), 0.0)
        dv += tl.dot(pT.to(gt.dtype), gt)
        dpT = tl.dot(vt, tl.trans(gt))
        dsT = pT * (dpT - dl[None, :])
        dk += tl.dot(dsT.to(qt.dtype), qt)

    tl.store(dk_ptr + kv_off, (dk * scale).to(dk_ptr.dtype.element_ty), mask=kin[:, None])
    tl.store(dv_ptr + kv_off, dv.to(dv_ptr.dtype.element_ty), mask=kin[:, None])


@triton.jit
def _bwd_q(
    q_ptr, k_ptr, v_ptr, g_ptr, lse_ptr, delta_ptr, dq_ptr,
    S, scale, qk_scale, sbh, srow,
    D: tl.constexpr, CAUSAL: tl.constexpr, TQ: tl.constexpr, TK: tl.constexpr,
):
    head = tl.program_id(0).to(tl.int64)
    q0 = tl.program_id(1) * TQ
    qi = q0 + tl.arange(0, TQ)
    d = tl.arange(0, D)
    qin = qi < S
    base = head * sbh
    q_off = base + qi[:, None] * srow + d[None, :]
    qt = tl.load(q_ptr + q_off, mask=qin[:, None], other=0.0)
    gt = tl.load(g_ptr + q_off, mask=qin[:, None], other=0.0)
    lse2 = tl.load(lse_ptr + head * S + qi, mask=qin, other=0.0)
    dl = tl.load(delta_ptr + head * S + qi, mask=qin, other=0.0)
    dq = tl.zeros((TQ, D), dtype=tl.float32)

    last = S
    if CAUSAL:
        last = tl.minimum(q0 + TQ, S)
    for k0 in range(0, last, TK):
        kj = k0 + tl.arange(0, TK)
        kin = kj < S
        kv_off = base + kj[:, None] * srow + d[None, :]
        kt = tl.load(k_ptr + kv_off, mask=kin[:, None], other=0.0)
        vt = tl.load(v_ptr + kv_off, mask=kin[:, None], other=0.0)

        s = tl.dot(qt, tl.trans(kt)) * qk_scale
        seen = kin[None, :] & qin[:, None]
        if CAUSAL:
            seen = seen & (kj[None, :] <= qi[:, None])
        p = tl.where(seen, tl.exp2(s - lse2[:, None]), 0.0)
        dp = tl.dot(gt, tl.trans(vt))
        ds = p * (dp - dl[:, None])
        dq += tl.dot(ds.to(kt.dtype), kt)

    tl.store(dq_ptr + q_off, (dq * scale).to(dq_ptr.dtype.element_ty), mask=qin[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    sbh, srow = q.stride(1), q.stride(2)
    heads = B * H

    _bwd_delta[(heads, triton.cdiv(S, ROWS))](o, do, delta, S, sbh, srow, D=D, R=ROWS)
    _bwd_kv[(heads, triton.cdiv(S, TILE))](
        q, k, v, do, lse, delta, dk, dv, S, scale, scale * LOG2E, sbh, srow,
        D=D, CAUSAL=bool(causal), TQ=TILE, TK=TILE,
    )
    _bwd_q[(heads, triton.cdiv(S, TILE))](
        q, k, v, do, lse, delta, dq, S, scale, scale * LOG2E, sbh, srow,
        D=D, CAUSAL=bool(causal), TQ=TILE, TK=TILE,
    )
    return dq, dk, dv
