"""Level 10 at D = 128: would loading q and storing out through tensor descriptors close the gap to SDPA?

    python benchmarks/level10_q_out_descriptors.py   # from the repository root, on a CUDA machine

The level 10 solution reads k and v through descriptors but q and out through pointers. This variant
uses descriptors for all four, reuses the solution's inner loop (attend_keys), and is timed on each
config of a small set against SDPA with enable_gqa=True and the solution's own autotuned pick.
BENCHMARKS.md quotes what it printed on an H200.
"""

import math
from typing import Any, Callable

import torch
import triton
import triton.language as tl
import triton.testing
from torch.nn.functional import scaled_dot_product_attention as sdpa
from triton.tools.tensor_descriptor import TensorDescriptor

from measure import solution_module  # benchmarks/ is on sys.path when a script here runs

sol = solution_module("level10_gqa_attention.py")
attend_keys = sol.attend_keys  # a global, so the kernel below can call the solution's jitted loop
LOG2E = sol.LOG2E
# (BLOCK_M, BLOCK_N, num_warps, num_stages, warp_specialize)
CONFIGS = [(128, 128, 8, 3, False), (128, 128, 8, 3, True), (128, 128, 8, 2, True), (128, 128, 8, 2, False),
           (128, 64, 8, 3, True), (128, 64, 8, 4, False), (128, 64, 4, 3, False), (64, 64, 4, 3, False)]


@triton.jit
def gqa_tma(q_desc, k_desc, v_desc, o_desc, S, H_Q, H_KV, qk_scale,
            GROUP: tl.constexpr, HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, NEGATIVE_SCALE: tl.constexpr,
            BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, WARP_SPECIALIZE: tl.constexpr):
    if CAUSAL:
        start_m = tl.num_programs(0) - 1 - tl.program_id(0)
    else:
        start_m = tl.program_id(0)
    bhq = tl.program_id(1)
    b = bhq // H_Q
    h = bhq % H_Q
    kv_row = b * H_KV + h // GROUP
    rows = start_m * BLOCK_M + tl.arange(0, BLOCK_M)
    q = q_desc.load([bhq, start_m * BLOCK_M, 0]).reshape(BLOCK_M, HEAD_DIM)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    if CAUSAL:
        lo_end = start_m * BLOCK_M
        hi_end = tl.minimum((start_m + 1) * BLOCK_M, S)
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N
        hi_end = S
    acc, l_i, m_i = attend_keys(acc, l_i, m_i, q, k_desc, v_desc, kv_row, 0, lo_end, rows, S, qk_scale,
                                False, CAUSAL, NEGATIVE_SCALE, BLOCK_N, HEAD_DIM, WARP_SPECIALIZE)
    acc, l_i, m_i = attend_keys(acc, l_i, m_i, q, k_desc, v_desc, kv_row, lo_end, hi_end, rows, S, qk_scale,
                                True, CAUSAL, NEGATIVE_SCALE, BLOCK_N, HEAD_DIM, False)
    out = acc / l_i[:, None]
    o_desc.store([bhq, start_m * BLOCK_M, 0], out.to(o_desc.dtype).reshape(1, BLOCK_M, HEAD_DIM))


def tma_call(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, causal: bool,
             bm: int, bn: int, warps: int, stages: int, ws: bool) -> torch.Tensor:
    B, Hq, S, D = q.shape
    Hkv = k.shape[1]
    out = torch.empty_like(q)
    qd = TensorDescriptor(q, shape=[B * Hq, S, D], strides=[S * D, D, 1], block_shape=[1, bm, D])
    od = TensorDescriptor(out, shape=[B * Hq, S, D], strides=[S * D, D, 1], block_shape=[1, bm, D])
    kd, vd = (TensorDescriptor(t, shape=[B * Hkv, S, D], strides=[S * D, D, 1], block_shape=[1, bn, D]) for t in (k, v))
    scale = 1 / math.sqrt(D)
    gqa_tma[(triton.cdiv(S, bm), B * Hq)](qd, kd, vd, od, S, Hq, Hkv, scale * LOG2E, GROUP=Hq // Hkv, HEAD_DIM=D,
        CAUSAL=causal, NEGATIVE_SCALE=False, BLOCK_M=bm, BLOCK_N=bn, WARP_SPECIALIZE=ws, num_warps=warps, num_stages=stages)
    return out


def ms(call: Callable[[], Any]) -> float:
    return triton.testing.do_bench(call, warmup=25, rep=150, return_mode="median")


def main() -> None:
    Hq, Hkv, D = 32, 8, 128
    for B, S in ((16, 1024), (4, 4096)):
        q = torch.randn(B, Hq, S, D, device="cuda", dtype=torch.float16)
        k, v = (torch.randn(B, Hkv, S, D, device="cuda", dtype=torch.float16) for _ in range(2))
        for causal in (False, True):
            expected = sdpa(q, k, v, is_causal=causal, enable_gqa=True)
            base = ms(lambda: sdpa(q, k, v, is_causal=causal, enable_gqa=True))
            mine = ms(lambda: sol.gqa_attention(q, k, v, causal=causal))
            print(f"B{B} S{S} causal={causal}: SDPA {base:.3f} ms; solution {mine:.3f} ms = {base / mine:.2f}x "
                  f"({sol.gqa_attention_kernel.best_config})", flush=True)
            for config in CONFIGS:
                try:
                    error = (tma_call(q, k, v, causal, *config) - expected).abs().max().item()
                    t = ms(lambda: tma_call(q, k, v, causal, *config))
                    print(f"   q/out descriptors {config}: {t:.3f} ms = {base / t:.2f}x (max error {error:.1e})", flush=True)
                except Exception as failure:  # noqa: BLE001 - a config that does not fit is a line, not the end
                    print(f"   q/out descriptors {config}: failed {type(failure).__name__}: {str(failure)[:120]}", flush=True)


if __name__ == "__main__":
    main()
