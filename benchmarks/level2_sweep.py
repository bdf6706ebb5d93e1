"""Level 2 on a GPU: every tile config of both kernels against cuBLAS, then three fresh autotunings.

    python benchmarks/level2_sweep.py        # from the repository root, on a CUDA machine

What BENCHMARKS.md says about the stability of the autotuned choice came from this script: each
config is timed on its own (the kernels' jitted functions launched directly), then the autotuner's
cache is cleared three times and its pick timed through `matmul()`.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import triton
import triton.testing
from triton.tools.tensor_descriptor import TensorDescriptor

from measure import solution_module  # benchmarks/ is on sys.path when a script here runs


def bench(call: Callable[[], Any]) -> float:
    return triton.testing.do_bench(call, warmup=50, rep=300)


def config_call(solution: Any, kind: str, config: Any, a: torch.Tensor, b: torch.Tensor, c: torch.Tensor) -> Callable[[], Any]:
    size = a.shape[0]
    tile = dict(config.kwargs)
    grid = (triton.cdiv(size, tile["BLOCK_M"]) * triton.cdiv(size, tile["BLOCK_N"]),)
    launch = {"num_warps": config.num_warps, "num_stages": config.num_stages, **tile}
    if kind == "descriptor":
        descs = [TensorDescriptor.from_tensor(t, [16, 16]) for t in (a, b)]
        solution._set_block_shapes({"a_desc": descs[0], "b_desc": descs[1], **tile})
        return lambda: solution.matmul_descriptor_kernel.fn[grid](*descs, c, size, size, size, c.stride(0), c.stride(1), **launch)
    strides = (a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1))
    return lambda: solution.matmul_kernel.fn[grid](a, b, c, size, size, size, *strides, **launch)


def main() -> None:
    solution = solution_module("level2_matmul.py")
    for size in (2048, 4096, 8192):
        a = torch.randn(size, size, device="cuda", dtype=torch.float16)
        b = torch.randn(size, size, device="cuda", dtype=torch.float16)
        c = torch.empty_like(a)
        cublas = bench(lambda: a @ b)
        print(f"== {size}^3 fp16: cuBLAS {cublas:.4f} ms", flush=True)
        for kind, configs in (("descriptor", solution.DESCRIPTOR_CONFIGS), ("pointer", solution.POINTER_CONFIGS)):
            for config in configs:
                tile = config.kwargs
                name = f"{kind} {tile['BLOCK_M']}x{tile['BLOCK_N']}x{tile['BLOCK_K']} s{config.num_stages} w{config.num_warps}"
                try:
                    ms = bench(config_call(solution, kind, config, a, b, c))
                    print(f"  {name}: {ms:.4f} ms = {cublas / ms:.2f}x", flush=True)
                except Exception as error:  # noqa: BLE001 - a config that does not fit is a line, not the end
                    print(f"  {name}: failed ({str(error)[:100]})", flush=True)
        for run in range(3):
            solution.matmul_descriptor_kernel.cache.clear()
            solution.matmul(a, b)
            torch.cuda.synchronize()
            picked = solution.matmul_descriptor_kernel.best_config
            ms = bench(lambda: solution.matmul(a, b))
            print(f"  autotuning {run + 1}: {picked} -> {ms:.4f} ms = {cublas / ms:.2f}x", flush=True)


if __name__ == "__main__":
    main()
