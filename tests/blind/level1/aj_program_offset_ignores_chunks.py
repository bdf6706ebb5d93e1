"""Level 1 - Vector Add (author aj): each program adds CHUNKS consecutive blocks of the vectors."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK_SIZE: tl.constexpr, CHUNKS: tl.constexpr):
    prog = tl.program_id(axis=0)
    base = prog * BLOCK_SIZE
    lanes = tl.arange(0, BLOCK_SIZE)
    for c in tl.static_range(CHUNKS):
        idx = base + c * BLOCK_SIZE + lanes
        inside = idx < n
        a = tl.load(x_ptr + idx, mask=inside)
        b = tl.load(y_ptr + idx, mask=inside)
        tl.store(out_ptr + idx, a + b, mask=inside)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    n = x.numel()
    BLOCK_SIZE = 256
    CHUNKS = 4
    per_prog = BLOCK_SIZE * CHUNKS
    grid = (triton.cdiv(n, per_prog),)
    add_kernel[grid](x, y, out, n, BLOCK_SIZE=BLOCK_SIZE, CHUNKS=CHUNKS)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    x = torch.randn(1000, device=device)
    y = torch.randn(1000, device=device)
    torch.testing.assert_close(vector_add(x, y), x + y)
    print("level 1 self-check passed")
