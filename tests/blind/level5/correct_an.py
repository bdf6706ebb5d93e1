"""Level 5 - Causal Mask (author an): copy the scores, hiding every key j > query i behind -inf.

One program per (head, band of BLOCK_M query rows); it walks across the band's columns BLOCK_N at a
time, so the grid is 2-D: (B*H, cdiv(S, BLOCK_M)).
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def causal_mask_kernel(
    x_ptr, out_ptr,
    S,
    stride_xh, stride_xi, stride_xj,
    stride_oh, stride_oi, stride_oj,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    head = tl.program_id(0).to(tl.int64)
    band = tl.program_id(1)
    q_idx = band * BLOCK_M + tl.arange(0, BLOCK_M)
    src = x_ptr + head * stride_xh
    dst = out_ptr + head * stride_oh
    for col0 in range(0, S, BLOCK_N):
        k_idx = col0 + tl.arange(0, BLOCK_N)
        inside = (q_idx[:, None] < S) & (k_idx[None, :] < S)
        vals = tl.load(src + q_idx[:, None] * stride_xi + k_idx[None, :] * stride_xj, mask=inside)
        future = k_idx[None, :] > q_idx[:, None]
        vals = tl.where(future, float("-inf"), vals)
        tl.store(dst + q_idx[:, None] * stride_oi + k_idx[None, :] * stride_oj, vals, mask=inside)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    x = scores.reshape(B * H, S, S)
    out = torch.empty_like(x)
    BLOCK_M, BLOCK_N = 16, 16
    grid = (B * H, triton.cdiv(S, BLOCK_M))
    causal_mask_kernel[grid](
        x, out, S,
        x.stride(0), x.stride(1), x.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
    )
    return out.reshape(B, H, S, S)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    scores = torch.randn(2, 3, 77, 77, device=device)
    future = torch.ones(77, 77, dtype=torch.bool, device=device).triu(diagonal=1)
    expected = scores.masked_fill(future, float("-inf"))
    torch.testing.assert_close(causal_mask(scores), expected)
    print("level 5 self-check passed")
