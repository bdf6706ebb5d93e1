"""Level 6 - Naive Attention: scores kernel, softmax kernel, P @ V kernel."""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def qk_scores_kernel(
    q_ptr, k_ptr, s_ptr,
    S, scale,
    q_bh, q_s, k_bh, k_s, s_bh, s_i,
    D: tl.constexpr, CAUSAL: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
):
    pm = tl.program_id(0)
    pn = tl.program_id(1)
    bh = tl.program_id(2)
    i = pm * BM + tl.arange(0, BM)
    j = pn * BN + tl.arange(0, BN)
    d = tl.arange(0, D)

    qt = tl.load(q_ptr + bh * q_bh + i[:, None] * q_s + d[None, :], mask=i[:, None] < S, other=0.0)
    kt = tl.load(k_ptr + bh * k_bh + j[:, None] * k_s + d[None, :], mask=j[:, None] < S, other=0.0)
    sc = tl.dot(qt, tl.trans(kt)) * scale
    if CAUSAL:
        sc = tl.where(j[None, :] > i[:, None], float("-inf"), sc)
    ok = (i[:, None] < S) & (j[None, :] < S)
    tl.store(s_ptr + bh * s_bh + i[:, None] * s_i + j[None, :], sc, mask=ok)


@triton.jit
def rows_softmax_kernel(s_ptr, p_ptr, n_rows, S, ROWS: tl.constexpr, COLS: tl.constexpr):
    r = tl.program_id(0) * ROWS + tl.arange(0, ROWS)
    row_ok = r < n_rows
    c = tl.arange(0, COLS)

    m = tl.full((ROWS,), float("-inf"), tl.float32)
    l = tl.zeros((ROWS,), tl.float32)
    for c0 in range(0, S, COLS):
        cc = c0 + c
        ok = row_ok[:, None] & (cc[None, :] < S)
        x = tl.load(s_ptr + r[:, None] * S + cc[None, :], mask=ok, other=float("-inf"))
        x = tl.where(row_ok[:, None], x, 0.0)  # rows past the end: harmless zeros
        m_new = tl.maximum(m, tl.max(x, axis=1))
        l = l * tl.exp(m - m_new) + tl.sum(tl.exp(x - m_new[:, None]), axis=1)
        m = m_new

    for c0 in range(0, S, COLS):
        cc = c0 + c
        ok = row_ok[:, None] & (cc[None, :] < S)
        x = tl.load(s_ptr + r[:, None] * S + cc[None, :], mask=ok, other=float("-inf"))
        p = tl.exp(x - m[:, None]) / l[:, None]
        tl.store(p_ptr + r[:, None] * S + cc[None, :], p, mask=ok)


@triton.jit
def pv_kernel(
    p_ptr, v_ptr, o_ptr,
    S,
    p_bh, p_i, v_bh, v_s, o_bh, o_s,
    D: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
):
    pm = tl.program_id(0)
    bh = tl.program_id(1)
    i = pm * BM + tl.arange(0, BM)
    d = tl.arange(0, D)
    acc = tl.zeros((BM, D), tl.float32)
    for j0 in range(0, S, BN):
        j = j0 + tl.arange(0, BN)
        pt = tl.load(
            p_ptr + bh * p_bh + i[:, None] * p_i + j[None, :],
            mask=(i[:, None] < S) & (j[None, :] < S), other=0.0,
        )
        vt = tl.load(v_ptr + bh * v_bh + j[:, None] * v_s + d[None, :], mask=j[:, None] < S, other=0.0)
        acc += tl.dot(pt.to(vt.dtype), vt)
    tl.store(o_ptr + bh * o_bh + i[:, None] * o_s + d[None, :], acc.to(o_ptr.dtype.element_ty), mask=i[:, None] < S)


def naive_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    sm_scale = 1.0 / math.sqrt(D)
    if scale is None:
        scale = sm_scale
    BH = B * H
    q3, k3, v3 = (t.reshape(BH, S, D) for t in (q, k, v))
    scores = torch.empty((BH, S, S), device=q.device, dtype=torch.float32)
    probs = torch.empty_like(scores)
    out = torch.empty_like(q3)

    BM, BN = 32, 32
    qk_scores_kernel[(triton.cdiv(S, BM), triton.cdiv(S, BN), BH)](
        q3, k3, scores, S, sm_scale,
        q3.stride(0), q3.stride(1), k3.stride(0), k3.stride(1), scores.stride(0), scores.stride(1),
        D=D, CAUSAL=bool(causal), BM=BM, BN=BN,
    )

    n_rows = BH * S
    COLS = min(triton.next_power_of_2(S), 256)
    ROWS = 16
    rows_softmax_kernel[(triton.cdiv(n_rows, ROWS),)](scores, probs, n_rows, S, ROWS=ROWS, COLS=COLS)

    pv_kernel[(triton.cdiv(S, BM), BH)](
        probs, v3, out, S,
        probs.stride(0), probs.stride(1), v3.stride(0), v3.stride(1), out.stride(0), out.stride(1),
        D=D, BM=BM, BN=BN,
    )
    return out.reshape(B, H, S, D)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(naive_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    q, k, v = (torch.randn(1, 2, 300, 16, device=device) * 30 for _ in range(3))
    expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(naive_attention(q, k, v), expected, atol=2e-3, rtol=2e-3)
    print("ok")
