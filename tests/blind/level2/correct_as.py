"""Level 2 - Matmul: each program computes one BLOCK_M x BLOCK_N tile of c = a @ b, walking K.

A 1-D launch of tiles_m * tiles_n programs; program id -> (tile row, tile column), row-major.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def matmul_kernel(
    a_ptr, b_ptr, c_ptr,
    M, N, K,
    stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid = tl.program_id(axis=0)
    tiles_m = tl.cdiv(M, BLOCK_M)
    tiles_n = tl.cdiv(N, BLOCK_N)
    tm = pid // tiles_n
    tn = pid % tiles_n

    i = tm * BLOCK_M + tl.arange(0, BLOCK_M)
    j = tn * BLOCK_N + tl.arange(0, BLOCK_N)
    kk = tl.arange(0, BLOCK_K)
    in_i = i < M
    in_j = j < N

    total = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        kidx = k0 + kk
        in_k = kidx < K
        a_blk = tl.load(a_ptr + i[:, None] * stride_am + kidx[None, :] * stride_ak,
                        mask=in_i[:, None] & in_k[None, :], other=0.0)
        b_blk = tl.load(b_ptr + kidx[:, None] * stride_bk + j[None, :] * stride_bn,
                        mask=in_k[:, None] & in_j[None, :], other=0.0)
        total += tl.dot(a_blk, b_blk)

    tl.store(c_ptr + i[:, None] * stride_cm + j[None, :] * stride_cn,
             total.to(c_ptr.dtype.element_ty), mask=in_i[:, None] & in_j[None, :])


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    M, K = a.shape
    K2, N = b.shape
    assert K == K2, f"inner dimensions differ: a is {tuple(a.shape)}, b is {tuple(b.shape)}"
    c = torch.empty((M, N), device=a.device, dtype=a.dtype)
    BLOCK_M, BLOCK_N, BLOCK_K = 32, 64, 16
    n_tiles = triton.cdiv(M, BLOCK_M) * triton.cdiv(N, BLOCK_N)
    matmul_kernel[(n_tiles,)](
        a, b, c, M, N, K,
        a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
        BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K,
    )
    return c
