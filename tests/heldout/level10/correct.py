"""Level 10 - grouped-query attention, k and v read in place."""

import math
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634
BLOCK_M, BLOCK_N = (16, 16) if INTERPRETED else (64, 64)


@triton.jit
def _gqa_kernel(
    Q, K, V, Out,
    S, H_Q, H_KV, qk_scale,
    stride_qbh, stride_kvbh, stride_s,
    GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    pid_m = tl.program_id(0)
    bhq = tl.program_id(1)
    b = bhq // H_Q
    h = bhq % H_Q
    hk = h // GROUP
    kv_row = b * H_KV + hk

    q_base = Q + bhq.to(tl.int64) * stride_qbh
    o_base = Out + bhq.to(tl.int64) * stride_qbh
    k_base = K + kv_row.to(tl.int64) * stride_kvbh
    v_base = V + kv_row.to(tl.int64) * stride_kvbh

    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    q = tl.load(q_base + rows[:, None] * stride_s + dims[None, :], mask=rows[:, None] < S, other=0.0)

    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), tl.float32)

    if CAUSAL:
        lo_end = pid_m * BLOCK_M
        hi_end = tl.minimum((pid_m + 1) * BLOCK_M, S)
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N
        hi_end = S

    # full tiles, no mask
    for start in range(0, lo_end, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        k = tl.load(k_base + cols[:, None] * stride_s + dims[None, :])
        v = tl.load(v_base + cols[:, None] * stride_s + dims[None, :])
        s = tl.dot(q, tl.trans(k)) * qk_scale
        m_new = tl.maximum(m_i, tl.max(s, 1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    # diagonal / ragged tile, masked
    for start in range(lo_end, hi_end, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        cmask = cols < S
        k = tl.load(k_base + cols[:, None] * stride_s + dims[None, :], mask=cmask[:, None], other=0.0)
        v = tl.load(v_base + cols[:, None] * stride_s + dims[None, :], mask=cmask[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * qk_scale
        visible = cmask[None, :]
        if CAUSAL:
            visible = visible & (cols[None, :] <= rows[:, None])
        s = tl.where(visible, s, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, 1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    o = acc / l_i[:, None]
    tl.store(o_base + rows[:, None] * stride_s + dims[None, :], o.to(Out.dtype.element_ty), mask=rows[:, None] < S)


def gqa_attention(q, k, v, causal=True, scale=None):
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (triton.cdiv(S, BLOCK_M), B * H_q)
    _gqa_kernel[grid](
        q, k, v, out,
        S, H_q, H_kv, scale * LOG2E,
        q.stride(1), k.stride(1), q.stride(2),
        GROUP=H_q // H_kv, HEAD_DIM=D, CAUSAL=bool(causal),
        BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out


if __name__ == "__main__":
    B, H_q, H_kv, S, D = 2, 4, 2, 77, 32
    q = torch.randn(B, H_q, S, D)
    k, v = (torch.randn(B, H_kv, S, D) for _ in range(2))
    for causal in (True, False):
        k_rep, v_rep = (t.repeat_interleave(H_q // H_kv, dim=1) for t in (k, v))
        ref = torch.nn.functional.scaled_dot_product_attention(q, k_rep, v_rep, is_causal=causal)
        torch.testing.assert_close(gqa_attention(q, k, v, causal=causal), ref, atol=2e-3, rtol=2e-3)
    print("ok")
