"""Level 6 - Naive Attention: scores, mask, softmax, P @ V, one kernel each.

THE IDEA
    Attention lets every query gather information from the keys it matches best:
        out = softmax(q @ k^T * scale) @ v            (per batch and head)
    You have already written every piece: the scores (level 4), the causal mask (level 5), a row-wise
    softmax (level 3) and a matrix product (level 2). Here you chain them: one kernel per step, with the
    S x S scores and probabilities stored in memory between the steps.

    This is correct and it is how attention was computed for years, but it is slow for long sequences:
    each head's S x S matrix is written and read back several times, and memory traffic, not arithmetic,
    sets the speed. Keep this version: levels 7 and 8 compute the very same numbers without ever storing
    an S x S matrix, and this one is what you will compare them with.

THE ALGORITHM
    View q, k, v as (B*H, S, D). With two float32 buffers `scores` and `probs` of shape (B*H, S, S):
    1. scores = q @ k^T * scale, tile by tile (level 4); when causal, set every j > i to -inf (level 5).
    2. probs = softmax(scores) along each row (level 3): subtract the row maximum before exp, so that
       large scores cannot overflow; rows longer than one block are walked in chunks.
    3. out = probs @ v: each program owns BLOCK_M queries, loops over the keys BLOCK_N at a time and
       accumulates tl.dot(p_tile, v_tile) in float32; store in q's dtype.

SHAPES AND DTYPES
    q, k, v : (B, H, S, D), same dtype: float32 or float16 (bfloat16 on a GPU); S >= 1; D a power of two, 16..128
    causal  : True hides every key j > i from query i (query i sees keys 0..i, so query 0 sees key 0 only)
    scale   : a float, or None for 1 / sqrt(D)
    returns a new (B, H, S, D) tensor in q's dtype

CHECK YOUR WORK
    pytest --level 6          the quest's checks (S = 1, ragged S, causal and not, large logits, explicit scale)
    pytest --hint 6           the next hint, if you are stuck
    python katas/level6_naive_attention.py    a quick local self-check
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
def scores_kernel(
    q_ptr, k_ptr, scores_ptr,
    S, scale,
    stride_qh, stride_qs, stride_kh, stride_ks, stride_sh, stride_si,
    D: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Step 1: one (BLOCK_M, BLOCK_N) tile of q @ k^T * scale, causally masked when asked (levels 4 and 5)."""
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    bh = tl.program_id(2)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    d = tl.arange(0, D)
    q = tl.load(q_ptr + bh * stride_qh + rows[:, None] * stride_qs + d[None, :], mask=rows[:, None] < S, other=0.0)
    k = tl.load(k_ptr + bh * stride_kh + cols[:, None] * stride_ks + d[None, :], mask=cols[:, None] < S, other=0.0)
    s = tl.dot(q, tl.trans(k)) * scale
    if CAUSAL:
        s = tl.where(tl.arange(0, BLOCK_N)[None, :] > tl.arange(0, BLOCK_M)[:, None], float("-inf"), s)
    keep = (rows[:, None] < S) & (cols[None, :] < S)
    tl.store(scores_ptr + bh * stride_sh + rows[:, None] * stride_si + cols[None, :], s, mask=keep)


@triton.jit
def softmax_kernel(
    scores_ptr, probs_ptr,
    n_rows, S,
    BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Step 2: softmax over one row of the (n_rows, S) score matrix per program (BLOCK_R unused)."""
    r = tl.program_id(0)
    src = scores_ptr + r * S
    dst = probs_ptr + r * S
    c = tl.arange(0, BLOCK_N)

    m = float("-inf")
    for start in range(0, S, BLOCK_N):
        x = tl.load(src + start + c, mask=start + c < S, other=float("-inf"))
        m = tl.maximum(m, tl.max(x, axis=0))

    total = 0.0
    for start in range(0, S, BLOCK_N):
        x = tl.load(src + start + c, mask=start + c < S, other=float("-inf"))
        total += tl.sum(tl.exp(x - m), axis=0)

    for start in range(0, S, BLOCK_N):
        x = tl.load(src + start + c, mask=start + c < S, other=float("-inf"))
        tl.store(dst + start + c, tl.exp(x - m) / total, mask=start + c < S)


@triton.jit
def pv_kernel(
    probs_ptr, v_ptr, out_ptr,
    S,
    stride_ph, stride_pi, stride_vh, stride_vs, stride_oh, stride_os,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Step 3: out = probs @ v for BLOCK_M queries of one head, looping over the keys (level 2)."""
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    d = tl.arange(0, D)
    acc = tl.zeros([BLOCK_M, D], dtype=tl.float32)
    for start in range(0, S, BLOCK_N):
        keys = start + tl.arange(0, BLOCK_N)
        p = tl.load(probs_ptr + bh * stride_ph + rows[:, None] * stride_pi + keys[None, :],
                    mask=(rows[:, None] < S) & (keys[None, :] < S), other=0.0)
        v = tl.load(v_ptr + bh * stride_vh + keys[:, None] * stride_vs + d[None, :],
                    mask=keys[:, None] < S, other=0.0)
        acc += tl.dot(p.to(v.dtype), v)
    tl.store(out_ptr + bh * stride_oh + rows[:, None] * stride_os + d[None, :],
             acc.to(out_ptr.dtype.element_ty), mask=rows[:, None] < S)


def naive_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q3, k3, v3 = (t.reshape(B * H, S, D) for t in (q, k, v))
    # The naive part: two S x S float32 matrices per head, in memory.
    scores = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    probs = torch.empty_like(scores)
    out = torch.empty_like(q3)
    BLOCK_M, BLOCK_N = 32, 32
    n_rows = B * H * S  # the softmax sees the scores as one (n_rows, S) matrix
    BLOCK_SOFTMAX = min(triton.next_power_of_2(S), 512)
    tiles = triton.cdiv(S, BLOCK_M)
    scores_kernel[(tiles, triton.cdiv(S, BLOCK_N), B * H)](
        q3, k3, scores, S, scale,
        q3.stride(0), q3.stride(1), k3.stride(0), k3.stride(1), scores.stride(0), scores.stride(1),
        D=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    softmax_kernel[(n_rows,)](scores, probs, n_rows, S, BLOCK_R=1, BLOCK_N=BLOCK_SOFTMAX)
    pv_kernel[(tiles, B * H)](
        probs, v3, out, S,
        probs.stride(0), probs.stride(1), v3.stride(0), v3.stride(1), out.stride(0), out.stride(1),
        D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out.reshape(B, H, S, D)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(naive_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 6 self-check passed: now run `pytest --level 6`")
