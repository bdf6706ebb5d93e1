"""Level 3, wrong in its method: PyTorch computes each row's max and sum of exponentials, and the
kernel only does the elementwise part. The answer is right; the reductions that are the lesson were
computed outside Triton."""

import torch
import triton
import triton.language as tl


@triton.jit
def normalise_kernel(x_ptr, max_ptr, sum_ptr, out_ptr, N, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64)
    cols = tl.arange(0, BLOCK)
    x = tl.load(x_ptr + row * N + cols, mask=cols < N, other=0.0).to(tl.float32)
    e = tl.exp(x - tl.load(max_ptr + row)) / tl.load(sum_ptr + row)
    tl.store(out_ptr + row * N + cols, e.to(out_ptr.dtype.element_ty), mask=cols < N)


def softmax(x: torch.Tensor) -> torch.Tensor:
    M, N = x.shape
    wide = x.float()
    row_max = wide.amax(dim=1)
    row_sum = torch.exp(wide - row_max[:, None]).sum(dim=1)
    out = torch.empty_like(x)
    normalise_kernel[(M,)](x, row_max, row_sum, out, N, BLOCK=triton.next_power_of_2(N))
    return out
