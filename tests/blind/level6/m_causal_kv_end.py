"""Level 6 - Naive Attention, in two kernels: (1) masked scores into memory, (2) softmax + P @ V."""

import math
import os

import torch

if not torch.cuda.is_available():
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
    pid_m = tl.program_id(0)
    pid_n = tl.program_id(1)
    bh = tl.program_id(2)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    dims = tl.arange(0, D)

    q = tl.load(q_ptr + bh * stride_qh + rows[:, None] * stride_qs + dims[None, :],
                mask=rows[:, None] < S, other=0.0)
    k = tl.load(k_ptr + bh * stride_kh + cols[:, None] * stride_ks + dims[None, :],
                mask=cols[:, None] < S, other=0.0)
    s = tl.dot(q, tl.trans(k)) * scale
    if CAUSAL:
        s = tl.where(cols[None, :] > rows[:, None], float("-inf"), s)
    tl.store(scores_ptr + bh * stride_sh + rows[:, None] * stride_si + cols[None, :], s,
             mask=(rows[:, None] < S) & (cols[None, :] < S))


@triton.jit
def softmax_pv_kernel(
    scores_ptr, v_ptr, out_ptr,
    S,
    stride_sh, stride_si, stride_vh, stride_vs, stride_oh, stride_os,
    D: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    pid_m = tl.program_id(0)
    bh = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    row_ok = rows < S
    dims = tl.arange(0, D)
    s_base = scores_ptr + bh * stride_sh
    v_base = v_ptr + bh * stride_vh

    if CAUSAL:
        kv_end = tl.minimum(pid_m * BLOCK_M, S)
    else:
        kv_end = S

    # pass 1: row max and row sum
    m = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l = tl.zeros([BLOCK_M], tl.float32)
    for start_n in range(0, kv_end, BLOCK_N):
        cols = start_n + tl.arange(0, BLOCK_N)
        s = tl.load(s_base + rows[:, None] * stride_si + cols[None, :],
                    mask=row_ok[:, None] & (cols[None, :] < S), other=float("-inf"))
        s = tl.where(row_ok[:, None], s, 0.0)
        m_new = tl.maximum(m, tl.max(s, axis=1))
        l = l * tl.exp(m - m_new) + tl.sum(tl.exp(s - m_new[:, None]), axis=1)
        m = m_new

    # pass 2: normalised probabilities times v
    acc = tl.zeros([BLOCK_M, D], tl.float32)
    for start_n in range(0, kv_end, BLOCK_N):
        cols = start_n + tl.arange(0, BLOCK_N)
        s = tl.load(s_base + rows[:, None] * stride_si + cols[None, :],
                    mask=row_ok[:, None] & (cols[None, :] < S), other=float("-inf"))
        s = tl.where(row_ok[:, None], s, 0.0)
        p = tl.exp(s - m[:, None]) / l[:, None]
        v = tl.load(v_base + cols[:, None] * stride_vs + dims[None, :], mask=cols[:, None] < S, other=0.0)
        acc += tl.dot(p.to(v.dtype), v)

    tl.store(out_ptr + bh * stride_oh + rows[:, None] * stride_os + dims[None, :],
             acc.to(out_ptr.dtype.element_ty), mask=row_ok[:, None])


def naive_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    q3, k3, v3 = (t.reshape(B * H, S, D) for t in (q, k, v))
    scores = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    out = torch.empty_like(q3)

    SC_M, SC_N = 32, 32
    grid1 = (triton.cdiv(S, SC_M), triton.cdiv(S, SC_N), B * H)
    scores_kernel[grid1](
        q3, k3, scores, S, scale,
        q3.stride(0), q3.stride(1), k3.stride(0), k3.stride(1), scores.stride(0), scores.stride(1),
        D=D, CAUSAL=bool(causal), BLOCK_M=SC_M, BLOCK_N=SC_N,
    )

    PV_M, PV_N = 16, 32
    grid2 = (triton.cdiv(S, PV_M), B * H)
    softmax_pv_kernel[grid2](
        scores, v3, out, S,
        scores.stride(0), scores.stride(1), v3.stride(0), v3.stride(1), out.stride(0), out.stride(1),
        D=D, CAUSAL=bool(causal), BLOCK_M=PV_M, BLOCK_N=PV_N,
    )
    return out.reshape(B, H, S, D)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q, k, v = (torch.randn(2, 3, 77, 32, device=device) for _ in range(3))
    for causal in (True, False):
        expected = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
        torch.testing.assert_close(naive_attention(q, k, v, causal=causal), expected, atol=2e-3, rtol=2e-3)
    print("level 6 self-check passed")
