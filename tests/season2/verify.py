"""Standalone verifier for the Season 2 levels (9: flash backward, 10: GQA, 11: paged decoding).

For each level it builds the inputs of a list of cases, computes a float64 reference with PyTorch on
the CPU, calls the level's function from a file (the hidden solution by default), and reports the
largest errors, the kernel launches of one call and, under the interpreter, any out-of-bounds access.
It can also apply each mutant of tests/season2/mutants/levelN.py to the solution and show which case
catches it, and run a template to see that it raises NotImplementedError.

    TRITON_INTERPRET=1 python tests/season2/verify.py                     all levels, hidden solutions
    TRITON_INTERPRET=1 python tests/season2/verify.py --level 9 --mutants
    TRITON_INTERPRET=1 python tests/season2/verify.py --templates tests/season2/templates
    python tests/season2/verify.py --gpu --solutions DIR                  compiled, on CUDA (adds bfloat16)
    python tests/season2/verify.py --gpu --bench --solutions DIR          benchmarks against PyTorch

Tolerance: an output passes when every element satisfies |got - ref| <= atol + rtol * |ref|, with
(atol, rtol) per dtype from TOLERANCES. Each case also prints `need`, the smallest atol that would
have passed at that rtol, so the tolerances of the real checks can be set from what was observed.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

if "--gpu" not in sys.argv:
    os.environ.setdefault("TRITON_INTERPRET", "1")  # before anything imports triton

import torch  # noqa: E402

# Hidden scores overflow exp2 in lanes that tl.where then discards, and mutants divide by zero: the
# interpreter computes with numpy, which warns about each.
warnings.filterwarnings("ignore", category=RuntimeWarning, module="triton.runtime.interpreter")

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"

try:  # the quest's launch counter and out-of-bounds guard, when the plugin is next to this file
    from pytest_triton_quest.guard import watch_kernels
except Exception:  # noqa: BLE001
    watch_kernels = None

FILES = {9: "level9_flash_backward.py", 10: "level10_gqa_attention.py", 11: "level11_paged_decode.py"}
FUNCTIONS = {9: "flash_attention_backward", 10: "gqa_attention", 11: "paged_decode"}
MAX_LAUNCHES = {9: 3, 10: 1, 11: 2}
DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# (atol, rtol) per dtype. fp32 on a GPU is TF32 inside tl.dot, hence the looser GPU entry.
TOLERANCES = {
    "cpu": {"fp32": (2e-3, 2e-3), "fp16": (2e-2, 2e-2)},
    "gpu": {"fp32": (2e-2, 2e-2), "fp16": (2e-2, 2e-2), "bf16": (8e-2, 5e-2)},
}


@dataclass
class Case:
    label: str
    dtype: str
    build: Callable[[str], tuple[tuple, dict, tuple]]  # device -> (args, kwargs, expected float64 outputs)
    names: tuple[str, ...]  # the names of the outputs


def _randn(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float64)


def _rounded(t: torch.Tensor, dtype: str) -> torch.Tensor:
    """t rounded to the case's dtype and back to float64: the reference sees what the kernel sees."""
    return t.to(DTYPES[dtype]).to(torch.float64)


def _scores64(q: torch.Tensor, k: torch.Tensor, causal: bool, scale: float) -> torch.Tensor:
    scores = (q @ k.transpose(-1, -2)) * scale
    if causal:
        S = q.shape[-2]
        scores = scores.masked_fill(torch.ones(S, S, dtype=torch.bool).triu(1), float("-inf"))
    return scores


# ----- level 9 -------------------------------------------------------------------------------------
def level9_case(B: int, H: int, S: int, D: int, causal: bool, scale: float | None, dtype: str, large: bool = False, seed: int = 0) -> Case:
    def build(device: str) -> tuple[tuple, dict, tuple]:
        g = torch.Generator().manual_seed(seed)
        q, k, v, do = (_randn((B, H, S, D), g) for _ in range(4))
        if large:
            q, k = q * 10, k * 10
        q, k, v, do = (_rounded(t, dtype) for t in (q, k, v, do))
        q, k, v = (t.clone().requires_grad_() for t in (q, k, v))
        s = _scores64(q, k, causal, (1 / math.sqrt(D)) if scale is None else scale)
        lse = torch.logsumexp(s, dim=-1)
        o = torch.softmax(s, dim=-1) @ v
        dq, dk, dv = torch.autograd.grad(o, (q, k, v), do)
        dev = dict(device=device)
        args = tuple(t.detach().to(dtype=DTYPES[dtype], **dev) for t in (q, k, v, o))
        args = args + (lse.detach().to(dtype=torch.float32, **dev), do.to(dtype=DTYPES[dtype], **dev))
        return args, {"causal": causal, "scale": scale}, (dq, dk, dv)

    label = f"B{B} H{H} S{S} D{D} {'causal' if causal else 'full'} scale={scale}{' large' if large else ''}"
    return Case(label, dtype, build, ("dq", "dk", "dv"))


def level9_cases() -> list[Case]:
    return [
        level9_case(1, 1, 1, 16, True, None, "fp32"),
        level9_case(1, 2, 1, 32, False, None, "fp16"),
        level9_case(1, 2, 17, 16, True, None, "fp32"),
        level9_case(2, 1, 77, 32, True, None, "fp32"),
        level9_case(1, 2, 77, 32, False, 0.3, "fp32"),
        level9_case(1, 1, 130, 16, True, -0.2, "fp32"),
        level9_case(1, 1, 130, 64, False, None, "fp16"),
        level9_case(1, 2, 64, 16, True, None, "fp32", large=True),
        level9_case(1, 1, 70, 32, False, None, "fp16", large=True),
        level9_case(1, 1, 100, 128, True, None, "fp16"),
    ]


# ----- level 10 ------------------------------------------------------------------------------------
def level10_case(B: int, Hq: int, Hkv: int, S: int, D: int, causal: bool, scale: float | None, dtype: str, large: bool = False, seed: int = 0) -> Case:
    def build(device: str) -> tuple[tuple, dict, tuple]:
        g = torch.Generator().manual_seed(seed)
        q = _randn((B, Hq, S, D), g)
        k, v = (_randn((B, Hkv, S, D), g) for _ in range(2))
        if large:
            q, k = q * 10, k * 10
        q, k, v = (_rounded(t, dtype) for t in (q, k, v))
        k_rep, v_rep = (t.repeat_interleave(Hq // Hkv, dim=1) for t in (k, v))
        s = _scores64(q, k_rep, causal, (1 / math.sqrt(D)) if scale is None else scale)
        out = torch.softmax(s, dim=-1) @ v_rep
        args = tuple(t.to(dtype=DTYPES[dtype], device=device) for t in (q, k, v))
        return args, {"causal": causal, "scale": scale}, (out,)

    label = f"B{B} Hq{Hq} Hkv{Hkv} S{S} D{D} {'causal' if causal else 'full'} scale={scale}{' large' if large else ''}"
    return Case(label, dtype, build, ("out",))


def level10_cases() -> list[Case]:
    return [
        level10_case(1, 1, 1, 1, 16, True, None, "fp32"),
        level10_case(1, 2, 1, 17, 32, True, None, "fp32"),
        level10_case(1, 8, 1, 33, 16, False, None, "fp16"),
        level10_case(2, 8, 2, 77, 32, True, 0.3, "fp32"),
        level10_case(1, 4, 4, 130, 16, False, -0.25, "fp32"),
        level10_case(1, 4, 2, 64, 16, True, None, "fp32", large=True),
        level10_case(1, 2, 1, 70, 64, False, None, "fp16", large=True),
        level10_case(1, 8, 2, 40, 128, True, None, "fp16"),
        level10_case(1, 2, 1, 64, 16, False, -0.5, "fp32", large=True),
    ]


# ----- level 11 ------------------------------------------------------------------------------------
def level11_case(
    Hq: int, Hkv: int, D: int, page_size: int, seq_lens: list[int], max_pages: int, scale: float | None,
    dtype: str, large: bool = False, spare_pages: int = 3, seed: int = 0,
) -> Case:
    B = len(seq_lens)
    assert all(1 <= n <= max_pages * page_size for n in seq_lens)

    def build(device: str) -> tuple[tuple, dict, tuple]:
        g = torch.Generator().manual_seed(seed)
        q = _randn((B, Hq, D), g)
        keys = [_randn((n, Hkv, D), g) for n in seq_lens]
        values = [_randn((n, Hkv, D), g) for n in seq_lens]
        if large:
            q, keys = q * 10, [k * 10 for k in keys]
        q = _rounded(q, dtype)
        keys, values = [_rounded(k, dtype) for k in keys], [_rounded(v, dtype) for v in values]
        # The pool: every page NaN, pages handed out in a random order, a few never used at all.
        used = [math.ceil(n / page_size) for n in seq_lens]
        pool = sum(used) + spare_pages
        order = torch.randperm(pool, generator=g).tolist()
        k_cache = torch.full((pool, page_size, Hkv, D), float("nan"), dtype=torch.float64)
        v_cache = k_cache.clone()
        garbage = order[sum(used):]  # pages no sequence uses
        table = torch.empty((B, max_pages), dtype=torch.int32)
        next_page = 0
        expected = torch.empty((B, Hq, D), dtype=torch.float64)
        for b, n in enumerate(seq_lens):
            for slot in range(max_pages):
                if slot < used[b]:
                    table[b, slot] = order[next_page]
                    next_page += 1
                else:  # meaningless tail entries: valid indices of garbage pages
                    table[b, slot] = garbage[(b + slot) % len(garbage)] if garbage else order[0]
            for t in range(n):
                page, slot = int(table[b, t // page_size]), t % page_size
                k_cache[page, slot] = keys[b][t]
                v_cache[page, slot] = values[b][t]
            k_rep = keys[b].transpose(0, 1).repeat_interleave(Hq // Hkv, dim=0)  # (Hq, n, D)
            v_rep = values[b].transpose(0, 1).repeat_interleave(Hq // Hkv, dim=0)
            s = (q[b][:, None, :] @ k_rep.transpose(-1, -2))[:, 0, :] * ((1 / math.sqrt(D)) if scale is None else scale)
            expected[b] = (torch.softmax(s, dim=-1)[:, None, :] @ v_rep)[:, 0, :]
        dt = dict(dtype=DTYPES[dtype], device=device)
        args = (q.to(**dt), k_cache.to(**dt), v_cache.to(**dt), table.to(device), torch.tensor(seq_lens, dtype=torch.int32, device=device))
        return args, {"scale": scale}, (expected,)

    label = f"Hq{Hq} Hkv{Hkv} D{D} page{page_size} seq_lens={seq_lens} max_pages={max_pages} scale={scale}{' large' if large else ''}"
    return Case(label, dtype, build, ("out",))


def level11_cases() -> list[Case]:
    return [
        level11_case(2, 1, 16, 8, [1, 17, 40], 6, None, "fp32"),
        level11_case(8, 2, 32, 16, [77, 5], 6, 0.3, "fp32"),
        level11_case(4, 4, 16, 64, [130, 64], 3, -0.25, "fp32"),
        level11_case(8, 1, 64, 128, [1, 200], 2, None, "fp16"),
        level11_case(4, 2, 32, 16, [50, 33], 4, None, "fp32", large=True),
        level11_case(2, 2, 16, 8, [23, 64], 8, None, "fp16", large=True),
        level11_case(4, 2, 128, 16, [30, 100], 7, None, "fp16"),
    ]


CASES = {9: level9_cases, 10: level10_cases, 11: level11_cases}


# ----- running -------------------------------------------------------------------------------------
def load_module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, f"cannot load {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Outcome:
    ok: bool
    message: str
    need: dict[str, float]  # output name -> smallest atol that passes at the case's rtol


def call_counted(function: Callable, args: tuple, kwargs: dict) -> tuple[Any, int | None, str | None]:
    """Call the function; return (result, kernel launches, out-of-bounds description or None)."""
    if watch_kernels is None:
        return function(*args, **kwargs), None, None
    with watch_kernels(INTERPRETED) as watch:
        result = function(*args, **kwargs)
    violation = watch.violation.describe() if watch.violation is not None else None
    return result, len(watch.launches), violation


def run_case(level: int, function: Callable, case: Case, device: str) -> Outcome:
    args, kwargs, expected = case.build(device)
    atol, rtol = TOLERANCES["cpu" if INTERPRETED else "gpu"][case.dtype]
    try:
        if not INTERPRETED:
            function(*args, **kwargs)  # the autotuner's benchmark runs happen on the first call
        got, launches, violation = call_counted(function, args, kwargs)
    except NotImplementedError as error:
        return Outcome(False, f"NotImplementedError: {error}", {})
    except Exception as error:  # noqa: BLE001 - a crashing kernel is a finding, not a verifier bug
        last = traceback.format_exception_only(type(error), error)[-1].strip()
        return Outcome(False, f"raised {last[:300]}", {})
    if violation is not None:
        return Outcome(False, f"out-of-bounds access: {violation.splitlines()[0]}", {})
    if launches is not None and launches > MAX_LAUNCHES[level]:
        return Outcome(False, f"{launches} kernel launches, at most {MAX_LAUNCHES[level]} allowed", {})
    outputs = got if isinstance(got, tuple) else (got,)
    if len(outputs) != len(expected):
        return Outcome(False, f"returned {len(outputs)} tensors, expected {len(expected)}", {})
    need: dict[str, float] = {}
    problems = []
    for name, out, ref in zip(case.names, outputs, expected):
        if tuple(out.shape) != tuple(ref.shape) or out.dtype != DTYPES[case.dtype]:
            problems.append(f"{name}: shape {tuple(out.shape)} {out.dtype}, expected {tuple(ref.shape)} {DTYPES[case.dtype]}")
            continue
        out64 = out.detach().to(device="cpu", dtype=torch.float64)
        if not torch.isfinite(out64).all():
            problems.append(f"{name}: {int((~torch.isfinite(out64)).sum())} non-finite values")
            need[name] = math.inf
            continue
        err = (out64 - ref).abs()
        need[name] = max(0.0, float((err - rtol * ref.abs()).max()))
        if need[name] > atol:
            problems.append(f"{name}: max abs error {float(err.max()):.3g} (|ref| max {float(ref.abs().max()):.3g}), needs atol {need[name]:.3g} > {atol:g}")
    launch_note = "" if launches is None else f" ({launches} launch{'es' if launches != 1 else ''})"
    if problems:
        return Outcome(False, "; ".join(problems) + launch_note, need)
    errors = " ".join(f"{name} need {value:.1e}" for name, value in need.items())
    return Outcome(True, errors + launch_note, need)


def verify_level(level: int, path: Path, device: str, verbose: bool = True, stop_at_first_failure: bool = False) -> tuple[bool, str, dict[str, float]]:
    """Run every case of the level on the function in `path`. Returns (all passed, first failure, worst need per dtype)."""
    module = load_module(path, f"s2_{path.stem}_{abs(hash(str(path)))}")
    function = getattr(module, FUNCTIONS[level])
    worst: dict[str, float] = {}
    all_ok, first_failure = True, ""
    for index, case in enumerate(CASES[level]()):
        if device == "cpu" and case.dtype == "bf16":
            continue
        start = time.perf_counter()
        outcome = run_case(level, function, case, device)
        seconds = time.perf_counter() - start
        for value in outcome.need.values():
            worst[case.dtype] = max(worst.get(case.dtype, 0.0), value)
        if verbose:
            print(f"  [{'ok' if outcome.ok else 'FAIL'}] case {index} {case.dtype} {case.label}: {outcome.message} [{seconds:.1f} s]", flush=True)
        if not outcome.ok:
            if all_ok:
                first_failure = f"case {index} ({case.dtype} {case.label}): {outcome.message}"
            all_ok = False
            if stop_at_first_failure:
                break
    return all_ok, first_failure, worst


def run_mutants(level: int, solution: Path, device: str) -> bool:
    """Every mutant must fail at least one case. Returns True when all of them are caught."""
    mutants = importlib.import_module(f"tests.season2.mutants.level{level}").MUTANTS
    source = solution.read_text()
    folder = Path(tempfile.mkdtemp(prefix=f"s2_mutants_level{level}_"))
    all_caught = True
    for mutant in mutants:
        path = folder / f"{solution.stem}__{mutant.name}.py"
        path.write_text(mutant.apply(source, where=str(solution)))
        start = time.perf_counter()
        try:
            ok, failure, _ = verify_level(level, path, device, verbose=False, stop_at_first_failure=True)
        except Exception as error:  # noqa: BLE001 - e.g. a mutant that does not even import
            ok, failure = False, f"import failed: {type(error).__name__}: {error}"
        seconds = time.perf_counter() - start
        caught = not ok
        all_caught = all_caught and caught
        print(f"  [{'caught' if caught else 'NOT CAUGHT'}] {mutant.name}: {failure if caught else mutant.bug} [{seconds:.1f} s]", flush=True)
    return all_caught


def run_template(level: int, path: Path, device: str) -> bool:
    module = load_module(path, f"s2_template_{path.stem}")
    case = CASES[level]()[0]
    args, kwargs, _ = case.build(device)
    try:
        getattr(module, FUNCTIONS[level])(*args, **kwargs)
    except NotImplementedError as error:
        print(f"  [ok] {path.name} raises NotImplementedError: {error}")
        return True
    except Exception as error:  # noqa: BLE001
        print(f"  [FAIL] {path.name} raised {type(error).__name__}: {error} (expected NotImplementedError)")
        return False
    print(f"  [FAIL] {path.name} returned without raising NotImplementedError")
    return False


# ----- GPU: compiled cases and benchmarks ------------------------------------------------------------
def gpu_cases(level: int) -> list[Case]:
    """Compiled checks: larger shapes, D = 64 and 128, fp16 and bf16 (and fp32 with TF32)."""
    if level == 9:
        return [
            level9_case(2, 3, 1000, 64, True, None, "fp16"),
            level9_case(1, 2, 777, 128, False, 0.1, "bf16"),
            level9_case(1, 2, 513, 64, True, -0.125, "bf16"),
            level9_case(1, 2, 300, 128, True, None, "fp32"),
            level9_case(1, 1, 1, 64, True, None, "fp16"),
            level9_case(1, 2, 200, 64, False, None, "fp16", large=True),
        ]
    if level == 10:
        return [
            level10_case(2, 8, 2, 1000, 64, True, None, "fp16"),
            level10_case(1, 8, 1, 777, 128, False, 0.1, "bf16"),
            level10_case(1, 4, 4, 513, 64, True, -0.125, "bf16"),
            level10_case(1, 4, 2, 300, 128, True, None, "fp32"),
            level10_case(1, 8, 1, 1, 64, True, None, "fp16"),
            level10_case(1, 8, 2, 200, 64, False, None, "fp16", large=True),
        ]
    return [
        level11_case(32, 8, 128, 16, [1000, 1, 4097, 300], 300, None, "fp16"),
        level11_case(8, 1, 64, 8, [77, 1999], 250, 0.1, "bf16"),
        level11_case(4, 4, 128, 128, [129, 1024], 9, -0.125, "bf16"),
        level11_case(8, 2, 64, 64, [5000, 33], 80, None, "fp32"),
        level11_case(16, 2, 128, 32, [3000, 60], 100, None, "fp16", large=True),
    ]


def bench(solutions: Path) -> None:
    import triton
    from torch.nn.attention import SDPBackend, sdpa_kernel

    sdpa = torch.nn.functional.scaled_dot_product_attention
    card = torch.cuda.get_device_name()
    print(f"# {card}, torch {torch.__version__}, triton {triton.__version__}", flush=True)

    def ms(fn: Callable[[], Any]) -> float:
        return triton.testing.do_bench(fn, warmup=50, rep=300)

    # Level 9: the backward of attention, B*H*S fixed at 16k tokens x 32 heads... per shape below.
    l9 = load_module(solutions / FILES[9], "s2_bench_l9").flash_attention_backward
    for B, H, S, D, causal in [(16, 32, 1024, 64, True), (4, 32, 4096, 64, True), (4, 32, 4096, 64, False), (4, 16, 4096, 128, True), (1, 32, 16384, 64, True)]:
        q, k, v = (torch.randn(B, H, S, D, device="cuda", dtype=torch.float16, requires_grad=True) for _ in range(3))
        do = torch.randn_like(q)
        with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
            o = sdpa(q, k, v, is_causal=causal)
        lse = torch.logsumexp((q.float() @ k.float().transpose(-1, -2) / math.sqrt(D)).masked_fill(
            torch.ones(S, S, dtype=torch.bool, device="cuda").triu(1) if causal else torch.zeros(S, S, dtype=torch.bool, device="cuda"), float("-inf")), dim=-1) if S <= 4096 else None
        if lse is None:  # too large to materialise: lse from chunks of queries
            lse = torch.cat([torch.logsumexp((q[:, :, i:i + 1024].float() @ k.float().transpose(-1, -2) / math.sqrt(D)).masked_fill(
                (torch.arange(S, device="cuda")[None, :] > torch.arange(i, i + 1024, device="cuda")[:, None]) if causal else torch.zeros(1024, S, dtype=torch.bool, device="cuda"), float("-inf")), dim=-1) for i in range(0, S, 1024)], dim=-1)
        ours = ms(lambda: l9(q.detach(), k.detach(), v.detach(), o.detach(), lse, do, causal=causal))
        flops = 2.5 * 4 * B * H * S * S * D * (0.5 if causal else 1.0)  # 5 matmuls of 2*S*S*D each

        def sdpa_backward(backend: Any) -> float:
            ctx = sdpa_kernel(backend) if backend is not None else None
            if ctx is not None:
                ctx.__enter__()
            try:
                out = sdpa(q, k, v, is_causal=causal)
                return ms(lambda: torch.autograd.grad(out, (q, k, v), do, retain_graph=True))
            finally:
                if ctx is not None:
                    ctx.__exit__(None, None, None)

        default, flash = sdpa_backward(None), sdpa_backward(SDPBackend.FLASH_ATTENTION)
        print(f"L9 B{B} H{H} S{S} D{D} causal={causal} fp16: ours {ours:.3f} ms ({flops / ours / 1e9:.0f} TFLOP/s) | "
              f"SDPA default bwd {default:.3f} ms -> {default / ours:.2f}x | SDPA flash bwd {flash:.3f} ms -> {flash / ours:.2f}x", flush=True)
        del q, k, v, do, o, lse
        torch.cuda.empty_cache()

    l10 = load_module(solutions / FILES[10], "s2_bench_l10").gqa_attention
    for B, Hq, Hkv, S, D, causal in [(4, 32, 8, 4096, 128, True), (4, 32, 8, 4096, 128, False), (16, 32, 4, 1024, 64, True), (1, 64, 8, 16384, 128, True), (4, 32, 1, 4096, 64, True)]:
        q = torch.randn(B, Hq, S, D, device="cuda", dtype=torch.float16)
        k, v = (torch.randn(B, Hkv, S, D, device="cuda", dtype=torch.float16) for _ in range(2))
        ours = ms(lambda: l10(q, k, v, causal=causal))
        ref = ms(lambda: sdpa(q, k, v, is_causal=causal, enable_gqa=True))
        flops = 4 * B * Hq * S * S * D * (0.5 if causal else 1.0)
        print(f"L10 B{B} Hq{Hq} Hkv{Hkv} S{S} D{D} causal={causal} fp16: ours {ours:.3f} ms ({flops / ours / 1e9:.0f} TFLOP/s) | "
              f"SDPA enable_gqa {ref:.3f} ms -> {ref / ours:.2f}x", flush=True)

    l11 = load_module(solutions / FILES[11], "s2_bench_l11").paged_decode
    for B, Hq, Hkv, D, page, tokens in [(8, 32, 8, 128, 16, 32768), (8, 32, 8, 128, 128, 32768), (32, 32, 8, 128, 16, 4096), (4, 64, 8, 128, 16, 32768), (8, 32, 32, 128, 16, 8192)]:
        pages_per_seq = tokens // page
        pool = B * pages_per_seq + 7
        k_cache = torch.randn(pool, page, Hkv, D, device="cuda", dtype=torch.float16)
        v_cache = torch.randn_like(k_cache)
        table = torch.randperm(pool, device="cuda")[: B * pages_per_seq].reshape(B, pages_per_seq).to(torch.int32)
        seq_lens = torch.full((B,), tokens, dtype=torch.int32, device="cuda")
        q = torch.randn(B, Hq, D, device="cuda", dtype=torch.float16)

        def gather_sdpa() -> torch.Tensor:
            kk = k_cache[table.long()].reshape(B, tokens, Hkv, D).transpose(1, 2)
            vv = v_cache[table.long()].reshape(B, tokens, Hkv, D).transpose(1, 2)
            return sdpa(q[:, :, None, :], kk, vv, enable_gqa=True)[:, :, 0, :]

        torch.testing.assert_close(l11(q, k_cache, v_cache, table, seq_lens), gather_sdpa(), atol=2e-2, rtol=2e-2)
        ours = ms(lambda: l11(q, k_cache, v_cache, table, seq_lens))
        ref = ms(gather_sdpa)
        nbytes = 2 * B * tokens * Hkv * D * 2
        src = torch.empty(nbytes // 2, device="cuda", dtype=torch.float16)
        dst = torch.empty_like(src)
        copy = ms(lambda: dst.copy_(src))  # reads and writes nbytes each: rate = 2 * nbytes / time
        copy_rate = 2 * nbytes / copy / 1e6
        print(f"L11 B{B} Hq{Hq} Hkv{Hkv} D{D} page{page} tokens{tokens} fp16: ours {ours:.3f} ms ({nbytes / ours / 1e6:.0f} GB/s, "
              f"{nbytes / ours / 1e6 / copy_rate * 100:.0f}% of copy {copy_rate:.0f} GB/s) | gather+SDPA {ref:.3f} ms -> {ref / ours:.2f}x", flush=True)
        del k_cache, v_cache, src, dst
        torch.cuda.empty_cache()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--level", type=int, nargs="*", default=[9, 10, 11], choices=[9, 10, 11])
    parser.add_argument("--solutions", type=Path, default=ROOT / "solutions_hidden", help="folder holding the level files")
    parser.add_argument("--mutants", action="store_true", help="also apply every mutant and show that it fails")
    parser.add_argument("--templates", type=Path, help="check that the templates in this folder raise NotImplementedError")
    parser.add_argument("--gpu", action="store_true", help="compiled, on CUDA: larger cases with bfloat16")
    parser.add_argument("--bench", action="store_true", help="with --gpu: time the solutions against PyTorch")
    options = parser.parse_args()
    device = "cuda" if options.gpu else "cpu"
    ok = True
    if options.templates is not None:
        for level in options.level:
            ok &= run_template(level, options.templates / FILES[level], device)
        return 0 if ok else 1
    for level in options.level:
        path = options.solutions / FILES[level]
        if options.gpu:
            CASES[level] = (lambda lv: (lambda: gpu_cases(lv)))(level)
        print(f"level {level}: {path} on {device}{' (interpreter)' if INTERPRETED else ''}", flush=True)
        start = time.perf_counter()
        passed, _, worst = verify_level(level, path, device)
        print(f"level {level}: {'all cases pass' if passed else 'FAILED'} in {time.perf_counter() - start:.1f} s; "
              "worst needed atol per dtype: " + ", ".join(f"{k} {v:.2e}" for k, v in sorted(worst.items())), flush=True)
        ok &= passed
        if options.mutants:
            print(f"level {level}: mutants", flush=True)
            ok &= run_mutants(level, path, device)
    if options.bench:
        bench(options.solutions)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
