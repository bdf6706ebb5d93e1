"""Level 4 - Attention Scores: every query against every key, tile by tile.

THE IDEA
    Attention begins by asking, for every query, how well it matches every key:
        score[b, h, i, j] = (q[b, h, i, :] . k[b, h, j, :]) * scale
    That is one matrix product q @ k^T per (batch, head): B*H independent S x S matrices. In Triton a
    program computes one BLOCK_M x BLOCK_N *tile* of one of them with a single tl.dot, and a third grid
    axis walks over the (batch, head) pairs.

    Flash Attention computes exactly these tiles. The difference is only what happens next: here you
    write them to memory; in levels 7 and 8 they stay in registers and are used straight away.

THE ALGORITHM
    1. View q and k as (B*H, S, D) (free for contiguous tensors) and note their strides.
    2. Launch a 3-D grid: (cdiv(S, BLOCK_M), cdiv(S, BLOCK_N), B*H).
    3. Program (pid_m, pid_n, bh) loads query rows pid_m*BLOCK_M ... (a BLOCK_M x D tile) and key rows
       pid_n*BLOCK_N ... (a BLOCK_N x D tile) of head bh, masking rows >= S.
    4. tile = tl.dot(q_tile, tl.trans(k_tile)) * scale       (BLOCK_M x BLOCK_N, float32)
    5. Store the tile, masking rows >= S and columns >= S.

SHAPES AND DTYPES
    q, k  : (B, H, S, D), float32 or float16 (bfloat16 on a GPU); S >= 1 any length; D a power of two, 16..128
    scale : a float, or None for 1 / sqrt(D)
    returns a new float32 tensor (B, H, S, S) = q @ k^T * scale

CHECK YOUR WORK
    pytest --level 4          the quest's checks (ragged S, S = 1, several heads, explicit scale)
    pytest --hint 4           the next hint, if you are stuck
    python katas/level4_attention_scores.py    a quick local self-check
"""

import math
import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def scores_kernel(
    q_ptr, k_ptr, out_ptr,
    S, scale,
    stride_qh, stride_qs, stride_qd,
    stride_kh, stride_ks, stride_kd,
    stride_oh, stride_os, stride_oj,
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_D: tl.constexpr,
):
    tile = tl.program_id(0)
    bh = tl.program_id(1).to(tl.int64)
    n_tiles_n = tl.cdiv(S, BLOCK_N)
    tile_m = tile // n_tiles_n
    tile_n = tile % n_tiles_n

    rows = tile_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tile_n * BLOCK_N + tl.arange(0, BLOCK_N)
    row_ok = rows < S
    col_ok = cols < S

    q_base = q_ptr + bh * stride_qh
    k_base = k_ptr + bh * stride_kh

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    # walk the head dimension in chunks of BLOCK_D
    for d0 in tl.static_range(0, D, BLOCK_D):
        dims = d0 + tl.arange(0, BLOCK_D)
        q_tile = tl.load(q_base + rows[:, None] * stride_qs + dims[None, :] * stride_qd,
                         mask=row_ok[:, None], other=0.0)
        k_tile = tl.load(k_base + cols[:, None] * stride_ks + dims[None, :] * stride_kd,
                         mask=col_ok[:, None], other=0.0)
        acc += tl.dot(q_tile, tl.trans(k_tile))

    acc = acc / scale
    out_ptrs = out_ptr + bh * stride_oh + rows[:, None] * stride_os + cols[None, :] * stride_oj
    tl.store(out_ptrs, acc, mask=row_ok[:, None] & col_ok[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = math.sqrt(D)
    # (B, H, S, D) -> (B*H, S, D): one index for the (batch, head) pair, free for contiguous tensors.
    q3 = q.reshape(B * H, S, D)
    k3 = k.reshape(B * H, S, D)
    out = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    BLOCK_M, BLOCK_N, BLOCK_D = 32, 16, 16
    grid = (triton.cdiv(S, BLOCK_M) * triton.cdiv(S, BLOCK_N), B * H)
    scores_kernel[grid](
        q3, k3, out, S, scale,
        q3.stride(0), q3.stride(1), q3.stride(2),
        k3.stride(0), k3.stride(1), k3.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_D=BLOCK_D,
    )
    return out.reshape(B, H, S, S)


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    q = torch.randn(2, 3, 77, 32, device=device)
    k = torch.randn(2, 3, 77, 32, device=device)
    expected = (q @ k.transpose(-1, -2)) / math.sqrt(32)
    torch.testing.assert_close(attention_scores(q, k), expected, atol=1e-2, rtol=1e-2)
    torch.testing.assert_close(attention_scores(q, k, scale=0.5), (q @ k.transpose(-1, -2)) * 0.5, atol=1e-2, rtol=1e-2)
    print("level 4 self-check passed: now run `pytest --level 4`")
