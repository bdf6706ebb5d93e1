"""Level 9 - Flash Attention backward: rebuild the probabilities from lse, tile by tile.

P = exp(q @ k^T * scale - lse). Three kernels: delta = rowsum(dO * O); one program per key tile
accumulating dK and dV over the query tiles; one program per query tile accumulating dQ over the key tiles.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
ROWS = 32 if INTERPRETED else 64      # rows per program of the delta kernel
QT = 32 if INTERPRETED else 64        # query tile
KT = 32 if INTERPRETED else 64        # key tile


@triton.jit
def _probs(scores, lse_b):
    return tl.exp2(scores * 1.4426950408889634 - lse_b)


@triton.jit
def row_dot_kernel(o_ptr, do_ptr, delta_ptr, S, s_head, s_row, D: tl.constexpr, R: tl.constexpr):
    blk = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    r = blk * R + tl.arange(0, R)
    c = tl.arange(0, D)
    ok = r < S
    ptr = bh * s_head + r[:, None] * s_row + c[None, :]
    o = tl.load(o_ptr + ptr, mask=ok[:, None], other=0.0).to(tl.float32)
    g = tl.load(do_ptr + ptr, mask=ok[:, None], other=0.0).to(tl.float32)
    tl.store(delta_ptr + bh * S + r, tl.sum(o * g, axis=1), mask=ok)


@triton.jit
def key_side_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dk_ptr, dv_ptr,
    S, scale, s_head, s_row,
    D: tl.constexpr, CAUSAL: tl.constexpr, QT: tl.constexpr, KT: tl.constexpr,
):
    kb = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    base = bh * s_head
    c = tl.arange(0, D)
    kn = kb * KT + tl.arange(0, KT)
    k_ok = kn < S
    kp = base + kn[:, None] * s_row + c[None, :]
    kk = tl.load(k_ptr + kp, mask=k_ok[:, None], other=0.0)
    vv = tl.load(v_ptr + kp, mask=k_ok[:, None], other=0.0)

    gk = tl.zeros([KT, D], dtype=tl.float32)
    gv = tl.zeros([KT, D], dtype=tl.float32)

    first = 0
    if CAUSAL:
        first = (kb * KT // QT) * QT
    for m0 in range(first, S, QT):
        qm = m0 + tl.arange(0, QT)
        q_ok = qm < S
        qp = base + qm[:, None] * s_row + c[None, :]
        qq = tl.load(q_ptr + qp, mask=q_ok[:, None], other=0.0)
        gg = tl.load(do_ptr + qp, mask=q_ok[:, None], other=0.0)
        lse = tl.load(lse_ptr + bh * S + qm, mask=q_ok, other=0.0)
        dl = tl.load(delta_ptr + bh * S + qm, mask=q_ok, other=0.0)

        sT = tl.dot(kk, tl.trans(qq)) * scale
        seen = k_ok[:, None] & q_ok[None, :]
        if CAUSAL:
            seen = seen & (kn[:, None] <= qm[None, :])
        pT = tl.where(seen, _probs(sT, lse[None, :]), 0.0)

        gv += tl.dot(pT.to(gg.dtype), gg)
        dpT = tl.dot(vv, tl.trans(gg))
        dsT = pT * (dpT - dl[None, :])
        gk += tl.dot(dsT.to(qq.dtype), qq)

    tl.store(dk_ptr + kp, (gk * scale).to(dk_ptr.dtype.element_ty), mask=k_ok[:, None])
    tl.store(dv_ptr + kp, gv.to(dv_ptr.dtype.element_ty), mask=k_ok[:, None])


@triton.jit
def query_side_kernel(
    q_ptr, k_ptr, v_ptr, do_ptr, lse_ptr, delta_ptr, dq_ptr,
    S, scale, s_head, s_row,
    D: tl.constexpr, CAUSAL: tl.constexpr, QT: tl.constexpr, KT: tl.constexpr,
):
    qb = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    base = bh * s_head
    c = tl.arange(0, D)
    qm = qb * QT + tl.arange(0, QT)
    q_ok = qm < S
    qp = base + qm[:, None] * s_row + c[None, :]
    qq = tl.load(q_ptr + qp, mask=q_ok[:, None], other=0.0)
    gg = tl.load(do_ptr + qp, mask=q_ok[:, None], other=0.0)
    lse = tl.load(lse_ptr + bh * S + qm, mask=q_ok, other=0.0)
    dl = tl.load(delta_ptr + bh * S + qm, mask=q_ok, other=0.0)

    gq = tl.zeros([QT, D], dtype=tl.float32)

    last = S
    if CAUSAL:
        last = tl.minimum(S, (qb + 1) * QT)
    for n0 in range(0, last, KT):
        kn = n0 + tl.arange(0, KT)
        k_ok = kn < S
        kp = base + kn[:, None] * s_row + c[None, :]
        kk = tl.load(k_ptr + kp, mask=k_ok[:, None], other=0.0)
        vv = tl.load(v_ptr + kp, mask=k_ok[:, None], other=0.0)

        s = tl.dot(qq, tl.trans(kk)) * scale
        seen = q_ok[:, None] & k_ok[None, :]
        if CAUSAL:
            seen = seen & (kn[None, :] <= qm[:, None])
        p = tl.where(seen, _probs(s, lse[:, None]), 0.0)

        dp = tl.dot(gg, tl.trans(vv))
        ds = p * (dp - dl[:, None])
        gq += tl.dot(ds.to(kk.dtype), kk)

    tl.store(dq_ptr + qp, (gq * scale).to(dq_ptr.dtype.element_ty), mask=q_ok[:, None])


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

    row_dot_kernel[(triton.cdiv(S, ROWS), B * H)](o, do, delta, S, s_head, s_row, D=D, R=ROWS)
    key_side_kernel[(triton.cdiv(S, KT), B * H)](
        q, k, v, do, lse, delta, dk, dv, S, scale, s_head, s_row,
        D=D, CAUSAL=bool(causal), QT=QT, KT=KT,
    )
    query_side_kernel[(triton.cdiv(S, QT), B * H)](
        q, k, v, do, lse, delta, dq, S, scale, s_head, s_row,
        D=D, CAUSAL=bool(causal), QT=QT, KT=KT,
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
