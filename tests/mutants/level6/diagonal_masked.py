"""Mutant: the causal mask hides the diagonal too (j >= i), leaving row 0 with no key."""

EXPECT = 'diagonal is masked too'

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
    bh = tl.program_id(2).to(tl.int64)  # B*H*S*S can exceed 2^31 on a GPU
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, D)

    q = tl.load(q_ptr + bh * stride_qh + rows[:, None] * stride_qs + dims[None, :], mask=rows[:, None] < S, other=0.0)
    k = tl.load(k_ptr + bh * stride_kh + cols[:, None] * stride_ks + dims[None, :], mask=cols[:, None] < S, other=0.0)
    s = tl.dot(q, tl.trans(k)) * scale
    if CAUSAL:  # a compile-time branch: the non-causal kernel has no mask at all
        s = tl.where(cols[None, :] >= rows[:, None], float("-inf"), s)

    tl.store(
        scores_ptr + bh * stride_sh + rows[:, None] * stride_si + cols[None, :],
        s,
        mask=(rows[:, None] < S) & (cols[None, :] < S),
    )


@triton.jit
def softmax_kernel(
    scores_ptr, probs_ptr,
    n_rows, S,
    BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Step 2: softmax over each row of the (n_rows, S) score matrix, BLOCK_R rows per program (level 3).

    A row may be longer than one block, so it is read in chunks of BLOCK_N columns, in three passes:
    the row maximum, the sum of exp(x - max), then the normalised weights.
    """
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    row_ok = rows < n_rows
    # Rows past the end repeat the last real row, so every row in flight has a finite maximum (no
    # exp(-inf - (-inf)) = NaN); their results are never stored.
    safe_rows = tl.minimum(rows, n_rows - 1)
    row_start = safe_rows.to(tl.int64) * S  # int64: B*H*S*S can exceed 2^31 on a GPU

    # Pass 1: the row maximum. Padding columns read -inf so they never win. Every real row has a finite
    # maximum: in a causal row, key 0 is always visible.
    # (`while` loops, not `for start in range(0, S, BLOCK_N)`: triton 3.6's interpreter cannot run a
    # range with a runtime bound under numpy >= 2.4.)
    m = tl.full([BLOCK_R], float("-inf"), tl.float32)
    start = 0
    while start < S:
        cols = start + tl.arange(0, BLOCK_N)
        x = tl.load(scores_ptr + row_start[:, None] + cols[None, :], mask=cols[None, :] < S, other=float("-inf"))
        m = tl.maximum(m, tl.max(x, axis=1))
        start += BLOCK_N

    # Pass 2: the normaliser. Subtracting m keeps every exponent <= 0, so exp cannot overflow; masked
    # and padding scores are -inf and contribute exp(-inf) = 0.
    total = tl.zeros([BLOCK_R], tl.float32)
    start = 0
    while start < S:
        cols = start + tl.arange(0, BLOCK_N)
        x = tl.load(scores_ptr + row_start[:, None] + cols[None, :], mask=cols[None, :] < S, other=float("-inf"))
        total += tl.sum(tl.exp(x - m[:, None]), axis=1)
        start += BLOCK_N

    # Pass 3: the weights.
    start = 0
    while start < S:
        cols = start + tl.arange(0, BLOCK_N)
        in_row = cols[None, :] < S
        x = tl.load(scores_ptr + row_start[:, None] + cols[None, :], mask=in_row, other=float("-inf"))
        p = tl.exp(x - m[:, None]) / total[:, None]
        tl.store(probs_ptr + row_start[:, None] + cols[None, :], p, mask=row_ok[:, None] & in_row)
        start += BLOCK_N


@triton.jit
def pv_kernel(
    probs_ptr, v_ptr, out_ptr,
    S,
    stride_ph, stride_pi, stride_vh, stride_vs, stride_oh, stride_os,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Step 3: out = probs @ v for BLOCK_M queries of one head, looping over the keys (level 2)."""
    pid_m = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)  # B*H*S*S can exceed 2^31 on a GPU
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    dims = tl.arange(0, D)

    acc = tl.zeros([BLOCK_M, D], tl.float32)
    start = 0
    while start < S:  # `while`, not `range`: see softmax_kernel
        keys = start + tl.arange(0, BLOCK_N)
        p = tl.load(
            probs_ptr + bh * stride_ph + rows[:, None] * stride_pi + keys[None, :],
            mask=(rows[:, None] < S) & (keys[None, :] < S),
            other=0.0,
        )
        # Padding keys must contribute nothing: their weight is 0 and their v row is 0.
        v = tl.load(v_ptr + bh * stride_vh + keys[:, None] * stride_vs + dims[None, :], mask=keys[:, None] < S, other=0.0)
        # tl.dot wants both operands in one dtype: the weights go to v's (a no-op for float32).
        acc += tl.dot(p.to(v.dtype), v)
        start += BLOCK_N

    tl.store(
        out_ptr + bh * stride_oh + rows[:, None] * stride_os + dims[None, :],
        acc.to(out_ptr.dtype.element_ty),
        mask=rows[:, None] < S,
    )


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

    # Tiles of 64 keep tl.dot's operands >= 16 in every dimension (a GPU requirement).
    BLOCK_M, BLOCK_N = 64, 64
    grid = (triton.cdiv(S, BLOCK_M), triton.cdiv(S, BLOCK_N), B * H)
    scores_kernel[grid](
        q3, k3, scores,
        S, scale,
        q3.stride(0), q3.stride(1), k3.stride(0), k3.stride(1), scores.stride(0), scores.stride(1),
        D=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )

    # The softmax sees all B*H*S rows as one (n_rows, S) matrix. A chunk is as wide as the row, up to
    # 1024 columns, and a program takes as many rows as fit in about 8K elements (at most 64): few,
    # full programs for the interpreter, tiles small enough for a GPU's registers.
    n_rows = B * H * S
    BLOCK_SOFTMAX = min(triton.next_power_of_2(S), 1024)
    BLOCK_R = min(64, 8192 // BLOCK_SOFTMAX)
    softmax_kernel[(triton.cdiv(n_rows, BLOCK_R),)](scores, probs, n_rows, S, BLOCK_R=BLOCK_R, BLOCK_N=BLOCK_SOFTMAX)

    pv_kernel[(triton.cdiv(S, BLOCK_M), B * H)](
        probs, v3, out,
        S,
        probs.stride(0), probs.stride(1), v3.stride(0), v3.stride(1), out.stride(0), out.stride(1),
        D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out.reshape(B, H, S, D)

