"""Level 5 - Causal Mask: a new copy of the scores with every key j > query i set to -inf."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def hide_future_kernel(
    src_ptr, dst_ptr,
    n, row_tiles,
    s_mat, s_row, s_col,
    d_mat, d_row, d_col,
    TM: tl.constexpr, TN: tl.constexpr,
):
    # axis 0 packs (matrix, row tile); axis 1 is the column tile
    flat = tl.program_id(0)
    mat = flat // row_tiles
    rt = flat % row_tiles
    ct = tl.program_id(1)

    i = rt * TM + tl.arange(0, TM)
    j = ct * TN + tl.arange(0, TN)
    inside = (i[:, None] < n) & (j[None, :] < n)

    vals = tl.load(src_ptr + mat * s_mat + i[:, None] * s_row + j[None, :] * s_col, mask=inside)
    future = j[None, :] > i[:, None]
    vals = tl.where(future, 0.0, vals)
    tl.store(dst_ptr + mat * d_mat + i[:, None] * d_row + j[None, :] * d_col, vals, mask=inside)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    src = scores.reshape(B * H, S, S)
    dst = torch.empty_like(src)
    TM, TN = 16, 32
    row_tiles = triton.cdiv(S, TM)
    grid = (B * H * row_tiles, triton.cdiv(S, TN))
    hide_future_kernel[grid](
        src, dst, S, row_tiles,
        *src.stride(), *dst.stride(),
        TM=TM, TN=TN,
    )
    return dst.reshape(B, H, S, S)
