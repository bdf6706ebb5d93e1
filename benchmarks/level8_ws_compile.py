"""Issue 24: compile the warp-specialised level 8 kernel (`ws` in level8_variants.py) for Hopper on a
machine without a GPU, and say how long each config takes and what it compiled to.

    TRITON_INTERPRET=0 python benchmarks/level8_ws_compile.py            # every ws config, D = 64 and 128
    TRITON_INTERPRET=0 python benchmarks/level8_ws_compile.py --plain    # the same kernel without ws

Triton compiles for a target it is told (sm_90 here) without a device, ptxas included, so this tells
compilation apart from running: on the H100 the ws variant never finished its first call, and
compiled here each config takes seconds, so the kernels hang when run (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TRITON_INTERPRET", "0")  # the variants module turns the interpreter on without a GPU
HERE = Path(__file__).resolve().parent


def _variants():
    spec = importlib.util.spec_from_file_location("level8_variants", HERE / "level8_variants.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["level8_variants"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plain", action="store_true", help="compile without warp_specialize, for comparison")
    args = parser.parse_args()
    if os.environ.get("TRITON_INTERPRET") == "1":
        print("run with TRITON_INTERPRET=0: the interpreter compiles nothing")
        return 2
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    variants = _variants()
    signature = {name: "*fp16" for name in ("q_ptr", "k_ptr", "v_ptr", "o_ptr")}
    signature |= {"BH": "i32", "S": "i32", "qk_scale": "fp32"}
    constexprs = ("HEAD_DIM", "CAUSAL", "EVEN", "ONE_LOOP", "BLOCK_M", "BLOCK_N", "WARP_SPECIALIZE")
    signature |= {name: "constexpr" for name in constexprs}
    # As a launch on the benchmark shapes specialises them: pointers, B * H and S divisible by 16.
    aligned = {(index,): [["tt.divisibility", 16]] for index in range(6)}
    print(f"triton {triton.__version__}, target sm_90, kernel devdesc_kernel (ONE_LOOP), warp_specialize={not args.plain}")
    for head_dim, rows in variants.TABLES["ws"].items():
        for causal in (False, True):
            for block_m, block_n, warps, stages, _, _ in rows:
                values = dict(HEAD_DIM=head_dim, CAUSAL=causal, EVEN=True, ONE_LOOP=True, BLOCK_M=block_m,
                              BLOCK_N=block_n, WARP_SPECIALIZE=not args.plain)
                source = ASTSource(variants.devdesc_kernel, signature, constexprs=values, attrs=aligned)
                started = time.perf_counter()
                compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options={"num_warps": warps, "num_stages": stages})
                seconds = time.perf_counter() - started
                threads = compiled.metadata.num_warps * 32
                partitions = compiled.asm["ttgir"].count("ttg.warp_specialize")
                print(f"D={head_dim:<3} causal={causal!s:<5} {block_m}x{block_n} warps={warps} stages={stages}: "
                      f"{seconds:5.1f} s, {threads} threads, {partitions} warp_specialize op(s), "
                      f"{compiled.metadata.shared // 1024} KB shared")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
