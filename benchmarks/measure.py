"""Measure the hidden solutions against PyTorch on a GPU and print the table of BENCHMARKS.md.

    python benchmarks/measure.py                 # every level
    python benchmarks/measure.py --levels 8      # only level 8
    python benchmarks/measure.py --json out.json # also write the raw numbers

Each row times the solution and its PyTorch baseline in the same process with
triton.testing.do_bench (median of many runs, after warm-up; CUDA events), on inputs larger than the
L2 cache or compute-bound shapes, after checking that the solution's output matches PyTorch.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import torch
import triton
import triton.testing
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.functional import scaled_dot_product_attention as sdpa

SOLUTIONS = Path(__file__).resolve().parent.parent / "solutions_hidden"


@dataclass
class Row:
    level: int
    shape: str
    baseline: str
    solution_ms: float
    baseline_ms: float
    unit: str  # "TFLOP/s" or "GB/s"
    solution_rate: float
    baseline_rate: float
    target: str

    @property
    def speedup(self) -> float:
        return self.baseline_ms / self.solution_ms


MODULES: dict[str, Any] = {}


def solution_module(file_name: str) -> Any:
    """A hidden solution imported from solutions_hidden/ (once per process)."""
    path = SOLUTIONS / file_name
    if file_name not in MODULES:
        spec = importlib.util.spec_from_file_location(f"solution_{path.stem}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        MODULES[file_name] = module
    return MODULES[file_name]


def load(file_name: str, function: str) -> Callable[..., Any]:
    return getattr(solution_module(file_name), function)


def chosen_config(file_name: str, kernel: str) -> str:
    """The config the autotuner picked at the last call, for the record."""
    config = getattr(getattr(MODULES[file_name], kernel, None), "best_config", None)
    return str(config) if config is not None else "-"


def median_ms(function: Callable[[], Any]) -> float:
    return float(triton.testing.do_bench(function, warmup=50, rep=300, return_mode="median"))


def check(out: torch.Tensor, expected: torch.Tensor, tolerance: float) -> None:
    error = (out.float() - expected.float()).norm() / expected.float().norm().clamp_min(1e-12)
    if not bool(torch.isfinite(error)) or float(error) > tolerance:
        raise SystemExit(f"solution output differs from PyTorch: relative error {float(error):.2e}")


def rate(amount: float, ms: float, scale: float) -> float:
    return amount / (ms * 1e-3) / scale


def level1() -> list[Row]:
    vector_add = load("level1_vector_add.py", "vector_add")
    rows = []
    for dtype in (torch.float32, torch.float16):
        n = 1 << 27
        x, y = torch.randn(n, device="cuda", dtype=dtype), torch.randn(n, device="cuda", dtype=dtype)
        check(vector_add(x, y), x + y, 1e-3)
        mine, theirs = median_ms(lambda: vector_add(x, y)), median_ms(lambda: x + y)
        moved = 3 * n * x.element_size()
        rows.append(Row(1, f"n=2^27 {str(dtype)[6:]}", "x + y", mine, theirs, "GB/s", rate(moved, mine, 1e9), rate(moved, theirs, 1e9), ">= 0.95x"))
    return rows


def level2() -> list[Row]:
    matmul = load("level2_matmul.py", "matmul")
    rows = []
    for size in (2048, 4096, 8192):
        a = torch.randn(size, size, device="cuda", dtype=torch.float16)
        b = torch.randn(size, size, device="cuda", dtype=torch.float16)
        check(matmul(a, b), a @ b, 1e-2)
        mine, theirs = median_ms(lambda: matmul(a, b)), median_ms(lambda: a @ b)
        print(f"level 2 {size}^3: {chosen_config('level2_matmul.py', 'matmul_descriptor_kernel')}", file=sys.stderr)
        flops = 2.0 * size**3
        target = ">= 0.9x" if size >= 4096 else "-"
        rows.append(Row(2, f"{size}^3 fp16", "cuBLAS", mine, theirs, "TFLOP/s", rate(flops, mine, 1e12), rate(flops, theirs, 1e12), target))
    return rows


def level3() -> list[Row]:
    softmax = load("level3_softmax.py", "softmax")
    rows = []
    for n in (1024, 4096, 16384):
        m = (1 << 26) // n  # 256 MB of fp32 input: far past the L2, every SM busy
        x = torch.randn(m, n, device="cuda", dtype=torch.float32)
        check(softmax(x), torch.softmax(x, dim=-1), 1e-4)
        mine, theirs = median_ms(lambda: softmax(x)), median_ms(lambda: torch.softmax(x, dim=-1))
        moved = 2 * x.numel() * 4
        rows.append(Row(3, f"{m}x{n} fp32", "torch.softmax", mine, theirs, "GB/s", rate(moved, mine, 1e9), rate(moved, theirs, 1e9), ">= 1.1x"))
    return rows


def attention_inputs(batch: int, heads: int, seq: int, dim: int) -> tuple[torch.Tensor, ...]:
    return tuple(torch.randn(batch, heads, seq, dim, device="cuda", dtype=torch.float16) for _ in range(3))


def attention_flops(batch: int, heads: int, seq: int, dim: int, causal: bool) -> float:
    return 4.0 * batch * heads * seq * seq * dim / (2 if causal else 1)


def middle_levels() -> list[Row]:
    """Levels 4 to 7 have no speed target; they are reported so none is pathologically slow."""
    rows = []
    batch, heads, seq, dim = 4, 16, 2048, 64
    q, k, v = attention_inputs(batch, heads, seq, dim)
    scale = 1.0 / math.sqrt(dim)
    scores = load("level4_attention_scores.py", "attention_scores")
    expected = (q.float() @ k.float().transpose(-1, -2)) * scale
    check(scores(q, k), expected, 1e-3)
    mine = median_ms(lambda: scores(q, k))
    theirs = median_ms(lambda: torch.matmul(q, k.transpose(-1, -2)).float() * scale)
    flops = 2.0 * batch * heads * seq * seq * dim
    rows.append(Row(4, f"B{batch} H{heads} S{seq} D{dim}", "q @ k^T", mine, theirs, "TFLOP/s", rate(flops, mine, 1e12), rate(flops, theirs, 1e12), "-"))
    mask = load("level5_causal_mask.py", "causal_mask")
    full = expected.contiguous()
    upper = torch.ones(seq, seq, dtype=torch.bool, device="cuda").triu(1)
    check(mask(full).nan_to_num(neginf=0), full.masked_fill(upper, float("-inf")).nan_to_num(neginf=0), 1e-6)
    mine, theirs = median_ms(lambda: mask(full)), median_ms(lambda: full.masked_fill(upper, float("-inf")))
    moved = 2.0 * full.numel() * 4
    rows.append(Row(5, f"B{batch} H{heads} S{seq}", "masked_fill", mine, theirs, "GB/s", rate(moved, mine, 1e9), rate(moved, theirs, 1e9), "-"))
    for level, file_name, function in ((6, "level6_naive_attention.py", "naive_attention"), (7, "level7_fused_attention.py", "fused_attention")):
        attention = load(file_name, function)
        check(attention(q, k, v, causal=True), sdpa(q, k, v, is_causal=True), 2e-2)
        mine, theirs = median_ms(lambda: attention(q, k, v, causal=True)), median_ms(lambda: sdpa(q, k, v, is_causal=True))
        flops = attention_flops(batch, heads, seq, dim, True)
        rows.append(Row(level, f"B{batch} H{heads} S{seq} D{dim} causal", "SDPA", mine, theirs, "TFLOP/s", rate(flops, mine, 1e12), rate(flops, theirs, 1e12), "-"))
    return rows


def level8() -> list[Row]:
    flash = load("level8_flash_attention.py", "flash_attention")
    rows = []
    for dim in (64, 128):
        heads = 2048 // dim
        for causal in (False, True):
            for seq in (1024, 4096, 16384):
                batch = 16384 // seq
                q, k, v = attention_inputs(batch, heads, seq, dim)
                check(flash(q, k, v, causal=causal), sdpa(q, k, v, is_causal=causal), 2e-2)
                mine = median_ms(lambda: flash(q, k, v, causal=causal))
                default = median_ms(lambda: sdpa(q, k, v, is_causal=causal))
                with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
                    flash_backend = median_ms(lambda: sdpa(q, k, v, is_causal=causal))
                flops = attention_flops(batch, heads, seq, dim, causal)
                shape = f"B{batch} H{heads} S{seq} D{dim}{' causal' if causal else ''}"
                print(f"level 8 {shape}: {chosen_config('level8_flash_attention.py', 'flash_attention_kernel')}", file=sys.stderr)
                for name, theirs, target in (("SDPA default", default, "geomean >= 0.9x"), ("SDPA flash", flash_backend, ">= 1.3x")):
                    rows.append(Row(8, shape, name, mine, theirs, "TFLOP/s", rate(flops, mine, 1e12), rate(flops, theirs, 1e12), target))
    return rows


LEVELS: dict[int, Callable[[], list[Row]]] = {1: level1, 2: level2, 3: level3, 4: middle_levels, 8: level8}


def print_table(rows: list[Row]) -> None:
    print("| level | shape | baseline | solution ms | baseline ms | solution | baseline | speedup | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row.level} | {row.shape} | {row.baseline} | {row.solution_ms:.3f} | {row.baseline_ms:.3f} | "
            f"{row.solution_rate:.0f} {row.unit} | {row.baseline_rate:.0f} {row.unit} | {row.speedup:.2f}x | {row.target} |"
        )
    level8_default = [row.speedup for row in rows if row.level == 8 and row.baseline == "SDPA default"]
    if level8_default:
        geomean = math.exp(sum(math.log(s) for s in level8_default) / len(level8_default))
        print(f"\nlevel 8 geometric mean vs SDPA default: {geomean:.2f}x over {len(level8_default)} shapes")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--levels", type=int, nargs="*", default=sorted(LEVELS), help="1, 2, 3, 4 (levels 4-7) and 8")
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("this script measures GPU kernels: no CUDA GPU is available", file=sys.stderr)
        return 2
    print(f"# {torch.cuda.get_device_name()}, torch {torch.__version__}, triton {triton.__version__}, cuDNN {torch.backends.cudnn.version()}")
    torch.manual_seed(0)
    rows: list[Row] = []
    for level in args.levels:
        rows.extend(LEVELS[level]())
        torch.cuda.empty_cache()
    print_table(rows)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(row) | {"speedup": row.speedup} for row in rows], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
