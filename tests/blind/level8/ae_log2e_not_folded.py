"""Level 8 - Flash Attention: one launch, exp2 online softmax, causal tiles skipped / masked / bare."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634


@triton.jit
def _kv_step(
    acc, l_run, m_run, q_tile,
    kb, vb, row_stride, n0, qi, S, qk_scale,
    NEED_MASK: tl.constexpr, CAUSAL: tl.constexpr, BN: tl.constexpr, D: tl.constexpr,
):
    kj = n0 + tl.arange(0, BN)
    d = tl.arange(0, D)
    offs = kj[:, None] * row_stride + d[None, :]
    if NEED_MASK:
        k_t = tl.load(kb + offs, mask=kj[:, None] < S, other=0.0)
        v_t = tl.load(vb + offs, mask=kj[:, None] < S, other=0.0)
    else:
        k_t = tl.load(kb + offs)
        v_t = tl.load(vb + offs)
    s = tl.dot(q_tile, tl.trans(k_t)) * qk_scale
    if NEED_MASK:
        hide = kj[None, :] >= S
        if CAUSAL:
            hide = hide | (kj[None, :] > qi[:, None])
        s = tl.where(hide, float("-inf"), s)
    m_next = tl.maximum(m_run, tl.max(s, axis=1))
    corr = tl.exp2(m_run - m_next)
    p = tl.exp2(s - m_next[:, None])
    l_run = l_run * corr + tl.sum(p, axis=1)
    acc = acc * corr[:, None]
    acc = tl.dot(p.to(v_t.dtype), v_t, acc)
    return acc, l_run, m_next


@triton.jit
def flash_fwd_kernel(
    q_ptr, k_ptr, v_ptr, o_ptr,
    S, qk_scale,
    head_stride, row_stride,
    D: tl.constexpr, CAUSAL: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
):
    tl.static_assert(BM % BN == 0)
    blk = tl.program_id(0)
    head_off = tl.program_id(1).to(tl.int64) * head_stride
    qb = q_ptr + head_off
    kb = k_ptr + head_off
    vb = v_ptr + head_off
    ob = o_ptr + head_off

    qi = blk * BM + tl.arange(0, BM)
    d = tl.arange(0, D)
    q_tile = tl.load(qb + qi[:, None] * row_stride + d[None, :], mask=qi[:, None] < S, other=0.0)

    m_run = tl.full([BM], float("-inf"), tl.float32)
    l_run = tl.zeros([BM], tl.float32)
    acc = tl.zeros([BM, D], tl.float32)

    if CAUSAL:
        bare_end = blk * BM
        masked_end = tl.minimum((blk + 1) * BM, S)
    else:
        bare_end = (S // BN) * BN
        masked_end = S

    for n0 in range(0, bare_end, BN):
        acc, l_run, m_run = _kv_step(acc, l_run, m_run, q_tile, kb, vb, row_stride, n0, qi, S, qk_scale,
                                     False, CAUSAL, BN, D)
    for n0 in range(bare_end, masked_end, BN):
        acc, l_run, m_run = _kv_step(acc, l_run, m_run, q_tile, kb, vb, row_stride, n0, qi, S, qk_scale,
                                     True, CAUSAL, BN, D)

    res = acc / l_run[:, None]
    tl.store(ob + qi[:, None] * row_stride + d[None, :], res.to(o_ptr.dtype.element_ty), mask=qi[:, None] < S)


def flash_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    BM, BN = (32, 16) if INTERPRETED else (64, 32)
    grid = (triton.cdiv(S, BM), B * H)
    flash_fwd_kernel[grid](
        q, k, v, out,
        S, scale,
        q.stride(1), q.stride(2),
        D=D, CAUSAL=bool(causal), BM=BM, BN=BN,
    )
    return out
