"""Level 6 - Naive attention (author aq): scores, then softmax, then probs @ v, one kernel each.

The scores kernel runs one program per (tile of the S x S matrix, head), with the tile index
flattened on axis 0. The softmax kernel runs one program per row: a first pass keeps a running max
and running sum, a second pass writes the probabilities. The P @ V kernel runs one program per
(query tile, head) and walks the keys.
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def scores_kernel(
    q_ptr, k_ptr, sc_ptr, S, scale, n_col_tiles,
    D: tl.constexpr, CAUSAL: tl.constexpr, TM: tl.constexpr, TN: tl.constexpr,
):
    tile = tl.program_id(0)
    head = tl.program_id(1)
    ti = tile // n_col_tiles
    tj = tile % n_col_tiles
    qi = ti * TM + tl.arange(0, TM)
    kj = tj * TN + tl.arange(0, TN)
    dd = tl.arange(0, D)
    hq = head.to(tl.int64) * S * D
    qt = tl.load(q_ptr + hq + qi[:, None] * D + dd[None, :], mask=qi[:, None] < S, other=0.0)
    kt = tl.load(k_ptr + hq + kj[:, None] * D + dd[None, :], mask=kj[:, None] < S, other=0.0)
    s = tl.dot(qt, tl.trans(kt)).to(tl.float32) * scale
    if CAUSAL:
        s = tl.where(kj[None, :] > qi[:, None], float("-inf"), s)
    hs = head.to(tl.int64) * S * S
    keep = (qi[:, None] < S) & (kj[None, :] < S)
    tl.store(sc_ptr + hs + qi[:, None] * S + kj[None, :], s, mask=keep)


@triton.jit
def softmax_kernel(sc_ptr, pr_ptr, S, CH: tl.constexpr):
    r = tl.program_id(0).to(tl.int64)
    src = sc_ptr + r * S
    dst = pr_ptr + r * S
    run_max = tl.full([], float("-inf"), tl.float32)
    run_sum = tl.full([], 0.0, tl.float32)
    for c0 in range(0, S, CH):
        cols = c0 + tl.arange(0, CH)
        x = tl.load(src + cols, mask=cols < S, other=float("-inf"))
        new_max = tl.maximum(run_max, tl.max(x, axis=0))
        run_sum = run_sum * tl.exp(run_max - new_max) + tl.sum(tl.exp(x - new_max), axis=0)
        run_max = new_max
    for c0 in range(0, S, CH):
        cols = c0 + tl.arange(0, CH)
        x = tl.load(src + cols, mask=cols < S, other=float("-inf"))
        tl.store(dst + cols, tl.exp(x - run_max) / run_sum, mask=cols < S)


@triton.jit
def pv_kernel(pr_ptr, v_ptr, o_ptr, S, D: tl.constexpr, TM: tl.constexpr, TN: tl.constexpr):
    qi = tl.program_id(0) * TM + tl.arange(0, TM)
    head = tl.program_id(1).to(tl.int64)
    dd = tl.arange(0, D)
    p_base = pr_ptr + head * S * S
    v_base = v_ptr + head * S * D
    acc = tl.zeros([TM, D], dtype=tl.float32)
    for k0 in range(0, S, TN):
        kj = k0 + tl.arange(0, TN)
        p = tl.load(p_base + qi[:, None] * S + kj[None, :],
                    mask=(qi[:, None] < S) & (kj[None, :] < S), other=0.0)
        vt = tl.load(v_base + kj[:, None] * D + dd[None, :], mask=kj[:, None] < S, other=0.0)
        acc += tl.dot(p.to(vt.dtype), vt)
    tl.store(o_ptr + head * S * D + qi[:, None] * D + dd[None, :],
             acc.to(o_ptr.dtype.element_ty), mask=qi[:, None] < S)


def naive_attention(q, k, v, causal=True, scale=None):
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    BH = B * H
    q3, k3, v3 = (t.reshape(BH, S, D) for t in (q, k, v))
    scores = torch.empty((BH, S, S), device=q.device, dtype=torch.float32)
    probs = torch.empty_like(scores)
    out = torch.empty_like(q3)
    TM, TN = 32, 32
    n_row_tiles, n_col_tiles = triton.cdiv(S, TM), triton.cdiv(S, TN)
    scores_kernel[(n_row_tiles * n_col_tiles, BH)](
        q3, k3, scores, S, float(scale), n_col_tiles,
        D=D, CAUSAL=bool(causal), TM=TM, TN=TN,
    )
    softmax_kernel[(BH * S,)](scores, probs, S, CH=min(triton.next_power_of_2(S), 512))
    pv_kernel[(n_row_tiles, BH)](probs, v3, out, S, D=D, TM=TM, TN=TN)
    return out.reshape(B, H, S, D)
