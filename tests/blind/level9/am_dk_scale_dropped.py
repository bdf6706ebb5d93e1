"""Level 9 - Flash Attention backward: recompute P from lse, one walk for dK/dV and one for dQ.

Three launches: delta = rowsum(dO * O); per key tile, dK and dV over the query tiles that see it;
per query tile, dQ over the key tiles it sees. P = exp2(s * scale * log2(e) - lse * log2(e)).
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
TILE = 16 if INTERPRETED else 64
ROWS_PER_DELTA = 32 if INTERPRETED else 128


@triton.jit
def _bwd_delta(O, dO, Delta, seq_len, s_bh, s_row, D: tl.constexpr, R: tl.constexpr):
    bh = tl.program_id(0)
    r = tl.program_id(1) * R + tl.arange(0, R)
    c = tl.arange(0, D)
    ok = r < seq_len
    off = bh.to(tl.int64) * s_bh + r[:, None] * s_row + c[None, :]
    o = tl.load(O + off, mask=ok[:, None], other=0.0).to(tl.float32)
    g = tl.load(dO + off, mask=ok[:, None], other=0.0).to(tl.float32)
    tl.store(Delta + bh.to(tl.int64) * seq_len + r, tl.sum(o * g, axis=1), mask=ok)


@triton.jit
def _bwd_dkdv(
    Q, K, V, dO, LSE, Delta, dK, dV,
    seq_len, sm_scale, sm_scale_log2, s_bh, s_row,
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, TM: tl.constexpr, TN: tl.constexpr,
):
    bh = tl.program_id(0)
    key0 = tl.program_id(1) * TN
    base = bh.to(tl.int64) * s_bh
    stat = bh.to(tl.int64) * seq_len
    c = tl.arange(0, D)
    keys = key0 + tl.arange(0, TN)
    key_ok = keys < seq_len
    kv_off = base + keys[:, None] * s_row + c[None, :]
    k = tl.load(K + kv_off, mask=key_ok[:, None], other=0.0)
    v = tl.load(V + kv_off, mask=key_ok[:, None], other=0.0)
    dk = tl.zeros([TN, D], dtype=tl.float32)
    dv = tl.zeros([TN, D], dtype=tl.float32)

    if IS_CAUSAL:
        first = key0
    else:
        first = 0
    for q0 in range(first, seq_len, TM):
        qs = q0 + tl.arange(0, TM)
        q_ok = qs < seq_len
        q_off = base + qs[:, None] * s_row + c[None, :]
        q = tl.load(Q + q_off, mask=q_ok[:, None], other=0.0)
        g = tl.load(dO + q_off, mask=q_ok[:, None], other=0.0)
        lse2 = tl.load(LSE + stat + qs, mask=q_ok, other=0.0) * 1.4426950408889634
        dlt = tl.load(Delta + stat + qs, mask=q_ok, other=0.0)

        sT = tl.dot(k, tl.trans(q)) * sm_scale_log2
        pT = tl.exp2(sT - lse2[None, :])
        vis = q_ok[None, :]
        if IS_CAUSAL:
            vis = vis & (qs[None, :] >= keys[:, None])
        pT = tl.where(vis, pT, 0.0)

        dv += tl.dot(pT.to(g.dtype), g)
        dpT = tl.dot(v, tl.trans(g))
        dsT = pT * (dpT - dlt[None, :])
        dk += tl.dot(dsT.to(q.dtype), q)

    tl.store(dK + kv_off, dk.to(dK.dtype.element_ty), mask=key_ok[:, None])
    tl.store(dV + kv_off, dv.to(dV.dtype.element_ty), mask=key_ok[:, None])


@triton.jit
def _bwd_dq(
    Q, K, V, dO, LSE, Delta, dQ,
    seq_len, sm_scale, sm_scale_log2, s_bh, s_row,
    D: tl.constexpr, IS_CAUSAL: tl.constexpr, TM: tl.constexpr, TN: tl.constexpr,
):
    bh = tl.program_id(0)
    row0 = tl.program_id(1) * TM
    base = bh.to(tl.int64) * s_bh
    stat = bh.to(tl.int64) * seq_len
    c = tl.arange(0, D)
    qs = row0 + tl.arange(0, TM)
    q_ok = qs < seq_len
    q_off = base + qs[:, None] * s_row + c[None, :]
    q = tl.load(Q + q_off, mask=q_ok[:, None], other=0.0)
    g = tl.load(dO + q_off, mask=q_ok[:, None], other=0.0)
    lse2 = tl.load(LSE + stat + qs, mask=q_ok, other=0.0) * 1.4426950408889634
    dlt = tl.load(Delta + stat + qs, mask=q_ok, other=0.0)
    dq = tl.zeros([TM, D], dtype=tl.float32)

    if IS_CAUSAL:
        last = tl.minimum(row0 + TM, seq_len)
    else:
        last = seq_len
    for k0 in range(0, last, TN):
        keys = k0 + tl.arange(0, TN)
        key_ok = keys < seq_len
        kv_off = base + keys[:, None] * s_row + c[None, :]
        k = tl.load(K + kv_off, mask=key_ok[:, None], other=0.0)
        v = tl.load(V + kv_off, mask=key_ok[:, None], other=0.0)

        s = tl.dot(q, tl.trans(k)) * sm_scale_log2
        p = tl.exp2(s - lse2[:, None])
        vis = key_ok[None, :]
        if IS_CAUSAL:
            vis = vis & (keys[None, :] <= qs[:, None])
        p = tl.where(vis, p, 0.0)

        dp = tl.dot(g, tl.trans(v))
        ds = p * (dp - dlt[:, None])
        dq += tl.dot(ds.to(k.dtype), k)

    tl.store(dQ + q_off, (dq * sm_scale).to(dQ.dtype.element_ty), mask=q_ok[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    s_bh, s_row = q.stride(1), q.stride(2)
    _bwd_delta[(B * H, triton.cdiv(S, ROWS_PER_DELTA))](o, do, delta, S, s_bh, s_row, D=D, R=ROWS_PER_DELTA)
    common = dict(D=D, IS_CAUSAL=bool(causal), TM=TILE, TN=TILE)
    _bwd_dkdv[(B * H, triton.cdiv(S, TILE))](
        q, k, v, do, lse, delta, dk, dv, S, scale, scale * LOG2E, s_bh, s_row, **common
    )
    _bwd_dq[(B * H, triton.cdiv(S, TILE))](
        q, k, v, do, lse, delta, dq, S, scale, scale * LOG2E, s_bh, s_row, **common
    )
    return dq, dk, dv


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    B, H, S, D = 1, 2, 77, 32
    for causal in (True, False):
        q, k, v = (torch.randn(B, H, S, D, device=device, dtype=torch.float64, requires_grad=True) for _ in range(3))
        scores = q @ k.transpose(-1, -2) / math.sqrt(D)
        if causal:
            scores = scores.masked_fill(torch.ones(S, S, dtype=torch.bool, device=device).triu(1), float("-inf"))
        o = torch.softmax(scores, dim=-1) @ v
        lse = torch.logsumexp(scores, dim=-1)
        do = torch.randn_like(o)
        expected = torch.autograd.grad(o, (q, k, v), do)
        got = flash_attention_backward(
            *(t.detach().float() for t in (q, k, v, o)), lse.detach().float(), do.float(), causal=causal
        )
        for name, g, e in zip(("dq", "dk", "dv"), got, expected):
            torch.testing.assert_close(g, e.float(), atol=2e-3, rtol=2e-3, msg=lambda m: f"{name}: {m}")
    print("level 9 self-check passed")
