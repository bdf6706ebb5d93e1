"""The bounds check: a stand-in for the interpreter's memory helpers that checks every load, store
and atomic before it happens, and records who stored where.
"""

from __future__ import annotations

from typing import Any, Callable

from ..model import TensorArg
from .provenance import _access_origin
from .reads import _remember_load, _remember_read
from .records import MAX_STRAY_OFFSETS, BoundsViolation, OutOfBoundsAccess, _MAX_OFFSETS, _Span, _U64_MAX, _error_line, _grid3, _numpy
from .state import _RunningLaunch, _STATE


class _CheckedMemory:
    """Stands in for the interpreter's C++ memory helpers; checks every access before doing it."""

    def __init__(self, real: Any, program_id: Callable[[], Any]) -> None:
        self._real = real
        self._program_id = program_id

    def __getattr__(self, name: str) -> Any:  # constants, fma helpers, ...
        return getattr(self._real, name)

    def load(self, ptrs: Any, mask: Any, other: Any, dtype: Any) -> Any:
        self._check("load", ptrs, mask, _numpy().dtype(dtype).itemsize, read=True)
        return self._real.load(ptrs, mask, other, dtype)

    def store(self, ptrs: Any, value: Any, mask: Any) -> Any:
        self._check("store", ptrs, mask, _numpy().asarray(value).dtype.itemsize, written=True)
        self._remember_store(ptrs, mask)
        return self._real.store(ptrs, value, mask)

    def _remember_store(self, ptrs: Any, mask: Any, atomic: bool = False) -> None:
        """Who wrote where, so a wrong element can be traced to the program that stored it."""
        if not _STATE.running:
            return
        try:
            np = _numpy()
            addresses = np.asarray(ptrs).astype(np.int64, copy=False).reshape(-1)
            masked_off = addresses[:0]
            if mask is not None:
                active = np.broadcast_to(np.asarray(mask, dtype=bool), np.asarray(ptrs).shape).reshape(-1)
                addresses, masked_off = addresses[active], addresses[~active]
            program_id = tuple(int(i) for i in self._program_id())
        except Exception:  # noqa: BLE001 - bookkeeping for the report only, never for the bounds
            return
        if atomic:
            _STATE.add_atomic(_STATE.running[-1].kernel, program_id, addresses.copy())
        else:
            _STATE.add_store(_STATE.running[-1].kernel, program_id, addresses.copy(), masked_off.copy())

    def atomic_cas(self, ptrs: Any, cmp: Any, value: Any, sem: Any) -> Any:
        self._check("store", ptrs, None, _numpy().asarray(value).dtype.itemsize, read=True, written=True)
        self._remember_store(ptrs, None, atomic=True)
        return self._real.atomic_cas(ptrs, cmp, value, sem)

    def atomic_rmw(self, op: Any, ptrs: Any, value: Any, mask: Any, sem: Any) -> Any:
        self._check("store", ptrs, mask, _numpy().asarray(value).dtype.itemsize, read=True, written=True)
        self._remember_store(ptrs, mask, atomic=True)
        return self._real.atomic_rmw(op, ptrs, value, mask, sem)

    def _check(self, access: str, ptrs: Any, mask: Any, size: int, read: bool = False, written: bool = False) -> None:
        frame = _STATE.accesses[-1] if _STATE.accesses else None
        if frame is not None:
            frame.seen_by_proxy = True
        if not _STATE.running:
            return
        launch = _STATE.running[-1]
        try:
            origin = _access_origin(frame, ptrs, launch)
            violation = _find_violation(launch, access, ptrs, mask, size, self._program_id(), origin)
        except Exception as error:  # noqa: BLE001 - a fault in the guard must not break a kernel...
            launch.mark_unchecked(f"the guard failed while checking a {access} ({_error_line(error)})")  # ...nor hide
            return
        if violation is not None:
            _STATE.add_violation(violation)
            raise OutOfBoundsAccess(violation)
        if launch.counter is not None:
            try:
                launch.counter.add(ptrs, mask, size, origin, read, written)
            except Exception:  # noqa: BLE001 - counting must never break a kernel: the launch then
                launch.counter = None  # has no traffic, which the report says, instead of wrong numbers
        if access == "load" or read:
            _remember_read(launch, origin, mask)
        if access == "load" and origin is not None and len(origin) == 1 and _STATE.wants_loads():
            _remember_load(launch, origin[0].arg.name, ptrs, mask, self._program_id())


# ----- interpreter: the bounds check ---------------------------------------------------------------
def _find_violation(
    launch: _RunningLaunch,
    access: str,
    ptrs: Any,
    mask: Any,
    size: int,
    program_id: Any,
    origin: tuple[_Span, ...] | None = None,
) -> BoundsViolation | None:
    if not launch.arguments_seen:
        return None
    np = _numpy()
    pointers = np.asarray(ptrs).astype(np.uint64, copy=False)
    if pointers.size == 0:
        return None
    # Known provenance: the lanes must stay inside the argument(s) the pointer came from. Unknown:
    # anywhere inside any tensor argument will do.
    allowed = list(origin) if origin is not None else launch.spans
    # Fast path: every active lane lies inside one allowed tensor. Compare with `high - size`, which
    # cannot overflow, rather than adding `size` to a possibly wild address. (Two masked reductions
    # are cheaper than first asking whether the mask is all true or all false.)
    active = None
    if mask is None:
        first, last = int(pointers.min()), int(pointers.max())
    else:
        active = np.asarray(mask, dtype=bool)
        if active.shape != pointers.shape:
            pointers, active = np.broadcast_arrays(pointers, active)
        first = int(pointers.min(where=active, initial=_U64_MAX))
        last = int(pointers.max(where=active, initial=0))
        if first > last:
            return None  # no active lane
    for span in allowed:
        if span.low <= first and last <= span.high - size:
            return None
    # Slow path, lane by lane (vectorised). Wild pointers (a negative offset wraps around in
    # uint64) become negative as int64, which keeps them outside every span.
    addresses = (pointers if active is None else pointers[active]).reshape(-1).view(np.int64)
    inside = [(addresses >= span.low) & (addresses <= span.high - size) for span in allowed]
    fine = np.logical_or.reduce(inside) if inside else np.zeros(addresses.shape, dtype=bool)
    if bool(fine.all()):
        return None  # spread over several allowed tensors, but every lane is in one of them
    bad = addresses[~fine]
    chosen = _blamed_span(allowed, [int(lanes.sum()) for lanes in inside], origin is not None)
    grid_idx = _grid3(program_id) if program_id is not None else (0, 0, 0)
    shape = dict(masked=active is not None and not bool(active.all()), tile=pointers.ndim >= 2, lanes=int(addresses.size))
    if chosen is None:
        return BoundsViolation(launch.kernel, access, None, (), int(bad.size), None, grid_idx, **shape)
    return BoundsViolation(
        launch.kernel, access, chosen.arg.name, _offsets(bad, chosen.arg), int(bad.size), chosen.arg.numel, grid_idx, **shape,
        stray_offsets=_every_offset(bad, chosen.arg),
    )


def _blamed_span(allowed: list[_Span], counts: list[int], known_origin: bool) -> _Span | None:
    """The tensor the bad lanes are reported against. Known provenance: the argument the pointer
    came from (of several aliases, the one most lanes are inside). Unknown: the tensor most of the
    access's lanes are inside, if any; never a tensor the access merely lands near."""
    if not allowed or (not known_origin and max(counts, default=0) == 0):
        return None
    return allowed[counts.index(max(counts))]


def _every_offset(bad: Any, arg: TensorArg) -> tuple[int, ...]:
    """Every distinct element offset of the bad addresses, the first MAX_STRAY_OFFSETS of them."""
    np = _numpy()
    distinct = np.unique((bad - arg.data_ptr) // arg.element_size)[:MAX_STRAY_OFFSETS]
    return tuple(int(offset) for offset in distinct)


def _offsets(bad: Any, arg: TensorArg) -> tuple[int, ...]:
    """The smallest and largest distinct element offsets of the bad addresses, at most 8 in all."""
    np = _numpy()
    distinct = np.unique(bad)  # sorted
    keep = _MAX_OFFSETS // 2
    if distinct.size > 2 * _MAX_OFFSETS:
        distinct = np.concatenate([distinct[:_MAX_OFFSETS], distinct[-_MAX_OFFSETS:]])
    offsets = sorted({(int(address) - arg.data_ptr) // arg.element_size for address in distinct})
    if len(offsets) > _MAX_OFFSETS:
        offsets = offsets[:keep] + offsets[-keep:]
    return tuple(offsets)
