"""Level 1: vector addition, the "hello world" of GPU kernels."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._lazy import torch
from . import evidence
from .base import Baseline, Case, Failure, Level, Mode, OutOfBounds, Tolerance, Work

if TYPE_CHECKING:
    import torch as torch_types



class VectorAdd(Level):
    number = 1
    name = "Vector Add"
    kata_file = "level1_vector_add.py"
    function = "vector_add"
    positional = ("x", "y")
    concept = (
        "A Triton kernel is run by many programs at once; each program handles one block of elements. "
        "You compute which elements your program owns from tl.program_id, load them with a mask so the "
        "last, partial block never touches memory past the end, add, and store. Every later level, Flash "
        "Attention included, is built from exactly these moves: program ids, offsets, masks, loads, stores."
    )
    hints = (
        "Think of the vector as cut into blocks of BLOCK_SIZE elements. One program (one kernel instance) "
        "adds one block. How many programs do you need for n elements, when n is not a multiple of BLOCK_SIZE?",
        "The grid is the number of programs: triton.cdiv(n, BLOCK_SIZE), which rounds up. Inside the kernel, "
        "pid = tl.program_id(axis=0) tells a program which block is its own.",
        "The element offsets of block pid are pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE). Pointers are "
        "base pointers plus offsets: x_ptr + offsets points at the block's elements of x.",
        "The last block sticks out past n. Build mask = offsets < n and give it to every tl.load and tl.store, "
        "so the lanes past the end neither read nor write memory.",
        "Kernel body: pid = tl.program_id(0); offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE); "
        "mask = offsets < n; x = tl.load(x_ptr + offsets, mask=mask); y = tl.load(y_ptr + offsets, mask=mask); "
        "then store x + y to out_ptr + offsets with the same mask.",
        "Wrapper: out = torch.empty_like(x); n = x.numel(); grid = (triton.cdiv(n, BLOCK_SIZE),); "
        "add_kernel[grid](x, y, out, n, BLOCK_SIZE=1024); return out. Tensors passed to a kernel become "
        "pointers to their first element.",
    )

    def cases(self, mode: Mode) -> list[Case]:
        sizes = [
            (1, "a single element: the smallest ragged tail"),
            (1000, "ragged tail: 1000 is not a multiple of any power-of-two block"),
            (4096, "exact multiple of common block sizes"),
            (98_765, "many blocks with a ragged tail"),
        ]
        if mode.on_gpu:
            sizes.append(((1 << 22) + 3, "a large vector with a ragged tail"))
        dtypes = ["fp32", "fp16"] + (["bf16"] if mode.on_gpu else [])
        return [
            Case(id=f"{dtype}-{n}", dtype=dtype, purpose=purpose, params={"n": n})
            for dtype in dtypes
            for n, purpose in sizes
        ]

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        n = case.params["n"]
        x = torch.randn(n, generator=generator).to(case.torch_dtype)
        y = torch.randn(n, generator=generator).to(case.torch_dtype)
        return {"x": x, "y": y}

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        return inputs["x"].to(torch.float64) + inputs["y"].to(torch.float64)

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        # One rounding of the exact sum to the output dtype: half an ulp, with headroom.
        return {
            "fp32": Tolerance(atol=1e-6, rtol=1e-6),
            "fp16": Tolerance(atol=1e-5, rtol=1e-3),
            "bf16": Tolerance(atol=1e-5, rtol=8e-3),
        }[case.dtype]

    def diagnose(self, failure: Failure) -> list[str]:
        out, inputs = failure.out, failure.inputs
        x, y = (inputs[name].to(torch.float64) for name in ("x", "y"))
        tolerance = failure.tolerance
        # Evidence 1: the output is another sum of the inputs (a pointer copied from the line above).
        for candidate, twice, other in ((x + x, "x", "y"), (y + y, "y", "x")):
            if x.numel() > 1 and evidence.close_to(out, candidate, tolerance.atol, tolerance.rtol):
                # Whether the kernel was given the other input at all tells where the pointer went wrong.
                if other in failure.unread:
                    return [f"likely: {twice} is passed to the kernel in place of {other}: it adds {twice} to itself; pass {other}"]
                return [f"likely: {other} is loaded from {twice}_ptr: the kernel adds {twice} to itself; load {other} from {other}_ptr"]
        if failure.stores is None:
            return []
        return _store_notes(failure)

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        # Lanes past the end of a vector are stopped by exactly one mask: offsets < n.
        grid = evidence.grid_of(stray)
        last = grid is not None and stray.stray.program_id[0] == grid[0] - 1
        if not evidence.past_the_end(stray) or not last:
            return []  # a program other than the last one strays: its offsets are wrong, not its mask
        if evidence.one_lane_past_the_end(stray):
            return [evidence.off_by_one_note(stray, "offsets < n")]
        access = stray.stray
        return [
            evidence.unmasked_note(
                stray,
                f"likely: the {access.access} of `{access.argument}` runs without a mask of offsets < n: the last "
                "block's lanes past the end reach outside it; pass mask=offsets < n to every tl.load and tl.store",
                f"likely: the {access.access} of `{access.argument}` has a mask, but it does not keep offsets < n: "
                "the last block's lanes past the end get through; use mask=offsets < n on every tl.load and tl.store",
            )
        ]
    def benchmark_cases(self) -> list[Case]:
        # 2^27 elements: each tensor is far larger than the 50 MB L2, so this measures HBM bandwidth.
        return [Case(id=f"{dtype}-2^27", dtype=dtype, purpose="bandwidth", params={"n": 1 << 27}) for dtype in ("fp32", "fp16")]

    def baselines(self) -> dict[str, Baseline]:
        return {"torch": lambda inputs: inputs["x"] + inputs["y"]}

    def work(self, case: Case) -> Work:
        element = case.torch_dtype.itemsize
        return Work(flops=case.params["n"], bytes=3 * element * case.params["n"])


_ROUND_UP = "launch triton.cdiv(n, BLOCK_SIZE) programs, which rounds up"


def _store_notes(failure: Failure) -> list[str]:
    """What the programs' stores say: no program, too few programs, overlapping blocks, idle programs."""
    stores = failure.stores
    assert stores is not None
    nothing = evidence.nothing_stored_note(stores, failure.launches, _ROUND_UP)
    if nothing is not None:
        return [nothing]
    collision = evidence.colliding_programs(stores)
    overlap, gap = evidence.overlap_and_gap(stores)
    if collision is not None and gap:
        programs, element = collision
        shown = evidence.programs_text([program[0] for program in programs], 3)
        return [
            f"likely: {shown} all store element {element} while {gap} elements are stored by none: "
            "each program must own its own block, offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)"
        ]
    restored = evidence.restored_note(stores, gap)
    if restored is not None:
        return [restored]
    silent = evidence.silent_programs(stores, failure.launches)
    covered = evidence.too_few_programs(stores, silent)
    if covered is not None:
        programs = len(stores.programs)
        return [
            f"likely: the grid {evidence.grid_text(failure.launches)} is too small: its {programs} program(s) store "
            f"elements 0..{covered - 1} and the last, partial block gets no program; {_ROUND_UP}"
        ]
    if silent and gap:
        shown = evidence.programs_text([program[0] for program in silent])
        return [
            f"likely: {shown} ran but stored nothing: their mask is all "
            "false; the mask must be offsets < n, with the global offsets pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)"
        ]
    return []
