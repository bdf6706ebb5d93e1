"""Level 2: matrix multiplication, tile by tile, with a float32 accumulator."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .._lazy import torch
from . import evidence
from .base import Baseline, Case, Failure, Level, Mode, OutOfBounds, Tolerance, Work
from ..model import Probe, ProbeRun

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
        a, b = (failure.inputs[name].to(torch.float64) for name in ("a", "b"))
        tolerance = failure.tolerance
        if failure.stores is not None:
            stored = _store_notes(failure)
            if stored is not None:
                return stored
        notes = _replay_notes(a, b, failure.out, tolerance.atol, tolerance.rtol, failure.case.dtype)
        if notes or failure.stores is None:
            return notes
        if (
            failure.probe is not None
            and failure.case.dtype != "fp32"
            and _exact_on_small_integers(failure.probe)
            and _loses_small_terms(failure.probe, a.shape[1])
        ):
            return [
                "likely: the accumulator is kept in half precision: small terms of the long sum are rounded away; "
                "create it with tl.zeros(..., dtype=tl.float32) and convert only when storing"
            ]
        # Never stored elements exactly beyond min(M, N) on one axis: a mask compares with the other size.
        return _mixed_sizes_note(failure)

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        access = stray.stray
        if stray.probe is None or access.argument is None:
            return []
        dtype = stray.inputs["a"].dtype
        # First a product with no ragged edge at all: if it is wrong, the addressing is, not a mask.
        square = _probe(stray.probe, 128, 128, 128, dtype)
        if square is None:
            return []
        if not square.right:
            if square.out is None:
                return []
            return _replay_notes(square.a, square.b, square.out, square.atol, square.rtol, "fp32")
        if access.wholly_past_the_end:
            return []  # a whole tile outside: its start is wrong, which no mask fixes (the generic notes say which index)
        if access.access == "store":
            return [
                f"likely: the store mask lets lanes past the edge of c through (program {access.program_id[0]} writes "
                "outside `" + str(access.argument) + "`): mask the store with (rows[:, None] < M) & (cols[None, :] < N)"
            ]
        # The loads stray only at a ragged edge: which one? A single partial slice of K tests the K mask.
        single = _probe(stray.probe, 128, 128, 5, dtype)
        if single is not None and single.stray is not None:
            if single.stray.masked:  # the load has a mask, and it lets the lanes past K through
                return [
                    f"likely: the K mask lets lanes past K through: with K = 5 the masked load of "
                    f"`{single.stray.argument}` still reads past its end; compare the global index with <, "
                    "k0 + ks < K (not <=, and not against a larger bound)"
                ]
            return [
                "likely: a and b are loaded without a mask on k < K: the lanes of the last, partial slice of K read "
                "past the end; mask with k0 + ks < K and other=0.0 on both tiles"
            ]
        several = _probe(stray.probe, 128, 128, 133, dtype)
        if single is not None and single.right and several is not None and several.stray is not None:
            return [
                "likely: the K mask only works for the first slice: compare the global index, k0 + ks < K (or "
                "ks < K - k0), not the index inside the slice"
            ]
        edges = _probe(stray.probe, 37, 45, 128, dtype)
        if edges is not None and edges.stray is not None:
            if edges.stray.masked:
                return [
                    f"likely: the row or column mask of the load of `{edges.stray.argument}` lets lanes past the edge "
                    "of the last, partial tile through: compare with <, rows < M and cols < N"
                ]
            return [
                "likely: a and b are loaded without a mask on the rows (rows < M) or columns (cols < N) of the last, "
                "partial tile; mask them with other=0.0"
            ]
        return []

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
        # Read a and b once, write c once.
        element = case.torch_dtype.itemsize
        return Work(flops=2.0 * p["M"] * p["N"] * p["K"], bytes=float(element * (p["M"] * p["K"] + p["K"] * p["N"] + p["M"] * p["N"])))

class _Probed:
    """A probe's product and what the right one is."""

    def __init__(self, a: "torch_types.Tensor", b: "torch_types.Tensor", run: ProbeRun, atol: float, rtol: float) -> None:
        self.a, self.b = a, b
        self.out = run.out
        self.stray = run.stray
        self.atol, self.rtol = atol, rtol
        self.right = run.out is not None and evidence.close_to(run.out, a @ b, atol, rtol)


def _probe(probe: Probe, M: int, N: int, K: int, dtype: "torch_types.dtype") -> _Probed | None:
    """The learner's matmul of fixed random (M, K) and (K, N) inputs; None when it gave nothing usable."""
    generator = torch.Generator().manual_seed(M * 10_000 + N * 100 + K)
    a = torch.randn(M, K, generator=generator).to(dtype)
    b = torch.randn(K, N, generator=generator).to(dtype)
    run = probe.run({"a": a, "b": b})
    if run.out is None and run.stray is None:
        return None
    # float16 inputs: the output's rounding (2e-3 relative) and a float32 sum of K products.
    rtol = 2e-3 if dtype == torch.float16 else 1e-4
    return _Probed(a.to(torch.float64), b.to(torch.float64), run, 1e-2 * math.sqrt(K), rtol)


def _store_notes(failure: Failure) -> list[str] | None:
    """What the programs' stores say, or None when they look like a right grid."""
    stores = failure.stores
    assert stores is not None
    M, N = failure.ref.shape
    nothing = evidence.nothing_stored_note(stores, failure.launches, _ROUND_UP)
    if nothing is not None:
        return [nothing]
    overlap, gap = evidence.overlap_and_gap(stores)
    silent = evidence.silent_programs(stores, failure.launches)
    mapping = evidence.tile_mapping_note(stores, failure.launches, silent, (M, N), overlap, gap)
    if mapping is not None:
        return [mapping]
    collision = evidence.colliding_programs(stores)
    if collision is not None and gap:
        programs, _ = collision
        shown = evidence.programs_text([program[0] for program in programs], 3)
        return [
            f"likely: {shown} store the same tile of c while {gap} elements are stored by none: the program "
            "id is mapped to the wrong tile; check how it is split into pid_m and pid_n"
        ]
    box = evidence.stored_box(stores, (M, N))
    if box is not None and not silent and _ends_at_block(box, (M, N)) and not evidence.unstored_were_addressed(stores):
        R, C = box
        return [
            f"likely: the grid {evidence.grid_text(failure.launches)} is too small: its programs store rows 0..{R - 1} "
            f"and columns 0..{C - 1}, and the last, partial block of rows or columns gets no program; {_ROUND_UP}"
        ]
    swapped = _swapped_grid_note(failure) if silent and gap else None
    if swapped is not None:
        return [swapped]
    origin = evidence.tile_origin_note(stores, (M, N), gap)
    if origin is not None:
        return [origin]
    if silent and gap and _mixed_sizes_note(failure) == []:
        shown = evidence.programs_text([program[0] for program in silent])
        # A store mask that is all false still addresses elements of c (the guard records them); a
        # program that addressed none of c works on a tile outside it, whatever its mask.
        writers = {kernel for kernel, _ in stores.programs}
        addressed = any(kernel in writers and program in silent for kernel, program in stores.masked_off)
        return [
            f"likely: {shown} ran but stored nothing while {gap} elements of c "
            "are never stored: those programs work on a tile outside c (check how the program id is split into "
            "pid_m and pid_n, the grid's axes, and where each tile starts)"
            + (", or their store mask is all false" if addressed else "")
        ]
    return None


def _swapped_grid_note(failure: Failure) -> str | None:
    """The grid launched as (column tiles, row tiles) while the kernel reads its row tile from axis 0:
    the tile size each program stored says how many row and column tiles c needs, and the grid has
    those counts the other way round. None unless the record shows exactly that."""
    stores = failure.stores
    if stores is None or not stores.elements:
        return None
    launches = [launch for launch in failure.launches if any(kernel == launch.kernel for kernel, _ in stores.programs)]
    if len(launches) != 1 or launches[0].grid[2] != 1:
        return None
    M, N = failure.ref.shape
    rows_per = max(int(len(set((elements // N).tolist()))) for elements in stores.elements if len(elements))
    cols_per = max(int(len(set((elements % N).tolist()))) for elements in stores.elements if len(elements))
    needed = (-(-M // rows_per), -(-N // cols_per))
    grid = launches[0].grid[:2]
    if grid == needed or grid != (needed[1], needed[0]):
        return None
    def many(count: int, what: str) -> str:
        return f"{count} {what}{'' if count == 1 else 's'}"

    if grid[1] == 1:
        # A one-axis grid: (one row tile) x n tiles launched as n x 1 is also a flat tile index split
        # with the number of row tiles (1), or column tiles started a row tile's width apart: program
        # p >= 1 stores nothing either way, and the stores cannot tell which. The silent programs are
        # named instead; a case with more than one row tile tells.
        return None
    return (
        f"likely: the grid's axes are swapped: c ({M} x {N}) in tiles of up to {many(rows_per, 'row')} and "
        f"{many(cols_per, 'column')} (what each program stored) needs {many(needed[0], 'row tile')} and "
        f"{many(needed[1], 'column tile')}, and the grid launches {grid[0]} x {grid[1]}, the other way round; with "
        "pid_m = tl.program_id(0), launch (triton.cdiv(M, BLOCK_M), triton.cdiv(N, BLOCK_N))"
    )


def _ends_at_block(box: tuple[int, int], shape: tuple[int, int]) -> bool:
    """Each side of the stored box is the whole side or a multiple of a common block size."""
    return all(side == full or any(side % block == 0 for block in _COMMON_BLOCKS) for side, full in zip(box, shape))


def _mixed_sizes_note(failure: Failure) -> list[str]:
    stores = failure.stores
    assert stores is not None
    M, N = failure.ref.shape
    box = evidence.stored_box(stores, (M, N))
    if box is None or not evidence.silent_programs(stores, failure.launches):
        return []
    R, C = box
    if R == M and C == M < N:
        return [
            f"likely: only the columns from {M} (= M) on are never stored: a mask mixes up M and N; "
            "columns are checked against N, rows against M"
        ]
    if C == N and R == N < M:
        return [
            f"likely: only the rows from {N} (= N) on are never stored: a mask mixes up M and N; "
            "rows are checked against M, columns against N"
        ]
    return []


def _replay_notes(
    a: "torch_types.Tensor", b: "torch_types.Tensor", out: "torch_types.Tensor", atol: float, rtol: float, dtype: str
) -> list[str]:
    """Compare the first rows of the output with the products that known bugs compute."""
    M, K = a.shape
    N = b.shape[1]
    a_rows = a[:_PROBE_ROWS]
    probe = out[:_PROBE_ROWS]

    def resembles(candidate: "torch_types.Tensor") -> bool:
        # Close to a wrong-but-plausible answer, with five times the slack of the tolerance.
        if candidate.shape != probe.shape or not bool(torch.isfinite(probe).all()):
            return False
        slack = 5 * (atol + rtol * candidate.abs())
        return bool(((probe - candidate).abs() <= slack).all())

    if resembles(a_rows @ b):
        return []  # nearly right: no known bug to name
    notes: list[str] = []
    flat = b.reshape(-1)
    misreadings = [flat.reshape(N, K).T]
    if (K - 1) + (N - 1) * N < K * N:  # swapped strides stay inside b
        misreadings.append(flat.as_strided((K, N), (1, N)))
    if M * N > 1 and K > 1 and N > 1 and any(resembles(a_rows @ wrong_b) for wrong_b in misreadings):
        notes.append(
            "likely: b is read transposed (its strides swapped, or indexed as if it were stored (N, K)): "
            "element b[k, n] is at k * b.stride(0) + n * b.stride(1)"
        )
    if M == K and K > 1 and resembles(a[:, :_PROBE_ROWS].T @ b):
        notes.append("likely: a is read transposed: element a[m, k] is at m * a.stride(0) + k * a.stride(1)")
    if M == N and M > 1 and resembles((a @ b).T[:_PROBE_ROWS]):
        notes.append("likely: the output is stored transposed: c[m, n] is at m * c.stride(0) + n * c.stride(1)")
    for block in _COMMON_BLOCKS:
        if block >= K:
            break
        whole = (K // block) * block
        last = ((K - 1) // block) * block
        if whole < K and resembles(a_rows[:, :whole] @ b[:whole]):
            notes.append(
                f"likely: the last, partial block along K is skipped (the sum stops at k = {whole}): "
                "loop over triton.cdiv(K, BLOCK_K) slices and mask k < K in the last one"
            )
        elif resembles(a_rows[:, last:] @ b[last:]):
            notes.append(
                f"likely: only the last slice along K (from k = {last}) is in the sum: the accumulator is overwritten "
                "at every step; add to it, acc += tl.dot(a, b) (or acc = tl.dot(a, b, acc))"
            )
        elif resembles(_unit_steps(a_rows, b, block)):
            notes.append(
                "likely: the K loop steps by 1, not by BLOCK_K: slice t starts at k = t, so the slices overlap and "
                "stop early; walk k0 over range(0, K, BLOCK_K)"
            )
        for frozen in ("a", "b"):
            if resembles(_first_slice_only(a_rows, b, block, frozen)):
                notes.append(
                    f"likely: the {frozen} tile's K offset never advances: every slice reads {frozen}'s first "
                    f"{block} along K (the address uses ks, not k0 + ks), while the other operand moves on"
                )
    return list(dict.fromkeys(notes))


def _first_slice_only(a: "torch_types.Tensor", b: "torch_types.Tensor", block: int, frozen: str) -> "torch_types.Tensor":
    """The sum of a K loop whose `frozen` operand ("a" or "b") is read at its first slice every time
    (k0 left out of its address), its mask still k0 + ks < K, while the other operand advances."""
    K = a.shape[1]
    total = torch.zeros(a.shape[0], b.shape[1], dtype=torch.float64)
    for k0 in range(0, K, block):
        width = min(block, K - k0)
        a_part = a[:, :width] if frozen == "a" else a[:, k0 : k0 + width]
        b_part = b[:width] if frozen == "b" else b[k0 : k0 + width]
        total += a_part @ b_part
    return total


def _unit_steps(a: "torch_types.Tensor", b: "torch_types.Tensor", block: int) -> "torch_types.Tensor":
    """The sum of a loop `for k0 in range(cdiv(K, BLOCK_K))` that uses k0 as an element offset."""
    K = a.shape[1]
    total = torch.zeros(a.shape[0], b.shape[1], dtype=torch.float64)
    for k0 in range(-(-K // block)):
        total += a[:, k0 : k0 + block] @ b[k0 : k0 + block]
    return total


def _exact_on_small_integers(probe: Probe) -> bool:
    """The premise of a half-precision accumulator: the kernel's indexing is right. Small integers
    (|a|, |b| <= 2, K = 160, ragged against every tile size) keep every partial sum an integer below
    2048, exact in float16, so a half-precision accumulator gets this product exactly and a kernel
    that adds the wrong products does not."""
    generator = torch.Generator().manual_seed(2048)
    a = torch.randint(-2, 3, (48, 160), generator=generator).to(torch.float16)
    b = torch.randint(-2, 3, (160, 40), generator=generator).to(torch.float16)
    run = probe.run({"a": a, "b": b})
    return run.out is not None and bool((run.out == a.double() @ b.double()).all())


def _loses_small_terms(probe: Probe, K: int) -> bool:
    """Half precision only: does the sum forget small terms added to a large partial sum? Row of a:
    2048, then 0.1 everywhere, then -2048, times b = 1. A float32 accumulator ends at 0.1 * (K - 2)
    (51 for K = 512); a float16 one rounds every slice's +3.2 to its spacing of 2 near 2048."""
    K = max(K, 512)
    a = torch.full((16, K), 0.1, dtype=torch.float16)
    a[:, 0], a[:, -1] = 2048.0, -2048.0
    b = torch.ones(K, 16, dtype=torch.float16)
    run = probe.run({"a": a, "b": b})
    if run.out is None:
        return False
    exact = a[:, 1:-1].to(torch.float64).sum(dim=1, keepdim=True).expand(16, 16)
    return bool(torch.isfinite(run.out).all()) and float((run.out - exact).abs().max()) > 1.0


_ROUND_UP = "round the tile counts up with triton.cdiv(M, BLOCK_M) and triton.cdiv(N, BLOCK_N)"
