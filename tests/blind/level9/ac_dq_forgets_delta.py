"""Level 9 - Flash Attention backward: recompute P from lse tile by tile; one walk for dK/dV, one for dQ."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634

# one square tile size for every walk
TILE = 16 if INTERPRETED else 64
ROWS_PER_DELTA = 32


@triton.jit
def _bwd_delta(O, DO, DELTA, seq_len, s_head, s_row,
               HD: tl.constexpr, R: tl.constexpr):
    head = tl.program_id(0).to(tl.int64)
    r = tl.program_id(1) * R + tl.arange(0, R)
    c = tl.arange(0, HD)
    ok = r < seq_len
    offs = head * s_head + r[:, None] * s_row + c[None, :]
    o = tl.load(O + offs, mask=ok[:, None], other=0.0).to(tl.float32)
    g = tl.load(DO + offs, mask=ok[:, None], other=0.0).to(tl.float32)
    tl.store(DELTA + head * seq_len + r, tl.sum(o * g, axis=1), mask=ok)


@triton.jit
def _bwd_dkdv(Q, K, V, DO, LSE, DELTA, DK, DV,
              seq_len, sm_scale, log2_scale, s_head, s_row,
              HD: tl.constexpr, IS_CAUSAL: tl.constexpr, T: tl.constexpr):
    kblk = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    base = head * s_head
    stat = head * seq_len
    kn = kblk * T + tl.arange(0, T)
    c = tl.arange(0, HD)
    kn_ok = kn < seq_len
    kv_offs = base + kn[:, None] * s_row + c[None, :]
    k_t = tl.load(K + kv_offs, mask=kn_ok[:, None], other=0.0)
    v_t = tl.load(V + kv_offs, mask=kn_ok[:, None], other=0.0)
    dk_acc = tl.zeros((T, HD), dtype=tl.float32)
    dv_acc = tl.zeros((T, HD), dtype=tl.float32)

    first = kblk * T if IS_CAUSAL else 0
    for qs in range(first, seq_len, T):
        qm = qs + tl.arange(0, T)
        qm_ok = qm < seq_len
        q_offs = base + qm[:, None] * s_row + c[None, :]
        q_t = tl.load(Q + q_offs, mask=qm_ok[:, None], other=0.0)
        do_t = tl.load(DO + q_offs, mask=qm_ok[:, None], other=0.0)
        lse2 = tl.load(LSE + stat + qm, mask=qm_ok, other=0.0) * 1.4426950408889634
        dl = tl.load(DELTA + stat + qm, mask=qm_ok, other=0.0)

        sT = tl.dot(k_t, tl.trans(q_t)) * log2_scale          # (keys, queries)
        pT = tl.math.exp2(sT - lse2[None, :])
        keep = qm_ok[None, :]
        if IS_CAUSAL:
            keep = keep & (qm[None, :] >= kn[:, None])
        pT = tl.where(keep, pT, 0.0)

        dv_acc += tl.dot(pT.to(do_t.dtype), do_t)
        dpT = tl.dot(v_t, tl.trans(do_t))
        dsT = pT * (dpT - dl[None, :])
        dk_acc += tl.dot(dsT.to(q_t.dtype), q_t)

    tl.store(DK + kv_offs, (dk_acc * sm_scale).to(DK.dtype.element_ty), mask=kn_ok[:, None])
    tl.store(DV + kv_offs, dv_acc.to(DV.dtype.element_ty), mask=kn_ok[:, None])


@triton.jit
def _bwd_dq(Q, K, V, DO, LSE, DELTA, DQ,
            seq_len, sm_scale, log2_scale, s_head, s_row,
            HD: tl.constexpr, IS_CAUSAL: tl.constexpr, T: tl.constexpr):
    qblk = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    base = head * s_head
    stat = head * seq_len
    qm = qblk * T + tl.arange(0, T)
    c = tl.arange(0, HD)
    qm_ok = qm < seq_len
    q_offs = base + qm[:, None] * s_row + c[None, :]
    q_t = tl.load(Q + q_offs, mask=qm_ok[:, None], other=0.0)
    do_t = tl.load(DO + q_offs, mask=qm_ok[:, None], other=0.0)
    lse2 = tl.load(LSE + stat + qm, mask=qm_ok, other=0.0) * 1.4426950408889634
    dl = tl.load(DELTA + stat + qm, mask=qm_ok, other=0.0)
    dq_acc = tl.zeros((T, HD), dtype=tl.float32)

    last = tl.minimum((qblk + 1) * T, seq_len) if IS_CAUSAL else seq_len
    for ks in range(0, last, T):
        kn = ks + tl.arange(0, T)
        kn_ok = kn < seq_len
        kv_offs = base + kn[:, None] * s_row + c[None, :]
        k_t = tl.load(K + kv_offs, mask=kn_ok[:, None], other=0.0)
        v_t = tl.load(V + kv_offs, mask=kn_ok[:, None], other=0.0)

        s = tl.dot(q_t, tl.trans(k_t)) * log2_scale
        p = tl.math.exp2(s - lse2[:, None])
        keep = kn_ok[None, :]
        if IS_CAUSAL:
            keep = keep & (kn[None, :] <= qm[:, None])
        p = tl.where(keep, p, 0.0)

        dp = tl.dot(do_t, tl.trans(v_t))
        ds = p * dp
        dq_acc += tl.dot(ds.to(k_t.dtype), k_t)

    tl.store(DQ + q_offs, (dq_acc * sm_scale).to(DQ.dtype.element_ty), mask=qm_ok[:, None])


def flash_attention_backward(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, o: torch.Tensor, lse: torch.Tensor, do: torch.Tensor,
    causal: bool = True, scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    delta = torch.empty((B, H, S), device=q.device, dtype=torch.float32)
    s_head, s_row = q.stride(1), q.stride(2)
    nbh = B * H

    _bwd_delta[(nbh, triton.cdiv(S, ROWS_PER_DELTA))](
        o, do, delta, S, s_head, s_row, HD=D, R=ROWS_PER_DELTA)
    n_tiles = triton.cdiv(S, TILE)
    common = (S, float(scale), float(scale) * LOG2E, s_head, s_row)
    _bwd_dkdv[(n_tiles, nbh)](q, k, v, do, lse, delta, dk, dv, *common,
                              HD=D, IS_CAUSAL=bool(causal), T=TILE)
    _bwd_dq[(n_tiles, nbh)](q, k, v, do, lse, delta, dq, *common,
                            HD=D, IS_CAUSAL=bool(causal), T=TILE)
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
