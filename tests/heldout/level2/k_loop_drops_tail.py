"""Level 2 - Matmul, one program per output tile (1-D launch)."""

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402


@triton.jit
def mm_kernel(
    a_ptr, b_ptr, c_ptr,
    M, N, K,
    sam, sak, sbk, sbn, scm, scn,
    BM: tl.constexpr, BN: tl.constexpr, BK: tl.constexpr,
):
    pid = tl.program_id(0)
    num_pid_m = tl.cdiv(M, BM)
    num_pid_n = tl.cdiv(N, BN)
    pid_m = pid // num_pid_n
    pid_n = pid % num_pid_n

    rm = pid_m * BM + tl.arange(0, BM)
    rn = pid_n * BN + tl.arange(0, BN)
    rk = tl.arange(0, BK)

    a_ptrs = a_ptr + rm[:, None] * sam + rk[None, :] * sak
    b_ptrs = b_ptr + rk[:, None] * sbk + rn[None, :] * sbn

    acc = tl.zeros((BM, BN), dtype=tl.float32)
    for k0 in range(0, (K // BK) * BK, BK):
        a_mask = (rm[:, None] < M) & (rk[None, :] + k0 < K)
        b_mask = (rk[:, None] + k0 < K) & (rn[None, :] < N)
        a_blk = tl.load(a_ptrs, mask=a_mask, other=0.0)
        b_blk = tl.load(b_ptrs, mask=b_mask, other=0.0)
        acc += tl.dot(a_blk, b_blk)
        a_ptrs += BK * sak
        b_ptrs += BK * sbk

    c_ptrs = c_ptr + rm[:, None] * scm + rn[None, :] * scn
    c_mask = (rm[:, None] < M) & (rn[None, :] < N)
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=c_mask)


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    M, K = a.shape
    Kb, N = b.shape
    assert K == Kb
    c = torch.empty((M, N), device=a.device, dtype=a.dtype)
    BM, BN, BK = 32, 32, 16
    grid = (triton.cdiv(M, BM) * triton.cdiv(N, BN),)
    mm_kernel[grid](
        a, b, c,
        M, N, K,
        a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
        BM=BM, BN=BN, BK=BK,
    )
    return c


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    a = torch.randn(100, 70, device=device)
    b = torch.randn(70, 45, device=device)
    torch.testing.assert_close(matmul(a, b), a @ b, atol=1e-2, rtol=1e-2)
    print("ok")
