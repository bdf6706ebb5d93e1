"""Level 3 - Softmax: stable for any logits, and for rows of any width.

Narrow rows fit one block (pad with -inf, subtract the max). Wide rows use two passes: an online
running max / running sum, then a normalising pass.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

ONE_BLOCK_LIMIT = 1024
CHUNK = 512


@triton.jit
def _softmax_one_block(src, dst, n_cols, src_row_stride, dst_row_stride, LANES: tl.constexpr):
    r = tl.program_id(0)
    c = tl.arange(0, LANES)
    inside = c < n_cols
    v = tl.load(src + r * src_row_stride + c, mask=inside, other=0.0).to(tl.float32)
    z = v - tl.max(v, axis=0)
    e = tl.exp(z)
    y = e / tl.sum(e, axis=0)
    tl.store(dst + r * dst_row_stride + c, y.to(dst.dtype.element_ty), mask=inside)


@triton.jit
def _softmax_chunked(src, dst, n_cols, src_row_stride, dst_row_stride, LANES: tl.constexpr):
    r = tl.program_id(0)
    row_in = src + r * src_row_stride
    row_out = dst + r * dst_row_stride
    c = tl.arange(0, LANES)
    run_max = tl.full([], float("-inf"), tl.float32)
    run_sum = tl.zeros([], tl.float32)
    for start in range(0, n_cols, LANES):
        idx = start + c
        v = tl.load(row_in + idx, mask=idx < n_cols, other=float("-inf")).to(tl.float32)
        new_max = tl.maximum(run_max, tl.max(v, axis=0))
        run_sum = run_sum * tl.exp(run_max - new_max) + tl.sum(tl.exp(v - new_max), axis=0)
        run_max = new_max
    for start in range(0, n_cols, LANES):
        idx = start + c
        ok = idx < n_cols
        v = tl.load(row_in + idx, mask=ok, other=float("-inf")).to(tl.float32)
        y = tl.exp(v - run_max) / run_sum
        tl.store(row_out + idx, y.to(dst.dtype.element_ty), mask=ok)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    out = torch.empty_like(x)
    if n_cols <= ONE_BLOCK_LIMIT:
        _softmax_one_block[(n_rows,)](
            x, out, n_cols, x.stride(0), out.stride(0), LANES=triton.next_power_of_2(n_cols)
        )
    else:
        _softmax_chunked[(n_rows,)](x, out, n_cols, x.stride(0), out.stride(0), LANES=CHUNK)
    return out
