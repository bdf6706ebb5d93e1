"""Level 5 - Causal Mask: one program per (row, head), walking the row in chunks."""

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def causal_row_kernel(
    src_ptr, dst_ptr,
    S,
    s_head, s_row, s_col,
    d_head, d_row, d_col,
    BLOCK: tl.constexpr,
):
    row = tl.program_id(0)
    head = tl.program_id(1)
    src = src_ptr + head * s_head + row * s_row
    dst = dst_ptr + head * d_head + row * d_row
    for c0 in range(0, S, BLOCK):
        lane = tl.arange(0, BLOCK)
        cols = c0 + lane
        inside = cols < S
        vals = tl.load(src + cols * s_col, mask=inside, other=0.0)
        vals = tl.where(lane > row, float("-inf"), vals)
        tl.store(dst + cols * d_col, vals, mask=inside)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, S2 = scores.shape
    assert S == S2
    x = scores.reshape(B * H, S, S)
    out = torch.empty_like(x)
    BLOCK = 32
    grid = (S, B * H)
    causal_row_kernel[grid](
        x, out, S,
        x.stride(0), x.stride(1), x.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        BLOCK=BLOCK,
    )
    return out.reshape(B, H, S, S)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    scores = torch.randn(2, 3, 77, 77, device=device)
    future = torch.ones(77, 77, dtype=torch.bool, device=device).triu(diagonal=1)
    torch.testing.assert_close(causal_mask(scores), scores.masked_fill(future, float("-inf")))
    print("ok")
