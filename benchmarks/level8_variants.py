"""Level 8 (issue 24): variants of the flash attention solution, timed against SDPA's default on a GPU.

    python benchmarks/level8_variants.py                           # 12 shapes, every variant but ws, persist_ws
    python benchmarks/level8_variants.py --shapes quick            # S = 4096 only (4 shapes)
    python benchmarks/level8_variants.py --variants ws,persist_ws --json out.json
    TRITON_INTERPRET=1 python benchmarks/level8_variants.py --cpu-check   # correctness on the CPU
    python benchmarks/level8_variants.py --list-configs            # the GPU config tables (no GPU needed)

Every variant is a drop-in `flash_attention(q, k, v, causal=True, scale=None) -> out` for (B, H, S, D)
contiguous fp16/bf16 inputs (fp32 under the interpreter):

    solution    solutions_hidden/level8_flash_attention.py as it is (the reference point)
    sol_perD    the solution's own kernel, configs listed per head dim, incl. maxnreg rows
    devdesc     q, k, v AND out through on-device descriptors (tl.make_tensor_descriptor), the
                solution's grid and two key loops (unmasked, then the masked diagonal)
    ws          devdesc's tile in ONE key loop at num_warps=4 with warp_specialize=True: the only
                form in which Triton 3.6 really warp-specialises on Hopper (a TMA producer warp group
                and two consumer warp groups, FlashAttention-3's layout)
    persist     persistent programs (grid = SMs x programs per SM) walking (tile, head) work items
                with a stride of the grid; causal items pair a heavy query tile with its light mirror
    persist_ws  persist, with ws's warp-specialised one-loop tile
    split2      two half query tiles per program sharing every k/v tile: two independent softmax
                chains, so one half's exp2 can overlap the other half's tensor-core work

Found while writing this (compiling for sm_90 with triton 3.6 on a machine without a GPU):
`tl.range(..., warp_specialize=True)` with num_warps=8, as in the solution, compiles to the same
code as without it (the TTGIR differs only by the loop attribute; still 256 threads); at
num_warps=4 the Hopper pass runs, and it needs a single key loop, an unconditional store and no
reshape of the stored tile (see _query_tile_one_loop and _store_rows).

How it times: as benchmarks/measure.py, triton.testing.do_bench(warmup=50, rep=300, median), fp16
inputs, 16k tokens per batch, H * D = 2048, S in {1024, 4096, 16384}, D in {64, 128}, causal or not,
SDPA default and every variant in the same process, after checking each output against SDPA
(relative error < 1e-2). A variant that fails or is wrong on a shape is reported and skipped.

Measured on an H100 (2026-12-07, BENCHMARKS.md): the first calls of ws and persist_ws did not finish
in 225 s (the precompile phase was cut there, and the timing phase then hung on them until the call's
time ran out), so run them apart, `--variants ws` under a timeout, before counting on them. Compiling
them is not the stall: benchmarks/level8_ws_compile.py compiles every ws config for sm_90 without a
GPU in seconds each, and on the H100 three ws configs, each alone in a process, did not return from
their first call in 60 s: they hang when run (BENCHMARKS.md).

Compilation is a large part of a cold run (about 150 kernels, about a second each). A first phase
compiles every (variant, D, causal) in parallel worker processes (each runs the variant once on a
small input, which fills Triton's on-disk cache); the timing phase then loads the compiled kernels
from that cache. --no-precompile skips the phase.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import math
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

if "--cpu-check" in sys.argv:
    # The interpreter must be chosen before any @triton.jit runs.
    os.environ.setdefault("TRITON_INTERPRET", "1")

import torch  # noqa: E402
import triton  # noqa: E402
import triton.language as tl  # noqa: E402
from torch.nn.functional import scaled_dot_product_attention as sdpa  # noqa: E402

SOLUTION_PATH = Path(__file__).resolve().parent.parent / "solutions_hidden" / "level8_flash_attention.py"


def _import_solution() -> Any:
    """The hidden solution, imported by path (as measure.py does)."""
    spec = importlib.util.spec_from_file_location("level8_solution_for_variants", SOLUTION_PATH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sol = _import_solution()  # on a machine without CUDA this also turns the interpreter on
INTERPRETED = os.environ.get("TRITON_INTERPRET") == "1"
ON_GPU = torch.cuda.is_available() and not INTERPRETED
LOG2E = 1.4426950408889634


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200] if text else ''}"


# ----------------------------------------------------------------------------------------------
# On-device descriptors: tl.make_tensor_descriptor writes each 128-byte TMA descriptor into a
# global scratch buffer that Triton asks the allocator for at every launch.
# ----------------------------------------------------------------------------------------------
def _descriptor_scratch(size: int, alignment: int, stream: int | None) -> torch.Tensor:
    return torch.empty(size, dtype=torch.int8, device="cuda")


if ON_GPU:
    triton.set_allocator(_descriptor_scratch)


# ----------------------------------------------------------------------------------------------
# Config tables. Each row is (BLOCK_M, BLOCK_N, num_warps, num_stages, warp_specialize, extra) where
# extra holds maxnreg and/or PROGRAMS_PER_SM. The GPU tables are listed per head dim and the
# autotuner only times those of the launch's D (see PerHeadDim), so no variant times more than 7
# configs on a shape. Under the interpreter every variant gets one small config whose tiles are
# narrow enough that the CPU shapes span several of them.
# ----------------------------------------------------------------------------------------------
Row = tuple  # (bm, bn, warps, stages, ws, extra: dict)

TABLES: dict[str, dict[int, list[Row]]] = {
    # The solution's kernel. New here: maxnreg rows, each chosen so that one more program fits on an
    # SM by registers (65536 per SM): 4 warps at <= 168 -> 3 programs, 4 warps at <= 128 -> 4,
    # 8 warps at <= 128 -> 2, with shared memory for that many (fewer stages where needed). No
    # warp_specialize rows: at 8 warps Triton 3.6 compiles them to the very same code on sm_90 (the
    # TTGIR differs only by the loop attribute), and at 4 warps this kernel crashes the pass.
    "sol_perD": {
        64: [(128, 64, 4, 3, False, {}), (128, 64, 4, 4, False, {}), (128, 64, 4, 3, False, {"maxnreg": 168}),
             (128, 128, 8, 3, False, {}), (64, 64, 4, 3, False, {}), (64, 64, 4, 2, False, {"maxnreg": 128})],
        128: [(128, 128, 8, 3, False, {}), (128, 128, 8, 2, False, {}), (128, 64, 8, 3, False, {}),
              (128, 64, 8, 2, False, {"maxnreg": 128}), (128, 64, 4, 3, False, {}),
              (64, 32, 4, 3, False, {"maxnreg": 168}), (64, 64, 4, 3, False, {})],
    },
    # q/k/v/out through device descriptors: the solution's best rows per D (its 8-warp WS rows are
    # the same code as the plain ones, see above).
    "devdesc": {
        64: [(128, 64, 4, 3, False, {}), (128, 64, 4, 4, False, {}), (128, 128, 8, 3, False, {}),
             (128, 64, 8, 3, False, {}), (64, 64, 4, 3, False, {})],
        128: [(128, 128, 8, 3, False, {}), (128, 128, 8, 2, False, {}), (128, 64, 8, 3, False, {}),
              (128, 64, 4, 3, False, {}), (64, 64, 4, 3, False, {})],
    },
    # Real warp specialisation on Hopper: num_warps=4 is the size of each warp group; the program
    # runs 3 of them (384 threads: a producer and two consumers of BLOCK_M / 2 rows each).
    "ws": {
        # 256-row tiles (128 rows per consumer) spill; at D = 128, 128x128 with 3 stages and 256x128
        # need more than the 227 KB of shared memory.
        64: [(128, 64, 4, 3, True, {}), (128, 128, 4, 2, True, {}), (128, 128, 4, 3, True, {}),
             (128, 64, 4, 4, True, {}), (256, 64, 4, 2, True, {})],
        128: [(128, 64, 4, 3, True, {}), (128, 128, 4, 2, True, {}), (128, 64, 4, 2, True, {}),
              (256, 64, 4, 2, True, {})],
    },
    # Persistent: PROGRAMS_PER_SM > 1 only where registers and shared memory let them share an SM
    # (checked with ptxas for sm_90: e.g. 128x64 at 4 warps, D = 64, is 190 registers and 82 KB).
    "persist": {
        64: [(128, 64, 4, 3, False, {"PROGRAMS_PER_SM": 2}), (128, 64, 4, 4, False, {"PROGRAMS_PER_SM": 2}),
             (128, 128, 8, 3, False, {"PROGRAMS_PER_SM": 1}), (64, 64, 4, 3, False, {"PROGRAMS_PER_SM": 3})],
        128: [(128, 128, 8, 2, False, {"PROGRAMS_PER_SM": 1}), (128, 64, 8, 3, False, {"PROGRAMS_PER_SM": 1}),
              (128, 64, 8, 2, False, {"PROGRAMS_PER_SM": 1}), (64, 64, 4, 2, False, {"PROGRAMS_PER_SM": 2})],
    },
    # Persistent + the one-loop tile with real warp specialisation (384 threads with setmaxnreg
    # fill an SM's registers: one program per SM).
    "persist_ws": {
        64: [(128, 64, 4, 3, True, {"PROGRAMS_PER_SM": 1}), (128, 128, 4, 2, True, {"PROGRAMS_PER_SM": 1}),
             (128, 128, 4, 3, True, {"PROGRAMS_PER_SM": 1})],
        128: [(128, 64, 4, 3, True, {"PROGRAMS_PER_SM": 1}), (128, 128, 4, 2, True, {"PROGRAMS_PER_SM": 1}),
              (128, 64, 4, 2, True, {"PROGRAMS_PER_SM": 1})],
    },
    # BLOCK_M counts both halves; BLOCK_N must divide BLOCK_M // 2. 8 warps and 256 rows: each warp
    # group holds 64 rows of each half; 4 warps and 128 rows: one warp group runs both 64-row chains.
    "split2": {
        64: [(256, 64, 8, 3, False, {}), (256, 128, 8, 2, False, {}), (128, 64, 4, 3, False, {}),
             (128, 64, 8, 3, False, {})],
        128: [(256, 64, 8, 2, False, {}), (256, 64, 8, 3, False, {}), (128, 64, 4, 3, False, {}),
              (128, 64, 8, 3, False, {})],
    },
}
INTERPRETER_ROWS: dict[str, Row] = {
    "sol_perD": (32, 16, 4, 1, False, {}),
    "devdesc": (32, 16, 4, 1, False, {}),
    "ws": (32, 16, 4, 1, True, {}),  # the interpreter ignores warp_specialize
    "persist": (32, 16, 4, 1, False, {"PROGRAMS_PER_SM": 1}),
    "persist_ws": (32, 16, 4, 1, True, {"PROGRAMS_PER_SM": 1}),
    "split2": (32, 16, 4, 1, False, {}),
}


def _config(row: Row, pre_hook: Callable | None) -> triton.Config:
    bm, bn, warps, stages, ws, extra = row
    kwargs = {"BLOCK_M": bm, "BLOCK_N": bn, "WARP_SPECIALIZE": ws}
    if "PROGRAMS_PER_SM" in extra:
        kwargs["PROGRAMS_PER_SM"] = extra["PROGRAMS_PER_SM"]
    return triton.Config(kwargs, num_warps=warps, num_stages=stages, maxnreg=extra.get("maxnreg"), pre_hook=pre_hook)


class PerHeadDim:
    """One autotuner config list holding a table per head dim; early_config_prune keeps the launch's."""

    def __init__(self, name: str, pre_hook: Callable | None = None, interpreted: bool = INTERPRETED) -> None:
        if interpreted:
            self.by_dim = {0: [_config(INTERPRETER_ROWS[name], pre_hook)]}
        else:
            self.by_dim = {d: [_config(row, pre_hook) for row in rows] for d, rows in TABLES[name].items()}
        self.configs = [c for cs in self.by_dim.values() for c in cs]

    def prune(self, configs: list[triton.Config], named_args: dict, **kwargs: Any) -> list[triton.Config]:
        d = kwargs.get("HEAD_DIM", named_args.get("HEAD_DIM"))
        mine = self.by_dim.get(d) or self.by_dim[min(self.by_dim, key=lambda k: abs(k - (d or 64)))]
        ids = {id(c) for c in mine}
        kept = [c for c in configs if id(c) in ids]
        s = kwargs.get("S", named_args.get("S"))
        # A short sequence is over in microseconds: timing every config would cost more than it saves.
        return kept[:1] if s is not None and s < 1024 else kept


TUNING_FAILURES: list[str] = []


def _tuning_bench(kernel_call: Callable[[], Any], quantiles: Any) -> list[float]:
    """The autotuner's timer: shorter than the default, and a config that fails to compile or launch
    (any exception, not only out-of-resources) is timed as never finishing instead of ending the run."""
    try:
        return triton.testing.do_bench(kernel_call, warmup=10, rep=50, quantiles=quantiles)
    except Exception as error:  # noqa: BLE001
        TUNING_FAILURES.append(first_line(error))
        return [float("inf")] * len(quantiles)


def _autotune(name: str, jit_fn: Any, pre_hook: Callable | None = None, even: bool = True) -> Any:
    table = PerHeadDim(name, pre_hook)
    if even:
        # EVEN (compile time): S is a multiple of the config's BLOCK_M, so no query tile crosses the
        # end of a head (and, BLOCK_M being a multiple of BLOCK_N, no key tile either).
        jit_fn = triton.heuristics({"EVEN": lambda args: args["S"] % args["BLOCK_M"] == 0})(jit_fn)
    return triton.autotune(configs=table.configs, key=["S", "HEAD_DIM", "CAUSAL"],
                           prune_configs_by={"early_config_prune": table.prune}, do_bench=_tuning_bench)(jit_fn)


# ----------------------------------------------------------------------------------------------
# Building blocks shared by the kernels below.
# ----------------------------------------------------------------------------------------------
@triton.jit
def _fold_tile(acc, l_i, m_i, q, k, v, start_n, rows, S, qk_scale,
               MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, PAD: tl.constexpr):
    """Fold one tile of keys k (BLOCK_N, D) and values v into the running softmax of q's rows.
    Base 2: the scores are q.k * qk_scale with qk_scale = scale * log2(e) > 0, so exp2 is exp.
    MASKED: hide keys past S (PAD: the tile may hold padding keys, read as zeros) and, when CAUSAL,
    keys j > i."""
    qk = tl.dot(q, tl.trans(k))
    if MASKED:
        tl.static_assert(CAUSAL or PAD)
        cols = start_n + tl.arange(0, BLOCK_N)
        if PAD:
            visible = cols[None, :] < S
            if CAUSAL:
                visible = visible & (cols[None, :] <= rows[:, None])
        else:
            visible = cols[None, :] <= rows[:, None]
        s = tl.where(visible, qk * qk_scale, float("-inf"))
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        p = tl.exp2(s - m_new[:, None])
    else:
        # Hot path: scaling the row max (a vector) instead of every score makes the argument of
        # exp2 one fused multiply-add per score.
        m_new = tl.maximum(m_i, tl.max(qk, axis=1) * qk_scale)
        p = tl.exp2(qk * qk_scale - m_new[:, None])
    alpha = tl.exp2(m_i - m_new)  # 0 on the first tile (m_i = -inf), else rescales the old sums
    row_sum = tl.sum(p, axis=1)  # summed before the second matmul, so p's fp32 copy can die early
    acc = tl.dot(p.to(v.dtype), v, acc * alpha[:, None])
    l_i = l_i * alpha + row_sum
    return acc, l_i, m_new


@triton.jit
def _key_loop(acc, l_i, m_i, q, k_desc, v_desc, bh, lo, hi, rows, S, qk_scale,
              MASKED: tl.constexpr, CAUSAL: tl.constexpr, BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr,
              WARP_SPECIALIZE: tl.constexpr):
    """Key tiles lo, lo + BLOCK_N, ... < hi of head bh, through 3-D (B*H, S, D) descriptors whose
    rows past S read as zeros."""
    for start_n in tl.range(lo, hi, BLOCK_N, warp_specialize=WARP_SPECIALIZE):
        k = k_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
        v = v_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
        acc, l_i, m_i = _fold_tile(acc, l_i, m_i, q, k, v, start_n, rows, S, qk_scale, MASKED, CAUSAL, BLOCK_N, True)
    return acc, l_i, m_i


@triton.jit
def _store_rows(o_desc, o_ptr, bh, row0, S, out, EVEN: tl.constexpr, ROWS: tl.constexpr, HEAD_DIM: tl.constexpr):
    """Store out, the (ROWS, D) tile of rows row0.. of head bh. When no tile crosses the end of a head
    (EVEN: S a multiple of BLOCK_M, as in every benchmark shape) through a 2-D (B*H*S, D) descriptor
    (a TMA store); otherwise through a masked pointer store, since a 2-D box would spill into the
    next head's rows. Not a 3-D descriptor: its store needs out reshaped to (1, ROWS, D), which
    Triton 3.6's Hopper warp specialisation cannot partition ("unsupported op type" in
    WSDataPartition; expand_dims too). And a compile-time choice: a run-time `if` around the store
    makes that pass give up silently."""
    if EVEN:
        o_desc.store([bh * S + row0, 0], out)
    else:
        rows = row0 + tl.arange(0, ROWS)
        dims = tl.arange(0, HEAD_DIM)
        ptrs = o_ptr + (bh.to(tl.int64) * S + rows)[:, None] * HEAD_DIM + dims[None, :]
        tl.store(ptrs, out, mask=rows[:, None] < S)


@triton.jit
def _query_tile(q_desc, k_desc, v_desc, o_desc, o_ptr, bh, start_m, S, qk_scale,
                HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, EVEN: tl.constexpr, BLOCK_M: tl.constexpr,
                BLOCK_N: tl.constexpr, WARP_SPECIALIZE: tl.constexpr):
    """One (BLOCK_M, D) query tile, start to finish, in two key loops: unmasked, then masked."""
    row0 = start_m * BLOCK_M
    rows = row0 + tl.arange(0, BLOCK_M)
    q = q_desc.load([bh, row0, 0]).reshape(BLOCK_M, HEAD_DIM)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    if CAUSAL:
        lo_end = row0  # keys every row of the tile sees: no mask
        hi_end = tl.minimum(row0 + BLOCK_M, S)  # the diagonal tile; keys past it are never loaded
    else:
        lo_end = (S // BLOCK_N) * BLOCK_N  # full key tiles
        hi_end = S  # and the ragged last one, if any
    acc, l_i, m_i = _key_loop(acc, l_i, m_i, q, k_desc, v_desc, bh, 0, lo_end, rows, S, qk_scale,
                              False, CAUSAL, BLOCK_N, HEAD_DIM, WARP_SPECIALIZE)
    if CAUSAL or not EVEN:  # (not causal and S a multiple of BLOCK_M: no ragged tile)
        acc, l_i, m_i = _key_loop(acc, l_i, m_i, q, k_desc, v_desc, bh, lo_end, hi_end, rows, S, qk_scale,
                                  True, CAUSAL, BLOCK_N, HEAD_DIM, False)
    out = acc / l_i[:, None]
    _store_rows(o_desc, o_ptr, bh, row0, S, out.to(q.dtype), EVEN, BLOCK_M, HEAD_DIM)


@triton.jit
def _query_tile_one_loop(q_desc, k_desc, v_desc, o_desc, o_ptr, bh, start_m, S, qk_scale,
                         HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, EVEN: tl.constexpr, BLOCK_M: tl.constexpr,
                         BLOCK_N: tl.constexpr, WARP_SPECIALIZE: tl.constexpr):
    """The same tile in ONE key loop, for Triton 3.6's warp specialisation on Hopper. With
    num_warps=4 and warp_specialize=True that pass splits the program into a producer warp group
    (TMA loads) and two consumer warp groups of BLOCK_M / 2 rows each (setmaxnreg moves registers
    to them): FlashAttention-3's layout. It only accepts a kernel whose key loop is the only one:
    a second loop after it (the solution's masked stage) fails an MLIR dominance assertion, a
    diagonal tile handled before the loop fails in WSDataPartition, and a run-time `if` choosing
    masked or unmasked inside the loop makes it give up. So when causal every tile pays for the
    mask (a compare and a select per score), and at 8 warps the pass does nothing at all."""
    row0 = start_m * BLOCK_M
    rows = row0 + tl.arange(0, BLOCK_M)
    q = q_desc.load([bh, row0, 0]).reshape(BLOCK_M, HEAD_DIM)
    m_i = tl.full([BLOCK_M], float("-inf"), tl.float32)
    l_i = tl.zeros([BLOCK_M], tl.float32)
    acc = tl.zeros([BLOCK_M, HEAD_DIM], tl.float32)
    if CAUSAL:
        hi = tl.minimum(row0 + BLOCK_M, S)
    else:
        hi = S
    for start_n in tl.range(0, hi, BLOCK_N, warp_specialize=WARP_SPECIALIZE):
        k = k_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
        v = v_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
        # EVEN: S is a multiple of BLOCK_M (so of BLOCK_N): no padding key ever reaches a tile.
        acc, l_i, m_i = _fold_tile(acc, l_i, m_i, q, k, v, start_n, rows, S, qk_scale,
                                   CAUSAL or not EVEN, CAUSAL, BLOCK_N, not EVEN)
    out = acc / l_i[:, None]
    _store_rows(o_desc, o_ptr, bh, row0, S, out.to(q.dtype), EVEN, BLOCK_M, HEAD_DIM)


@triton.jit
def _tile(q_desc, k_desc, v_desc, o_desc, o_ptr, bh, start_m, S, qk_scale,
          HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, EVEN: tl.constexpr, BLOCK_M: tl.constexpr,
          BLOCK_N: tl.constexpr, WARP_SPECIALIZE: tl.constexpr, ONE_LOOP: tl.constexpr):
    if ONE_LOOP:
        _query_tile_one_loop(q_desc, k_desc, v_desc, o_desc, o_ptr, bh, start_m, S, qk_scale,
                             HEAD_DIM, CAUSAL, EVEN, BLOCK_M, BLOCK_N, WARP_SPECIALIZE)
    else:
        _query_tile(q_desc, k_desc, v_desc, o_desc, o_ptr, bh, start_m, S, qk_scale,
                    HEAD_DIM, CAUSAL, EVEN, BLOCK_M, BLOCK_N, WARP_SPECIALIZE)


# ----------------------------------------------------------------------------------------------
# devdesc / ws: the solution's grid, with all four tensors behind on-device descriptors.
# ----------------------------------------------------------------------------------------------
@triton.jit
def devdesc_kernel(q_ptr, k_ptr, v_ptr, o_ptr, BH, S, qk_scale,
                   HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, EVEN: tl.constexpr, ONE_LOOP: tl.constexpr,
                   BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, WARP_SPECIALIZE: tl.constexpr):
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    # Causal: the longest query tiles (end of the sequence) start first, the short ones fill in.
    if CAUSAL:
        start_m = tl.num_programs(0) - 1 - tl.program_id(0)
    else:
        start_m = tl.program_id(0)
    bh = tl.program_id(1)
    # Built in the kernel, so the host makes no descriptor objects per call, and q and out get TMA
    # copies too (the solution reads q and writes out through pointers).
    stride_bh = S * HEAD_DIM
    q_desc = tl.make_tensor_descriptor(q_ptr, [BH, S, HEAD_DIM], [stride_bh, HEAD_DIM, 1], [1, BLOCK_M, HEAD_DIM])
    o_desc = tl.make_tensor_descriptor(o_ptr, [BH * S, HEAD_DIM], [HEAD_DIM, 1], [BLOCK_M, HEAD_DIM])
    k_desc = tl.make_tensor_descriptor(k_ptr, [BH, S, HEAD_DIM], [stride_bh, HEAD_DIM, 1], [1, BLOCK_N, HEAD_DIM])
    v_desc = tl.make_tensor_descriptor(v_ptr, [BH, S, HEAD_DIM], [stride_bh, HEAD_DIM, 1], [1, BLOCK_N, HEAD_DIM])
    _tile(q_desc, k_desc, v_desc, o_desc, o_ptr, bh, start_m, S, qk_scale,
          HEAD_DIM, CAUSAL, EVEN, BLOCK_M, BLOCK_N, WARP_SPECIALIZE, ONE_LOOP)


# ----------------------------------------------------------------------------------------------
# persist / persist_ws: one program per SM slot, looping over work items.
# ----------------------------------------------------------------------------------------------
@triton.jit
def persistent_kernel(q_ptr, k_ptr, v_ptr, o_ptr, BH, S, qk_scale,
                      HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, EVEN: tl.constexpr, ONE_LOOP: tl.constexpr,
                      BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, WARP_SPECIALIZE: tl.constexpr,
                      PROGRAMS_PER_SM: tl.constexpr):
    """Work item i of n_items goes to program i % grid (a stride of the grid size). Items are
    numbered head by head, so the programs running side by side share a few heads' k and v in L2.

    Causal tiles cost 1, 2, ..., n_m key tiles. Walking them heaviest-first per head with a fixed
    stride leaves programs with very different totals (the stride mod n_m picks the same few tile
    lengths for a program every time), and heaviest-first across all heads at once makes the
    programs side by side work on different heads (no L2 reuse of k and v: the loop turns
    memory-bound). So a causal item is a PAIR: the heavy tile n_m - 1 - r and its mirror r, whose
    costs add up to n_m + 1 for every r: equal items, the fixed stride balances, heads stay together.
    """
    tl.static_assert(BLOCK_M % BLOCK_N == 0)
    stride_bh = S * HEAD_DIM
    # Descriptors are made once per program, not once per tile.
    q_desc = tl.make_tensor_descriptor(q_ptr, [BH, S, HEAD_DIM], [stride_bh, HEAD_DIM, 1], [1, BLOCK_M, HEAD_DIM])
    o_desc = tl.make_tensor_descriptor(o_ptr, [BH * S, HEAD_DIM], [HEAD_DIM, 1], [BLOCK_M, HEAD_DIM])
    k_desc = tl.make_tensor_descriptor(k_ptr, [BH, S, HEAD_DIM], [stride_bh, HEAD_DIM, 1], [1, BLOCK_N, HEAD_DIM])
    v_desc = tl.make_tensor_descriptor(v_ptr, [BH, S, HEAD_DIM], [stride_bh, HEAD_DIM, 1], [1, BLOCK_N, HEAD_DIM])
    n_m = tl.cdiv(S, BLOCK_M)
    if CAUSAL:
        per_head = (n_m + 1) // 2  # pairs; with n_m odd the middle tile is an item on its own
    else:
        per_head = n_m
    for item in tl.range(tl.program_id(0), per_head * BH, tl.num_programs(0)):
        bh = item // per_head
        r = item % per_head
        if CAUSAL:
            n_tiles = 2 - (2 * r + 1 == n_m).to(tl.int32)
            for j in tl.range(0, n_tiles):
                start_m = r + (1 - j) * (n_m - 1 - 2 * r)  # j = 0: tile n_m - 1 - r (heavy), j = 1: tile r
                _tile(q_desc, k_desc, v_desc, o_desc, o_ptr, bh, start_m, S, qk_scale,
                      HEAD_DIM, CAUSAL, EVEN, BLOCK_M, BLOCK_N, WARP_SPECIALIZE, ONE_LOOP)
        else:
            _tile(q_desc, k_desc, v_desc, o_desc, o_ptr, bh, r, S, qk_scale,
                  HEAD_DIM, CAUSAL, EVEN, BLOCK_M, BLOCK_N, WARP_SPECIALIZE, ONE_LOOP)


# ----------------------------------------------------------------------------------------------
# split2: two half tiles per program, one stream of k/v tiles.
# ----------------------------------------------------------------------------------------------
@triton.jit
def _key_loop2(acc_a, l_a, m_a, q_a, rows_a, acc_b, l_b, m_b, q_b, rows_b,
               k_desc, v_desc, bh, lo, hi, S, qk_scale,
               DO_A: tl.constexpr, MASK_A: tl.constexpr, MASK_B: tl.constexpr, CAUSAL: tl.constexpr,
               BLOCK_N: tl.constexpr, HEAD_DIM: tl.constexpr, WARP_SPECIALIZE: tl.constexpr):
    """Each k/v tile is loaded once and folded into both halves. The two softmax chains do not depend
    on each other, which gives the scheduler work to put between a half's matmul and its exp2."""
    for start_n in tl.range(lo, hi, BLOCK_N, warp_specialize=WARP_SPECIALIZE):
        k = k_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
        v = v_desc.load([bh, start_n, 0]).reshape(BLOCK_N, HEAD_DIM)
        if DO_A:
            acc_a, l_a, m_a = _fold_tile(acc_a, l_a, m_a, q_a, k, v, start_n, rows_a, S, qk_scale, MASK_A, CAUSAL, BLOCK_N, True)
        acc_b, l_b, m_b = _fold_tile(acc_b, l_b, m_b, q_b, k, v, start_n, rows_b, S, qk_scale, MASK_B, CAUSAL, BLOCK_N, True)
    return acc_a, l_a, m_a, acc_b, l_b, m_b


@triton.jit
def split2_kernel(q_ptr, k_ptr, v_ptr, o_ptr, BH, S, qk_scale,
                  HEAD_DIM: tl.constexpr, CAUSAL: tl.constexpr, EVEN: tl.constexpr,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, WARP_SPECIALIZE: tl.constexpr):
    HALF: tl.constexpr = BLOCK_M // 2
    tl.static_assert(HALF % BLOCK_N == 0)
    if CAUSAL:
        start_m = tl.num_programs(0) - 1 - tl.program_id(0)
    else:
        start_m = tl.program_id(0)
    bh = tl.program_id(1)
    stride_bh = S * HEAD_DIM
    q_desc = tl.make_tensor_descriptor(q_ptr, [BH, S, HEAD_DIM], [stride_bh, HEAD_DIM, 1], [1, HALF, HEAD_DIM])
    o_desc = tl.make_tensor_descriptor(o_ptr, [BH * S, HEAD_DIM], [HEAD_DIM, 1], [HALF, HEAD_DIM])
    k_desc = tl.make_tensor_descriptor(k_ptr, [BH, S, HEAD_DIM], [stride_bh, HEAD_DIM, 1], [1, BLOCK_N, HEAD_DIM])
    v_desc = tl.make_tensor_descriptor(v_ptr, [BH, S, HEAD_DIM], [stride_bh, HEAD_DIM, 1], [1, BLOCK_N, HEAD_DIM])
    row_a = start_m * BLOCK_M  # half a: rows [row_a, row_a + HALF); half b: the next HALF rows
    row_b = row_a + HALF
    rows_a = row_a + tl.arange(0, HALF)
    rows_b = row_b + tl.arange(0, HALF)
    q_a = q_desc.load([bh, row_a, 0]).reshape(HALF, HEAD_DIM)
    q_b = q_desc.load([bh, row_b, 0]).reshape(HALF, HEAD_DIM)
    m_a = tl.full([HALF], float("-inf"), tl.float32)
    l_a = tl.zeros([HALF], tl.float32)
    acc_a = tl.zeros([HALF, HEAD_DIM], tl.float32)
    m_b = tl.full([HALF], float("-inf"), tl.float32)
    l_b = tl.zeros([HALF], tl.float32)
    acc_b = tl.zeros([HALF, HEAD_DIM], tl.float32)
    if CAUSAL:
        # 1. keys [0, row_a): both halves, no mask.
        acc_a, l_a, m_a, acc_b, l_b, m_b = _key_loop2(
            acc_a, l_a, m_a, q_a, rows_a, acc_b, l_b, m_b, q_b, rows_b, k_desc, v_desc, bh, 0, row_a, S, qk_scale,
            True, False, False, CAUSAL, BLOCK_N, HEAD_DIM, WARP_SPECIALIZE)
        # 2. keys [row_a, row_b): half a's diagonal (masked); half b sees all of them (every key
        #    < row_b <= its rows, and < S whenever one of its rows is real).
        acc_a, l_a, m_a, acc_b, l_b, m_b = _key_loop2(
            acc_a, l_a, m_a, q_a, rows_a, acc_b, l_b, m_b, q_b, rows_b, k_desc, v_desc, bh,
            row_a, tl.minimum(row_b, S), S, qk_scale, True, True, False, CAUSAL, BLOCK_N, HEAD_DIM, False)
        # 3. keys [row_b, row_b + HALF): half b's diagonal only; all are in half a's future.
        acc_a, l_a, m_a, acc_b, l_b, m_b = _key_loop2(
            acc_a, l_a, m_a, q_a, rows_a, acc_b, l_b, m_b, q_b, rows_b, k_desc, v_desc, bh,
            row_b, tl.minimum(row_b + HALF, S), S, qk_scale, False, False, True, CAUSAL, BLOCK_N, HEAD_DIM, False)
    else:
        full_end = (S // BLOCK_N) * BLOCK_N
        acc_a, l_a, m_a, acc_b, l_b, m_b = _key_loop2(
            acc_a, l_a, m_a, q_a, rows_a, acc_b, l_b, m_b, q_b, rows_b, k_desc, v_desc, bh, 0, full_end, S, qk_scale,
            True, False, False, CAUSAL, BLOCK_N, HEAD_DIM, WARP_SPECIALIZE)
        if not EVEN:
            acc_a, l_a, m_a, acc_b, l_b, m_b = _key_loop2(
                acc_a, l_a, m_a, q_a, rows_a, acc_b, l_b, m_b, q_b, rows_b, k_desc, v_desc, bh, full_end, S, S, qk_scale,
                True, True, True, CAUSAL, BLOCK_N, HEAD_DIM, False)
    # Every row saw at least one key (key row_a, or key 0 when not causal), so l >= 1. Half b of the
    # last tile may lie wholly past S: the masked store then writes nothing.
    _store_rows(o_desc, o_ptr, bh, row_a, S, (acc_a / l_a[:, None]).to(q_a.dtype), EVEN, HALF, HEAD_DIM)
    _store_rows(o_desc, o_ptr, bh, row_b, S, (acc_b / l_b[:, None]).to(q_b.dtype), EVEN, HALF, HEAD_DIM)


# ----------------------------------------------------------------------------------------------
# Autotuners and host wrappers (the solution's signature).
# ----------------------------------------------------------------------------------------------
# sol_perD re-tunes the solution's own jitted kernel (the object under its autotuner) with other
# configs; its pre_hook gives the host descriptors each config's block shape.
SOL_PERD_KERNEL = _autotune("sol_perD", sol.flash_attention_kernel.fn, pre_hook=sol._set_block_shapes, even=False)
DEVDESC_KERNEL = _autotune("devdesc", devdesc_kernel)
WS_KERNEL = _autotune("ws", devdesc_kernel)
PERSIST_KERNEL = _autotune("persist", persistent_kernel)
PERSIST_WS_KERNEL = _autotune("persist_ws", persistent_kernel)
SPLIT2_KERNEL = _autotune("split2", split2_kernel)

LAST_COMPILED: dict[str, Any] = {}  # variant -> the CompiledKernel its last launch ran (registers, spills)


def _prepare(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float | None):
    """Contiguous inputs and a positive log2-unit scale (the row-max shortcut needs scale > 0;
    softmax(q k^T * s) == softmax((-q) k^T * -s), and negating q is exact)."""
    d = q.shape[-1]
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    if scale < 0:
        q, scale = -q, -scale
    q, k, v = (t.contiguous() for t in (q, k, v))
    return q, k, v, scale * LOG2E


def flash_sol_perd(q, k, v, causal=True, scale=None):
    from triton.tools.tensor_descriptor import TensorDescriptor

    q, k, v, qk_scale = _prepare(q, k, v, scale)
    B, H, S, D = q.shape
    out = torch.empty_like(q)
    k_desc, v_desc = (TensorDescriptor(t, shape=[B * H, S, D], strides=[S * D, D, 1], block_shape=[1, 16, D]) for t in (k, v))
    grid = lambda meta: (triton.cdiv(S, meta["BLOCK_M"]), B * H)  # noqa: E731
    LAST_COMPILED["sol_perD"] = SOL_PERD_KERNEL[grid](q, k_desc, v_desc, out, S, qk_scale, q.stride(1), q.stride(2),
                                                      HEAD_DIM=D, CAUSAL=bool(causal))
    return out


def _flash_device_descriptors(name: str, kernel: Any, q, k, v, causal, scale, **flags):
    q, k, v, qk_scale = _prepare(q, k, v, scale)
    B, H, S, D = q.shape
    out = torch.empty_like(q)
    grid = lambda meta: (triton.cdiv(S, meta["BLOCK_M"]), B * H)  # noqa: E731
    LAST_COMPILED[name] = kernel[grid](q, k, v, out, B * H, S, qk_scale, HEAD_DIM=D, CAUSAL=bool(causal), **flags)
    return out


def flash_devdesc(q, k, v, causal=True, scale=None):
    return _flash_device_descriptors("devdesc", DEVDESC_KERNEL, q, k, v, causal, scale, ONE_LOOP=False)


def flash_ws(q, k, v, causal=True, scale=None):
    return _flash_device_descriptors("ws", WS_KERNEL, q, k, v, causal, scale, ONE_LOOP=True)


def flash_split2(q, k, v, causal=True, scale=None):
    return _flash_device_descriptors("split2", SPLIT2_KERNEL, q, k, v, causal, scale)


def _sm_count(device: torch.device) -> int:
    # Under the interpreter: 3 "SMs", so that the CPU shapes give every program several items.
    return torch.cuda.get_device_properties(device).multi_processor_count if ON_GPU else 3


def _flash_persistent(name: str, kernel: Any, q, k, v, causal, scale, one_loop: bool):
    q, k, v, qk_scale = _prepare(q, k, v, scale)
    B, H, S, D = q.shape
    out = torch.empty_like(q)
    sms = _sm_count(q.device)

    def grid(meta: dict) -> tuple[int]:
        n_m = triton.cdiv(S, meta["BLOCK_M"])
        items = B * H * ((n_m + 1) // 2 if causal else n_m)
        return (max(1, min(sms * meta["PROGRAMS_PER_SM"], items)),)

    LAST_COMPILED[name] = kernel[grid](q, k, v, out, B * H, S, qk_scale, HEAD_DIM=D, CAUSAL=bool(causal), ONE_LOOP=one_loop)
    return out


def flash_persist(q, k, v, causal=True, scale=None):
    return _flash_persistent("persist", PERSIST_KERNEL, q, k, v, causal, scale, one_loop=False)


def flash_persist_ws(q, k, v, causal=True, scale=None):
    return _flash_persistent("persist_ws", PERSIST_WS_KERNEL, q, k, v, causal, scale, one_loop=True)


@dataclass
class Variant:
    name: str
    fn: Callable[..., torch.Tensor]
    tuner: Any  # the autotuner (best_config, configs_timings), or None
    what: str


VARIANTS: dict[str, Variant] = {v.name: v for v in (
    Variant("solution", sol.flash_attention, sol.flash_attention_kernel, "solutions_hidden/level8_flash_attention.py as is"),
    Variant("sol_perD", flash_sol_perd, SOL_PERD_KERNEL, "solution kernel, configs per head dim incl. maxnreg"),
    Variant("devdesc", flash_devdesc, DEVDESC_KERNEL, "q/k/v/out via tl.make_tensor_descriptor, solution's grid"),
    Variant("ws", flash_ws, WS_KERNEL, "devdesc in one key loop, 4 warps + warp_specialize: real Hopper WS"),
    Variant("persist", flash_persist, PERSIST_KERNEL, "persistent, device descriptors, causal tiles paired"),
    Variant("persist_ws", flash_persist_ws, PERSIST_WS_KERNEL, "persist + warp-specialised key loop"),
    Variant("split2", flash_split2, SPLIT2_KERNEL, "two half tiles per program sharing k/v loads"),
)}


def describe_config(config: Any) -> str:
    if config is None:
        return "-"
    kw = config.kwargs
    text = f"{kw.get('BLOCK_M')}x{kw.get('BLOCK_N')} w{config.num_warps} s{config.num_stages}"
    if kw.get("WARP_SPECIALIZE"):
        text += " ws"
    if getattr(config, "maxnreg", None):
        text += f" r{config.maxnreg}"
    if "PROGRAMS_PER_SM" in kw:
        text += f" p{kw['PROGRAMS_PER_SM']}"
    return text


# ----------------------------------------------------------------------------------------------
# CPU check (interpreter).
# ----------------------------------------------------------------------------------------------
CPU_CASES = [  # (B, H, S, D, causal, scale)
    (2, 3, 77, 32, True, None), (2, 3, 77, 32, False, None),
    (1, 2, 130, 64, True, None), (1, 2, 130, 64, False, None),
    (1, 2, 50, 16, True, -0.3),  # a negative explicit scale, and a single pair of causal tiles
    (1, 2, 64, 32, True, None), (1, 2, 64, 32, False, None),  # S a multiple of BLOCK_M: the EVEN paths
]


def reference_attention(q, k, v, causal: bool, scale: float | None) -> torch.Tensor:
    """softmax(q k^T * scale) v in float64, spelled out: torch's CPU SDPA returns NaN for a
    negative scale (torch 2.13), and this check wants one reference for every case."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q.double() @ k.double().transpose(-1, -2)) * scale
    if causal:
        future = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
    return (scores.softmax(dim=-1) @ v.double()).to(q.dtype)


def cpu_check(names: list[str]) -> int:
    if not INTERPRETED:
        print("--cpu-check needs TRITON_INTERPRET=1 (set it before Python starts)")
        return 2
    print(f"# CPU check under the interpreter: triton {triton.__version__}, torch {torch.__version__}")
    try:
        # The quest's own interpreter work-arounds (Triton 3.6 with numpy >= 2.4 cannot run a loop with
        # a runtime bound without them), as pytest applies them.
        sys.path.insert(0, str(SOLUTION_PATH.parent.parent))
        from pytest_triton_quest.compat import apply_interpreter_fixes

        apply_interpreter_fixes()
        print("# with pytest_triton_quest.compat.apply_interpreter_fixes()")
    except ImportError as error:
        print(f"# without the quest's interpreter fixes ({first_line(error)})")
    torch.manual_seed(0)
    failures = 0
    for name in names:
        variant = VARIANTS[name]
        for B, H, S, D, causal, scale in CPU_CASES:
            q, k, v = (torch.randn(B, H, S, D) for _ in range(3))
            expected = reference_attention(q, k, v, causal, scale)
            label = f"{name:10s} B{B} H{H} S{S} D{D}{' causal' if causal else ''}{f' scale={scale}' if scale else ''}"
            start = time.perf_counter()
            try:
                out = variant.fn(q, k, v, causal=causal, scale=scale)
                error = (out - expected).abs().max().item()
                ok = bool(torch.allclose(out, expected, atol=2e-3, rtol=2e-3))
                print(f"{label:48s} {'pass' if ok else 'FAIL'}  max abs error {error:.1e}  ({time.perf_counter() - start:.1f} s)", flush=True)
                failures += not ok
            except Exception as error:  # noqa: BLE001 - a variant the interpreter cannot run is a line
                print(f"{label:48s} CANNOT RUN here: {first_line(error)}", flush=True)
                failures += 1
    print(f"\n{'all passed' if failures == 0 else f'{failures} case(s) failed or could not run'}")
    return 0 if failures == 0 else 1


def list_configs() -> None:
    for name in VARIANTS:
        if name == "solution":
            print(f"solution: {len(sol.flash_attention_kernel.configs)} configs (its own list)")
            continue
        table = PerHeadDim(name, interpreted=False)
        for d, configs in table.by_dim.items():
            print(f"{name} D={d}: " + ", ".join(describe_config(c) for c in configs))


# ----------------------------------------------------------------------------------------------
# GPU run.
# ----------------------------------------------------------------------------------------------
@dataclass
class Shape:
    B: int
    H: int
    S: int
    D: int
    causal: bool

    @property
    def label(self) -> str:
        return f"B{self.B} H{self.H} S{self.S} D{self.D}{' causal' if self.causal else ''}"

    @property
    def flops(self) -> float:
        return 4.0 * self.B * self.H * self.S * self.S * self.D / (2 if self.causal else 1)


def benchmark_shapes(which: str) -> list[Shape]:
    seqs = (4096,) if which == "quick" else (1024, 4096, 16384)
    # D = 128 first: it is where the gap is, and what a cut-short run should still have measured.
    return [Shape(16384 // s, 2048 // d, s, d, causal) for d in (128, 64) for causal in (False, True) for s in seqs]


def median_ms(fn: Callable[[], Any]) -> float:
    return float(triton.testing.do_bench(fn, warmup=50, rep=300, return_mode="median"))


def rel_error(out: torch.Tensor, expected: torch.Tensor) -> float:
    return float((out.float() - expected.float()).norm() / expected.float().norm().clamp_min(1e-12))


def _precompile_job(job: tuple[str, int, bool]) -> tuple[str, int, bool, float, str | None]:
    """In a worker process: run one variant once per (D, causal) on a small input, which compiles
    (and autotunes, cheaply) all its configs for that pair and leaves them in Triton's disk cache.
    B*H = 16 and S = 1024 specialise like every benchmark shape (ints divisible by 16, not 1)."""
    name, d, causal = job
    start = time.perf_counter()
    try:
        q, k, v = (torch.randn(1, 16, 1024, d, device="cuda", dtype=torch.float16) for _ in range(3))
        VARIANTS[name].fn(q, k, v, causal=causal)
        torch.cuda.synchronize()
        return name, d, causal, time.perf_counter() - start, None
    except Exception as error:  # noqa: BLE001
        return name, d, causal, time.perf_counter() - start, first_line(error)


def precompile(names: list[str], shapes: list[Shape], workers: int, timeout_s: float) -> list[dict]:
    pairs = sorted({(s.D, s.causal) for s in shapes})
    # Longest lists first (the solution's 10 configs, then the warp-specialised ones).
    order = ["solution", "sol_perD", "devdesc", "ws", "persist_ws", "split2", "persist"]
    jobs = [(n, d, c) for n in sorted(names, key=lambda n: order.index(n) if n in order else 99) for d, c in pairs]
    workers = max(1, min(workers, len(jobs)))
    print(f"# precompiling {len(jobs)} (variant, D, causal) jobs in {workers} worker processes", flush=True)
    start = time.perf_counter()
    records = []
    executor = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    futures = [executor.submit(_precompile_job, job) for job in jobs]
    try:
        for future in concurrent.futures.as_completed(futures, timeout=timeout_s):
            try:
                name, d, causal, seconds, error = future.result()
            except Exception as failure:  # noqa: BLE001 - e.g. a worker that died
                print(f"   precompile worker failed: {first_line(failure)}", flush=True)
                continue
            records.append({"variant": name, "D": d, "causal": causal, "seconds": round(seconds, 1), "error": error})
            print(f"   compiled {name} D={d}{' causal' if causal else ''}: {seconds:.0f} s"
                  f"{'' if error is None else ' - ' + error}", flush=True)
    except concurrent.futures.TimeoutError:
        print(f"   precompile phase cut at {timeout_s:.0f} s: the rest compiles in the timing phase", flush=True)
        for process in list(getattr(executor, "_processes", {}).values()):  # only the workers started here
            process.terminate()
    executor.shutdown(wait=True, cancel_futures=True)
    print(f"# precompile phase: {time.perf_counter() - start:.0f} s", flush=True)
    return records


def run_gpu(args: argparse.Namespace, names: list[str]) -> int:
    if not ON_GPU:
        print("this mode times GPU kernels and no CUDA GPU is available (use --cpu-check or --list-configs)")
        return 2
    t_start = time.perf_counter()
    device = torch.cuda.get_device_name()
    print(f"# {device}, torch {torch.__version__}, triton {triton.__version__}, cuDNN {torch.backends.cudnn.version()}", flush=True)
    print("# variants: " + "; ".join(f"{n} = {VARIANTS[n].what}" for n in names), flush=True)
    shapes = benchmark_shapes(args.shapes)
    report: dict[str, Any] = {"device": device, "torch": torch.__version__, "triton": triton.__version__,
                              "cudnn": torch.backends.cudnn.version(), "variants": names, "shapes": [],
                              "precompile": [], "elapsed_s": {}}
    json_path = Path(args.json) if args.json else None

    def save() -> None:
        if json_path:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(report, indent=1))

    if not args.no_precompile:
        report["precompile"] = precompile(names, shapes, args.workers, min(300.0, args.budget_s * 0.5))
        save()
    if args.precompile_only:
        return 0
    elapsed = {n: 0.0 for n in names}
    torch.manual_seed(0)
    dead = False
    for shape in shapes:
        if time.perf_counter() - t_start > args.budget_s:
            print(f"# time budget of {args.budget_s:.0f} s spent: {shape.label} and later shapes skipped", flush=True)
            break
        q, k, v = (torch.randn(shape.B, shape.H, shape.S, shape.D, device="cuda", dtype=torch.float16) for _ in range(3))
        expected = sdpa(q, k, v, is_causal=shape.causal)
        base_ms = median_ms(lambda: sdpa(q, k, v, is_causal=shape.causal))
        row: dict[str, Any] = {"shape": shape.label, "B": shape.B, "H": shape.H, "S": shape.S, "D": shape.D,
                               "causal": shape.causal, "sdpa_ms": base_ms, "sdpa_tflops": shape.flops / base_ms / 1e9,
                               "results": {}}
        print(f"{shape.label}: SDPA default {base_ms:.3f} ms = {row['sdpa_tflops']:.0f} TFLOP/s", flush=True)
        for name in names:
            variant = VARIANTS[name]
            result: dict[str, Any] = {"status": "ok"}
            started = time.perf_counter()
            TUNING_FAILURES.clear()
            try:
                out = variant.fn(q, k, v, causal=shape.causal)  # the first call of a (S, D, causal) autotunes
                torch.cuda.synchronize()
                result["tuning_s"] = round(time.perf_counter() - started, 1)
                error = rel_error(out, expected)
                result["rel_error"] = error
                del out
                tuner = variant.tuner
                result["config"] = describe_config(getattr(tuner, "best_config", None))
                timings = getattr(tuner, "configs_timings", None) or {}
                result["config_timings_ms"] = {describe_config(c): (t[0] if isinstance(t, (list, tuple)) else t)
                                               for c, t in timings.items()}
                compiled = LAST_COMPILED.get(name)
                result["regs"], result["spills"] = getattr(compiled, "n_regs", None), getattr(compiled, "n_spills", None)
                if TUNING_FAILURES:
                    result["config_failures"] = sorted(set(TUNING_FAILURES))
                if not math.isfinite(error) or error >= 1e-2:
                    result["status"] = f"wrong (relative error {error:.1e})"
                else:
                    ms = median_ms(lambda: variant.fn(q, k, v, causal=shape.causal))
                    result.update(ms=ms, tflops=shape.flops / ms / 1e9, ratio=base_ms / ms)
            except Exception as failure:  # noqa: BLE001 - a failing variant is a line, not the end
                result["status"] = f"error: {first_line(failure)}"
            elapsed[name] += time.perf_counter() - started
            row["results"][name] = result
            if "ms" in result:
                print(f"   {name:10s} {result['ms']:.3f} ms {result['tflops']:4.0f} TFLOP/s {result['ratio']:.2f}x  "
                      f"[{result['config']}, {result['regs']} regs, {result['spills']} spills; tuned in {result['tuning_s']} s]", flush=True)
            else:
                print(f"   {name:10s} {result['status']}", flush=True)
            for line in result.get("config_failures", [])[:3]:
                print(f"      a config failed: {line}", flush=True)
            try:
                torch.cuda.synchronize()
            except Exception as failure:  # noqa: BLE001 - the CUDA context is gone: nothing more can run
                print(f"# CUDA context lost after {name}: {first_line(failure)}; stopping", flush=True)
                dead = True
                break
        report["shapes"].append(row)
        report["elapsed_s"] = {n: round(s, 1) for n, s in elapsed.items()}
        save()
        del q, k, v, expected
        torch.cuda.empty_cache()
        if dead:
            break
    summarize(report, names, elapsed, time.perf_counter() - t_start)
    save()
    if json_path:
        print(f"# raw numbers: {json_path}")
    return 0


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(x) for x in values) / len(values)) if values else float("nan")


def summarize(report: dict, names: list[str], elapsed: dict[str, float], total_s: float) -> None:
    rows = report["shapes"]
    print("\n## ms / TFLOP/s / ratio vs SDPA default\n")
    print("| shape | SDPA default | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for row in rows:
        cells = []
        for name in names:
            r = row["results"].get(name, {})
            cells.append(f"{r['ms']:.3f} {r['tflops']:.0f} {r['ratio']:.2f}x" if "ms" in r else
                         ("ERR" if r.get("status", "").startswith("error") else "WRONG" if r else "-"))
        print(f"| {row['shape']} | {row['sdpa_ms']:.3f} {row['sdpa_tflops']:.0f} | " + " | ".join(cells) + " |")
    print("\n## autotuner's pick (regs/spills)\n")
    print("| shape | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for row in rows:
        cells = []
        for name in names:
            r = row["results"].get(name, {})
            cells.append(f"{r.get('config', '-')} ({r.get('regs')}/{r.get('spills')})" if "config" in r else "-")
        print(f"| {row['shape']} | " + " | ".join(cells) + " |")
    print("\n## geometric mean of the ratio vs SDPA default (shapes measured)\n")
    print("| variant | all | D=128 | D=64 | elapsed s |")
    print("|---|---|---|---|---|")
    summary = {}
    for name in names:
        ratios = {key: [r["results"][name]["ratio"] for r in rows if "ratio" in r["results"].get(name, {}) and pick(r)]
                  for key, pick in (("all", lambda r: True), ("d128", lambda r: r["D"] == 128), ("d64", lambda r: r["D"] == 64))}
        summary[name] = {key: {"geomean": geomean(vals) if vals else None, "n": len(vals)} for key, vals in ratios.items()}
        cells = [f"{geomean(vals):.3f} ({len(vals)})" if vals else "-" for vals in ratios.values()]
        print(f"| {name} | " + " | ".join(cells) + f" | {elapsed[name]:.0f} |")
    report["summary"] = summary
    report["total_s"] = round(total_s, 1)
    failures = [(row["shape"], n, row["results"][n]["status"]) for row in rows for n in names
                if row["results"].get(n, {}).get("status", "ok") != "ok"]
    for shape, name, status in failures[:12]:
        print(f"- {name} on {shape}: {status}")
    print(f"\n# total {total_s:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", choices=("all", "quick"), default="all", help="quick: S = 4096 only (4 shapes)")
    # The warp-specialised ones only on request: on an H100 their first call did not finish (see above).
    usual = [name for name in VARIANTS if name not in ("ws", "persist_ws")]
    parser.add_argument("--variants", default=",".join(usual), help="comma-separated, from: " + ", ".join(VARIANTS) + " (default: all but ws, persist_ws)")
    default_json = str(Path(os.environ["OUT"]) / "level8_variants.json") if os.environ.get("OUT") else None
    parser.add_argument("--json", default=default_json, help="write the raw numbers here (default $OUT/level8_variants.json)")
    parser.add_argument("--cpu-check", action="store_true", help="check every variant on small shapes under the interpreter")
    parser.add_argument("--list-configs", action="store_true", help="print the GPU config tables and exit")
    parser.add_argument("--no-precompile", action="store_true", help="compile in the timing phase only")
    parser.add_argument("--precompile-only", action="store_true", help="fill Triton's cache and stop (no timing)")
    parser.add_argument("--workers", type=int, default=min(12, max(1, (os.cpu_count() or 2) - 2)),
                        help="precompile worker processes")
    parser.add_argument("--budget-s", type=float, default=450.0,
                        help="stop starting new shapes after this many seconds (the summary is still printed)")
    args = parser.parse_args()
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
    if args.list_configs:
        list_configs()
        return 0
    if args.cpu_check:
        return cpu_check(names)
    return run_gpu(args, names)


if __name__ == "__main__":
    sys.exit(main())
