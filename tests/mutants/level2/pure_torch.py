"""Mutant: the answer is computed with PyTorch, no kernel is launched."""

EXPECT = 'no Triton kernel'

import os

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"


def _configs() -> list[triton.Config]:
    """Tile shapes to try. The interpreter gets one small tile (it pays per program and per op, and a
    single config means no benchmarking); a GPU gets a few shapes that suit tensor cores, and the
    autotuner keeps the fastest for each (M, N, K)."""
    if INTERPRETED:
        return [triton.Config({"BLOCK_M": 64, "BLOCK_N": 64, "BLOCK_K": 32, "GROUP_M": 4})]
    shapes = [
        # (BLOCK_M, BLOCK_N, BLOCK_K, num_stages, num_warps)
        (128, 256, 64, 3, 8),
        (256, 128, 64, 3, 8),
        (128, 128, 64, 4, 4),
        (128, 128, 32, 4, 4),
        (128, 64, 32, 4, 4),
        (64, 128, 32, 4, 4),
        (64, 64, 32, 5, 2),
        (32, 64, 32, 5, 2),
    ]
    return [
        triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8}, num_stages=stages, num_warps=warps)
        for bm, bn, bk, stages, warps in shapes
    ]


@triton.jit
def _dot_slice(acc, a_ptrs, b_ptrs, rows, cols, ks, k0, M, N, K, stride_ak, stride_bk):
    """acc + the product of the a and b tiles in the K slice that starts at k0."""
    k_inside = ks < K - k0  # the last slice along K is partial: lanes past K must read 0
    a = tl.load(a_ptrs + k0 * stride_ak, mask=(rows[:, None] < M) & k_inside[None, :], other=0.0)
    b = tl.load(b_ptrs + k0 * stride_bk, mask=k_inside[:, None] & (cols[None, :] < N), other=0.0)
    return tl.dot(a, b, acc)


@triton.autotune(configs=_configs(), key=["M", "N", "K"])
@triton.jit
def matmul_kernel(
    a_ptr, b_ptr, c_ptr,
    M, N, K,
    stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
    WHILE_LOOP: tl.constexpr,
):
    # Grouped ordering: consecutive program ids walk down a column of GROUP_M tiles before moving
    # right, so the programs running together reuse the same rows of a and columns of b from L2.
    pid = tl.program_id(axis=0)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    tiles_per_group = GROUP_M * num_pid_n
    group = pid // tiles_per_group
    first_pid_m = group * GROUP_M
    group_rows = tl.minimum(num_pid_m - first_pid_m, GROUP_M)  # the last group may be shorter
    pid_m = first_pid_m + (pid % tiles_per_group) % group_rows
    pid_n = (pid % tiles_per_group) // group_rows

    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    ks = tl.arange(0, BLOCK_K)
    a_ptrs = a_ptr + rows[:, None] * stride_am + ks[None, :] * stride_ak
    b_ptrs = b_ptr + ks[:, None] * stride_bk + cols[None, :] * stride_bn

    # float32 accumulator whatever the input dtype: half precision would lose the small terms of a long sum.
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    # Walk K one BLOCK_K slice at a time. The compiler software-pipelines a `for` loop (the loads of
    # the next slices overlap the current tl.dot), which is worth 4x here. Triton 3.6's interpreter
    # cannot iterate a range with a runtime bound under numpy >= 2.4, so it takes the same loop as a `while`.
    if WHILE_LOOP:
        k0 = 0
        while k0 < K:
            acc = _dot_slice(acc, a_ptrs, b_ptrs, rows, cols, ks, k0, M, N, K, stride_ak, stride_bk)
            k0 += BLOCK_K
    else:
        for k0 in range(0, K, BLOCK_K):
            acc = _dot_slice(acc, a_ptrs, b_ptrs, rows, cols, ks, k0, M, N, K, stride_ak, stride_bk)

    c_ptrs = c_ptr + rows[:, None] * stride_cm + cols[None, :] * stride_cn
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=(rows[:, None] < M) & (cols[None, :] < N))


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    M, K = a.shape
    K2, N = b.shape
    assert K == K2, f"inner dimensions differ: a is {tuple(a.shape)}, b is {tuple(b.shape)}"
    c = torch.empty((M, N), device=a.device, dtype=a.dtype)

    # The grid depends on the tile shape the autotuner picks, so it is a function of the config.
    def grid(meta: dict) -> tuple[int]:
        return (triton.cdiv(M, meta["BLOCK_M"]) * triton.cdiv(N, meta["BLOCK_N"]),)

    return a @ b

