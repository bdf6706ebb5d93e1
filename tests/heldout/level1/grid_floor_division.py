"""Level 1 - Vector Add."""

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def vadd_kernel(x_ptr, y_ptr, out_ptr, n_elements, BLOCK: tl.constexpr):
    pid = tl.program_id(axis=0)
    start = pid * BLOCK
    offs = start + tl.arange(0, BLOCK)
    in_range = offs < n_elements
    a = tl.load(x_ptr + offs, mask=in_range)
    b = tl.load(y_ptr + offs, mask=in_range)
    tl.store(out_ptr + offs, a + b, mask=in_range)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    assert x.shape == y.shape
    n = x.numel()
    out = torch.empty_like(x)
    BLOCK = 256
    grid = (n // BLOCK,)
    vadd_kernel[grid](x, y, out, n, BLOCK=BLOCK)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    x = torch.randn(1000, device=device)
    y = torch.randn(1000, device=device)
    torch.testing.assert_close(vector_add(x, y), x + y)
    print("ok")
