"""Level 6 - Naive Attention: scores kernel, softmax kernel, P @ V kernel, S x S buffers in between."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def qk_kernel(
    q_ptr, k_ptr, sc_ptr,
    S, scale,
    q_sh, q_ss, k_sh, k_ss, sc_sh, sc_si,
    D: tl.constexpr, CAUSAL: tl.constexpr, TQ: tl.constexpr, TK: tl.constexpr,
):
    head = tl.program_id(0)
    qi = tl.program_id(1) * TQ + tl.arange(0, TQ)
    kj = tl.program_id(2) * TK + tl.arange(0, TK)
    d = tl.arange(0, D)
    hq = head.to(tl.int64)

    q_tile = tl.load(q_ptr + hq * q_sh + qi[:, None] * q_ss + d[None, :], mask=qi[:, None] < S, other=0.0)
    # k^T loaded directly as a (D, TK) tile
    kt_tile = tl.load(k_ptr + hq * k_sh + kj[None, :] * k_ss + d[:, None], mask=kj[None, :] < S, other=0.0)
    s = tl.dot(q_tile, kt_tile) * scale
    if CAUSAL:
        s = tl.where(kj[None, :] < qi[:, None], s, float("-inf"))
    keep = (qi[:, None] < S) & (kj[None, :] < S)
    tl.store(sc_ptr + hq * sc_sh + qi[:, None] * sc_si + kj[None, :], s, mask=keep)


@triton.jit
def row_softmax_kernel(
    sc_ptr, pr_ptr,
    n_rows, S,
    RB: tl.constexpr, CB: tl.constexpr,
):
    r = tl.program_id(0) * RB + tl.arange(0, RB)
    r_ok = r < n_rows
    base = r.to(tl.int64)[:, None] * S
    # pass 1: running max and running sum together
    run_max = tl.full([RB], float("-inf"), tl.float32)
    run_sum = tl.zeros([RB], tl.float32)
    for c0 in range(0, S, CB):
        c = c0 + tl.arange(0, CB)
        ok = r_ok[:, None] & (c[None, :] < S)
        x = tl.load(sc_ptr + base + c[None, :], mask=ok, other=float("-inf"))
        new_max = tl.maximum(run_max, tl.max(x, axis=1))
        safe_max = tl.where(new_max == float("-inf"), 0.0, new_max)
        run_sum = run_sum * tl.exp(run_max - safe_max) + tl.sum(tl.exp(x - safe_max[:, None]), axis=1)
        run_max = new_max
    safe_max = tl.where(run_max == float("-inf"), 0.0, run_max)
    inv = 1.0 / tl.where(run_sum == 0.0, 1.0, run_sum)
    # pass 2: write the normalised probabilities
    for c0 in range(0, S, CB):
        c = c0 + tl.arange(0, CB)
        ok = r_ok[:, None] & (c[None, :] < S)
        x = tl.load(sc_ptr + base + c[None, :], mask=ok, other=float("-inf"))
        p = tl.exp(x - safe_max[:, None]) * inv[:, None]
        tl.store(pr_ptr + base + c[None, :], p, mask=ok)


@triton.jit
def pv_kernel(
    pr_ptr, v_ptr, o_ptr,
    S,
    p_sh, p_si, v_sh, v_ss, o_sh, o_ss,
    D: tl.constexpr, TQ: tl.constexpr, TK: tl.constexpr,
):
    head = tl.program_id(1).to(tl.int64)
    qi = tl.program_id(0) * TQ + tl.arange(0, TQ)
    d = tl.arange(0, D)
    acc = tl.zeros([TQ, D], dtype=tl.float32)
    for k0 in range(0, S, TK):
        kj = k0 + tl.arange(0, TK)
        p = tl.load(pr_ptr + head * p_sh + qi[:, None] * p_si + kj[None, :],
                    mask=(qi[:, None] < S) & (kj[None, :] < S), other=0.0)
        vt = tl.load(v_ptr + head * v_sh + kj[:, None] * v_ss + d[None, :], mask=kj[:, None] < S, other=0.0)
        acc += tl.dot(p.to(vt.dtype), vt)
    tl.store(o_ptr + head * o_sh + qi[:, None] * o_ss + d[None, :],
             acc.to(o_ptr.dtype.element_ty), mask=qi[:, None] < S)


def naive_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    BH = B * H
    q3, k3, v3 = (t.reshape(BH, S, D) for t in (q, k, v))
    scores = torch.empty((BH, S, S), device=q.device, dtype=torch.float32)
    probs = torch.empty_like(scores)
    out = torch.empty_like(q3)
    TQ, TK = 32, 32

    qk_kernel[(BH, triton.cdiv(S, TQ), triton.cdiv(S, TK))](
        q3, k3, scores, S, scale,
        q3.stride(0), q3.stride(1), k3.stride(0), k3.stride(1), scores.stride(0), scores.stride(1),
        D=D, CAUSAL=bool(causal), TQ=TQ, TK=TK,
    )

    n_rows = BH * S
    CB = min(triton.next_power_of_2(S), 64)
    RB = 16
    row_softmax_kernel[(triton.cdiv(n_rows, RB),)](scores, probs, n_rows, S, RB=RB, CB=CB)

    pv_kernel[(triton.cdiv(S, TQ), BH)](
        probs, v3, out, S,
        probs.stride(0), probs.stride(1), v3.stride(0), v3.stride(1), out.stride(0), out.stride(1),
        D=D, TQ=TQ, TK=TK,
    )
    return out.reshape(B, H, S, D)
