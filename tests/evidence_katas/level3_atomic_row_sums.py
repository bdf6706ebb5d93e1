"""Level 3, right in its method: a first kernel adds each row's exponentials into a zeroed float32
buffer with tl.atomic_add (one program per block of columns), a second one normalises. Nothing is
computed outside Triton, so the checks must not say that PyTorch computed the sums: an atomic add
writes, even though it is not a tl.store."""

import torch
import triton
import triton.language as tl


@triton.jit
def row_sums_kernel(x_ptr, max_ptr, sum_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * N + cols, mask=cols < N, other=float("-inf")).to(tl.float32)
    tl.atomic_add(sum_ptr + row, tl.sum(tl.exp(x - tl.load(max_ptr + row)), axis=0))


@triton.jit
def row_max_kernel(x_ptr, max_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * N + cols, mask=cols < N, other=float("-inf")).to(tl.float32)
    tl.store(max_ptr + row, tl.max(x, axis=0))


@triton.jit
def normalise_kernel(x_ptr, max_ptr, sum_ptr, out_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * N + cols, mask=cols < N, other=0.0).to(tl.float32)
    e = tl.exp(x - tl.load(max_ptr + row)) / tl.load(sum_ptr + row)
    tl.store(out_ptr + row * N + cols, e.to(out_ptr.dtype.element_ty), mask=cols < N)


def softmax(x: torch.Tensor) -> torch.Tensor:
    M, N = x.shape
    BLOCK = triton.next_power_of_2(N)
    row_max = torch.empty(M, device=x.device, dtype=torch.float32)
    row_sum = torch.zeros(M, device=x.device, dtype=torch.float32)
    row_max_kernel[(M,)](x, row_max, N, BLOCK=BLOCK)
    row_sums_kernel[(M, triton.cdiv(N, 16))](x, row_max, row_sum, N, BLOCK=16)
    out = torch.empty_like(x)
    normalise_kernel[(M,)](x, row_max, row_sum, out, N, BLOCK=BLOCK)
    return out
