"""Level 5 - Causal Mask: hide every score whose key j lies after its query i (j > i -> -inf)."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def causal_mask_kernel(
    src, dst,
    S, n_col_tiles,
    s_head, s_row, s_col,
    d_head, d_row, d_col,
    TM: tl.constexpr, TN: tl.constexpr,
):
    head = tl.program_id(0)
    tile = tl.program_id(1)
    tile_r = tile // n_col_tiles
    tile_c = tile % n_col_tiles

    qi = tile_r * TM + tl.arange(0, TM)
    kj = tile_c * TN + tl.arange(0, TN)
    qi2 = qi[:, None]
    kj2 = kj[None, :]
    valid = (qi2 < S) & (kj2 < S)

    src_head = src + head.to(tl.int64) * s_head
    dst_head = dst + head.to(tl.int64) * d_head
    vals = tl.load(src_head + qi2 * s_row + kj2 * s_col, mask=valid, other=0.0)
    future = kj2 > qi2
    vals = tl.where(future, 0.0, vals)
    tl.store(dst_head + qi2 * d_row + kj2 * d_col, vals, mask=valid)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    x = scores.reshape(B * H, S, S)
    out = torch.empty_like(x)
    TM, TN = 32, 32
    n_row_tiles = triton.cdiv(S, TM)
    n_col_tiles = triton.cdiv(S, TN)
    grid = (B * H, n_row_tiles * n_col_tiles)
    causal_mask_kernel[grid](
        x, out, S, n_col_tiles,
        x.stride(0), x.stride(1), x.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        TM=TM, TN=TN,
    )
    return out.reshape(B, H, S, S)
