"""Level 5 - Causal mask (my version: a flat 1-D kernel over every element of the scores)."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def causal_mask_kernel(x_ptr, out_ptr, S, total, BLOCK: tl.constexpr):
    pid = tl.program_id(0)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    inside = offs < total
    col = offs % S
    row = (offs // S) % S
    vals = tl.load(x_ptr + offs, mask=inside)
    vals = tl.where(col > row, float("-inf"), vals)
    tl.store(out_ptr + offs, vals, mask=inside)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    x = scores.contiguous()
    out = torch.empty_like(x)
    total = x.numel()
    BLOCK = 1024
    grid = (max(1, total // BLOCK),)
    causal_mask_kernel[grid](x, out, S, total, BLOCK=BLOCK)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    scores = torch.randn(2, 3, 77, 77, device=device)
    future = torch.ones(77, 77, dtype=torch.bool, device=device).triu(diagonal=1)
    expected = scores.masked_fill(future, float("-inf"))
    torch.testing.assert_close(causal_mask(scores), expected)
    print("ok")
