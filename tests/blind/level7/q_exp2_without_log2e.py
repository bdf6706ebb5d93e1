"""Level 7 - Fused Attention: one kernel, an online softmax, no S x S matrix."""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
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
    """softmax(q @ k^T * scale) @ v for BLOCK_M queries of one (batch, head), streaming over the keys."""
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    base = bh * stride_bh
    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    offs_d = tl.arange(0, D)
    row_ok = offs_m < S

    q = tl.load(q_ptr + base + offs_m[:, None] * stride_s + offs_d[None, :], mask=row_ok[:, None], other=0.0)
    qk_scale = scale

    m_i = tl.full((BLOCK_M,), float("-inf"), tl.float32)
    l_i = tl.zeros((BLOCK_M,), tl.float32)
    acc = tl.zeros((BLOCK_M, D), tl.float32)

    if CAUSAL:
        hi = tl.minimum(S, (pid_m + 1) * BLOCK_M)
    else:
        hi = S
    for start in range(0, hi, BLOCK_N):
        keys = start + offs_n
        key_ok = keys < S
        k = tl.load(k_ptr + base + keys[:, None] * stride_s + offs_d[None, :], mask=key_ok[:, None], other=0.0)
        v = tl.load(v_ptr + base + keys[:, None] * stride_s + offs_d[None, :], mask=key_ok[:, None], other=0.0)
        s = tl.dot(q, tl.trans(k)) * qk_scale
        keep = key_ok[None, :]
        if CAUSAL:
            keep = keep & (keys[None, :] <= offs_m[:, None])
        s = tl.where(keep, s, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    o = acc / l_i[:, None]
    tl.store(out_ptr + base + offs_m[:, None] * stride_s + offs_d[None, :], o.to(out_ptr.dtype.element_ty),
             mask=row_ok[:, None])


def fused_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)

    # tl.dot needs every dimension >= 16 on a GPU. Under the interpreter each loop step costs
    # milliseconds, so the blocks are a little smaller there only to keep the CPU checks quick.
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
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(fused_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 7 self-check passed: now run `pytest --level 7`")
