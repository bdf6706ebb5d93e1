"""Level 1 - Vector Add: your first Triton kernel.

THE IDEA
    A GPU runs thousands of copies of your kernel at once. In Triton each copy is a *program*, and each
    program works on a whole *block* of elements, not a single one. Your job as the kernel author is to
    say which block a program owns, read it, compute, and write the result back.

    Flash Attention, the goal of this quest, is built from exactly these moves: program ids, offsets,
    masks, loads and stores. Get them right here, on the simplest possible problem.

THE ALGORITHM
    1. Cut the n elements into blocks of BLOCK_SIZE.        grid = ceil(n / BLOCK_SIZE) programs
    2. Program pid owns elements pid*BLOCK_SIZE ... pid*BLOCK_SIZE + BLOCK_SIZE - 1.
    3. The last block usually sticks out past n: a *mask* (offsets < n) switches those lanes off, so
       they neither read nor write memory that is not yours.
    4. Load x and y with the mask, add them, store x + y with the same mask.

SHAPES AND DTYPES
    x, y : 1-D tensors of the same length n >= 1 and the same dtype (float32 or float16; bfloat16 on a GPU)
    returns a new tensor equal to x + y, same shape and dtype

CHECK YOUR WORK
    pytest --level 1          the quest's checks (ragged lengths, n = 1, both dtypes)
    pytest --hint 1           the next hint, if you are stuck
    python katas/level1_vector_add.py    a quick local self-check
"""

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    base = pid * BLOCK_SIZE
    idx = base + tl.arange(0, BLOCK_SIZE)
    inside = idx < n
    a = tl.load(x_ptr + idx, mask=inside)
    b = tl.load(y_ptr + idx, mask=inside)
    tl.store(out_ptr + idx, a + b, mask=inside)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    n = x.numel()
    BLOCK_SIZE = 256
    grid = lambda meta: (triton.cdiv(n, meta["BLOCK_SIZE"]),)
    add_kernel[grid](x, y, out, n, BLOCK_SIZE=BLOCK_SIZE)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    x = torch.randn(1000, device=device)
    y = torch.randn(1000, device=device)
    torch.testing.assert_close(vector_add(x, y), x + y)
    print("level 1 self-check passed: now run `pytest --level 1`")
