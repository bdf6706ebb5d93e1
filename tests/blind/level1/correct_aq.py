"""Level 1 - Vector add (author aq): each program adds one CHUNK-sized slice, the tail lanes masked."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def add_kernel(a_ptr, b_ptr, c_ptr, length, CHUNK: tl.constexpr):
    first = tl.program_id(axis=0) * CHUNK
    idx = first + tl.arange(0, CHUNK)
    inside = idx < length
    a = tl.load(a_ptr + idx, mask=inside)
    b = tl.load(b_ptr + idx, mask=inside)
    tl.store(c_ptr + idx, a + b, mask=inside)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    length = x.numel()
    CHUNK = 256
    n_programs = (length + CHUNK - 1) // CHUNK
    add_kernel[(n_programs,)](x, y, out, length, CHUNK=CHUNK)
    return out
