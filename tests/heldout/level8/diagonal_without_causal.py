"""Level 8 - flash attention: 2-D tiles, exp2, causal tile skipping."""

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
def _tile(acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, offs_m, S, qk_scale,
          MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr):
    offs_n = start_n + tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, HEAD_DIM)
    ptrs = offs_n[:, None] * stride_s + offs_d[None, :]
    if MASKED:
        k = tl.load(k_base + ptrs, mask=offs_n[:, None] < S, other=0.0)
        v = tl.load(v_base + ptrs, mask=offs_n[:, None] < S, other=0.0)
    else:
        k = tl.load(k_base + ptrs)
        v = tl.load(v_base + ptrs)
    s = tl.dot(q, tl.trans(k)) * qk_scale
    if MASKED:
        ok = offs_n[None, :] < S
        if CAUSAL:
            ok = ok & (offs_n[None, :] <= offs_m[:, None])
        s = tl.where(ok, s, float("-inf"))
    m_new = tl.maximum(m_i, tl.max(s, 1))
    alpha = tl.exp2(m_i - m_new)
    p = tl.exp2(s - m_new[:, None])
    l_i = l_i * alpha + tl.sum(p, 1)
    acc = acc * alpha[:, None]
    acc = tl.dot(p.to(v.dtype), v, acc)
    return acc, l_i, m_new


@triton.jit
def _flash_fwd(
    Q, K, V, Out,
    S, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    start_m = tl.program_id(0)
    bh = tl.program_id(1)
    off = bh.to(tl.int64) * stride_bh
    q_base = Q + off
    k_base = K + off
    v_base = V + off
    o_base = Out + off

    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    q = tl.load(q_base + offs_m[:, None] * stride_s + offs_d[None, :], mask=offs_m[:, None] < S, other=0.0)

    m_i = tl.zeros((BLOCK_M,), dtype=tl.float32) - float("inf")
    l_i = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)

    if CAUSAL:
        lo_end = start_m * BLOCK_M
        hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N
        hi_end = S

    for start_n in range(0, lo_end, BLOCK_N):
        acc, l_i, m_i = _tile(acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, offs_m, S, qk_scale,
                              False, CAUSAL, BLOCK_N, HEAD_DIM)
    for start_n in range(lo_end, hi_end, BLOCK_N):
        acc, l_i, m_i = _tile(acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, offs_m, S, qk_scale,
                              True, False, BLOCK_N, HEAD_DIM)

    o = acc / l_i[:, None]
    tl.store(o_base + offs_m[:, None] * stride_s + offs_d[None, :], o.to(Out.dtype.element_ty),
             mask=offs_m[:, None] < S)


def flash_attention(q, k, v, causal=True, scale=None):
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    BLOCK_M, BLOCK_N = (32, 16) if INTERPRETED else (64, 32)
    grid = (triton.cdiv(S, BLOCK_M), B * H)
    _flash_fwd[grid](
        q, k, v, out, S, scale * LOG2E, q.stride(1), q.stride(2),
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out


if __name__ == "__main__":
    q, k, v = (torch.randn(2, 3, 77, 32) for _ in range(3))
    for causal in (True, False):
        ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(flash_attention(q, k, v, causal=causal), ref, atol=2e-3, rtol=2e-3)
    print("ok")
