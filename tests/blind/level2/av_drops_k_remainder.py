"""Level 2 - Matmul: c = a @ b, one BLOCK_M x BLOCK_N tile of c per program, fp32 accumulator."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def _tile_matmul(
    a_ptr, b_ptr, c_ptr,
    M, N, K,
    sa0, sa1, sb0, sb1, sc0, sc1,
    TM: tl.constexpr, TN: tl.constexpr, TK: tl.constexpr,
):
    # one flat program id, unfolded into (tile row, tile column)
    pid = tl.program_id(0)
    tiles_n = tl.cdiv(N, TN)
    tile_r = pid // tiles_n
    tile_c = pid % tiles_n

    offs_r = tile_r * TM + tl.arange(0, TM)
    offs_c = tile_c * TN + tl.arange(0, TN)
    offs_k = tl.arange(0, TK)
    r_ok = offs_r < M
    c_ok = offs_c < N

    a_ptrs = a_ptr + offs_r[:, None] * sa0 + offs_k[None, :] * sa1
    b_ptrs = b_ptr + offs_k[:, None] * sb0 + offs_c[None, :] * sb1

    total = tl.zeros((TM, TN), dtype=tl.float32)
    for kk in range(0, K // TK):
        k_left = K - kk * TK
        a_blk = tl.load(a_ptrs, mask=r_ok[:, None] & (offs_k[None, :] < k_left), other=0.0)
        b_blk = tl.load(b_ptrs, mask=(offs_k[:, None] < k_left) & c_ok[None, :], other=0.0)
        total += tl.dot(a_blk, b_blk)
        a_ptrs += TK * sa1
        b_ptrs += TK * sb0

    c_ptrs = c_ptr + offs_r[:, None] * sc0 + offs_c[None, :] * sc1
    tl.store(c_ptrs, total.to(c_ptr.dtype.element_ty), mask=r_ok[:, None] & c_ok[None, :])


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    M, K = a.shape
    K2, N = b.shape
    assert K == K2, f"inner dimensions differ: a is {tuple(a.shape)}, b is {tuple(b.shape)}"
    c = torch.empty((M, N), device=a.device, dtype=a.dtype)
    TM, TN, TK = 32, 64, 32
    n_tiles = triton.cdiv(M, TM) * triton.cdiv(N, TN)
    _tile_matmul[(n_tiles,)](
        a, b, c, M, N, K,
        a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
        TM=TM, TN=TN, TK=TK,
    )
    return c


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    a = torch.randn(100, 70, device=device)
    b = torch.randn(70, 45, device=device)
    torch.testing.assert_close(matmul(a, b), a @ b, atol=1e-2, rtol=1e-2)
    print("level 2 self-check passed")
