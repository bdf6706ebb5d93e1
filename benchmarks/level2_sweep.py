"""Level 2 on a GPU: every tile config of both kernels against cuBLAS, then three fresh autotunings.

    python benchmarks/level2_sweep.py        # from the repository root, on a CUDA machine

What BENCHMARKS.md quotes for the stability of the autotuned choice came from this script.
"""
import importlib.util, torch, triton, triton.testing
spec = importlib.util.spec_from_file_location("l2", "solutions_hidden/level2_matmul.py"); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
from triton.tools.tensor_descriptor import TensorDescriptor
def bench(f): return triton.testing.do_bench(f, warmup=50, rep=300)
for size in (2048, 4096, 8192):
    a = torch.randn(size, size, device="cuda", dtype=torch.float16); b = torch.randn(size, size, device="cuda", dtype=torch.float16)
    c = torch.empty_like(a)
    cublas = bench(lambda: a @ b)
    print(f"== {size}: cuBLAS {cublas:.4f} ms", flush=True)
    for kern, configs in (("desc", m.DESCRIPTOR_CONFIGS), ("ptr", m.POINTER_CONFIGS)):
        for cfg in configs:
            kw = dict(cfg.kwargs)
            grid = (triton.cdiv(size, kw["BLOCK_M"]) * triton.cdiv(size, kw["BLOCK_N"]),)
            if kern == "desc":
                ad, bd, cd = (TensorDescriptor.from_tensor(t, [16, 16]) for t in (a, b, c))
                args = {"a_desc": ad, "b_desc": bd, "c_desc": cd, **kw}; m._set_block_shapes(args)
                f = lambda: m.matmul_descriptor_kernel.fn[grid](ad, bd, cd, size, size, size, num_warps=cfg.num_warps, num_stages=cfg.num_stages, **kw)
            else:
                f = lambda: m.matmul_kernel.fn[grid](a, b, c, size, size, size, a.stride(0), a.stride(1), b.stride(0), b.stride(1), c.stride(0), c.stride(1), num_warps=cfg.num_warps, num_stages=cfg.num_stages, **kw)
            try:
                t = bench(f)
                print(f"  {kern} {kw['BLOCK_M']}x{kw['BLOCK_N']}x{kw['BLOCK_K']} s{cfg.num_stages} w{cfg.num_warps}: {t:.4f} ms = {cublas/t:.2f}x", flush=True)
            except Exception as e:
                print(f"  {kern} {kw} failed: {str(e)[:100]}", flush=True)
    for rep in range(3):
        m.matmul_descriptor_kernel.cache.clear()
        m.matmul(a, b); torch.cuda.synchronize()
        best = m.matmul_descriptor_kernel.best_config
        t = bench(lambda: m.matmul(a, b))
        print(f"  autotune run {rep}: {best} -> {t:.4f} ms = {cublas/t:.2f}x", flush=True)
