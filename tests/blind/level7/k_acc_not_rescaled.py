"""Level 7 - Fused Attention: one kernel, an online softmax, no S x S matrix.

THE IDEA
    Level 6 wrote the S x S scores and probabilities to memory and read them back. For long sequences
    that traffic, not the arithmetic, sets the speed (S = 16k is 256M numbers per head). Here ONE kernel
    does everything: each program owns a block of queries, keeps their scores in registers one block of
    keys at a time, and never stores a score at all.

    The catch is the softmax: it needs the maximum and the sum over the WHOLE row, but the program only
    sees one block of keys at a time. The *online softmax* solves this. Keep, for every query row, a
    running maximum m, a running normaliser l = sum(exp(s - m)) and a running output accumulator
    acc = sum(exp(s - m) * v). When a new block raises the maximum from m_old to m_new, everything
    summed so far was measured against the old maximum; multiplying it by

        alpha = exp(m_old - m_new)          (<= 1)

    moves it onto the new one, because exp(s - m_old) * exp(m_old - m_new) = exp(s - m_new). After the
    last block, out = acc / l. This is the heart of Flash Attention (level 8 makes it fast).

THE ALGORITHM
    One program per (block of BLOCK_M queries, batch * head):
    1. Load the (BLOCK_M, D) block of q once; m = -inf, l = 0, acc = 0 (float32) for each row.
    2. For each block of BLOCK_N keys (start = 0, BLOCK_N, 2 * BLOCK_N, ... < S):
         s      = q @ k_block^T * scale                          (BLOCK_M, BLOCK_N), in registers
         s      = -inf where the key is padding (j >= S) or, when causal, in the future (j > i)
         m_new  = maximum(m, rowmax(s))
         alpha  = exp(m - m_new)                                 rescales what was summed so far
         p      = exp(s - m_new)
         l      = l * alpha + rowsum(p)
         acc    = acc * alpha + p @ v_block
         m      = m_new
    3. Store acc / l for the real query rows (i < S).
    Every row always sees key 0 (causal or not), so m is finite after the first block and no
    exp(-inf - (-inf)) = NaN can appear.

SHAPES AND DTYPES
    q, k, v : (B, H, S, D) contiguous, same dtype: float32 or float16 (bfloat16 on a GPU); S >= 1;
              D a power of two, 16..128
    causal  : True hides every key j > i from query i (query i sees keys 0..i)
    scale   : a float, or None for 1 / sqrt(D)
    returns a new (B, H, S, D) tensor in q's dtype, computed by ONE kernel launch, no S x S buffer

CHECK YOUR WORK
    pytest --level 7          the quest's checks (S = 1, ragged S, causal and not, large logits,
                              scores that grow along the keys, explicit scale)
    pytest --hint 7           the next hint, if you are stuck
    python katas/level7_fused_attention.py    a quick local self-check
"""

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
    bh = tl.program_id(0)
    qblk = tl.program_id(1)
    base = bh.to(tl.int64) * stride_bh

    rows = qblk * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)
    q = tl.load(q_ptr + base + rows[:, None] * stride_s + dims[None, :], mask=rows[:, None] < S, other=0.0)

    m_i = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)
    l_i = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_M, D), dtype=tl.float32)

    # causal: nothing past the last query of this block can be seen
    if CAUSAL:
        kv_end = tl.minimum((qblk + 1) * BLOCK_M, S)
    else:
        kv_end = S

    for start in range(0, kv_end, BLOCK_N):
        cols = start + tl.arange(0, BLOCK_N)
        kv_ptrs = base + cols[:, None] * stride_s + dims[None, :]
        kv_mask = cols[:, None] < S
        k = tl.load(k_ptr + kv_ptrs, mask=kv_mask, other=0.0)
        v = tl.load(v_ptr + kv_ptrs, mask=kv_mask, other=0.0)

        s = tl.dot(q, tl.trans(k)) * scale
        if CAUSAL:
            keep = (cols[None, :] <= rows[:, None]) & (cols[None, :] < S)
        else:
            keep = cols[None, :] < S
        s = tl.where(keep, s, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp(m_i - m_new)
        p = tl.exp(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    o = acc / l_i[:, None]
    tl.store(out_ptr + base + rows[:, None] * stride_s + dims[None, :], o.to(out_ptr.dtype.element_ty),
             mask=rows[:, None] < S)


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
    grid = (B * H, triton.cdiv(S, BLOCK_M))
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
