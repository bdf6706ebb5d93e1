"""Robustness kata, level 1: after a correct kernel, a store far past the end of `out` that the
interpreter's bounds guard cannot see (it goes through ctypes, not through a kernel), so the process
dies of a real SIGSEGV, as it would from an unmasked store that escaped the guard."""

import ctypes
import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def add_kernel(x_ptr, y_ptr, out_ptr, n, BLOCK_SIZE: tl.constexpr):
    offsets = tl.program_id(0) * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
    mask = offsets < n
    tl.store(out_ptr + offsets, tl.load(x_ptr + offsets, mask=mask) + tl.load(y_ptr + offsets, mask=mask), mask=mask)


def vector_add(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    out = torch.empty_like(x)
    add_kernel[(triton.cdiv(x.numel(), 1024),)](x, y, out, x.numel(), BLOCK_SIZE=1024)
    ctypes.memset(out.data_ptr(), 0, 1 << 40)  # a terabyte of zeros: runs off the mapped memory
    return out
