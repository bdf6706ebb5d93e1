"""Level 5 - Causal mask (seventh author's version).

A 1-D grid over the flattened rows of all heads: each program owns BLOCK_R consecutive rows of the
(B*H*S, S) matrix and walks their columns BLOCK_C at a time. The query index of a flat row r is r % S.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def causal_rows_kernel(x_ptr, out_ptr, n_rows, S, BLOCK_R: tl.constexpr, BLOCK_C: tl.constexpr):
    r = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    row_ok = r < n_rows
    i = r % S  # the query index inside its head
    base = r.to(tl.int64) * S
    for c0 in range(0, S, BLOCK_C):
        j = c0 + tl.arange(0, BLOCK_C)
        m = row_ok[:, None] & (j[None, :] < S)
        ptrs = base[:, None] + j[None, :]
        x = tl.load(x_ptr + ptrs, mask=m, other=0.0)
        y = tl.where(j[None, :] >= i[:, None], float("-inf"), x)
        tl.store(out_ptr + ptrs, y, mask=m)


def causal_mask(scores: torch.Tensor) -> torch.Tensor:
    B, H, S, _ = scores.shape
    out = torch.empty((B, H, S, S), device=scores.device, dtype=scores.dtype)
    n_rows = B * H * S
    BLOCK_R = 16
    BLOCK_C = min(triton.next_power_of_2(S), 32)
    causal_rows_kernel[(triton.cdiv(n_rows, BLOCK_R),)](scores, out, n_rows, S, BLOCK_R=BLOCK_R, BLOCK_C=BLOCK_C)
    return out
