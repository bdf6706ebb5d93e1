"""Level 2 - Matmul (author aj): a 1-D launch of output tiles, pointers walked along K, fp32 accumulator."""

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
    tile = tl.program_id(axis=0)
    tiles_n = tl.cdiv(N, BLOCK_N)
    tm = tile // tiles_n
    tn = tile % tiles_n

    r = tm * BLOCK_M + tl.arange(0, BLOCK_M)
    c = tn * BLOCK_N + tl.arange(0, BLOCK_N)
    kk = tl.arange(0, BLOCK_K)

    a_tile_ptr = a_ptr + r[:, None] * stride_am + kk[None, :] * stride_ak
    b_tile_ptr = b_ptr + kk[:, None] * stride_bk + c[None, :] * stride_bn

    total = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        k_left = K - k0
        a_blk = tl.load(a_tile_ptr, mask=(r[:, None] < M) & (kk[None, :] < k_left), other=0.0)
        b_blk = tl.load(b_tile_ptr, mask=(kk[:, None] < k_left) & (c[None, :] < N), other=0.0)
        total += tl.dot(a_blk, b_blk)
        a_tile_ptr += BLOCK_K * stride_ak
        b_tile_ptr += BLOCK_K * stride_bk

    c_out = c_ptr + r[:, None] * stride_cm + c[None, :] * stride_cn
    tl.store(c_out, total.to(c_ptr.dtype.element_ty), mask=(r[:, None] < M) & (c[None, :] < N))


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    M, K = a.shape
    K2, N = b.shape
    assert K == K2, f"inner dimensions differ: a is {tuple(a.shape)}, b is {tuple(b.shape)}"
    c = torch.empty((M, N), device=a.device, dtype=a.dtype)
    BLOCK_M, BLOCK_N, BLOCK_K = 32, 64, 16
    grid = (triton.cdiv(M, BLOCK_M) * triton.cdiv(N, BLOCK_N),)
    matmul_kernel[grid](
        a, b, c, M, N, K,
        a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
        BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, BLOCK_K=BLOCK_K,
    )
    return c


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    a = torch.randn(100, 70, device=device)
    b = torch.randn(70, 45, device=device)
    torch.testing.assert_close(matmul(a, b), a @ b, atol=1e-2, rtol=1e-2)
    print("level 2 self-check passed")
