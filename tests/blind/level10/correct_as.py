"""Level 10 - Grouped-query attention: flash attention where query head h reads kv head h // group.

One launch over (query tiles, B * Hq). k and v are read in place from their (B * Hkv, S, D) layout.
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
BLOCK_M, BLOCK_N = (32, 16) if INTERPRETED else (128, 64)


@triton.jit
def _kv_tile(acc, l_run, m_run, q, k_head, v_head, stride_s, n0, qrows, S, qk_scale,
             APPLY_MASK: tl.constexpr, CAUSAL: tl.constexpr,
             BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr):
    kcols = n0 + tl.arange(0, BLOCK_N)
    d = tl.arange(0, HEAD_DIM)
    kv_off = kcols[:, None] * stride_s + d[None, :]
    if APPLY_MASK:
        kin = kcols[:, None] < S
        k = tl.load(k_head + kv_off, mask=kin, other=0.0)
        v = tl.load(v_head + kv_off, mask=kin, other=0.0)
    else:
        k = tl.load(k_head + kv_off)
        v = tl.load(v_head + kv_off)

    z = tl.dot(q, tl.trans(k)) * qk_scale
    if APPLY_MASK:
        ok = kcols[None, :] < S
        if CAUSAL:
            ok = ok & (kcols[None, :] <= qrows[:, None])
        z = tl.where(ok, z, float("-inf"))

    m_new = tl.maximum(m_run, tl.max(z, axis=1))
    corr = tl.exp2(m_run - m_new)
    p = tl.exp2(z - m_new[:, None])
    l_run = l_run * corr + tl.sum(p, axis=1)
    acc = tl.dot(p.to(v.dtype), v, acc * corr[:, None])
    return acc, l_run, m_new


@triton.jit
def gqa_attention_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, H_Q, H_KV, qk_scale,
    stride_qbh, stride_kvbh, stride_s,
    GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    mt = tl.program_id(0)
    bhq = tl.program_id(1)
    b = bhq // H_Q
    h = bhq % H_Q
    kv_row = b * H_KV + h // GROUP

    q_head = q_ptr + bhq.to(tl.int64) * stride_qbh
    o_head = out_ptr + bhq.to(tl.int64) * stride_qbh
    k_head = k_ptr + kv_row.to(tl.int64) * stride_kvbh
    v_head = v_ptr + kv_row.to(tl.int64) * stride_kvbh

    qrows = mt * BLOCK_M + tl.arange(0, BLOCK_M)
    d = tl.arange(0, HEAD_DIM)
    q_off = qrows[:, None] * stride_s + d[None, :]
    qin = qrows[:, None] < S
    q = tl.load(q_head + q_off, mask=qin, other=0.0)

    m_run = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)
    l_run = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)

    if CAUSAL:
        free_end = mt * BLOCK_M
        masked_end = tl.minimum((mt + 1) * BLOCK_M, S)
    else:
        free_end = (S // BLOCK_N) * BLOCK_N
        masked_end = S

    for n0 in range(0, free_end, BLOCK_N):
        acc, l_run, m_run = _kv_tile(acc, l_run, m_run, q, k_head, v_head, stride_s, n0, qrows, S,
                                     qk_scale, False, CAUSAL, BLOCK_N, HEAD_DIM)
    for n0 in range(free_end, masked_end, BLOCK_N):
        acc, l_run, m_run = _kv_tile(acc, l_run, m_run, q, k_head, v_head, stride_s, n0, qrows, S,
                                     qk_scale, True, CAUSAL, BLOCK_N, HEAD_DIM)

    res = acc / l_run[:, None]
    tl.store(o_head + q_off, res.to(out_ptr.dtype.element_ty), mask=qin)


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (triton.cdiv(S, BLOCK_M), B * H_q)
    gqa_attention_kernel[grid](
        q, k, v, out, S, H_q, H_kv, scale * LOG2E,
        q.stride(1), k.stride(1), q.stride(2),
        GROUP=H_q // H_kv, HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out
