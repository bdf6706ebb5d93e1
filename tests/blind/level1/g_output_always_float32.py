"""Level 1 - Vector add (seventh author's version).

A small fixed number of programs, each striding over the vector one block at a time (a grid-stride
loop), instead of one program per block.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

MAX_PROGRAMS = 4


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK_SIZE: tl.constexpr):
    pid = tl.program_id(axis=0)
    step = tl.num_programs(axis=0) * BLOCK_SIZE
    lanes = tl.arange(0, BLOCK_SIZE)
    for start in range(pid * BLOCK_SIZE, n, step):
        offs = start + lanes
        mask = offs < n
        x = tl.load(x_ptr + offs, mask=mask)
        y = tl.load(y_ptr + offs, mask=mask)
        tl.store(out_ptr + offs, x + y, mask=mask)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    n = x.numel()
    out = torch.empty(n, device=x.device, dtype=torch.float32)
    BLOCK_SIZE = 256
    n_blocks = triton.cdiv(n, BLOCK_SIZE)
    grid = (min(n_blocks, MAX_PROGRAMS),)
    add_kernel[grid](x, y, out, n, BLOCK_SIZE=BLOCK_SIZE)
    return out
