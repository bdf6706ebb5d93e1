"""Level 6 - Naive attention (seventh author's version).

Three kernels with S x S float32 buffers in between:
  1. scores: grid (batch*head, query tile), each program loops over every key tile of its rows and
     writes the scaled (and, if causal, masked) scores;
  2. softmax: one row per program, an online max/sum pass then a normalising pass;
  3. probs @ v: grid (batch*head, query tile), accumulating over key tiles.
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
    q_ptr, k_ptr, scores_ptr, S, scale, stride_bh, stride_s,
    D: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    bh = tl.program_id(0).to(tl.int64)
    rows = tl.program_id(1) * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    row_ok = rows < S
    q = tl.load(q_ptr + bh * stride_bh + rows[:, None] * stride_s + dims[None, :], mask=row_ok[:, None], other=0.0)
    out_base = scores_ptr + bh * S * S + rows[:, None].to(tl.int64) * S
    for start_n in range(0, S, BLOCK_N):
        cols = start_n + tl.arange(0, BLOCK_N)
        col_ok = cols < S
        k = tl.load(k_ptr + bh * stride_bh + cols[:, None] * stride_s + dims[None, :], mask=col_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)).to(tl.float32) * scale
        if CAUSAL:
            s = tl.where(cols[None, :] > rows[:, None], float("-inf"), s)
        tl.store(out_base + cols[None, :], s, mask=row_ok[:, None] & col_ok[None, :])


@triton.jit
def softmax_kernel(scores_ptr, probs_ptr, S, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    src = scores_ptr + row * S
    dst = probs_ptr + row * S
    lanes = tl.arange(0, BLOCK)
    m = tl.full((), float("-inf"), tl.float32)
    l = tl.full((), 0.0, tl.float32)
    for c0 in range(0, S, BLOCK):
        cols = c0 + lanes
        x = tl.load(src + cols, mask=cols < S, other=float("-inf"))
        m_new = tl.maximum(m, tl.max(x, axis=0))
        l = l * tl.exp(m - m_new) + tl.sum(tl.exp(x - m_new), axis=0)
        m = m_new
    for c0 in range(0, S, BLOCK):
        cols = c0 + lanes
        x = tl.load(src + cols, mask=cols < S, other=float("-inf"))
        tl.store(dst + cols, tl.exp(x - m) / l, mask=cols < S)


@triton.jit
def pv_kernel(
    probs_ptr, v_ptr, out_ptr, S, stride_bh, stride_s,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    bh = tl.program_id(0).to(tl.int64)
    rows = tl.program_id(1) * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    row_ok = rows < S
    acc = tl.zeros((BLOCK_M, D), tl.float32)
    p_base = probs_ptr + bh * S * S + rows[:, None].to(tl.int64) * S
    for start_n in range(0, S, BLOCK_N):
        cols = start_n + tl.arange(0, BLOCK_N)
        col_ok = cols < S
        p = tl.load(p_base + cols[None, :], mask=row_ok[:, None] & col_ok[None, :], other=0.0)
        v = tl.load(v_ptr + bh * stride_bh + cols[:, None] * stride_s + dims[None, :], mask=col_ok[:, None], other=0.0)
        acc = tl.dot(p.to(v.dtype), v, acc)
    tl.store(out_ptr + bh * stride_bh + rows[:, None] * stride_s + dims[None, :],
             acc.to(out_ptr.dtype.element_ty), mask=row_ok[:, None])


def naive_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    scores = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    probs = torch.empty_like(scores)
    out = torch.empty_like(q)
    BLOCK_M, BLOCK_N = 32, 16
    tiles = triton.cdiv(S, BLOCK_M)
    scores_kernel[(B * H, tiles)](q, k, scores, S, scale, q.stride(1), q.stride(2),
                                  D=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N)
    softmax_kernel[(B * H * S,)](scores, probs, S, BLOCK=min(triton.next_power_of_2(S), 64))
    pv_kernel[(B * H, tiles)](probs, v, out, S, q.stride(1), q.stride(2), D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N)
    return out
