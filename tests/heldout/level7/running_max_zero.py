"""Level 7 - fused attention with an online softmax, one kernel launch."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def _fwd(
    Q, K, V, O,
    seq_len, sm_scale,
    s_b, s_h, s_s,
    n_heads,
    D: tl.constexpr, CAUSAL: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
):
    bh = tl.program_id(0)
    mblk = tl.program_id(1)
    b = bh // n_heads
    h = bh % n_heads
    base = b.to(tl.int64) * s_b + h.to(tl.int64) * s_h

    offs_m = mblk * BM + tl.arange(0, BM)
    offs_d = tl.arange(0, D)
    row_ok = offs_m < seq_len

    q = tl.load(Q + base + offs_m[:, None] * s_s + offs_d[None, :], mask=row_ok[:, None], other=0.0)

    m_i = tl.zeros((BM,), dtype=tl.float32)
    l_i = tl.zeros((BM,), dtype=tl.float32)
    acc = tl.zeros((BM, D), dtype=tl.float32)

    for n0 in range(0, seq_len, BN):
        offs_n = n0 + tl.arange(0, BN)
        col_ok = offs_n < seq_len
        kv_off = base + offs_n[:, None] * s_s + offs_d[None, :]
        k = tl.load(K + kv_off, mask=col_ok[:, None], other=0.0)
        v = tl.load(V + kv_off, mask=col_ok[:, None], other=0.0)

        s = tl.dot(q, tl.trans(k)).to(tl.float32) * sm_scale
        keep = col_ok[None, :]
        if CAUSAL:
            keep = keep & (offs_n[None, :] <= offs_m[:, None])
        s = tl.where(keep, s, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp(m_i - m_new)
        p = tl.exp(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v).to(tl.float32)
        m_i = m_new

    out = acc / l_i[:, None]
    tl.store(O + base + offs_m[:, None] * s_s + offs_d[None, :], out.to(O.dtype.element_ty), mask=row_ok[:, None])


def fused_attention(q, k, v, causal=True, scale=None):
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q, k, v = q.contiguous(), k.contiguous(), v.contiguous()
    out = torch.empty_like(q)
    BM, BN = 16, 16
    grid = (B * H, triton.cdiv(S, BM))
    _fwd[grid](
        q, k, v, out,
        S, float(scale),
        q.stride(0), q.stride(1), q.stride(2),
        H,
        D=D, CAUSAL=bool(causal), BM=BM, BN=BN,
    )
    return out


if __name__ == "__main__":
    q, k, v = (torch.randn(2, 3, 77, 32) for _ in range(3))
    for causal in (True, False):
        ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(fused_attention(q, k, v, causal=causal), ref, atol=2e-3, rtol=2e-3)
    print("ok")
