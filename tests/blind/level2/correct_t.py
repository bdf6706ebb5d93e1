"""Level 2 - Matmul: a tiled matrix product on tensor cores.

THE IDEA
    c = a @ b is the operation GPUs are built for, and attention is made of it: the scores are
    q @ k^T and the output is P @ v. A GPU computes it tile by tile. Each program owns one
    BLOCK_M x BLOCK_N tile of c and walks along K, multiplying a (BLOCK_M, BLOCK_K) tile of a by a
    (BLOCK_K, BLOCK_N) tile of b with tl.dot (one call, run on the tensor cores) and adding the result
    into an accumulator that stays in registers. Only the finished tile is written to memory.

    The accumulator is float32 even for float16 inputs: a long sum in half precision loses its small
    terms. Flash Attention is this same loop with a softmax between two tl.dot calls, so the tiles,
    the masks on ragged edges and the float32 accumulator you write here come back in levels 7 and 8.

THE ALGORITHM
    1. Cut c (M x N) into BLOCK_M x BLOCK_N tiles: a grid of cdiv(M, BLOCK_M) x cdiv(N, BLOCK_N)
       programs (round up: the last row and column of tiles are usually partial).
    2. Program (pid_m, pid_n) owns rows pid_m*BLOCK_M + arange(BLOCK_M) and
       columns pid_n*BLOCK_N + arange(BLOCK_N) of c.
    3. acc = zeros((BLOCK_M, BLOCK_N), float32)
       for k0 = 0, BLOCK_K, 2*BLOCK_K, ... while k0 < K:
           a_tile = a[rows, k0 + arange(BLOCK_K)]     (lanes past M or K read 0.0)
           b_tile = b[k0 + arange(BLOCK_K), cols]     (lanes past K or N read 0.0)
           acc += tl.dot(a_tile, b_tile)
    4. Store acc, converted to c's dtype, at c[rows, cols] for rows < M and cols < N only.
    Element [i, j] of a 2-D tensor t lives at t_ptr + i * t.stride(0) + j * t.stride(1).

SHAPES AND DTYPES
    a : (M, K), b : (K, N), any M, N, K >= 1 (1 included), same dtype: float32 or float16 (bfloat16 on a GPU)
    returns a new (M, N) tensor in a's dtype, the products summed in float32
    On a GPU, tl.dot with float32 inputs uses TF32 (a 10-bit mantissa); the checks allow for that.
    Keep every BLOCK >= 16: tl.dot needs it on a GPU.

CHECK YOUR WORK
    pytest --level 2          the quest's checks (M, N or K = 1, non-square, ragged sizes, both dtypes)
    pytest --hint 2           the next hint, if you are stuck
    python katas/level2_matmul.py    a quick local self-check
"""

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
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
    # one flat program id per output tile, walked row of tiles by row of tiles
    pid = tl.program_id(0)
    tiles_n = tl.cdiv(N, BLOCK_N)
    pid_m = pid // tiles_n
    pid_n = pid % tiles_n

    offs_m = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    offs_n = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    offs_k = tl.arange(0, BLOCK_K)

    a_ptrs = a_ptr + offs_m[:, None] * stride_am + offs_k[None, :] * stride_ak
    b_ptrs = b_ptr + offs_k[:, None] * stride_bk + offs_n[None, :] * stride_bn

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, tl.cdiv(K, BLOCK_K)):
        k_left = K - k0 * BLOCK_K
        a_tile = tl.load(a_ptrs, mask=(offs_m[:, None] < M) & (offs_k[None, :] < k_left), other=0.0)
        b_tile = tl.load(b_ptrs, mask=(offs_k[:, None] < k_left) & (offs_n[None, :] < N), other=0.0)
        acc += tl.dot(a_tile, b_tile)
        a_ptrs += BLOCK_K * stride_ak
        b_ptrs += BLOCK_K * stride_bk

    c_ptrs = c_ptr + offs_m[:, None] * stride_cm + offs_n[None, :] * stride_cn
    c_mask = (offs_m[:, None] < M) & (offs_n[None, :] < N)
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=c_mask)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    M, K = a.shape
    K2, N = b.shape
    assert K == K2, f"inner dimensions differ: a is {tuple(a.shape)}, b is {tuple(b.shape)}"
    c = torch.empty((M, N), device=a.device, dtype=a.dtype)
    BLOCK_M, BLOCK_N, BLOCK_K = 32, 32, 16
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
    # Loose enough for TF32 on a GPU.
    torch.testing.assert_close(matmul(a, b), a @ b, atol=1e-2, rtol=1e-2)
    print("level 2 self-check passed: now run `pytest --level 2`")
