"""Level 4 - Attention Scores: out[b, h] = q[b, h] @ k[b, h]^T * scale, one tile per program."""

import math
import os

import torch

if not torch.cuda.is_available():
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
    # Grid axis 0: the (batch, head) pair; axis 1: the tile of the S x S matrix, row-major.
    head = tl.program_id(0)
    tile = tl.program_id(1)
    tiles_per_row = tl.cdiv(S, BLOCK_N)
    qi = (tile // tiles_per_row) * BLOCK_M + tl.arange(0, BLOCK_M)
    kj = (tile % tiles_per_row) * BLOCK_N + tl.arange(0, BLOCK_N)
    d = tl.arange(0, D)
    q_ok = qi < S
    k_ok = kj < S

    q_base = q_ptr + head * stride_qh
    k_base = k_ptr + head * stride_kh
    o_base = out_ptr + head * stride_oh

    q_blk = tl.load(q_base + qi[:, None] * stride_qs + d[None, :] * stride_qd, mask=q_ok[:, None], other=0.0)
    # Load k already transposed: a (D, BLOCK_N) tile.
    kt_blk = tl.load(k_base + kj[None, :] * stride_ks + d[:, None] * stride_kd, mask=k_ok[None, :], other=0.0)

    s = tl.dot(q_blk, kt_blk, out_dtype=tl.float32) * scale

    tl.store(o_base + qi[:, None] * stride_os + kj[None, :] * stride_oj, s, mask=q_ok[:, None] & k_ok[None, :])


def attention_scores(q: torch.Tensor, k: torch.Tensor, scale: float | None = None) -> torch.Tensor:
    B, H, S, D = q.shape
    scale = 1.0 / math.sqrt(D)
    q3 = q.reshape(B * H, S, D)
    k3 = k.reshape(B * H, S, D)
    out = torch.empty((B * H, S, S), device=q.device, dtype=torch.float32)
    BLOCK_M, BLOCK_N = 16, 32
    n_tiles = triton.cdiv(S, BLOCK_M) * triton.cdiv(S, BLOCK_N)
    grid = (B * H, n_tiles)
    scores_kernel[grid](
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
    print("level 4 self-check passed")
