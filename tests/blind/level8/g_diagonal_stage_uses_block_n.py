"""Level 8 - Flash Attention (seventh author's version).

K is read through transposed pointers, so each key tile arrives as a (HEAD_DIM, BLOCK_N) tile ready
for tl.dot (no tl.trans). The grid is (batch*head, query tile)
and the query tiles are visited heaviest-first (reverse order). Two stages: unmasked full tiles, then
the masked diagonal / ragged tiles. Base-2 exponentials with log2(e) folded into the scale.
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
if INTERPRETED:
    BLOCK_M, BLOCK_N, NUM_WARPS = 32, 16, 4
else:
    BLOCK_M, BLOCK_N, NUM_WARPS = 128, 64, 8


@triton.jit
def _online_step(acc, l_i, m_i, q, kt_ptrs, v_ptrs, start_n, rows, S, qk_scale,
                 MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr):
    cols = start_n + tl.arange(0, BLOCK_N)
    if MASKED:
        kt = tl.load(kt_ptrs, mask=cols[None, :] < S, other=0.0)
        v = tl.load(v_ptrs, mask=cols[:, None] < S, other=0.0)
    else:
        kt = tl.load(kt_ptrs)
        v = tl.load(v_ptrs)
    s = tl.dot(q, kt) * qk_scale
    if MASKED:
        hide = cols[None, :] >= S
        if CAUSAL:
            hide = hide | (cols[None, :] > rows[:, None])
        s = tl.where(hide, float("-inf"), s)
    m_new = tl.maximum(m_i, tl.max(s, axis=1))
    alpha = tl.exp2(m_i - m_new)
    p = tl.exp2(s - m_new[:, None])
    l_i = l_i * alpha + tl.sum(p, axis=1)
    acc = acc * alpha[:, None]
    acc = tl.dot(p.to(v.dtype), v, acc)
    return acc, l_i, m_new


@triton.jit
def flash_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, qk_scale, stride_bh, stride_s, n_q_tiles,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    bh = tl.program_id(0).to(tl.int64)
    tile = n_q_tiles - 1 - tl.program_id(1)  # the longest causal rows first
    start = tile * BLOCK_M
    head = bh * stride_bh
    rows = start + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    keys = tl.arange(0, BLOCK_N)
    q_off = head + rows[:, None] * stride_s + dims[None, :]
    q = tl.load(q_ptr + q_off, mask=rows[:, None] < S, other=0.0)
    # K read transposed: a (HEAD_DIM, BLOCK_N) tile, key j of dim d at j * stride_s + d.
    kt_ptrs = k_ptr + head + dims[:, None] + keys[None, :] * stride_s
    v_ptrs = v_ptr + head + keys[:, None] * stride_s + dims[None, :]
    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), tl.float32)
    if CAUSAL:
        lo_end = start
        hi_end = tl.minimum(start + BLOCK_N, S)
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N
        hi_end = S
    # stage 1: whole tiles every row of this query tile sees in full
    for start_n in range(0, lo_end, BLOCK_N):
        acc, l_i, m_i = _online_step(acc, l_i, m_i, q, kt_ptrs + start_n * stride_s, v_ptrs + start_n * stride_s,
                                     start_n, rows, S, qk_scale, False, CAUSAL, BLOCK_N)
    # stage 2: the diagonal (causal) or the ragged last tile (non-causal), with masks
    for start_n in range(lo_end, hi_end, BLOCK_N):
        acc, l_i, m_i = _online_step(acc, l_i, m_i, q, kt_ptrs + start_n * stride_s, v_ptrs + start_n * stride_s,
                                     start_n, rows, S, qk_scale, True, CAUSAL, BLOCK_N)
    o = acc / l_i[:, None]
    tl.store(out_ptr + q_off, o.to(out_ptr.dtype.element_ty), mask=rows[:, None] < S)


def flash_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    n_q_tiles = triton.cdiv(S, BLOCK_M)
    flash_kernel[(B * H, n_q_tiles)](
        q, k, v, out, S, scale * LOG2E, q.stride(1), q.stride(2), n_q_tiles,
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, num_warps=NUM_WARPS,
    )
    return out
