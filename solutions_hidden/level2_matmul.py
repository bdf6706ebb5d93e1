"""Level 2 - Matmul: reference solution.

THE IDEA
    A matrix product c = a @ b is the heart of attention: the scores are q @ k^T and the output is
    P @ v. On a GPU it is computed tile by tile: each program owns one BLOCK_M x BLOCK_N tile of c and
    walks along K, multiplying a (BLOCK_M, BLOCK_K) tile of a by a (BLOCK_K, BLOCK_N) tile of b with
    tl.dot, which runs on the tensor cores, and adding the products into a float32 accumulator that
    lives in registers. Nothing but the finished tile is ever written to memory.

    Flash Attention is this loop with a softmax squeezed between two tl.dot calls: the same tiles,
    the same masks on the ragged edges, the same float32 accumulator.

THE ALGORITHM
    1. Cut c (M x N) into BLOCK_M x BLOCK_N tiles; one program per tile (round the counts up).
    2. Map the program id to a tile (pid_m, pid_n). Walking the tiles in groups of GROUP_M rows makes
       programs that run at the same time share tiles of a and b in the L2 cache.
    3. acc = zeros((BLOCK_M, BLOCK_N), float32)
       for each block of BLOCK_K along K (round up: the last block is partial):
           load the a tile and the b tile, masked so lanes past M, N or K read 0.0
           acc += tl.dot(a_tile, b_tile)
    4. Store acc converted to c's dtype, masked to rows < M and columns < N.

    The fast path on Hopper: when a and b are row-major with rows a multiple of 16 bytes, the same
    loop reads them through tensor descriptors (matmul_descriptor_kernel) instead of pointers and
    masks. Measured on an H100 at 4096^3 in fp16, that took it from 0.83x to 0.99x of cuBLAS.

SHAPES AND DTYPES
    a : (M, K), b : (K, N), any M, N, K >= 1, same dtype: float32 or float16 (bfloat16 on a GPU)
    returns a new (M, N) tensor in a's dtype, the products accumulated in float32
    (on a GPU, float32 tl.dot uses TF32 tensor cores: inputs rounded to a 10-bit mantissa)

CHECK YOUR WORK
    pytest --level 2          the quest's checks (M, N or K = 1, non-square, ragged sizes, both dtypes)
    pytest --hint 2           the next hint, if you are stuck
    python katas/level2_matmul.py    a quick local self-check
"""

import os
from typing import Callable

import torch

if not torch.cuda.is_available():
    # No GPU: run the kernels on the CPU through Triton's interpreter (set before any @triton.jit runs).
    os.environ.setdefault("TRITON_INTERPRET", "1")

import triton  # noqa: E402
import triton.language as tl  # noqa: E402
import triton.testing  # noqa: E402

INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"

try:  # host-side tensor descriptors, Triton >= 3.4
    from triton.tools.tensor_descriptor import TensorDescriptor
except ImportError:  # pragma: no cover - older Triton: every product takes the pointer path
    TensorDescriptor = None

# Below this many multiply-adds a product is over in microseconds: timing eight tile shapes would cost
# far more than it could save, so small products skip the autotuner's benchmark (see _prune_small).
SMALL_PRODUCT = 256 * 256 * 256


def _configs(shapes: list[tuple[int, int, int, int, int]], pre_hook=None) -> list[triton.Config]:
    """Tile shapes to try, (BLOCK_M, BLOCK_N, BLOCK_K, num_stages, num_warps) each. The interpreter
    gets one small tile (it pays per program and per op); a GPU gets a few shapes that suit tensor
    cores, and the autotuner keeps the fastest for each (M, N, K). The last shape is the smallest:
    small products use it without timing the others."""
    if INTERPRETED:
        shapes = [(64, 64, 32, 1, 4)]
    return [
        triton.Config({"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "GROUP_M": 8}, num_stages=stages, num_warps=warps, pre_hook=pre_hook)
        for bm, bn, bk, stages, warps in shapes
    ]


def _prune_small(configs: list[triton.Config], named_args: dict, **kwargs) -> list[triton.Config]:
    if named_args["M"] * named_args["N"] * named_args["K"] <= SMALL_PRODUCT:
        return configs[-1:]
    return configs


def _gpu_time(kernel_call: Callable[[], None], quantiles: list[float]) -> list[float]:
    """The autotuner's timer: CUDA-graph replays of the launch, so that only the GPU's work is
    timed. At 2048^3 a launch costs the host about as long as the product costs the GPU, and a
    timer that counts the host too can rank the fast tiles by noise."""
    return triton.testing.do_bench_cudagraph(kernel_call, quantiles=quantiles)


def _set_block_shapes(args: dict) -> None:
    """Before each launch: a descriptor copies tiles of the shape of the config being launched."""
    args["a_desc"].block_shape = [args["BLOCK_M"], args["BLOCK_K"]]
    args["b_desc"].block_shape = [args["BLOCK_K"], args["BLOCK_N"]]


POINTER_CONFIGS = _configs(
    [(128, 256, 64, 3, 8), (256, 128, 64, 3, 8), (128, 128, 64, 4, 4), (128, 128, 32, 4, 4), (128, 64, 32, 4, 4), (64, 128, 32, 4, 4), (64, 64, 32, 5, 2), (32, 64, 32, 5, 2)]
)
# On an H100 the descriptor kernel's best tile is 128 x 256 x 64 over 3 stages with 8 warps (0.99x
# cuBLAS at 4096^3, 1.04x at 8192^3, measured 2026-11-27); the pointer kernel peaked at 0.83x.
DESCRIPTOR_CONFIGS = _configs(
    [(128, 256, 64, 3, 8), (256, 128, 64, 3, 8), (128, 256, 32, 4, 8), (128, 128, 64, 4, 4), (64, 128, 64, 4, 4), (64, 64, 64, 3, 4)],
    pre_hook=_set_block_shapes,
)


@triton.jit
def tile_of(pid, M, N, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, GROUP_M: tl.constexpr):
    """The (row, column) tile of c that program `pid` computes, in grouped order: consecutive
    program ids walk down a column of GROUP_M tiles before moving right, so the programs running
    together reuse the same rows of a and columns of b from the L2 cache."""
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    tiles_per_group = GROUP_M * num_pid_n
    group = pid // tiles_per_group
    first_pid_m = group * GROUP_M
    group_rows = tl.minimum(num_pid_m - first_pid_m, GROUP_M)  # the last group may be shorter
    pid_m = first_pid_m + (pid % tiles_per_group) % group_rows
    pid_n = (pid % tiles_per_group) // group_rows
    return pid_m, pid_n


@triton.jit
def store_tile(c_ptr, acc, pid_m, pid_n, M, N, stride_cm, stride_cn, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr):
    """Write the finished tile in c's dtype. The last tiles of rows and columns may be partial:
    lanes at rows >= M or columns >= N have no place in c."""
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    c_ptrs = c_ptr + rows[:, None] * stride_cm + cols[None, :] * stride_cn
    tl.store(c_ptrs, acc.to(c_ptr.dtype.element_ty), mask=(rows[:, None] < M) & (cols[None, :] < N))


@triton.jit
def _dot_slice(acc, a_ptrs, b_ptrs, rows, cols, ks, k0, M, N, K, stride_ak, stride_bk):
    """acc + the product of the a and b tiles in the K slice that starts at k0."""
    k_inside = ks < K - k0  # the last slice along K is partial: lanes past K must read 0
    a = tl.load(a_ptrs + k0 * stride_ak, mask=(rows[:, None] < M) & k_inside[None, :], other=0.0)
    b = tl.load(b_ptrs + k0 * stride_bk, mask=k_inside[:, None] & (cols[None, :] < N), other=0.0)
    return tl.dot(a, b, acc)


@triton.autotune(configs=POINTER_CONFIGS, key=["M", "N", "K"], prune_configs_by={"early_config_prune": _prune_small}, do_bench=_gpu_time)
@triton.jit
def matmul_kernel(
    a_ptr, b_ptr, c_ptr,
    M, N, K,
    stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
):
    """Any layout: pointers and masks."""
    pid_m, pid_n = tile_of(tl.program_id(axis=0), M, N, BLOCK_M, BLOCK_N, GROUP_M)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    ks = tl.arange(0, BLOCK_K)
    a_ptrs = a_ptr + rows[:, None] * stride_am + ks[None, :] * stride_ak
    b_ptrs = b_ptr + ks[:, None] * stride_bk + cols[None, :] * stride_bn

    # float32 accumulator whatever the input dtype: half precision would lose the small terms of a long sum.
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    # Walk K one BLOCK_K slice at a time. The compiler software-pipelines a `for` loop (the loads of
    # the next slices overlap the current tl.dot), which measured 4x faster than a `while` loop here.
    for k0 in range(0, K, BLOCK_K):
        acc = _dot_slice(acc, a_ptrs, b_ptrs, rows, cols, ks, k0, M, N, K, stride_ak, stride_bk)
    store_tile(c_ptr, acc, pid_m, pid_n, M, N, stride_cm, stride_cn, BLOCK_M, BLOCK_N)


@triton.autotune(configs=DESCRIPTOR_CONFIGS, key=["M", "N", "K"], prune_configs_by={"early_config_prune": _prune_small}, do_bench=_gpu_time)
@triton.jit
def matmul_descriptor_kernel(
    a_desc, b_desc, c_ptr,
    M, N, K, stride_cm, stride_cn,
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr,
):
    """Row-major a and b with 16-byte aligned rows: tensor descriptors instead of pointers.

    A descriptor knows its tensor's shape and strides, so desc.load([row, col]) fetches a whole tile
    and fills the part outside the tensor with zeros: no masks in the loop. On Hopper the copy is
    done by the TMA engine straight into shared memory, which frees the warps' registers and
    instructions for tl.dot. c is written once per tile, through pointers and a mask: a third
    descriptor would gain little on the GPU and cost the host time on every call, and at 2048^3
    the host's launch already takes about as long as the product (BENCHMARKS.md).
    """
    pid_m, pid_n = tile_of(tl.program_id(axis=0), M, N, BLOCK_M, BLOCK_N, GROUP_M)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        a = a_desc.load([pid_m * BLOCK_M, k0])
        b = b_desc.load([k0, pid_n * BLOCK_N])
        acc = tl.dot(a, b, acc)
    store_tile(c_ptr, acc, pid_m, pid_n, M, N, stride_cm, stride_cn, BLOCK_M, BLOCK_N)


def _descriptor_ready(*tensors: torch.Tensor) -> bool:
    """Descriptors need row-major tensors whose start and row stride are multiples of 16 bytes."""
    return TensorDescriptor is not None and all(
        t.stride(1) == 1 and (t.stride(0) * t.element_size()) % 16 == 0 and t.data_ptr() % 16 == 0 for t in tensors
    )


def grid_of(M: int, N: int) -> Callable[[dict], tuple[int]]:
    """One program per tile of c, the counts rounded up. The tile shape is the config's, so the
    grid is a function of the config."""

    def grid(meta: dict) -> tuple[int]:
        return (triton.cdiv(M, meta["BLOCK_M"]) * triton.cdiv(N, meta["BLOCK_N"]),)

    return grid


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    M, K = a.shape
    K2, N = b.shape
    assert K == K2, f"inner dimensions differ: a is {tuple(a.shape)}, b is {tuple(b.shape)}"
    c = torch.empty((M, N), device=a.device, dtype=a.dtype)

    if _descriptor_ready(a, b):
        # The block shapes are placeholders: _set_block_shapes fills in each config's before its launch.
        a_desc, b_desc = (TensorDescriptor.from_tensor(t, [16, 16]) for t in (a, b))
        matmul_descriptor_kernel[grid_of(M, N)](a_desc, b_desc, c, M, N, K, c.stride(0), c.stride(1))
    else:
        matmul_kernel[grid_of(M, N)](
            a, b, c,
            M, N, K,
            a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1),
        )
    return c


if __name__ == "__main__":
    device = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"
    a = torch.randn(100, 70, device=device)
    b = torch.randn(70, 45, device=device)
    # Loose enough for TF32 on a GPU.
    torch.testing.assert_close(matmul(a, b), a @ b, atol=1e-2, rtol=1e-2)
    print("level 2 self-check passed: now run `pytest --level 2`")
