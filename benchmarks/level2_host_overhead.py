"""Level 2 at 2048^3 and 4096^3: where a call's time goes on the host (launch, descriptors, autotuner).

    python benchmarks/level2_host_overhead.py   # from the repository root, on a CUDA machine

Each variant is timed twice: host microseconds per call with no synchronisation (how fast calls can be
issued), and do_bench (what the GPU sees when the calls run back to back).
"""
import importlib.util, time, torch, triton, triton.testing
spec = importlib.util.spec_from_file_location("l2", "solutions_hidden/level2_matmul.py"); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
from triton.tools.tensor_descriptor import TensorDescriptor
def host_us(f, n=2000):
    f(); torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(n): f()
    host = (time.perf_counter() - t) / n * 1e6
    torch.cuda.synchronize()
    return host
for size in (2048, 4096):
    a = torch.randn(size, size, device="cuda", dtype=torch.float16); b = torch.randn(size, size, device="cuda", dtype=torch.float16)
    m.matmul(a, b); best = m.matmul_descriptor_kernel.best_config; kw = dict(best.kwargs)
    grid = (triton.cdiv(size, kw["BLOCK_M"]) * triton.cdiv(size, kw["BLOCK_N"]),)
    c = torch.empty_like(a)
    ad = TensorDescriptor.from_tensor(a, [kw["BLOCK_M"], kw["BLOCK_K"]]); bd = TensorDescriptor.from_tensor(b, [kw["BLOCK_K"], kw["BLOCK_N"]]); cd = TensorDescriptor.from_tensor(c, [kw["BLOCK_M"], kw["BLOCK_N"]])
    fn = m.matmul_descriptor_kernel.fn
    def direct_prebuilt(): fn[grid](ad, bd, cd, size, size, size, num_warps=best.num_warps, num_stages=best.num_stages, **kw)
    def direct_fresh():
        c = torch.empty((size, size), device=a.device, dtype=a.dtype)
        ad = TensorDescriptor.from_tensor(a, [kw["BLOCK_M"], kw["BLOCK_K"]]); bd = TensorDescriptor.from_tensor(b, [kw["BLOCK_K"], kw["BLOCK_N"]]); cd = TensorDescriptor.from_tensor(c, [kw["BLOCK_M"], kw["BLOCK_N"]])
        fn[grid](ad, bd, cd, size, size, size, num_warps=best.num_warps, num_stages=best.num_stages, **kw)
        return c
    def autotuned_prebuilt(): m.matmul_descriptor_kernel[grid](ad, bd, cd, size, size, size)
    def empty_only(): return torch.empty((size, size), device=a.device, dtype=a.dtype)
    def desc_only(): return TensorDescriptor.from_tensor(a, [128, 64])
    cublas = triton.testing.do_bench(lambda: a @ b, warmup=50, rep=300)
    print(f"== {size}: cuBLAS {cublas:.4f} ms, host {host_us(lambda: a @ b):.1f} us", flush=True)
    for name, f in [("matmul()", lambda: m.matmul(a, b)), ("direct_prebuilt", direct_prebuilt), ("direct_fresh", direct_fresh), ("autotuned_prebuilt", autotuned_prebuilt), ("torch.empty", empty_only), ("from_tensor", desc_only)]:
        h = host_us(f)
        t = triton.testing.do_bench(f, warmup=50, rep=300)
        print(f"  {name:20s} host {h:6.1f} us/call   do_bench {t:.4f} ms = {cublas/t:.2f}x", flush=True)
