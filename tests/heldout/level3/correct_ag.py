"""Level 3 - Softmax: numerically stable row softmax, one block for narrow rows, online for wide ones."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

MAX_SINGLE_BLOCK = 1024
WIDE_BLOCK = 1024


@triton.jit
def softmax_row_kernel(x_ptr, out_ptr, N, stride_x, stride_out, BLOCK: tl.constexpr):
    r = tl.program_id(0)
    j = tl.arange(0, BLOCK)
    live = j < N
    vals = tl.load(x_ptr + r * stride_x + j, mask=live, other=float("-inf")).to(tl.float32)
    shifted = vals - tl.max(vals, axis=0)
    num = tl.exp(shifted)
    den = tl.sum(num, axis=0)
    tl.store(out_ptr + r * stride_out + j, (num / den).to(out_ptr.dtype.element_ty), mask=live)


@triton.jit
def softmax_wide_kernel(x_ptr, out_ptr, N, stride_x, stride_out, BLOCK: tl.constexpr):
    r = tl.program_id(0)
    j = tl.arange(0, BLOCK)
    row_in = x_ptr + r * stride_x
    row_out = out_ptr + r * stride_out

    # Pass 1: one running max and one running sum per lane, merged at the end.
    lane_max = tl.full((BLOCK,), float("-inf"), tl.float32)
    lane_sum = tl.zeros((BLOCK,), tl.float32)
    for start in range(0, N, BLOCK):
        idx = start + j
        v = tl.load(row_in + idx, mask=idx < N, other=float("-inf")).to(tl.float32)
        new_max = tl.maximum(lane_max, v)
        safe_max = tl.where(new_max == float("-inf"), 0.0, new_max)
        lane_sum = lane_sum * tl.exp(lane_max - safe_max) + tl.exp(v - safe_max)
        lane_max = new_max
    row_max = tl.max(lane_max, axis=0)
    lane_w = tl.where(lane_max == float("-inf"), 0.0, tl.exp(lane_max - row_max))
    row_sum = tl.sum(lane_sum * lane_w, axis=0)

    # Pass 2: normalise and write.
    for start in range(0, N, BLOCK):
        idx = start + j
        v = tl.load(row_in + idx, mask=idx < N, other=float("-inf")).to(tl.float32)
        p = tl.exp(v - row_max) / row_sum
        tl.store(row_out + idx, p.to(out_ptr.dtype.element_ty), mask=idx < N)


def softmax(x: torch.Tensor) -> torch.Tensor:
    M, N = x.shape
    out = torch.empty_like(x)
    grid = (M,)
    if N <= MAX_SINGLE_BLOCK:
        softmax_row_kernel[grid](x, out, N, x.stride(0), out.stride(0), BLOCK=triton.next_power_of_2(N))
    else:
        softmax_wide_kernel[grid](x, out, N, x.stride(0), out.stride(0), BLOCK=WIDE_BLOCK)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    for n in (1000, 3000):
        x = torch.randn(8, n, device=device) * 5 + 1000
        torch.testing.assert_close(softmax(x), torch.softmax(x, dim=-1))
    print("level 3 self-check passed")
