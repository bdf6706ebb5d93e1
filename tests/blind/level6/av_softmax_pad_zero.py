"""Level 6 - Naive Attention: scores, then a row softmax, then probs @ v, three kernels in a row."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def qk_kernel(
    q_ptr, k_ptr, s_ptr,
    S, scale,
    q_sh, q_ss, k_sh, k_ss, s_sh, s_si,
    D: tl.constexpr, CAUSAL: tl.constexpr, BQ: tl.constexpr, BK: tl.constexpr,
):
    bq = tl.program_id(0)
    bk = tl.program_id(1)
    head = tl.program_id(2).to(tl.int64)

    i = bq * BQ + tl.arange(0, BQ)
    j = bk * BK + tl.arange(0, BK)
    d = tl.arange(0, D)

    q_tile = tl.load(q_ptr + head * q_sh + i[:, None] * q_ss + d[None, :], mask=i[:, None] < S, other=0.0)
    k_tile = tl.load(k_ptr + head * k_sh + j[:, None] * k_ss + d[None, :], mask=j[:, None] < S, other=0.0)
    sc = tl.dot(q_tile, tl.trans(k_tile)) * scale
    if CAUSAL:
        sc = tl.where(j[None, :] > i[:, None], float("-inf"), sc)

    keep = (i[:, None] < S) & (j[None, :] < S)
    tl.store(s_ptr + head * s_sh + i[:, None] * s_si + j[None, :], sc, mask=keep)


@triton.jit
def row_softmax_kernel(
    s_ptr, p_ptr,
    n_rows, S,
    BR: tl.constexpr, BC: tl.constexpr,
):
    r = tl.program_id(0) * BR + tl.arange(0, BR)
    r_ok = r < n_rows
    base = r.to(tl.int64)[:, None] * S

    run_max = tl.full((BR,), float("-inf"), tl.float32)
    run_sum = tl.zeros((BR,), tl.float32)
    for c0 in range(0, S, BC):
        c = c0 + tl.arange(0, BC)
        ok = r_ok[:, None] & (c[None, :] < S)
        x = tl.load(s_ptr + base + c[None, :], mask=ok, other=0.0)
        new_max = tl.maximum(run_max, tl.max(x, axis=1))
        run_sum = run_sum * tl.exp(run_max - new_max) + tl.sum(tl.exp(x - new_max[:, None]), axis=1)
        run_max = new_max

    for c0 in range(0, S, BC):
        c = c0 + tl.arange(0, BC)
        ok = r_ok[:, None] & (c[None, :] < S)
        x = tl.load(s_ptr + base + c[None, :], mask=ok, other=float("-inf"))
        y = tl.exp(x - run_max[:, None]) / run_sum[:, None]
        tl.store(p_ptr + base + c[None, :], y, mask=ok)


@triton.jit
def pv_kernel(
    p_ptr, v_ptr, o_ptr,
    S,
    p_sh, p_si, v_sh, v_ss, o_sh, o_ss,
    D: tl.constexpr, BQ: tl.constexpr, BK: tl.constexpr,
):
    bq = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    i = bq * BQ + tl.arange(0, BQ)
    d = tl.arange(0, D)
    p_base = p_ptr + head * p_sh
    v_base = v_ptr + head * v_sh

    out = tl.zeros((BQ, D), tl.float32)
    for j0 in range(0, S, BK):
        j = j0 + tl.arange(0, BK)
        p = tl.load(p_base + i[:, None] * p_si + j[None, :], mask=(i[:, None] < S) & (j[None, :] < S), other=0.0)
        vt = tl.load(v_base + j[:, None] * v_ss + d[None, :], mask=j[:, None] < S, other=0.0)
        out += tl.dot(p.to(vt.dtype), vt)

    tl.store(o_ptr + head * o_sh + i[:, None] * o_ss + d[None, :], out.to(o_ptr.dtype.element_ty),
             mask=i[:, None] < S)


def naive_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q3, k3, v3 = (t.reshape(B * H, S, D) for t in (q, k, v))
    scores = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    probs = torch.empty_like(scores)
    out = torch.empty_like(q3)
    BQ, BK = 32, 32
    BH = B * H

    qk_kernel[(triton.cdiv(S, BQ), triton.cdiv(S, BK), BH)](
        q3, k3, scores, S, float(scale),
        q3.stride(0), q3.stride(1), k3.stride(0), k3.stride(1), scores.stride(0), scores.stride(1),
        D=D, CAUSAL=bool(causal), BQ=BQ, BK=BK,
    )

    n_rows = BH * S
    BC = min(triton.next_power_of_2(S), 1024)
    BR = max(1, min(32, 4096 // BC))
    row_softmax_kernel[(triton.cdiv(n_rows, BR),)](scores, probs, n_rows, S, BR=BR, BC=BC)

    pv_kernel[(triton.cdiv(S, BQ), BH)](
        probs, v3, out, S,
        probs.stride(0), probs.stride(1), v3.stride(0), v3.stride(1), out.stride(0), out.stride(1),
        D=D, BQ=BQ, BK=BK,
    )
    return out.reshape(B, H, S, D)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(naive_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 6 self-check passed")
