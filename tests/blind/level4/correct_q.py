"""Level 4 - Attention Scores: every query against every key, tile by tile."""

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
    D: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
):
    # axis 0 walks every tile of the S x S matrix, axis 1 the (batch, head) pairs
    tile = tl.program_id(0)
    bh = tl.program_id(1)
    n_col_tiles = tl.cdiv(S, BLOCK_N)
    tile_i = tile // n_col_tiles
    tile_j = tile % n_col_tiles

    rows = tile_i * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = tile_j * BLOCK_N + tl.arange(0, BLOCK_N)
    d = tl.arange(0, D)
    row_ok = rows < S
    col_ok = cols < S

    q_tile = tl.load(q_ptr + bh * stride_qh + rows[:, None] * stride_qs + d[None, :] * stride_qd,
                     mask=row_ok[:, None], other=0.0)
    # load k already transposed: a (D, BLOCK_N) tile
    kt_tile = tl.load(k_ptr + bh * stride_kh + cols[None, :] * stride_ks + d[:, None] * stride_kd,
                      mask=col_ok[None, :], other=0.0)
    s = tl.dot(q_tile, kt_tile) * scale

    o_ptrs = out_ptr + bh * stride_oh + rows[:, None] * stride_os + cols[None, :] * stride_oj
    tl.store(o_ptrs, s, mask=row_ok[:, None] & col_ok[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    if scale is None:
        scale = 1.0 / math.sqrt(D)
    # (B, H, S, D) -> (B*H, S, D): one index for the (batch, head) pair, free for contiguous tensors.
    q3 = q.reshape(B * H, S, D)
    k3 = k.reshape(B * H, S, D)
    out = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    BLOCK_M, BLOCK_N = 32, 16  # tl.dot needs every dimension >= 16 on a GPU
    n_tiles = triton.cdiv(S, BLOCK_M) * triton.cdiv(S, BLOCK_N)
    scores_kernel[(n_tiles, B * H)](
        q3, k3, out, S, scale,
        q3.stride(0), q3.stride(1), q3.stride(2),
        k3.stride(0), k3.stride(1), k3.stride(2),
        out.stride(0), out.stride(1), out.stride(2),
        D=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N,
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
