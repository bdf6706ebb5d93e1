"""New memory holds NaN while a check runs, so reading memory nobody wrote fails every time.

`torch.empty` returns whatever the allocator last held: zeros on one run, old values on the next. A
kernel that reads a scratch buffer before anything wrote it, or an output element no program
stores, then passes or fails by luck. While `filled_allocations` is open, every floating-point
tensor made by `torch.empty`, `torch.empty_like`, `torch.empty_strided` or `Tensor.new_empty` is
filled at once (NaN by default), and each allocation is recorded with the line of the kata file that
made it, so a report can say which buffer the NaN came from.

Calling the learner's function again with another fill value tells where a NaN comes from: one that
changes with the fill came from memory nobody wrote; one that stays was made by the arithmetic.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from ._lazy import torch
from .model import index_ranges
from .paths import source_line

_FACTORIES = ("empty", "empty_like", "empty_strided")


@dataclass
class Allocation:
    line: int | None  # the kata file's line that allocated it, when the call came from there
    shape: tuple[int, ...]
    dtype: str  # as the kata asked for it (a promoted buffer is float32 all the same)
    tensor: Any  # kept only while the check runs

    def where(self, kata_name: str) -> str:
        return f"{kata_name}:{self.line}" if self.line is not None else "your function"

    def variable(self, kata_path: Path) -> str | None:
        """The name the kata's line assigns it to (`delta = torch.empty(...)` gives "delta"), if any:
        a learner knows their buffers by name, not by line number."""
        if self.line is None:
            return None
        import re

        found = re.match(r"([A-Za-z_]\w*)\s*(?::[^=]+)?=[^=]", source_line(kata_path, self.line) or "")
        return found.group(1) if found else None


@contextlib.contextmanager
def filled_allocations(kata_path: Path, value: float = float("nan"), promote_half: bool = False) -> Iterator[list[Allocation]]:
    """Fill new floating-point memory with `value` and record every allocation, until closed. With
    `promote_half`, memory the kata asks for in float16 or bfloat16 is made float32 instead: whether
    a half-precision buffer is what makes the answer wrong."""
    made: list[Allocation] = []
    kata = str(kata_path.resolve())
    originals: list[tuple[Any, str, Any]] = []

    def wrap(owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def allocate(*args: Any, **kwargs: Any) -> Any:
            tensor = original(*args, **kwargs)
            if _from_a_library(sys._getframe(1).f_code.co_filename):
                return tensor  # Triton's launcher and PyTorch itself allocate too: not the learner's memory
            asked = str(tensor.dtype).removeprefix("torch.") if isinstance(tensor, torch.Tensor) else ""
            if promote_half and isinstance(tensor, torch.Tensor) and tensor.dtype in (torch.float16, torch.bfloat16):
                tensor = unpatched_empty_strided(tensor.shape, tensor.stride(), dtype=torch.float32, device=tensor.device)
            if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
                tensor.fill_(value)
                made.append(Allocation(_kata_line(kata), tuple(tensor.shape), asked, tensor))
            return tensor

        originals.append((owner, name, original))
        setattr(owner, name, allocate)

    import torch as module  # the real module: the lazy proxy's attributes are not what katas call

    unpatched_empty_strided = module.empty_strided
    try:
        for name in _FACTORIES:
            wrap(module, name)
        wrap(module.Tensor, "new_empty")
        yield made
    finally:
        for owner, name, original in reversed(originals):
            setattr(owner, name, original)


_LIBRARIES = (f"{os.sep}triton{os.sep}", f"{os.sep}torch{os.sep}")


def _from_a_library(filename: str) -> bool:
    return any(part in filename for part in _LIBRARIES)


def _kata_line(kata: str) -> int | None:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_code.co_filename == kata:
            return frame.f_lineno
        frame = frame.f_back
    return None


def scratch_of(made: list[Allocation], outputs: tuple[Any, ...]) -> list[Allocation]:
    """The allocations that are not (views of) a returned output: the function's own buffers."""
    kept = []
    for allocation in made:
        storage = allocation.tensor.untyped_storage().data_ptr()
        if not any(isinstance(out, torch.Tensor) and out.untyped_storage().data_ptr() == storage for out in outputs):
            kept.append(allocation)
    return kept


def call_with_fill(
    function: Callable[..., Any], args: list[Any], kwargs: dict[str, Any], kata_path: Path, value: float,
    made: list[Allocation] | None = None, promote_half: bool = False,
) -> Any:
    """The learner's function called once more, new memory filled with `value` (and half-precision
    memory made float32 with `promote_half`); its allocations are appended to `made` when given."""
    with filled_allocations(kata_path, value, promote_half) as allocations:
        try:
            return function(*args, **kwargs)
        finally:
            if made is not None:
                made.extend(allocations)


@dataclass
class ReadUnwritten:
    """Interpreter only: elements of a buffer that some kernel loaded although no kernel ever stored
    them, and elements that were stored but never loaded (where the writer put them instead)."""

    allocation: Allocation
    read_unstored: Any  # bool, the buffer's shape
    stored_unread: int
    readers: list[str]  # kernels that loaded an unstored element


def read_unwritten(allocation: Allocation, loads: list[tuple[str, Any, str, Any]], owner: Any) -> ReadUnwritten | None:
    """From a watch's recorded loads (byte addresses of active lanes) and the buffer's last writers
    (-1: never stored): what was read that no kernel wrote. None when nothing was."""
    import numpy as np

    tensor = allocation.tensor
    if not tensor.is_contiguous() or tensor.numel() == 0:
        return None
    stored = np.asarray(owner) >= 0
    read = np.zeros(tensor.numel(), dtype=bool)
    readers: list[str] = []
    for kernel, indices in _loaded_indices(tensor, loads):
        if kernel not in readers and not bool(stored[indices].all()):
            readers.append(kernel)
        read[indices] = True
    bad = read & ~stored
    if not bad.any():
        return None
    return ReadUnwritten(allocation, torch.as_tensor(bad).reshape(tuple(tensor.shape)), int((stored & ~read).sum()), readers)


def loaded_elements(tensor: "torch.Tensor", loads: list[tuple[str, Any, str, Any]]) -> "torch.Tensor":
    """Which elements of a contiguous tensor any recorded load read (active lanes, byte addresses), as
    a bool tensor of its shape on the CPU."""
    import numpy as np

    read = np.zeros(tensor.numel(), dtype=bool)
    for _, indices in _loaded_indices(tensor, loads):
        read[indices] = True
    return torch.as_tensor(read).reshape(tuple(tensor.shape))


def _loaded_indices(tensor: "torch.Tensor", loads: list[tuple[str, Any, str, Any]]) -> Iterator[tuple[str, Any]]:
    """(kernel, the element indices of `tensor` it loaded) for each recorded load that reached the
    tensor (interpreter records, byte addresses of active lanes)."""
    low, size = tensor.data_ptr(), tensor.element_size()
    high = low + tensor.numel() * size
    for kernel, _, _, addresses in loads:
        inside = addresses[(addresses >= low) & (addresses < high)]
        if inside.size:
            yield kernel, (inside - low) // size


def _stored_elements(tensor: "torch.Tensor", stores: list[tuple[str, Any, Any]]) -> Iterator[tuple[str, Any, Any]]:
    """(kernel, program id, the distinct element indices of `tensor` it stored) for each recorded
    store that reached the tensor (interpreter records, byte addresses)."""
    import numpy as np

    low, size = tensor.data_ptr(), tensor.element_size()
    high = low + tensor.numel() * size
    for kernel, program_id, addresses in stores:
        inside = np.unique(addresses[(addresses >= low) & (addresses < high)])
        if inside.size:
            yield kernel, program_id, (inside - low) // size


def shared_stores(tensor: "torch.Tensor", stores: list[tuple[str, Any, Any]]) -> tuple[str, int, "torch.Tensor"] | None:
    """Elements of a buffer that two or more programs of one kernel stored: (that kernel, the most
    programs that stored one element, where those elements are as a bool tensor); None when every
    element has at most one writer per kernel (interpreter records)."""
    import numpy as np

    writers: dict[str, Any] = {}
    for kernel, _, elements in _stored_elements(tensor, stores):
        counts = writers.setdefault(kernel, np.zeros(tensor.numel(), dtype=np.int64))
        counts[elements] += 1
    for kernel, counts in writers.items():
        if int(counts.max()) >= 2:
            return kernel, int(counts.max()), torch.as_tensor(counts >= 2).reshape(tuple(tensor.shape))
    return None


def colliding_pair(
    tensor: "torch.Tensor", stores: list[tuple[str, Any, Any]], kernel: str
) -> tuple[tuple[int, int, int], tuple[int, int, int]] | None:
    """Two programs of `kernel` that stored the same element of the buffer (the first such element)."""
    first: dict[int, tuple[int, int, int]] = {}
    for name, program_id, elements in _stored_elements(tensor, stores):
        if name != kernel:
            continue
        for element in elements.tolist():
            other = first.setdefault(element, program_id)
            if other != program_id:
                return other, program_id
    return None


def stored_by(tensor: "torch.Tensor", stores: list[tuple[str, Any, Any]], kernel: str, program_id: tuple[int, int, int]) -> set[int]:
    """Every element of the buffer that one program of `kernel` stored (interpreter records)."""
    elements: set[int] = set()
    for name, program, indices in _stored_elements(tensor, stores):
        if name == kernel and program == program_id:
            elements.update(indices.tolist())
    return elements


def packed_prefix(tensor: "torch.Tensor", stores: list[tuple[str, Any, Any]], kernel: str) -> int | None:
    """M, when every store of `kernel` into the buffer lands in its first M elements and M is less
    than its size (the rest never stored); None otherwise. With programs that overwrite each other,
    offsets packed too close."""
    end = 0
    for name, _, indices in _stored_elements(tensor, stores):
        if name == kernel:
            end = max(end, int(indices.max()) + 1)
    return end if 0 < end < tensor.numel() else None


def silent_writers(
    tensor: "torch.Tensor", stores: list[tuple[str, Any, Any]], launches: list[Any], unstored: int
) -> tuple[str, int] | None:
    """(kernel, count) when the one kernel that stores into the buffer ran `count` programs that stored
    nothing there, and the `unstored` elements are exactly as many as those programs would have
    stored at the others' rate: the elements nobody wrote are theirs to write."""
    stored: dict[str, dict[Any, int]] = {}
    for kernel, program_id, elements in _stored_elements(tensor, stores):
        per = stored.setdefault(kernel, {})
        per[program_id] = per.get(program_id, 0) + int(elements.size)
    if len(stored) != 1:
        return None
    kernel, per_program = next(iter(stored.items()))
    grids = [launch.grid for launch in launches if launch.kernel == kernel]
    if len(grids) != 1 or len(set(per_program.values())) != 1:
        return None
    silent = grids[0][0] * grids[0][1] * grids[0][2] - len(per_program)
    each = next(iter(per_program.values()))
    if silent <= 0 or silent * each != unstored:
        return None
    return kernel, silent


def idle_writer(tensor: "torch.Tensor", stores: list[tuple[str, Any, Any]], launches: list[Any]) -> tuple[str, tuple[int, ...]] | None:
    """(kernel, grid) of a launch that was handed the buffer on a grid with an axis of 0 programs, where
    no program of any kernel stored into the buffer: the kernel meant to write it never ran."""
    if any(True for _ in _stored_elements(tensor, stores)):
        return None
    for launch in launches:
        handed = any(arg.data_ptr == tensor.data_ptr() for arg in launch.tensors)
        if handed and 0 in launch.grid and any(launch.grid):  # (0, 0, 0): a grid that was not worked out
            return launch.kernel, tuple(launch.grid)
    return None


def short_grid_writer(
    tensor: "torch.Tensor", stores: list[tuple[str, Any, Any]], launches: list[Any], owner: Any
) -> tuple[str, tuple[int, ...], int, int, int] | None:
    """(kernel, grid, written, size, block) when the one kernel that stores into the buffer gave every
    program one run of `block` elements of the last axis, the runs cover indices 0..written-1 of every
    row, and the rest of each row, shorter than one block, was stored by nobody: the last, partial
    block got no program (a count rounded down), not a mask or an index (those leave other gaps)."""
    import numpy as np

    runs: dict[str, list[Any]] = {}
    for kernel, _, elements in _stored_elements(tensor, stores):
        runs.setdefault(kernel, []).append(elements)
    if len(runs) != 1 or tensor.dim() < 1:
        return None
    kernel, stored = next(iter(runs.items()))
    grids = [tuple(launch.grid) for launch in launches if launch.kernel == kernel]
    if len(grids) != 1 or int(np.prod(grids[0])) != len(stored):
        return None  # programs that stored nothing are silent_writers' to name
    size = int(tensor.shape[-1])
    lengths = {int(elements.size) for elements in stored}
    if len(lengths) != 1:
        return None
    block = lengths.pop()
    if any(int(elements[-1] - elements[0]) + 1 != block or int(elements[0]) % size % block for elements in stored):
        return None  # not one aligned run of the last axis per program
    never = torch.as_tensor(owner).reshape(-1, size) < 0
    written = size - int(never[0].sum())
    tail = torch.zeros(size, dtype=torch.bool)
    tail[written:] = True
    if not 0 < size - written < block or written % block or not bool((never == tail).all()):
        return None
    return kernel, grids[0], written, size, block


def unstored_text(allocation: Allocation, owner: Any, names: tuple[str, ...] = ()) -> str | None:
    """Where in the buffer no kernel stored, from `owner` (KernelWatch.last_writers: -1 where no
    program stored an element): the axes along which the unstored elements gather, e.g. "at [:, 1..3]"
    for a buffer of which only index 0 of axis 1 was written, or "at head 1..3" when `names` names
    the axes. None when every element was stored."""
    tensor = allocation.tensor
    never = torch.as_tensor(owner).reshape(tuple(tensor.shape)) < 0
    if not bool(never.any()):
        return None
    unstored = int(never.sum())
    count = f"{unstored} of its {never.numel()} elements {'was' if unstored == 1 else 'were'} never stored"
    place = place_of(never, names)
    return f"{count}: those at {place}" if not place.startswith("[") else f"{count}, at {place}"


def place_of(chosen: "torch.Tensor", names: tuple[str, ...] = ()) -> str:
    """Where the True elements of a bool tensor gather, axis by axis: "head 1" when `names` names the
    axes and some axis narrows them, else "[2, :, 0..3]" (":" for an axis they span whole)."""
    parts = []
    for axis in range(chosen.dim()):
        hit = chosen.movedim(axis, 0).reshape(chosen.shape[axis], -1).any(dim=1).nonzero().flatten().tolist()
        parts.append(":" if len(hit) == chosen.shape[axis] else index_ranges(hit, limit=3))
    if len(names) == chosen.dim():
        narrowed = [f"{name} {part}" for name, part in zip(names, parts) if part != ":"]
        if narrowed:
            return ", ".join(narrowed)
    return f"[{', '.join(parts)}]"
