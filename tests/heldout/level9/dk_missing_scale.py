"""Level 9 - flash attention backward: delta, dK/dV and dQ kernels."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

LOG2E = 1.4426950408889634
BLK = 16


@triton.jit
def _bwd_delta(O, DO, Delta, S, stride_bh, stride_s, HEAD_DIM: tl.constexpr, BLOCK: tl.constexpr):
    bh = tl.program_id(1)
    rows = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    dims = tl.arange(0, HEAD_DIM)
    off = bh.to(tl.int64) * stride_bh + rows[:, None] * stride_s + dims[None, :]
    msk = rows[:, None] < S
    o = tl.load(O + off, mask=msk, other=0.0).to(tl.float32)
    do = tl.load(DO + off, mask=msk, other=0.0).to(tl.float32)
    d = tl.sum(o * do, axis=1)
    tl.store(Delta + bh.to(tl.int64) * S + rows, d, mask=rows < S)


@triton.jit
def _bwd_dkdv(
    Q, K, V, DO, LSE, Delta, DK, DV,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    start_n = tl.program_id(0) * BLOCK_N
    bh = tl.program_id(1)
    base = bh.to(tl.int64) * stride_bh
    row_base = bh.to(tl.int64) * S
    offs_n = start_n + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, HEAD_DIM)
    kv_mask = offs_n[:, None] < S
    k = tl.load(K + base + offs_n[:, None] * stride_s + dims[None, :], mask=kv_mask, other=0.0)
    v = tl.load(V + base + offs_n[:, None] * stride_s + dims[None, :], mask=kv_mask, other=0.0)
    dk = tl.zeros((BLOCK_N, HEAD_DIM), dtype=tl.float32)
    dv = tl.zeros((BLOCK_N, HEAD_DIM), dtype=tl.float32)

    lo = 0
    if CAUSAL:
        lo = (start_n // BLOCK_M) * BLOCK_M
    for start_m in range(lo, S, BLOCK_M):
        offs_m = start_m + tl.arange(0, BLOCK_M)
        m_ok = offs_m < S
        q = tl.load(Q + base + offs_m[:, None] * stride_s + dims[None, :], mask=m_ok[:, None], other=0.0)
        do = tl.load(DO + base + offs_m[:, None] * stride_s + dims[None, :], mask=m_ok[:, None], other=0.0)
        lse = tl.load(LSE + row_base + offs_m, mask=m_ok, other=0.0)
        dlt = tl.load(Delta + row_base + offs_m, mask=m_ok, other=0.0)

        sT = tl.dot(k, tl.trans(q)) * qk_scale
        pT = tl.exp2(sT - lse[None, :] * 1.4426950408889634)
        ok = m_ok[None, :] & (offs_n[:, None] < S)
        if CAUSAL:
            ok = ok & (offs_n[:, None] <= offs_m[None, :])
        pT = tl.where(ok, pT, 0.0)

        dv += tl.dot(pT.to(do.dtype), do)
        dpT = tl.dot(v, tl.trans(do))
        dsT = pT * (dpT - dlt[None, :])
        dk += tl.dot(dsT.to(q.dtype), q)

    out_off = base + offs_n[:, None] * stride_s + dims[None, :]
    tl.store(DK + out_off, dk.to(DK.dtype.element_ty), mask=kv_mask)
    tl.store(DV + out_off, dv.to(DV.dtype.element_ty), mask=kv_mask)


@triton.jit
def _bwd_dq(
    Q, K, V, DO, LSE, Delta, DQ,
    S, scale, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    base = bh.to(tl.int64) * stride_bh
    row_base = bh.to(tl.int64) * S
    offs_m = start_m + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    m_ok = offs_m < S
    q = tl.load(Q + base + offs_m[:, None] * stride_s + dims[None, :], mask=m_ok[:, None], other=0.0)
    do = tl.load(DO + base + offs_m[:, None] * stride_s + dims[None, :], mask=m_ok[:, None], other=0.0)
    lse = tl.load(LSE + row_base + offs_m, mask=m_ok, other=0.0)
    dlt = tl.load(Delta + row_base + offs_m, mask=m_ok, other=0.0)
    lse2 = lse * 1.4426950408889634
    dq = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)

    hi = S
    if CAUSAL:
        hi = tl.minimum(start_m + BLOCK_M, S)
    for start_n in range(0, hi, BLOCK_N):
        offs_n = start_n + tl.arange(0, BLOCK_N)
        n_ok = offs_n < S
        k = tl.load(K + base + offs_n[:, None] * stride_s + dims[None, :], mask=n_ok[:, None], other=0.0)
        v = tl.load(V + base + offs_n[:, None] * stride_s + dims[None, :], mask=n_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * qk_scale
        p = tl.exp2(s - lse2[:, None])
        ok = n_ok[None, :] & m_ok[:, None]
        if CAUSAL:
            ok = ok & (offs_n[None, :] <= offs_m[:, None])
        p = tl.where(ok, p, 0.0)
        dp = tl.dot(do, tl.trans(v))
        ds = p * (dp - dlt[:, None])
        dq += tl.dot(ds.to(k.dtype), k)

    dq = dq * scale
    tl.store(DQ + base + offs_m[:, None] * stride_s + dims[None, :], dq.to(DQ.dtype.element_ty), mask=m_ok[:, None])


def flash_attention_backward(q, k, v, o, lse, do, causal=True, scale=None):
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    lse = lse.contiguous()
    sb, ss = q.stride(1), q.stride(2)
    _bwd_delta[(triton.cdiv(S, BLK), B * H)](o, do, delta, S, sb, ss, HEAD_DIM=D, BLOCK=BLK)
    _bwd_dkdv[(triton.cdiv(S, BLK), B * H)](
        q, k, v, do, lse, delta, dk, dv, S, scale, scale * LOG2E, sb, ss,
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLK, BLOCK_N=BLK,
    )
    _bwd_dq[(triton.cdiv(S, BLK), B * H)](
        q, k, v, do, lse, delta, dq, S, scale, scale * LOG2E, sb, ss,
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLK, BLOCK_N=BLK,
    )
    return dq, dk, dv


if __name__ == "__main__":
    B, H, S, D = 1, 2, 77, 32
    for causal in (True, False):
        q, k, v = (torch.randn(B, H, S, D, dtype=torch.float64, requires_grad=True) for _ in range(3))
        scores = q @ k.transpose(-1, -2) / math.sqrt(D)
        if causal:
            scores = scores.masked_fill(torch.ones(S, S, dtype=torch.bool).triu(1), float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v
        lse = torch.logsumexp(scores, dim=-1)
        do = torch.randn_like(o)
        expected = torch.autograd.grad(o, (q, k, v), do)
        got = flash_attention_backward(*(t.detach().float() for t in (q, k, v, o)), lse.detach().float(), do.float(), causal=causal)
        for g, e in zip(got, expected):
            torch.testing.assert_close(g, e.float(), atol=2e-3, rtol=2e-3)
    print("ok")
