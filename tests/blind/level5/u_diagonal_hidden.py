"""Level 5 - Causal Mask: no peeking at the future."""

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
    stride_xr, stride_xj,
    stride_or, stride_oj,
    BLOCK: tl.constexpr,
):
    # one program per row of the (B*H*S, S) view; the query index is the row within its head
    r = tl.program_id(0)
    i = r % S
    x_row = x_ptr + r.to(tl.int64) * stride_xr
    o_row = out_ptr + r.to(tl.int64) * stride_or
    for j0 in range(0, S, BLOCK):
        cols = j0 + tl.arange(0, BLOCK)
        inside = cols < S
        vals = tl.load(x_row + cols * stride_xj, mask=inside, other=0.0)
        vals = tl.where(cols >= i, float("-inf"), vals)
        tl.store(o_row + cols * stride_oj, vals, mask=inside)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    x = scores.reshape(B * H * S, S)
    out = torch.empty_like(x)
    BLOCK = 32
    grid = (B * H * S,)
    causal_mask_kernel[grid](
        x, out, S,
        x.stride(0), x.stride(1),
        out.stride(0), out.stride(1),
        BLOCK=BLOCK,
    )
    return out.reshape(B, H, S, S)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    scores = torch.randn(2, 3, 77, 77, device=device)
    future = torch.ones(77, 77, dtype=torch.bool, device=device).triu(diagonal=1)
    expected = scores.masked_fill(future, float("-inf"))
    torch.testing.assert_close(causal_mask(scores), expected)
    print("level 5 self-check passed: now run `pytest --level 5`")
