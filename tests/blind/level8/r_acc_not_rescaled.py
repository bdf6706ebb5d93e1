"""Level 8 - Flash Attention: 2-D tiles, exp2, and causal tiles skipped, masked or left bare.

THE IDEA
    Level 7 already computes attention in one kernel with an online softmax and no S x S matrix. Flash
    Attention is that same algorithm arranged so the GPU's tensor cores stay busy:
    - a 2-D grid (query blocks x batch*heads) of programs, each owning a (BLOCK_M, D) tile of queries
      and streaming (BLOCK_N, D) tiles of keys and values through tl.dot;
    - exp2 instead of exp: exp(x) = exp2(x * log2(e)), and the hardware computes exp2 directly, so
      log2(e) is folded into the scale once and the running max lives in log2 units;
    - causal attention does only the work it needs. For a query tile, the key tiles fall in three kinds:
          below the diagonal  every key is visible to every row: no mask at all (the fast path)
          on the diagonal     some keys are in the future: apply the causal mask (j > i -> -inf)
          above the diagonal  no key is visible to any row: skip them, they are never loaded
      which halves the work of causal attention and keeps masks out of the hot loop;
    - block sizes, warps and pipelining stages are autotuned on the GPU.

THE ALGORITHM
    One program per (query tile start_m, batch * head):
    1. Load the q tile once; m = -inf, l = 0, acc = 0 (float32); qk_scale = scale * log2(e).
    2. Stage 1, unmasked: keys [0, lo_end), full tiles every row sees entirely:
           causal:     lo_end = start_m * BLOCK_M          (all keys before the tile's first query)
           non-causal: lo_end = (S // BLOCK_N) * BLOCK_N   (every full key tile)
    3. Stage 2, masked: keys [lo_end, hi_end), where padding (j >= S) and, when causal, j > i get -inf:
           causal:     hi_end = min((start_m + 1) * BLOCK_M, S)   (the diagonal tile)
           non-causal: hi_end = S                                  (the ragged last tile, if any)
       Keys from hi_end on are hidden from every row of the tile: skipped.
    4. For each key tile (both stages), the online softmax of level 7 in base 2:
           s = q @ k^T * qk_scale;  m_new = max(m, rowmax(s));  alpha = exp2(m - m_new)
           p = exp2(s - m_new);     l = l * alpha + rowsum(p);  acc = acc * alpha + p @ v;  m = m_new
    5. Store acc / l for the real query rows (i < S).
    BLOCK_M is a multiple of BLOCK_N, so stage 1 ends on a key-tile boundary.

SHAPES AND DTYPES
    q, k, v : (B, H, S, D) contiguous, same dtype: float32 or float16 (bfloat16 on a GPU); S >= 1;
              D a power of two, 16..128
    causal  : True hides every key j > i from query i (query i sees keys 0..i)
    scale   : a float, or None for 1 / sqrt(D)
    returns a new (B, H, S, D) tensor in q's dtype, computed by ONE kernel launch, no S x S buffer

CHECK YOUR WORK
    pytest --level 8          the quest's checks (as level 7's: ragged S, causal and not, large logits,
                              growing scores, explicit scale)
    pytest --hint 8           the next hint, if you are stuck
    python katas/level8_flash_attention.py    a quick local self-check
    pytest --level 8 --benchmark    on a GPU: time it against PyTorch's scaled_dot_product_attention
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

BLOCK_M = 32 if INTERPRETED else 64
BLOCK_N = 32 if INTERPRETED else 64


@triton.jit
def flash_attention_kernel(
    q_ptr, k_ptr, v_ptr, out_ptr,
    S, qk_scale,
    stride_bh, stride_s,
    HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    start_m = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    base = bh * stride_bh
    rows = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, HEAD_DIM)

    q = tl.load(q_ptr + base + rows[:, None] * stride_s + dims[None, :], mask=rows[:, None] < S, other=0.0)

    m_i = tl.full((BLOCK_M,), float("-inf"), dtype=tl.float32)
    l_i = tl.zeros((BLOCK_M,), dtype=tl.float32)
    acc = tl.zeros((BLOCK_M, HEAD_DIM), dtype=tl.float32)

    if CAUSAL:
        hi = tl.minimum((start_m + 1) * BLOCK_M, S)
    else:
        hi = S

    for start_n in range(0, hi, BLOCK_N):
        cols = start_n + tl.arange(0, BLOCK_N)
        kv_off = base + cols[:, None] * stride_s + dims[None, :]
        k = tl.load(k_ptr + kv_off, mask=cols[:, None] < S, other=0.0)
        v = tl.load(v_ptr + kv_off, mask=cols[:, None] < S, other=0.0)

        s = tl.dot(q, tl.trans(k)) * qk_scale
        keep = cols[None, :] < S
        if CAUSAL:
            keep = keep & (cols[None, :] <= rows[:, None])
        s = tl.where(keep, s, float("-inf"))

        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc + tl.dot(p.to(v.dtype), v)
        m_i = m_new

    o = acc / l_i[:, None]
    tl.store(out_ptr + base + rows[:, None] * stride_s + dims[None, :], o.to(out_ptr.dtype.element_ty),
             mask=rows[:, None] < S)


def flash_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    out = torch.empty_like(q)
    grid = (triton.cdiv(S, BLOCK_M), B * H)
    flash_attention_kernel[grid](
        q, k, v, out, S, scale * LOG2E, q.stride(1), q.stride(2),
        HEAD_DIM=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out


if __name__ == "__main__":
    device = "cpu" if INTERPRETED else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(flash_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 8 self-check passed: now run `pytest --level 8`")
