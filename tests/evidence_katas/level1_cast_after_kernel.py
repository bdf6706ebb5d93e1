"""Level 1 through a float32 buffer that PyTorch casts into the output; the kernel's mask is one short,
so the last element of the buffer is never stored."""

import torch
import triton
import triton.language as tl


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n - 1
    total = tl.load(x_ptr + offsets, mask=mask) + tl.load(y_ptr + offsets, mask=mask)
    tl.store(out_ptr + offsets, total.to(tl.float32), mask=mask)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    buffer = torch.empty(x.shape, dtype=torch.float32, device=x.device)
    add_kernel[(triton.cdiv(x.numel(), 256),)](x, y, buffer, x.numel(), BLOCK_SIZE=256)
    out = torch.empty_like(x)
    out.copy_(buffer)
    return out
