"""Level 6 - Naive Attention (author an): scores, softmax and P @ V as three separate kernels.

The S x S scores and probabilities of every head live in float32 buffers between the launches.
"""

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
    """One band of BLOCK_M query rows of one head, against every key, BLOCK_N keys at a time."""
    head = tl.program_id(0).to(tl.int64)
    band = tl.program_id(1)
    qi = band * BLOCK_M + tl.arange(0, BLOCK_M)
    d = tl.arange(0, D)
    q_blk = tl.load(q_ptr + head * stride_qh + qi[:, None] * stride_qs + d[None, :],
                    mask=qi[:, None] < S, other=0.0)
    out_base = scores_ptr + head * stride_sh
    for n0 in range(0, S, BLOCK_N):
        kj = n0 + tl.arange(0, BLOCK_N)
        k_blk = tl.load(k_ptr + head * stride_kh + kj[:, None] * stride_ks + d[None, :],
                        mask=kj[:, None] < S, other=0.0)
        s = tl.dot(q_blk, tl.trans(k_blk)) * scale
        if CAUSAL:
            s = tl.where(kj[None, :] > qi[:, None], float("-inf"), s)
        tl.store(out_base + qi[:, None] * stride_si + kj[None, :], s,
                 mask=(qi[:, None] < S) & (kj[None, :] < S))


@triton.jit
def softmax_kernel(
    scores_ptr, probs_ptr,
    n_rows, S,
    BLOCK_R: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """Three sweeps over BLOCK_R rows: their maxima, their sums of exp(x - max), then the quotients."""
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    live = r < n_rows
    row_start = r.to(tl.int64) * S
    c = tl.arange(0, BLOCK_N)

    row_max = tl.full((BLOCK_R,), float("-inf"), tl.float32)
    for c0 in range(0, S, BLOCK_N):
        ok = live[:, None] & ((c0 + c)[None, :] < S)
        x = tl.load(scores_ptr + row_start[:, None] + (c0 + c)[None, :], mask=ok, other=float("-inf"))
        row_max = tl.maximum(row_max, tl.max(x, axis=1))
    row_max = tl.where(live, row_max, 0.0)  # rows past n_rows: keep them finite

    denom = tl.zeros((BLOCK_R,), tl.float32)
    for c0 in range(0, S, BLOCK_N):
        ok = live[:, None] & ((c0 + c)[None, :] < S)
        x = tl.load(scores_ptr + row_start[:, None] + (c0 + c)[None, :], mask=ok, other=0.0)
        denom += tl.sum(tl.exp(x - row_max[:, None]), axis=1)
    inv = 1.0 / tl.where(live, denom, 1.0)

    for c0 in range(0, S, BLOCK_N):
        ok = live[:, None] & ((c0 + c)[None, :] < S)
        x = tl.load(scores_ptr + row_start[:, None] + (c0 + c)[None, :], mask=ok, other=float("-inf"))
        p = tl.exp(x - row_max[:, None]) * inv[:, None]
        tl.store(probs_ptr + row_start[:, None] + (c0 + c)[None, :], p, mask=ok)


@triton.jit
def pv_kernel(
    probs_ptr, v_ptr, out_ptr,
    S,
    stride_ph, stride_pi, stride_vh, stride_vs, stride_oh, stride_os,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    """out = probs @ v for BLOCK_M queries of head tl.program_id(1)."""
    band = tl.program_id(0)
    head = tl.program_id(1).to(tl.int64)
    qi = band * BLOCK_M + tl.arange(0, BLOCK_M)
    d = tl.arange(0, D)
    p_base = probs_ptr + head * stride_ph
    v_base = v_ptr + head * stride_vh
    acc = tl.zeros((BLOCK_M, D), tl.float32)
    for n0 in range(0, S, BLOCK_N):
        kj = n0 + tl.arange(0, BLOCK_N)
        p = tl.load(p_base + qi[:, None] * stride_pi + kj[None, :],
                    mask=(qi[:, None] < S) & (kj[None, :] < S), other=0.0)
        vt = tl.load(v_base + kj[:, None] * stride_vs + d[None, :], mask=kj[:, None] < S, other=0.0)
        acc += tl.dot(p.to(vt.dtype), vt)
    tl.store(out_ptr + head * stride_oh + qi[:, None] * stride_os + d[None, :],
             acc.to(out_ptr.dtype.element_ty), mask=qi[:, None] < S)


def naive_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool = True, scale: float | None = None
) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    BH = B * H
    q3, k3, v3 = (t.reshape(BH, S, D) for t in (q, k, v))
    scores = torch.empty((BH, S, S), device=q.device, dtype=torch.float32)
    probs = torch.empty_like(scores)
    out = torch.empty_like(q3)
    BLOCK_M, BLOCK_N = 32, 32
    bands = triton.cdiv(S, BLOCK_M)

    scores_kernel[(BH, bands)](
        q3, k3, scores, S, scale,
        q3.stride(0), q3.stride(1), k3.stride(0), k3.stride(1), scores.stride(0), scores.stride(1),
        D=D, CAUSAL=bool(causal), BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    n_rows = BH * S
    BLOCK_C = min(triton.next_power_of_2(S), 64)
    BLOCK_R = 16
    softmax_kernel[(triton.cdiv(n_rows, BLOCK_R),)](scores, probs, n_rows, S, BLOCK_R=BLOCK_R, BLOCK_N=BLOCK_C)
    pv_kernel[(bands, BH)](
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
    print("level 6 self-check passed")
