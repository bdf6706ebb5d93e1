"""Level 10 - Grouped-query attention: many query heads, few key/value heads, no copies.

My version: grid axis 0 walks the (batch, query head) pairs and axis 1 the query tiles. One loop over
the key tiles with the mask applied on every tile (causal runs stop at the diagonal tile).
"""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
LOG2E = 1.4426950408889634  # log2(e): exp(x) == exp2(x * LOG2E)
BLOCK_M, BLOCK_N = (16, 32) if INTERPRETED else (64, 64)


@triton.jit
def gqa_attention_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, H_Q, H_KV, qk_scale,
    stride_qbh, stride_kvbh, stride_s,
    GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    bhq = tl.program_id(0)
    start_m = tl.program_id(1)
    b = bhq // H_Q
    h = bhq % H_Q
    hk = h // GROUP
    kv_row = b * H_KV + hk

    q_base = q_ptr + bhq.to(tl.int64) * stride_qbh
    o_base = out_ptr + bhq.to(tl.int64) * stride_qbh
    k_base = k_ptr + kv_row.to(tl.int64) * stride_kvbh
    v_base = v_ptr + kv_row.to(tl.int64) * stride_kvbh

    offs_m = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_d = tl.arange(0, HEAD_DIM)
    m_ok = offs_m < S

    q = tl.load(q_base + offs_m[:, None] * stride_s + offs_d[None, :], mask=m_ok[:, None], other=0.0)

    m_i = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)
    l_i = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)

    if CAUSAL:
        hi = tl.minimum((start_m + 1) * BLOCK_M, S)
    else:
        hi = S

    for n0 in range(0, hi, BLOCK_N):
        offs_n = n0 + tl.arange(0, BLOCK_N)
        n_ok = offs_n < S
        k = tl.load(k_base + offs_n[:, None] * stride_s + offs_d[None, :], mask=n_ok[:, None], other=0.0)
        v = tl.load(v_base + offs_n[:, None] * stride_s + offs_d[None, :], mask=n_ok[:, None], other=0.0)

        s = tl.dot(q, tl.trans(k)) * qk_scale
        keep = n_ok[None, :]
        if CAUSAL:
            keep = keep & (offs_n[None, :] <= offs_m[:, None])
        s = tl.where(keep, s, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    o = acc / l_i[:, None]
    tl.store(o_base + offs_m[:, None] * stride_s + offs_d[None, :], o.to(out_ptr.dtype.element_ty), mask=m_ok[:, None])


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (B * H_q, triton.cdiv(S, BLOCK_M))
    gqa_attention_kernel[grid](
        q, k, v, out,
        S, H_q, H_kv, scale * LOG2E,
        q.stride(1), k.stride(1), q.stride(2),
        GROUP=H_q // H_kv, HEAD_DIM=D, CAUSAL=bool(causal),
        BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    B, H_q, H_kv, S, D = 2, 4, 2, 77, 32
    q = torch.randn(B, H_q, S, D, device=device)
    k, v = (torch.randn(B, H_kv, S, D, device=device) for _ in range(2))
    for causal in (True, False):
        k_rep, v_rep = (t.repeat_interleave(H_q // H_kv, dim=1) for t in (k, v))
        expected = torch.nn.functional.scaled_dot_product_attention(q, k_rep, v_rep, is_causal=causal)
        torch.testing.assert_close(gqa_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 10 self-check passed: now run `pytest --level 10`")
