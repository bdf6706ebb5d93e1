"""What the guard reports (a bounds violation), the hooks it cannot do without, and small helpers
every part of it shares. Importing this imports neither torch nor triton nor numpy.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from ..model import TensorArg


# Hooks without which no launch is bounds-checked (or counted) at all.
CRITICAL_HOOKS = ("GridExecutor.__call__", "GridExecutor._init_args_hst", "interpreter._interpreter")


_MAX_OFFSETS = 8
MAX_STRAY_OFFSETS = 4096


_U64_MAX = 2**64 - 1


# The smallest tile side tl.dot accepts when compiled for a GPU (M, N and K alike).
GPU_MIN_DOT_SIZE = 16


# ----- public records ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoundsViolation:
    kernel: str
    access: str  # "load" or "store" (atomics count as stores)
    # The pointer parameter the bad addresses were computed from; when that is unknown, the tensor
    # the access's other lanes address; None when neither is known.
    argument: str | None
    offsets: tuple[int, ...]  # up to 8 distinct offending element offsets (relative to `argument`)
    count: int  # active (unmasked) lanes out of bounds in that access
    numel: int | None  # numel of that argument
    program_id: tuple[int, int, int]
    masked: bool = False  # the access had a mask (which let these lanes through)
    tile: bool = False  # the pointer was a tile of two or more dimensions
    lanes: int = 0  # active lanes of the access in all, in bounds or not (0: not known)
    # Every distinct stray element offset, up to MAX_STRAY_OFFSETS (a picture draws them where they fell).
    stray_offsets: tuple[int, ...] = ()

    @property
    def wholly_past_the_end(self) -> bool:
        """Every active lane lies past the tensor's end: a whole tile outside it, not a ragged edge
        that a mask would trim, so the address (or the grid, or a loop bound) is what is wrong."""
        return (
            self.lanes > 1 and self.count == self.lanes and bool(self.offsets) and self.numel is not None
            and min(self.offsets) >= self.numel
        )

    @property
    def far_past_the_end(self) -> bool:
        """Some lane reaches more than twice the tensor's size past its start (and none before it): no
        ragged edge is that wide, so the addresses step too far, which a mask would only hide."""
        return bool(self.offsets) and bool(self.numel) and min(self.offsets) >= 0 and max(self.offsets) >= 2 * self.numel

    def describe(self) -> str:
        store = self.access == "store"
        lanes = f"{self.count} unmasked lane{'' if self.count == 1 else 's'}"
        verb = ("write" if store else "read") + ("s" if self.count == 1 else "")
        where = f"out-of-bounds {self.access} in kernel `{self.kernel}`, program id {self.program_id}"
        if self.argument is None:
            first = f"{where}: {lanes} {verb} outside every tensor argument."
        else:
            if not self.offsets:
                span = ""
            elif len(self.offsets) == 1:
                span = f"element offset {self.offsets[0]}, "
            else:
                span = f"element offsets {min(self.offsets)}..{max(self.offsets)}, "
            first = (
                f"{where}: {lanes} {verb} outside `{self.argument}` "
                f"({span}the tensor has {self.numel} element{'' if self.numel == 1 else 's'})."
            )
        return f"{first}\n{self.hint()}"

    def hint(self) -> str:
        """The fix the record supports: a missing mask only when the access had none."""
        store = self.access == "store"
        negative = any(offset < 0 for offset in self.offsets)
        if self.wholly_past_the_end:
            return (
                f"Every lane of this {self.access} is past the end, so a mask would only hide the bug: the tile's "
                "start is wrong (a program id, an index or a stride), or the grid or a loop goes further than the "
                "tensor has tiles."
            )
        if self.far_past_the_end:
            return (
                f"These lanes reach more than twice the tensor's size past its start: no ragged edge is that wide, "
                f"so a mask would only hide the bug: the {self.access}'s addresses step too far (a stride or an "
                "offset is too large)."
            )
        if self.masked:
            return (
                f"The {self.access} has a mask, yet these lanes were on: the mask does not match the addresses. "
                "Check that it tests the same offsets the pointer adds, against the right bound for each dimension."
            )
        if negative:
            return f"Mask the {self.access} so that offsets stay in 0..n-1, or fix how the offsets are computed."
        if self.lanes == 1 and self.count == 1:
            return (
                f"This {self.access} touches one element, and it lies outside: its index is wrong (a program id "
                "or a count meant for another tensor), and a mask would only hide that."
            )
        if self.tile:
            return (
                f"Mask the {self.access} with the tile's bounds in every dimension, e.g. (rows[:, None] < M) & "
                f"(cols[None, :] < N){'' if store else ' (and give `other=`)'}."
            )
        return "Mask the store with offsets < n." if store else "Mask the load (and give `other=`)."


class OutOfBoundsAccess(Exception):
    """Raised inside an interpreted kernel, instead of performing an out-of-bounds access."""

    def __init__(self, violation: BoundsViolation) -> None:
        super().__init__(violation.describe())
        self.violation = violation


@dataclass
class _Span:
    """The bytes a tensor argument may touch: [low, high)."""

    arg: TensorArg
    low: int
    high: int


def _missing_hook_reason(name: str) -> str:
    return f"this Triton has no `{name}` for the guard to hook: kernels run without bounds checks"


# ----- helpers -------------------------------------------------------------------------------------
_np: Any = None


def _numpy() -> Any:
    global _np
    if _np is None:
        import numpy

        _np = numpy
    return _np


def _as_int(value: Any) -> int:
    try:
        return operator.index(value)
    except TypeError:
        return int(value)


def _grid3(grid: Any) -> tuple[int, int, int]:
    try:
        values = [_as_int(value) for value in tuple(grid)[:3]]
    except Exception:  # noqa: BLE001 - best effort only
        return (0, 0, 0)
    values += [1] * (3 - len(values))
    return (values[0], values[1], values[2])


def _error_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__
