"""Level 1 - Vector add: each program adds one block of elements, the ragged tail masked off."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK_SIZE: tl.constexpr):
    block_start = tl.program_id(axis=0) * BLOCK_SIZE
    idx = block_start + tl.arange(0, BLOCK_SIZE)
    live = idx < n
    a = tl.load(x_ptr + idx, mask=live)
    b = tl.load(y_ptr + idx, mask=live)
    tl.store(out_ptr + idx, a + b, mask=live)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    n = x.numel()
    BLOCK_SIZE = 256
    n_programs = (n + BLOCK_SIZE - 1) // BLOCK_SIZE
    add_kernel[(n_programs,)](x, y, out, n, BLOCK_SIZE=BLOCK_SIZE)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    for n in (1, 255, 1000, 4097):
        x = torch.randn(n, device=device)
        y = torch.randn(n, device=device)
        torch.testing.assert_close(vector_add(x, y), x + y)
    print("ok")
