"""Level 2: matrix multiplication, tile by tile, with a float32 accumulator."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .._lazy import torch
from .base import Baseline, Case, Failure, Level, Mode, Tolerance, Work

if TYPE_CHECKING:
    import torch as torch_types


# Block sizes a learner is likely to use: a wrong region that starts at the last full block of one of
# them, or a sum that stops at the last full block along K, points at the grid or at the masks.
_COMMON_BLOCKS = (16, 32, 64, 128, 256)
# Diagnosis rules recompute wrong-but-plausible answers on at most this many rows, to stay cheap on big cases.
_PROBE_ROWS = 64


class Matmul(Level):
    number = 2
    name = "Matmul"
    kata_file = "level2_matmul.py"
    function = "matmul"
    positional = ("a", "b")
    concept = (
        "A matrix product is computed one output tile at a time: a program owns a BLOCK_M x BLOCK_N tile "
        "of c, walks along K in steps of BLOCK_K, and adds tl.dot(a_tile, b_tile) into a float32 "
        "accumulator that stays in registers. Masks on rows, columns and the last partial slice of K make "
        "any M, N, K work. Attention is two matrix products (q @ k^T and P @ v), and Flash Attention is this "
        "very loop with a softmax between the two tl.dot calls."
    )
    hints = (
        "Cut c (M x N) into BLOCK_M x BLOCK_N tiles and give each tile a program: the grid is "
        "triton.cdiv(M, BLOCK_M) * triton.cdiv(N, BLOCK_N) programs (or a 2-D grid of both). Each program "
        "computes its whole tile as a sum over K.",
        "Element [i, j] of a 2-D tensor lives at i * stride(0) + j * stride(1). Pass a.stride(0), a.stride(1), "
        "b.stride(0), b.stride(1), c.stride(0), c.stride(1) to the kernel and build 2-D pointer blocks with "
        "rows[:, None] * stride_row + cols[None, :] * stride_col.",
        "In the kernel: rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M), cols = pid_n * BLOCK_N + "
        "tl.arange(0, BLOCK_N), ks = tl.arange(0, BLOCK_K). The a tile is (BLOCK_M, BLOCK_K), the b tile "
        "is (BLOCK_K, BLOCK_N).",
        "acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32), then loop k0 over 0, BLOCK_K, 2*BLOCK_K, ... "
        "< K and do acc += tl.dot(a_tile, b_tile).",
        "Mask every load: the a tile with (rows[:, None] < M) & (k0 + ks[None, :] < K), the b tile with "
        "(k0 + ks[:, None] < K) & (cols[None, :] < N), both with other=0.0, so the lanes past an edge add "
        "nothing to the sum. Keep every BLOCK >= 16: tl.dot needs that on a GPU.",
        "Store acc.to(c_ptr.dtype.element_ty) at c_ptr + rows[:, None] * stride_cm + cols[None, :] * stride_cn "
        "with the mask (rows[:, None] < M) & (cols[None, :] < N), where c = torch.empty((M, N), "
        "device=a.device, dtype=a.dtype) in the wrapper, and return c.",
    )

    # ----- cases --------------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        # (dtype, M, N, K, purpose); square cases come early, they make transposed operands recognisable.
        table: list[tuple[str, int, int, int, str]] = [
            ("fp32", 1, 3, 1, "M = K = 1: the smallest sizes, three single products in one row"),
            ("fp32", 37, 37, 37, "square and ragged: 37 is not a multiple of any block"),
            ("fp32", 77, 45, 1, "K = 1: the only slice of K is a partial one"),
            ("fp16", 1, 100, 53, "a single row (M = 1), ragged N and K"),
            ("fp32", 100, 1, 70, "a single column (N = 1)"),
            ("fp32", 64, 64, 64, "sizes that are multiples of common block sizes"),
            ("fp16", 33, 130, 200, "wide and non-square: N > M, K spans several blocks"),
            ("fp16", 123, 77, 150, "tall and non-square: M > N, ragged everywhere"),
            ("fp32", 150, 40, 97, "M much larger than N, ragged K"),
            ("fp16", 40, 136, 88, "ragged tiles, but every row a multiple of 16 bytes (what TMA descriptors need)"),
        ]
        if mode.on_gpu:
            table += [
                ("fp32", 1000, 777, 1531, "a large ragged product in float32 (TF32 tensor cores on the GPU)"),
                ("fp16", 1531, 1000, 2049, "a large ragged product in half precision"),
                ("fp16", 2048, 2048, 2048, "a large square product, multiples of every block"),
                ("fp16", 3, 4099, 1024, "a very wide, very flat product"),
                ("bf16", 513, 1025, 777, "bfloat16, ragged sizes"),
                ("bf16", 1024, 256, 4096, "bfloat16, a long K"),
            ]
        return [
            Case(id=f"{dtype}-{m}x{n}x{k}", dtype=dtype, purpose=purpose, params={"M": m, "N": n, "K": k})
            for dtype, m, n, k, purpose in table
        ]

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        p = case.params
        a = torch.randn(p["M"], p["K"], generator=generator).to(case.torch_dtype)
        b = torch.randn(p["K"], p["N"], generator=generator).to(case.torch_dtype)
        return {"a": a, "b": b}

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        return inputs["a"].to(torch.float64) @ inputs["b"].to(torch.float64)

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # Each output sums K products of unit-variance numbers: its typical size is sqrt(K), and the
        # rounding errors of its terms add up to a multiple of that, so atol follows sqrt(K).
        # - float32: on a GPU tl.dot uses TF32 (inputs rounded to a 10-bit mantissa, ~5e-4 relative
        #   each), so a sum of K products is off by ~1e-3 * sqrt(K) typically; the worst of a few
        #   million outputs measured 4.4e-3 * sqrt(K) on an H100. 1e-2 * sqrt(K) plus 1e-2 relative
        #   leaves headroom. (The interpreter computes in full float32, far inside this.)
        # - float16: products of float16 numbers are exact in float32 and the float32 sum is good to
        #   ~1e-7 * sqrt(K); what remains is rounding the output to float16 (2^-11 ~ 4.9e-4 relative):
        #   2e-3 relative is four times that.
        # - bfloat16: the same, with an output rounding of 2^-9 ~ 2e-3 relative: 8e-3 relative.
        # An all-zero or constant output misses most elements by about sqrt(K) and fails every case.
        typical = math.sqrt(case.params["K"])
        atol_factor, rtol = {"fp32": (1e-2, 1e-2), "fp16": (1e-3, 2e-3), "bf16": (2e-3, 8e-3)}[case.dtype]
        return Tolerance(atol=atol_factor * typical, rtol=rtol)

    # ----- diagnosis ----------------------------------------------------------------------------
    def diagnose(self, failure: Failure) -> list[str]:
        out, ref, bad = failure.out, failure.ref, failure.bad
        M, N = ref.shape
        K = failure.case.params["K"]
        a = failure.inputs["a"][:_PROBE_ROWS].to(torch.float64)
        b = failure.inputs["b"].to(torch.float64)
        probe = out[:_PROBE_ROWS]
        notes: list[str] = []

        def resembles(candidate: "torch_types.Tensor") -> bool:
            # Close to a wrong-but-plausible answer, with five times the slack of the tolerance.
            if candidate.shape != probe.shape or not bool(torch.isfinite(probe).all()):
                return False
            slack = 5 * (failure.tolerance.atol + failure.tolerance.rtol * candidate.abs())
            return bool(((probe - candidate).abs() <= slack).all())

        if not bool(torch.isfinite(out).all()):
            notes.append(
                "likely: NaN or inf in the output: some elements are never written (torch.empty holds garbage), "
                "or a load reads memory it does not own (a lane past M, N or K without a mask or other=0.0)"
            )

        # The rules below compare with wrong answers; they say nothing when the answer is nearly right.
        near_right = resembles(a @ b)

        # b read transposed: with its two strides swapped, or as if its memory held an (N, K) matrix.
        flat = b.reshape(-1)
        misreadings = [flat.reshape(N, K).T]
        if (K - 1) + (N - 1) * N < K * N:  # swapped strides stay inside b
            misreadings.append(flat.as_strided((K, N), (1, N)))
        if M * N > 1 and not near_right and any(resembles(a @ wrong_b) for wrong_b in misreadings):
            notes.append(
                "likely: b is read transposed (its strides swapped, or indexed as if it were stored (N, K)): "
                "element b[k, n] is at k * b.stride(0) + n * b.stride(1)"
            )
        if M == K and K > 1 and not near_right and resembles(failure.inputs["a"][:, :_PROBE_ROWS].to(torch.float64).T @ b):
            notes.append(
                "likely: a is read transposed: element a[m, k] is at m * a.stride(0) + k * a.stride(1)"
            )
        if M == N and M > 1 and not near_right and resembles(ref.T[:_PROBE_ROWS]):
            notes.append("likely: the output is stored transposed: c[m, n] is at m * c.stride(0) + n * c.stride(1)")

        # The sum stops at the last full slice of K.
        for block in _COMMON_BLOCKS:
            whole = (K // block) * block
            if 0 < whole < K and not near_right and resembles(a[:, :whole] @ b[:whole]):
                notes.append(
                    f"likely: the last, partial block along K is skipped (the sum stops at k = {whole}): "
                    "loop over triton.cdiv(K, BLOCK_K) slices and mask k < K in the last one"
                )
                break

        region = _tail_region(bad, M, N)
        if region is not None:
            notes.append(
                f"likely: only the last, partial block of {region} is wrong: round the grid up with "
                "triton.cdiv and mask rows >= M and columns >= N"
            )
        elif N > M and bool(bad.any()) and bool((bad.nonzero()[:, 1] >= M).all()):
            notes.append(
                f"likely: only the columns from {M} (= M) on are wrong: a mask mixes up M and N; "
                "columns are checked against N, rows against M"
            )
        elif M > N and bool(bad.any()) and bool((bad.nonzero()[:, 0] >= N).all()):
            notes.append(
                f"likely: only the rows from {N} (= N) on are wrong: a mask mixes up M and N; "
                "rows are checked against M, columns against N"
            )

        never_written = bool((out == 0).all())  # the generic rules say so
        if not notes and not never_written and K % 16 != 0 and float(bad.float().mean()) > 0.5:
            notes.append(
                "likely: the last slice along K is loaded without a mask: its lanes past K read whatever "
                "follows in memory; mask k < K with other=0.0 on both the a and the b tile"
            )
        return notes


    # ----- benchmarks ---------------------------------------------------------------------------
    def benchmark_cases(self) -> list[Case]:
        return [
            Case(id=f"fp16-{n}x{n}x{n}", dtype="fp16", purpose="benchmark", params={"M": n, "N": n, "K": n})
            for n in (2048, 4096, 8192)
        ]

    def baselines(self) -> dict[str, Baseline]:
        return {"cublas": lambda inputs: torch.matmul(inputs["a"], inputs["b"])}

    def work(self, case: Case) -> Work:
        p = case.params
        return Work(flops=2.0 * p["M"] * p["N"] * p["K"])

def _tail_region(bad: "torch_types.Tensor", M: int, N: int) -> str | None:
    """Which partial last block holds every wrong element, for some common block size, while the
    elements before it are right; None if no such block explains the errors."""
    where = bad.nonzero()
    if where.numel() == 0:
        return None
    rows, cols = where[:, 0], where[:, 1]
    for block in _COMMON_BLOCKS:
        row_start, col_start = (M // block) * block, (N // block) * block
        if row_start == 0 or col_start == 0 or (row_start == M and col_start == N):
            continue  # no full block to be right, or no partial block to be wrong
        if bool(((rows >= row_start) | (cols >= col_start)).all()):
            parts = []
            if row_start < M:
                parts.append(f"rows (from row {row_start})")
            if col_start < N:
                parts.append(f"columns (from column {col_start})")
            return " and ".join(parts)
    return None
