"""Level 5 - Causal Mask: no peeking at the future."""

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
    S,
    stride_xh, stride_xi, stride_xj,
    stride_oh, stride_oi, stride_oj,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    # one program per (row, head); it sweeps its row BLOCK_N columns at a time.
    # (BLOCK_M is unused: a program owns a single row)
    i = tl.program_id(0)
    bh = tl.program_id(1)
    x_row = x_ptr + bh * stride_xh + i * stride_xi
    o_row = out_ptr + bh * stride_oh + i * stride_oi
    for c0 in range(0, S, BLOCK_N):
        j = c0 + tl.arange(0, BLOCK_N)
        inside = j < S
        vals = tl.load(x_row + j * stride_xj, mask=inside, other=0.0)
        vals = tl.where(j > i, float("-inf"), vals)
        tl.store(o_row + j * stride_oj, vals, mask=inside)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    x = scores.reshape(B * H, S, S)
    out = x
    BLOCK_M, BLOCK_N = 1, 32
    grid = (S, B * H)
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
    print("level 5 self-check passed: now run `pytest --level 5`")
