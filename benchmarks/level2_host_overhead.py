"""Level 2 at 2048^3 and 4096^3: where a call's time goes on the host (launch, descriptors, autotuner).

    python benchmarks/level2_host_overhead.py   # from the repository root, on a CUDA machine

At 2048^3 the product takes about 29 us on an H200, about what the host needs to issue one call, so
back-to-back calls can leave the GPU idle (BENCHMARKS.md). Each variant below is timed twice: host
microseconds per call without synchronising (how fast calls can be issued), and do_bench (what the
GPU sees when the calls run back to back).
"""

from __future__ import annotations

import time
from typing import Any, Callable

import torch
import triton
import triton.testing
from triton.tools.tensor_descriptor import TensorDescriptor

from measure import solution_module  # benchmarks/ is on sys.path when a script here runs


solution = solution_module("level2_matmul.py")


def host_us(call: Callable[[], Any], calls: int = 2000) -> float:
    call()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(calls):
        call()
    elapsed = time.perf_counter() - start
    torch.cuda.synchronize()
    return elapsed / calls * 1e6


def main() -> None:
    for size in (2048, 4096):
        a = torch.randn(size, size, device="cuda", dtype=torch.float16)
        b = torch.randn(size, size, device="cuda", dtype=torch.float16)
        solution.matmul(a, b)
        best = solution.matmul_descriptor_kernel.best_config
        tile = dict(best.kwargs)
        bm, bn, bk = tile["BLOCK_M"], tile["BLOCK_N"], tile["BLOCK_K"]
        grid = (triton.cdiv(size, bm) * triton.cdiv(size, bn),)
        kernel = solution.matmul_descriptor_kernel.fn
        a_desc, b_desc = TensorDescriptor.from_tensor(a, [bm, bk]), TensorDescriptor.from_tensor(b, [bk, bn])
        c = torch.empty_like(a)

        def kernel_alone() -> None:
            kernel[grid](a_desc, b_desc, c, size, size, size, c.stride(0), c.stride(1), **best.all_kwargs())

        def through_the_autotuner() -> torch.Tensor:
            out = torch.empty((size, size), device=a.device, dtype=a.dtype)
            descs = (TensorDescriptor.from_tensor(t, [16, 16]) for t in (a, b))
            solution.matmul_descriptor_kernel[grid](*descs, out, size, size, size, out.stride(0), out.stride(1))
            return out

        def pointer_kernel() -> torch.Tensor:
            out = torch.empty((size, size), device=a.device, dtype=a.dtype)
            solution.matmul_kernel.fn[grid](a, b, out, size, size, size, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                                            out.stride(0), out.stride(1), **best.all_kwargs())
            return out

        torch.testing.assert_close(pointer_kernel(), a @ b, atol=1e-1, rtol=1e-2)
        cublas = triton.testing.do_bench(lambda: a @ b, warmup=50, rep=300)
        print(f"== {size}^3 fp16, best config {best}: cuBLAS {cublas:.4f} ms, host {host_us(lambda: a @ b):.1f} us/call", flush=True)
        variants: list[tuple[str, Callable[[], Any]]] = [
            ("matmul() as written", lambda: solution.matmul(a, b)),
            ("through the autotuner on every call", through_the_autotuner),
            ("kernel alone, descriptors and c made once", kernel_alone),
            ("pointer kernel with the same config", pointer_kernel),
            ("torch.empty alone", lambda: torch.empty((size, size), device=a.device, dtype=a.dtype)),
            ("TensorDescriptor.from_tensor alone", lambda: TensorDescriptor.from_tensor(a, [bm, bk])),
        ]
        for name, call in variants:
            host = host_us(call)
            ms = triton.testing.do_bench(call, warmup=50, rep=300)
            print(f"  {name:46s} host {host:6.1f} us/call   do_bench {ms:.4f} ms = {cublas / ms:.2f}x cuBLAS", flush=True)


if __name__ == "__main__":
    main()
