"""Level 7 - Fused attention (seventh author's version).

One launch on a (batch*head, query tile) grid. Each program keeps its (BLOCK_M, D) queries in
registers and streams key/value tiles through an online softmax. When
causal, the key loop stops at the end of the program's own diagonal (later keys are all hidden).
"""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def fused_attention_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, scale, stride_bh, stride_s,
    D: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    bh = tl.program_id(0).to(tl.int64)
    start_m = tl.program_id(1) * BLOCK_M
    rows = start_m + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    base = bh * stride_bh
    row_ok = rows < S
    q = tl.load(q_ptr + base + rows[:, None] * stride_s + dims[None, :], mask=row_ok[:, None], other=0.0)
    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M, D), tl.float32)
    if CAUSAL:
        hi = tl.minimum(start_m + BLOCK_M, S)
    else:
        hi = S
    for start_n in range(0, hi, BLOCK_N):
        cols = start_n + tl.arange(0, BLOCK_N)
        col_ok = cols < S
        kv_off = base + cols[:, None] * stride_s + dims[None, :]
        k = tl.load(k_ptr + kv_off, mask=col_ok[:, None], other=0.0)
        v = tl.load(v_ptr + kv_off, mask=col_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * scale
        hide = ~col_ok[None, :]
        if CAUSAL:
            hide = hide | (cols[None, :] > rows[:, None])
        s = tl.where(hide, float("-inf"), s)
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp(m_i - m_new)
        p = tl.exp(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new
    tl.store(out_ptr + base + rows[:, None] * stride_s + dims[None, :],
             (acc / l_i[:, None]).to(out_ptr.dtype.element_ty), mask=row_ok[:, None])


def fused_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    BLOCK_M, BLOCK_N = 16, 32
    grid = (B * H, triton.cdiv(S, BLOCK_M))
    fused_attention_kernel[grid](
        q, k, v, out, S, scale, q.stride(1), q.stride(2),
        D=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out
