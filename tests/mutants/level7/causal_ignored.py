"""Mutant: the causal flag is ignored: future keys are never masked."""

EXPECT = 'causal mask is not applied'

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
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    # q, k, v and out share one contiguous (B*H, S, D) layout. int64: B*H*S*D may exceed 2^31 on a GPU.
    head = bh.to(tl.int64) * stride_bh
    row_ok = rows[:, None] < S

    q = tl.load(q_ptr + head + rows[:, None] * stride_s + dims[None, :], mask=row_ok, other=0.0)

    # The running state of the online softmax, one entry per query row, in float32.
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)  # the largest score seen so far
    l_i = tl.zeros([BLOCK_M], tl.float32)  # sum of exp(s - m_i) over the keys seen so far
    acc = tl.zeros([BLOCK_M, D], tl.float32)  # sum of exp(s - m_i) * v over the keys seen so far

    # Pointers to the first block of keys and values; each step moves them BLOCK_N rows down.
    offs_n = tl.arange(0, BLOCK_N)
    k_ptrs = k_ptr + head + offs_n[:, None] * stride_s + dims[None, :]
    v_ptrs = v_ptr + head + offs_n[:, None] * stride_s + dims[None, :]

    # `while`, not `range`: triton 3.6's interpreter cannot run `range` over a runtime S with
    # numpy >= 2.4. Level 8 shows how to keep a `for` loop (which the compiler pipelines) on a GPU.
    start = 0
    while start < S:
        cols = start + offs_n
        key_ok = cols[:, None] < S
        k = tl.load(k_ptrs, mask=key_ok, other=0.0)
        s = tl.dot(q, tl.trans(k)) * scale

        # Padding keys read as 0 and would score 0, which is not "no weight": they must be -inf.
        visible = cols[None, :] < S
        s = tl.where(visible, s, float("-inf"))

        # Key 0 is visible to every row, so after the first block m_new is finite; in the first block
        # m_i = -inf gives alpha = 0, which simply zeroes the (still empty) state.
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp(m_i - m_new)
        p = tl.exp(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)

        v = tl.load(v_ptrs, mask=key_ok, other=0.0)
        # tl.dot wants both operands in one dtype: the weights go to v's (a no-op for float32).
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v)
        m_i = m_new
        start += BLOCK_N
        k_ptrs += BLOCK_N * stride_s
        v_ptrs += BLOCK_N * stride_s

    # l_i >= 1: the row's largest score contributes exp(0) = 1, so the division is safe.
    out = acc / l_i[:, None]
    # Rows past S were computed (harmlessly) but must not be stored.
    tl.store(out_ptr + head + rows[:, None] * stride_s + dims[None, :], out.to(out_ptr.dtype.element_ty), mask=row_ok)


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
        q, k, v, out,
        S, scale,
        q.stride(1), q.stride(2),
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
