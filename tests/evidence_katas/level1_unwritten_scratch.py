"""Level 1 in two kernels: the first writes x into a scratch buffer with a mask one short, the second
adds y to the scratch buffer, so the last element reads memory nothing wrote."""

import torch
import triton
import triton.language as tl


@triton.jit
def stage_kernel(x_ptr, scratch_ptr, n, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n - 1
    tl.store(scratch_ptr + offsets, tl.load(x_ptr + offsets, mask=mask), mask=mask)


@triton.jit
def add_kernel(scratch_ptr, y_ptr, out_ptr, n, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n
    total = tl.load(scratch_ptr + offsets, mask=mask) + tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, total, mask=mask)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    n = x.numel()
    scratch = torch.empty_like(x)
    out = torch.empty_like(x)
    grid = (triton.cdiv(n, 256),)
    stage_kernel[grid](x, scratch, n, BLOCK_SIZE=256)
    add_kernel[grid](scratch, y, out, n, BLOCK_SIZE=256)
    return out
