"""Level 5 - Causal Mask: no peeking at the future.

My version: a 1-D grid. Each program owns BLOCK_M rows of one (batch, head) matrix and sweeps across
the columns BLOCK_N at a time.
"""

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def causal_mask_kernel(
    x_ptr, out_ptr,
    S, n_row_blocks,
    stride_xh, stride_xi, stride_xj,
    stride_oh, stride_oi, stride_oj,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    pid = tl.program_id(0)
    bh = pid // n_row_blocks
    rb = pid % n_row_blocks

    rows = rb * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    x_base = x_ptr + bh * stride_xh
    o_base = out_ptr + bh * stride_oh

    for n0 in range(0, S, BLOCK_N):
        cols = n0 + offs_n
        ok = (rows[:, None] < S) & (cols[None, :] < S)
        vals = tl.load(x_base + rows[:, None] * stride_xi + cols[None, :] * stride_xj, mask=ok, other=0.0)
        future = cols[None, :] > rows[:, None]
        vals = tl.where(future, float("-inf"), vals)
        tl.store(o_base + rows[:, None] * stride_oi + cols[None, :] * stride_oj, vals, mask=ok)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    x = scores.reshape(B * H, S, S)
    out = torch.empty_like(x)  # a new tensor: the caller's scores must stay as they were
    BLOCK_M, BLOCK_N = 16, 32
    n_row_blocks = triton.cdiv(S, BLOCK_M)
    grid = (B * H * n_row_blocks,)
    causal_mask_kernel[grid](
        x, out, S, n_row_blocks,
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
    print("level 5 self-check passed: now run `pytest --level 5`")
