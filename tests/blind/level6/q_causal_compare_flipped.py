"""Level 6 - Naive Attention: scores, mask, softmax, P @ V, one kernel each."""

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
    """Step 1: one (BLOCK_M, BLOCK_N) tile of q @ k^T * scale, causally masked when asked."""
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
        s = tl.where(rows[:, None] > cols[None, :], float("-inf"), s)
    ok = (rows[:, None] < S) & (cols[None, :] < S)
    tl.store(scores_ptr + bh * stride_sh + rows[:, None] * stride_si + cols[None, :], s, mask=ok)


@triton.jit
def softmax_kernel(
    scores_ptr, probs_ptr,
    n_rows, S,
    BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Step 2: softmax of one row of the (n_rows, S) score matrix per program (BLOCK_R unused)."""
    r = tl.program_id(0)
    src = scores_ptr + r * S
    dst = probs_ptr + r * S
    lanes = tl.arange(0, BLOCK_N)

    # pass 1: the row max, kept per lane and folded at the end
    run_max = tl.full((BLOCK_N,), float("-inf"), tl.float32)
    for c0 in range(0, S, BLOCK_N):
        cols = c0 + lanes
        x = tl.load(src + cols, mask=cols < S, other=float("-inf"))
        run_max = tl.maximum(run_max, x)
    row_max = tl.max(run_max, axis=0)

    # pass 2: the denominator
    run_sum = tl.zeros((BLOCK_N,), tl.float32)
    for c0 in range(0, S, BLOCK_N):
        cols = c0 + lanes
        x = tl.load(src + cols, mask=cols < S, other=float("-inf"))
        run_sum += tl.exp(x - row_max)
    denom = tl.sum(run_sum, axis=0)

    # pass 3: normalise and write
    for c0 in range(0, S, BLOCK_N):
        cols = c0 + lanes
        x = tl.load(src + cols, mask=cols < S, other=float("-inf"))
        tl.store(dst + cols, tl.exp(x - row_max) / denom, mask=cols < S)


@triton.jit
def pv_kernel(
    probs_ptr, v_ptr, out_ptr,
    S,
    stride_ph, stride_pi, stride_vh, stride_vs, stride_oh, stride_os,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Step 3: out = probs @ v for BLOCK_M queries of one head, looping over the keys."""
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    d = tl.arange(0, D)
    acc = tl.zeros([BLOCK_M, D], tl.float32)
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
    BLOCK_SOFTMAX = min(triton.next_power_of_2(S), 256)
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
