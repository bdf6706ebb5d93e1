"""Level 3 - Softmax: numerically stable, for rows of any width.

Narrow rows are done in one block; wide rows are walked in chunks with a running max and a running
sum (the online softmax), then a second pass writes the normalised values.
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
def _softmax_one_block(src, dst, n_cols, src_row_stride, dst_row_stride, WIDTH: tl.constexpr):
    r = tl.program_id(0)
    offs = tl.arange(0, WIDTH)
    inside = offs < n_cols
    row_in = src + r.to(tl.int64) * src_row_stride
    vals = tl.load(row_in + offs, mask=inside, other=0.0).to(tl.float32)
    shifted = vals - tl.max(vals, axis=0)
    num = tl.exp(shifted)
    denom = tl.sum(num, axis=0)
    row_out = dst + r.to(tl.int64) * dst_row_stride
    tl.store(row_out + offs, (num / denom).to(dst.dtype.element_ty), mask=inside)


@triton.jit
def _softmax_chunked(src, dst, n_cols, src_row_stride, dst_row_stride, WIDTH: tl.constexpr):
    r = tl.program_id(0)
    row_in = src + r.to(tl.int64) * src_row_stride
    row_out = dst + r.to(tl.int64) * dst_row_stride
    offs = tl.arange(0, WIDTH)

    best = tl.full((), float("-inf"), dtype=tl.float32)
    total = tl.zeros((), dtype=tl.float32)
    for c in range(0, n_cols, WIDTH):
        idx = c + offs
        chunk = tl.load(row_in + idx, mask=idx < n_cols, other=float("-inf")).to(tl.float32)
        best_next = tl.maximum(best, tl.max(chunk, axis=0))
        total = total * tl.exp(best - best_next) + tl.sum(tl.exp(chunk - best_next), axis=0)
        best = best_next

    inv_total = 1.0 / total
    for c in range(0, n_cols, WIDTH):
        idx = c + offs
        keep = idx < n_cols
        chunk = tl.load(row_in + idx, mask=keep, other=float("-inf")).to(tl.float32)
        tl.store(row_out + idx, (tl.exp(chunk - best) * inv_total).to(dst.dtype.element_ty), mask=keep)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    y = torch.empty_like(x)
    if n_cols <= ONE_BLOCK_LIMIT:
        _softmax_one_block[(n_rows,)](x, y, n_cols, x.stride(0), y.stride(0),
                                      WIDTH=triton.next_power_of_2(n_cols))
    else:
        _softmax_chunked[(n_rows,)](x, y, n_cols, x.stride(0), y.stride(0), WIDTH=CHUNK)
    return y


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    for n in (1, 77, 1000, 3001):
        x = torch.randn(5, n, device=device) * 5 + 1000
        torch.testing.assert_close(softmax(x), torch.softmax(x, dim=-1))
    print("ok")
