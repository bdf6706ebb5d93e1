"""Level 10 - Grouped-query attention: many query heads, few key/value heads, no copies."""

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
BLOCK_M, BLOCK_N = (32, 16) if INTERPRETED else (128, 64)


@triton.jit
def _kv_tile(acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, rows, S, qk_scale,
             MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr):
    cols = start_n + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, HEAD_DIM)
    off = cols[:, None] * stride_s + dims[None, :]
    if MASKED:
        k = tl.load(k_base + off, mask=cols[:, None] < S, other=0.0)
        v = tl.load(v_base + off, mask=cols[:, None] < S, other=0.0)
    else:
        k = tl.load(k_base + off)
        v = tl.load(v_base + off)
    s = tl.dot(q, tl.trans(k)) * qk_scale
    if MASKED:
        vis = cols[None, :] < S
        if CAUSAL:
            vis = vis & (cols[None, :] <= rows[:, None])
        s = tl.where(vis, s, float("-inf"))
    m_new = tl.maximum(m_i, tl.max(s, axis=1))
    alpha = tl.exp2(m_i - m_new)
    p = tl.exp2(s - m_new[:, None])
    l_i = l_i * alpha + tl.sum(p, axis=1)
    acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
    return acc, l_i, m_new


@triton.jit
def gqa_attention_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, H_KV, qk_scale,
    stride_qb, stride_qh, stride_kb, stride_kh, stride_s,
    GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    start_m = tl.program_id(0)
    h = tl.program_id(1)
    b = tl.program_id(2).to(tl.int64)
    kvh = h % H_KV

    q_base = q_ptr + b * stride_qb + h * stride_qh
    o_base = out_ptr + b * stride_qb + h * stride_qh
    k_base = k_ptr + b * stride_kb + kvh * stride_kh
    v_base = v_ptr + b * stride_kb + kvh * stride_kh

    rows = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)
    q_off = rows[:, None] * stride_s + dims[None, :]
    q = tl.load(q_base + q_off, mask=rows[:, None] < S, other=0.0)

    m_i = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)
    l_i = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)

    if CAUSAL:
        full_end = start_m * BLOCK_M
        end = tl.minimum((start_m + 1) * BLOCK_M, S)
    else:
        full_end = (S // BLOCK_N) * BLOCK_N
        end = S

    for start_n in range(0, full_end, BLOCK_N):
        acc, l_i, m_i = _kv_tile(acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, rows, S, qk_scale,
                                 False, CAUSAL, BLOCK_N, HEAD_DIM)
    for start_n in range(full_end, end, BLOCK_N):
        acc, l_i, m_i = _kv_tile(acc, l_i, m_i, q, k_base, v_base, stride_s, start_n, rows, S, qk_scale,
                                 True, CAUSAL, BLOCK_N, HEAD_DIM)

    o = acc / l_i[:, None]
    tl.store(o_base + q_off, o.to(out_ptr.dtype.element_ty), mask=rows[:, None] < S)


def gqa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H_q, S, D = q.shape
    H_kv = k.shape[1]
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (triton.cdiv(S, BLOCK_M), H_q, B)
    gqa_attention_kernel[grid](
        q, k, v, out, S, H_kv, scale * LOG2E,
        q.stride(0), q.stride(1), k.stride(0), k.stride(1), q.stride(2),
        GROUP=H_q // H_kv, HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
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
