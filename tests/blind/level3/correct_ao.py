"""Level 3 - Softmax, row by row; narrow rows in one block, wide rows in two passes (author ao)."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

MAX_SINGLE_BLOCK = 1024
WIDE_BLOCK = 1024


@triton.jit
def _narrow_softmax(src, dst, n_cols, src_row_stride, dst_row_stride, LANES: tl.constexpr):
    r = tl.program_id(axis=0)
    lane = tl.arange(0, LANES)
    inside = lane < n_cols
    vals = tl.load(src + r * src_row_stride + lane, mask=inside, other=float("-inf")).to(tl.float32)
    top = tl.max(vals, axis=0)
    w = tl.exp2((vals - top) * 1.4426950408889634)
    total = tl.sum(w, axis=0)
    res = w / total
    tl.store(dst + r * dst_row_stride + lane, res.to(dst.dtype.element_ty), mask=inside)


@triton.jit
def _wide_softmax(src, dst, n_cols, src_row_stride, dst_row_stride, LANES: tl.constexpr):
    # every lane keeps its own running max / running sum; they are merged after pass 1
    r = tl.program_id(axis=0)
    lane = tl.arange(0, LANES)
    row_in = src + r * src_row_stride
    row_out = dst + r * dst_row_stride
    lane_max = tl.full((LANES,), float("-inf"), tl.float32)
    lane_sum = tl.zeros((LANES,), tl.float32)
    n_tiles = tl.cdiv(n_cols, LANES)
    for t in range(0, n_tiles):
        idx = t * LANES + lane
        chunk = tl.load(row_in + idx, mask=idx < n_cols, other=float("-inf")).to(tl.float32)
        new_max = tl.maximum(lane_max, chunk)
        safe = new_max != float("-inf")
        shrink = tl.where(safe, tl.exp2((lane_max - new_max) * 1.4426950408889634), 0.0)
        fresh = tl.where(safe, tl.exp2((chunk - new_max) * 1.4426950408889634), 0.0)
        lane_sum = lane_sum * shrink + fresh
        lane_max = new_max
    row_max = tl.max(lane_max, axis=0)
    lane_w = tl.where(lane_max != float("-inf"), tl.exp2((lane_max - row_max) * 1.4426950408889634), 0.0)
    row_sum = tl.sum(lane_sum * lane_w, axis=0)
    inv = 1.0 / row_sum
    for t in range(0, n_tiles):
        idx = t * LANES + lane
        ok = idx < n_cols
        chunk = tl.load(row_in + idx, mask=ok, other=float("-inf")).to(tl.float32)
        y = tl.exp2((chunk - row_max) * 1.4426950408889634) * inv
        tl.store(row_out + idx, y.to(dst.dtype.element_ty), mask=ok)


def softmax(x: torch.Tensor) -> torch.Tensor:
    n_rows, n_cols = x.shape
    out = torch.empty_like(x)
    if n_cols <= MAX_SINGLE_BLOCK:
        _narrow_softmax[(n_rows,)](x, out, n_cols, x.stride(0), out.stride(0),
                                   LANES=triton.next_power_of_2(n_cols))
    else:
        _wide_softmax[(n_rows,)](x, out, n_cols, x.stride(0), out.stride(0), LANES=WIDE_BLOCK)
    return out


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    for n in (1000, 3000):
        x = torch.randn(8, n, device=device) * 5 + 1000
        torch.testing.assert_close(softmax(x), torch.softmax(x, dim=-1))
    print("ok")
