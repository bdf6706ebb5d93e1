"""Level 7 - Fused attention: one kernel, online softmax, scores never leave registers.

Each program owns BLOCK_M queries of one (batch, head) and streams over the keys BLOCK_N at a time,
keeping a running max, a running normaliser and a running output.
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
    S, scale,
    stride_bh, stride_s,
    D: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    m_blk = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    head_off = bh * stride_bh

    i_idx = m_blk * BLOCK_M + tl.arange(0, BLOCK_M)
    d_idx = tl.arange(0, D)
    n_idx = tl.arange(0, BLOCK_N)

    q_ptrs = q_ptr + head_off + i_idx[:, None] * stride_s + d_idx[None, :]
    qb = tl.load(q_ptrs, mask=(i_idx < S)[:, None], other=0.0)
    kT_ptrs = k_ptr + head_off + n_idx[None, :] * stride_s + d_idx[:, None]
    v_ptrs = v_ptr + head_off + n_idx[:, None] * stride_s + d_idx[None, :]

    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M, D), tl.float32)

    for start in range(0, S, BLOCK_N):
        j_idx = start + n_idx
        kT = tl.load(kT_ptrs, mask=(j_idx < S)[None, :], other=0.0)
        vb = tl.load(v_ptrs, mask=(j_idx < S)[:, None], other=0.0)

        s = tl.dot(qb, kT) * scale
        keep = (j_idx < S)[None, :]
        if CAUSAL:
            keep = keep & (j_idx[None, :] <= i_idx[:, None])
        s = tl.where(keep, s, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, 1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, 1)
        acc = acc * alpha[:, None] + tl.dot(p.to(vb.dtype), vb)
        m_i = m_new

        kT_ptrs += BLOCK_N * stride_s
        v_ptrs += BLOCK_N * stride_s

    o = acc / l_i[:, None]
    o_ptrs = out_ptr + head_off + i_idx[:, None] * stride_s + d_idx[None, :]
    tl.store(o_ptrs, o.to(out_ptr.dtype.element_ty), mask=(i_idx < S)[:, None])


def fused_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    if os.environ.get("TRITON_INTERPRET") == "1":
        BLOCK_M, BLOCK_N = 32, 32
    else:
        BLOCK_M, BLOCK_N = 64, 64
    grid = (triton.cdiv(S, BLOCK_M), B * H)
    fused_attention_kernel[grid](
        q, k, v, out, S, scale, q.stride(1), q.stride(2),
        D=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    for S in (1, 77):
        q, k, v = (torch.randn(2, 3, S, 32, device=device) for _ in range(3))
        for causal in (True, False):
            ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
            torch.testing.assert_close(fused_attention(q, k, v, causal=causal), ref, atol=2e-3, rtol=2e-3)
    print("ok")
