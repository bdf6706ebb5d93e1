"""Level 2 at 2048^3 and 4096^3: where a call's time goes on the host (launch, descriptors, autotuner).

    python benchmarks/level2_host_overhead.py   # from the repository root, on a CUDA machine

At 2048^3 the product takes about 29 us on an H200, less than the host needs to issue one call of the
solution (BENCHMARKS.md), so back-to-back calls leave the GPU idle. Each variant below is timed twice:
host microseconds per call without synchronising (how fast calls can be issued), and do_bench (what
the GPU sees when the calls run back to back). The last two variants are candidates for a faster
solution: they keep a and b's descriptors and the autotuned config between calls.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import torch
import triton
import triton.language as tl
import triton.testing
from triton.tools.tensor_descriptor import TensorDescriptor

from measure import solution_module  # benchmarks/ is on sys.path when a script here runs


solution = solution_module("level2_matmul.py")
tile_of = solution.tile_of  # a global, so the kernel below can call the solution's jitted helper


def host_us(call: Callable[[], Any], calls: int = 2000) -> float:
    call()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    elapsed = time.perf_counter() - start
    torch.cuda.synchronize()
    return elapsed / calls * 1e6


@triton.jit
def matmul_store_by_pointer(a_desc, b_desc, c_ptr, M, N, K, stride_cm,
                            BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr):
    """The solution's descriptor kernel, but c is stored through pointers: c then needs no descriptor,
    which is the one that cannot be kept between calls (c is new each time)."""
    pid_m, pid_n = tile_of(tl.program_id(axis=0), M, N, BLOCK_M, BLOCK_N, GROUP_M)
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        acc = tl.dot(a_desc.load([pid_m * BLOCK_M, k0]), b_desc.load([k0, pid_n * BLOCK_N]), acc)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    tl.store(c_ptr + rows[:, None] * stride_cm + cols[None, :], acc.to(c_ptr.dtype.element_ty), mask=(rows[:, None] < M) & (cols[None, :] < N))


def main() -> None:
    for size in (2048, 4096):
        a = torch.randn(size, size, device="cuda", dtype=torch.float16)
        b = torch.randn(size, size, device="cuda", dtype=torch.float16)
        solution.matmul(a, b)
        best = solution.matmul_descriptor_kernel.best_config
        tile = dict(best.kwargs)
        bm, bn, bk = tile["BLOCK_M"], tile["BLOCK_N"], tile["BLOCK_K"]
        launch = {"num_warps": best.num_warps, "num_stages": best.num_stages, **tile}
        grid = (triton.cdiv(size, bm) * triton.cdiv(size, bn),)
        kernel = solution.matmul_descriptor_kernel.fn
        a_desc, b_desc = TensorDescriptor.from_tensor(a, [bm, bk]), TensorDescriptor.from_tensor(b, [bk, bn])
        c = torch.empty_like(a)
        c_desc = TensorDescriptor.from_tensor(c, [bm, bn])

        def kernel_alone() -> None:
            kernel[grid](a_desc, b_desc, c_desc, size, size, size, **launch)

        def everything_per_call() -> torch.Tensor:
            out = torch.empty((size, size), device=a.device, dtype=a.dtype)
            descs = TensorDescriptor.from_tensor(a, [bm, bk]), TensorDescriptor.from_tensor(b, [bk, bn]), TensorDescriptor.from_tensor(out, [bm, bn])
            kernel[grid](*descs, size, size, size, **launch)
            return out

        def cached_inputs_fresh_c_descriptor() -> torch.Tensor:
            out = torch.empty((size, size), device=a.device, dtype=a.dtype)
            kernel[grid](a_desc, b_desc, TensorDescriptor.from_tensor(out, [bm, bn]), size, size, size, **launch)
            return out

        def cached_inputs_c_by_pointer() -> torch.Tensor:
            out = torch.empty((size, size), device=a.device, dtype=a.dtype)
            matmul_store_by_pointer[grid](a_desc, b_desc, out, size, size, size, out.stride(0), **launch)
            return out

        torch.testing.assert_close(cached_inputs_c_by_pointer(), a @ b, atol=1e-1, rtol=1e-2)
        cublas = triton.testing.do_bench(lambda: a @ b, warmup=50, rep=300)
        print(f"== {size}^3 fp16, best config {best}: cuBLAS {cublas:.4f} ms, host {host_us(lambda: a @ b):.1f} us/call", flush=True)
        variants: list[tuple[str, Callable[[], Any]]] = [
            ("matmul() as written", lambda: solution.matmul(a, b)),
            ("kernel alone, descriptors built once", kernel_alone),
            ("c and 3 descriptors per call, no autotuner", everything_per_call),
            ("a/b descriptors kept, c descriptor per call", cached_inputs_fresh_c_descriptor),
            ("a/b descriptors kept, c by pointer", cached_inputs_c_by_pointer),
            ("torch.empty alone", lambda: torch.empty((size, size), device=a.device, dtype=a.dtype)),
            ("TensorDescriptor.from_tensor alone", lambda: TensorDescriptor.from_tensor(a, [bm, bk])),
        ]
        for name, call in variants:
            host = host_us(call)
            ms = triton.testing.do_bench(call, warmup=50, rep=300)
            print(f"  {name:46s} host {host:6.1f} us/call   do_bench {ms:.4f} ms = {cublas / ms:.2f}x cuBLAS", flush=True)


if __name__ == "__main__":
    main()
