"""Watch the Triton kernels a learner's function launches, and stop out-of-bounds memory accesses.

`watch_kernels(interpreted)` is a context manager. While it is open:

* every real kernel launch (`kernel[grid](...)`, also through `triton.autotune` / `triton.heuristics`)
  appends a `LaunchRecord` to the watch, also when the launch then fails; `warmup=True` calls are
  not launches;
* under Triton's interpreter (`interpreted=True`, i.e. TRITON_INTERPRET=1), every load, store and
  atomic is checked *before* it happens: each active (unmasked) lane must address memory inside the
  tensor argument its pointer was computed from, the whole element included. A tensor's memory is
  the bytes from its lowest to its highest element: [data_ptr, data_ptr + numel * element_size) for
  a contiguous tensor, more for a strided view such as `m[:, :50]`. The first offending access is
  recorded as a `BoundsViolation`, is not performed, and raises `OutOfBoundsAccess` inside the kernel
  (the interpreter re-raises it wrapped in its own `InterpreterError`; read `watch.violation`).
  Without this an unmasked store past the end of a CPU tensor silently corrupts the heap and can kill
  the whole pytest process, and an unmasked load returns garbage or segfaults.

Pointer provenance: the pointer a kernel dereferences is computed from one of its pointer arguments
(`x_ptr + offsets`, then splat, broadcast, reshape, `tl.where`, ...). The guard tags every pointer
value the interpreter's builder makes with the argument(s) it came from, so a lane computed from
`x_ptr` that strays into the memory of `y` (allocated right after x) is reported as outside `x_ptr`,
with offsets relative to x, the same on every run. A pointer argument is recognised by its address:
an untagged one-element pointer equal to an argument's data_ptr is that argument's base pointer.
Where provenance is unknown (a pointer made from an integer, a builder operation the guard does not
know), the old rule applies: a lane is fine inside any tensor argument; lanes outside every one are
reported against the tensor most of the access's other lanes address, or against no tensor at all
("outside every tensor argument") when no lane is inside one: never against a merely nearby tensor.

Traffic (opt-in, `watch_kernels(..., count_traffic=True)`, interpreter only): every launch's record
carries a `LaunchTraffic`: for each tensor argument the bytes its active lanes loaded and stored (a
re-read counts again) and how many distinct elements were touched (a bitmap over the argument's
elements), plus 2 * M * N * K for every `tl.dot` of every program. Masked-off lanes move nothing. The
watch also keeps the distinct elements of each tensor over the whole call (`KernelWatch.seen`), so
that a buffer one kernel writes and the next reads counts as the traffic it is.

A launch that could not be bounds-checked is never silent: `LaunchRecord.unchecked` and
`KernelWatch.unchecked` say why (a hook missing in this Triton, arguments the guard could not read,
a memory access that bypassed the checking proxy, a fault in the guard itself).
`pytest_triton_quest.guard_selftest` proves once per process that the hooks work at all.

Where it hooks in (the same names exist in triton 3.6 and 3.9):

* interpreter: `triton.runtime.interpreter.GridExecutor.__call__` (one call per launch; the kernel
  name comes from the rewritten function), `GridExecutor._init_args_hst` (the host copies of the
  arguments, i.e. the addresses the interpreted kernel really dereferences), and
  `InterpreterBuilder.set_grid_dim` (the resolved grid). Raw memory goes through the module global
  `_interpreter` of `triton/runtime/interpreter.py` (the C++ helpers `load`, `store`, `atomic_cas`,
  `atomic_rmw`); it is swapped for a checking proxy. Plain and masked accesses, tensor descriptors
  (host-side or made in the kernel), block pointers (3.6; 3.9 removed them) and atomics all end up
  there. The program id comes from the interpreter's module-level `interpreter_builder.grid_idx`.
  Provenance: `InterpreterBuilder.create_addptr`, `create_splat`, `create_unsplat`,
  `create_broadcast`, `create_expand_dims`, `create_reshape`, `create_trans`, `create_bitcast`,
  `create_select`, `create_cat`, `create_join`, `create_split`, `create_gather` tag the pointers they
  return; `TensorDescHandle.materialize_pointers` and (3.6) `BlockPointerHandle.materialize_pointers`
  tag the pointers of a descriptor or block pointer with its base's; `create_masked_load`,
  `create_masked_store`, `create_atomic_cas` and `create_atomic_rmw` tell the memory proxy which
  pointer it is given (and notice an access that never reached the proxy). These are the names of
  Triton's IR builder API, so they are the most stable of all; where one is missing the check falls
  back to the any-tensor rule above.
* compiled kernels: `triton.runtime.jit.JITFunction.run`, which every launch goes through; the grid
  is evaluated again from the arguments (best effort, (0, 0, 0) if that fails). Nothing is checked.

Autotuning: an autotuned kernel with several configs benchmarks them on its first call for a given
key, and every benchmark run goes through `fn.run` too, so the first call records those runs as
launches as well (on a GPU each config runs many times; under the interpreter as often as the
`do_bench` given to `triton.autotune` calls it: the default benchmarker needs a GPU driver). Call the
function a second time, when the config is cached, to count the launches of one call. A single
config is never benchmarked.

All patches are installed when the first watch of a kind opens and removed when the last one of that
kind closes (also on exceptions); nested watches each get every launch and the first violation.
Not thread-safe.

Importing this module imports neither torch nor triton (nor numpy): the pytest plugin imports it in
every pytest run.
"""

from __future__ import annotations

import contextlib
import operator
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .model import ArgumentTraffic, LaunchRecord, LaunchTraffic, TensorArg

__all__ = [
    "BoundsViolation",
    "KernelWatch",
    "LaunchRecord",
    "OutOfBoundsAccess",
    "TensorArg",
    "open_watches",
    "watch_kernels",
]

# Hooks without which no launch is bounds-checked (or counted) at all.
CRITICAL_HOOKS = ("GridExecutor.__call__", "GridExecutor._init_args_hst", "interpreter._interpreter")

_MAX_OFFSETS = 8
_U64_MAX = 2**64 - 1


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
        negative = any(offset < 0 for offset in self.offsets)
        if store:
            hint = "Mask the store so that offsets stay in 0..n-1." if negative else "Mask the store with offsets < n."
        else:
            hint = "Mask the load (and give `other=`)."
        return f"{first}\n{hint}"


class OutOfBoundsAccess(Exception):
    """Raised inside an interpreted kernel, instead of performing an out-of-bounds access."""

    def __init__(self, violation: BoundsViolation) -> None:
        super().__init__(violation.describe())
        self.violation = violation


@dataclass
class KernelWatch:
    launches: list[LaunchRecord] = field(default_factory=list)
    violation: BoundsViolation | None = None  # the first violation seen
    # Things the interpreter accepts but a GPU compiler rejects, one line each (interpreter only).
    portability: list[str] = field(default_factory=list)
    # Every interpreted store: (kernel, program id, byte addresses of the active lanes).
    stores: list[tuple[str, tuple[int, int, int], Any]] = field(default_factory=list)
    # The lanes of those stores that their mask switched off, likewise: an element a program addressed
    # but did not store is the mark of a mask that is too strict, not of a grid that is too small.
    masked_stores: list[tuple[str, tuple[int, int, int], Any]] = field(default_factory=list)
    # Why some interpreted accesses were not bounds-checked, one line each ("kernel `k`: reason"),
    # without repeats. Empty when everything was checked.
    unchecked: list[str] = field(default_factory=list)
    # Opt-in (watch_kernels(..., record_loads=True)): every interpreted load whose pointer came from one
    # argument, as (kernel, program id, argument name, byte addresses of the active lanes). Diagnosis
    # probes use it to count what a launch read (e.g. the key tiles a causal launch visits).
    record_loads: bool = False
    loads: list[tuple[str, tuple[int, int, int], str, Any]] = field(default_factory=list)
    # Opt-in (watch_kernels(..., count_traffic=True)): each launch record gets its LaunchTraffic, and
    # `seen` maps each tensor argument (data_ptr, numel, element size) to the bitmaps of the elements
    # any launch of the call read and wrote.
    count_traffic: bool = False
    # Called with each launch record as it happens (the sanitizer's launch log: a worker that a bad
    # kernel aborts before it answers has still told which tensors its launches got).
    on_launch: Callable[[LaunchRecord], None] | None = None
    seen: dict[tuple[int, int, int], "_Seen"] = field(default_factory=dict)

    def unchecked_note(self) -> str | None:
        """One line for a report when some launch ran without bounds checks, else None."""
        if not self.unchecked:
            return None
        more = f" (and {len(self.unchecked) - 1} more)" if len(self.unchecked) > 1 else ""
        return f"triton-quest: this launch was not bounds-checked: {self.unchecked[0]}{more}"

    def last_writers(self, data_ptr: int, numel: int, element_size: int) -> tuple[Any, list[tuple[str, tuple[int, int, int]]]]:
        """For each element of a tensor, which program stored to it last: an index into the returned
        table of (kernel, program id), or -1 where no program stored anything (interpreter only)."""
        np = _numpy()
        owner = np.full(numel, -1, dtype=np.int64)
        table: list[tuple[str, tuple[int, int, int]]] = []
        end = data_ptr + numel * element_size
        for kernel, program_id, addresses in self.stores:
            inside = addresses[(addresses >= data_ptr) & (addresses < end)]
            if inside.size:
                owner[(inside - data_ptr) // element_size] = len(table)
                table.append((kernel, program_id))
        return owner, table


# The smallest tile side tl.dot accepts when compiled for a GPU (M, N and K alike).
GPU_MIN_DOT_SIZE = 16


# ----- global state: open watches, running launches, installed patches ----------------------------
class _Patches:
    """Attribute replacements that can be undone exactly."""

    _MISSING = object()

    def __init__(self) -> None:
        self._undo: list[tuple[Any, str, Any]] = []
        self.missing: list[str] = []  # hooks this Triton does not have, "Owner.name"

    def set(self, owner: Any, name: str, value: Any) -> None:
        # Look in the owner's own namespace so that an inherited attribute is deleted, not copied, later.
        namespace = owner.__dict__ if hasattr(owner, "__dict__") else {}
        self._undo.append((owner, name, namespace.get(name, self._MISSING)))
        setattr(owner, name, value)

    def wrap(self, owner: Any, label: str, name: str, make: Callable[[Any], Any]) -> bool:
        """Replace owner.name by make(original); a missing name is noted in `missing`, not raised:
        a Triton that renamed one hook must still run kernels (the self-test reports it)."""
        original = _own_attribute(owner, name)
        if original is None:
            self.missing.append(f"{label}.{name}")
            return False
        self.set(owner, name, make(original))
        return True

    def restore(self) -> None:
        while self._undo:
            owner, name, previous = self._undo.pop()
            if previous is self._MISSING:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
            else:
                setattr(owner, name, previous)


def _own_attribute(owner: Any, name: str) -> Any:
    """owner.name, or None when the owner does not define it. For a class, only its own MRO counts:
    every class "has" `__call__` through its metaclass, which is not the hook we want."""
    if owner is None:
        return None
    if isinstance(owner, type):
        if not any(name in vars(klass) for klass in owner.__mro__ if klass is not object):
            return None
    return getattr(owner, name, None)


@dataclass
class _Span:
    """The bytes a tensor argument may touch: [low, high)."""

    arg: TensorArg
    low: int
    high: int


@dataclass
class _Seen:
    """Which elements of one tensor extent were read and written (bitmaps, made on first touch)."""

    elements: int
    read: Any = None
    written: Any = None

    def mark(self, written: bool, indices: Any) -> None:
        bitmap = self.written if written else self.read
        if bitmap is None:
            bitmap = _numpy().zeros(self.elements, dtype=bool)
            if written:
                self.written = bitmap
            else:
                self.read = bitmap
        bitmap[indices] = True

    def merge(self, other: "_Seen") -> None:
        for name in ("read", "written"):
            theirs = getattr(other, name)
            if theirs is None:
                continue
            mine = getattr(self, name)
            setattr(self, name, theirs.copy() if mine is None else mine | theirs)

    @staticmethod
    def count(bitmap: Any) -> int:
        return 0 if bitmap is None else int(_numpy().count_nonzero(bitmap))


class _TrafficCounter:
    """One interpreted launch's bytes, distinct elements and tl.dot FLOPs, by tensor argument.

    Cheap by design: per access a few vectorised numpy operations on the active lanes' addresses
    (the bounds check already paid for the rest), and a bitmap per argument for the distinct count."""

    def __init__(self, spans: list[_Span]) -> None:
        self.spans = spans
        self.index = {id(span): position for position, span in enumerate(spans)}
        self.read = [0] * len(spans)
        self.written = [0] * len(spans)
        self.seen = [_Seen(max(0, (span.high - span.low) // max(1, span.arg.element_size))) for span in spans]
        # Element sizes are powers of two: a shift turns byte offsets into element indices, cheaper than //.
        self.shift = [max(1, span.arg.element_size).bit_length() - 1 for span in spans]
        self.unattributed_read = 0
        self.unattributed_written = 0
        self.dot_flops = 0

    def add(self, ptrs: Any, mask: Any, size: int, origin: tuple[_Span, ...] | None, read: bool, written: bool) -> None:
        np = _numpy()
        addresses = np.asarray(ptrs)
        if mask is not None:
            active = np.asarray(mask, dtype=bool)
            if active.shape != addresses.shape:
                addresses, active = np.broadcast_arrays(addresses, active)
            addresses = addresses[active]
        addresses = addresses.reshape(-1).astype(np.uint64, copy=False).view(np.int64)
        if addresses.size == 0:
            return
        moved = int(addresses.size) * size
        # Known provenance: the bounds check has just proved every lane inside that one argument.
        position = self.index.get(id(origin[0])) if origin is not None and len(origin) == 1 else None
        if position is None:
            position = self._argument_of(addresses, size, origin)
        if position is None:
            self.unattributed_read += moved if read else 0
            self.unattributed_written += moved if written else 0
            return
        span = self.spans[position]
        if span.arg.element_size == 1 << self.shift[position]:
            indices = (addresses - span.low) >> self.shift[position]
        else:
            indices = (addresses - span.low) // max(1, span.arg.element_size)
        if read:
            self.read[position] += moved
            self.seen[position].mark(False, indices)
        if written:
            self.written[position] += moved
            self.seen[position].mark(True, indices)

    def _argument_of(self, addresses: Any, size: int, origin: tuple[_Span, ...] | None) -> int | None:
        """The argument whose extent holds every address: the one the pointer came from when known,
        else the first that holds them all (the bounds check has already let every lane through)."""
        first, last = int(addresses.min()), int(addresses.max())
        for span in origin if origin else self.spans:
            if span.low <= first and last <= span.high - size and id(span) in self.index:
                return self.index[id(span)]
        return None

    def result(self) -> LaunchTraffic:
        arguments = tuple(
            ArgumentTraffic(
                span.arg.name, span.arg.data_ptr, span.arg.numel, span.arg.element_size,
                self.read[position], self.written[position],
                _Seen.count(seen.read) * span.arg.element_size, _Seen.count(seen.written) * span.arg.element_size,
            )
            for position, (span, seen) in enumerate(zip(self.spans, self.seen))
        )
        return LaunchTraffic(arguments, self.dot_flops, self.unattributed_read, self.unattributed_written)


class _RunningLaunch:
    """The interpreted launch in progress."""

    def __init__(self, kernel: str) -> None:
        self.kernel = kernel
        self.grid: tuple[int, int, int] = (0, 0, 0)
        self.spans: list[_Span] = []
        self.arguments_seen = False  # until then there is nothing to check accesses against
        self.arguments_hook_called = False  # the hook ran, whether or not it could read them
        self.unchecked: str | None = None  # the first reason some access went unchecked
        self.counter: _TrafficCounter | None = None  # when a watch counts traffic
        # The arguments (by data_ptr) that loads read; None once a load could not be traced to one.
        self.reads: set[int] | None = set()

    def set_spans(self, spans: list[_Span]) -> None:
        self.spans = spans
        self.arguments_seen = True
        if _STATE.wants_traffic():
            self.counter = _TrafficCounter(spans)

    def mark_unchecked(self, reason: str) -> None:
        if self.unchecked is None:
            self.unchecked = reason

    def record(self) -> LaunchRecord:
        traffic = self.counter.result() if self.counter is not None else None
        reads = frozenset(self.reads) if self.reads is not None and self.arguments_seen else None
        return LaunchRecord(self.kernel, self.grid, tuple(span.arg for span in self.spans), self.unchecked, traffic, reads)


@dataclass
class _Access:
    """A builder memory operation in progress: the pointer handle it was given, so the memory proxy
    can look up where the pointer came from, and whether the proxy saw the access at all."""

    pointer: Any
    seen_by_proxy: bool = False


class _State:
    def __init__(self) -> None:
        self.watches: list[tuple[KernelWatch, bool]] = []  # (watch, interpreted), in opening order
        self.running: list[_RunningLaunch] = []
        self.patches: dict[bool, _Patches] = {}  # by interpreted
        self.accesses: list[_Access] = []  # builder memory operations in progress, innermost last

    def add_launch(self, record: LaunchRecord, interpreted: bool) -> None:
        for watch, mode in self.watches:
            if mode == interpreted:
                watch.launches.append(record)
                if watch.on_launch is not None:
                    watch.on_launch(record)
        if record.unchecked is not None:
            self.add_unchecked(f"kernel `{record.kernel}`: {record.unchecked}")

    def add_unchecked(self, line: str) -> None:
        for watch, mode in self.watches:
            if mode and line not in watch.unchecked:
                watch.unchecked.append(line)

    def add_portability(self, note: str) -> None:
        for watch, mode in self.watches:
            if mode and note not in watch.portability:
                watch.portability.append(note)

    def add_store(self, kernel: str, program_id: tuple[int, int, int], addresses: Any, masked_off: Any) -> None:
        for watch, mode in self.watches:
            if mode:
                watch.stores.append((kernel, program_id, addresses))
                if masked_off.size:
                    watch.masked_stores.append((kernel, program_id, masked_off))

    def add_load(self, kernel: str, program_id: tuple[int, int, int], argument: str, addresses: Any) -> None:
        for watch, mode in self.watches:
            if mode and watch.record_loads:
                watch.loads.append((kernel, program_id, argument, addresses))

    def wants_loads(self) -> bool:
        return any(mode and watch.record_loads for watch, mode in self.watches)

    def wants_traffic(self) -> bool:
        return any(mode and watch.count_traffic for watch, mode in self.watches)

    def add_seen(self, counter: _TrafficCounter) -> None:
        """A finished launch's touched elements join the call-wide bitmaps of every counting watch."""
        for watch, mode in self.watches:
            if not (mode and watch.count_traffic):
                continue
            for span, seen in zip(counter.spans, counter.seen):
                key = (span.arg.data_ptr, span.arg.numel, span.arg.element_size)
                if key not in watch.seen:
                    watch.seen[key] = _Seen(seen.elements)
                if watch.seen[key].elements == seen.elements:  # the same tensor (a view of another extent is not)
                    watch.seen[key].merge(seen)

    def add_violation(self, violation: BoundsViolation) -> None:
        for watch, mode in self.watches:
            if mode and watch.violation is None:
                watch.violation = violation


_STATE = _State()


@contextlib.contextmanager
def watch_kernels(interpreted: bool, record_loads: bool = False, count_traffic: bool = False) -> Iterator[KernelWatch]:
    """Record the kernel launches made inside the block; under the interpreter, also stop any
    out-of-bounds load or store (see the module docstring), with `record_loads` keep every load, and
    with `count_traffic` count every launch's bytes and tl.dot FLOPs."""
    interpreted = bool(interpreted)
    watch = KernelWatch(record_loads=record_loads, count_traffic=bool(count_traffic and interpreted))
    if interpreted not in _STATE.patches:
        patches = _Patches()
        try:
            (_install_interpreter if interpreted else _install_compiled)(patches)
        except BaseException:
            patches.restore()
            raise
        _STATE.patches[interpreted] = patches
    if interpreted:
        # A hook this Triton lacks is said at once, even before (or without) any launch.
        for name in _STATE.patches[interpreted].missing:
            if name in CRITICAL_HOOKS:
                watch.unchecked.append(_missing_hook_reason(name))
    entry = (watch, interpreted)
    _STATE.watches.append(entry)
    try:
        yield watch
    finally:
        # Remove this very entry (identity, not equality: two fresh watches compare equal).
        for index, candidate in enumerate(_STATE.watches):
            if candidate[0] is watch:
                del _STATE.watches[index]
                break
        if not any(mode == interpreted for _, mode in _STATE.watches):
            patches = _STATE.patches.pop(interpreted, None)
            if patches is not None:
                patches.restore()
            if interpreted:
                _STATE.running.clear()
                _STATE.accesses.clear()


def open_watches() -> int:
    """How many `watch_kernels` blocks are open right now (the self-test must run outside them)."""
    return len(_STATE.watches)


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


def _kernel_name(fn: Any) -> str:
    for candidate in (fn, getattr(fn, "fn", None)):
        name = getattr(candidate, "__name__", None)
        if isinstance(name, str):
            return name
    return type(fn).__name__


def _tensor_span(name: str, value: Any) -> _Span | None:
    tensor = value
    # triton.reinterpret() wraps a tensor in a TensorWrapper: measure the tensor underneath.
    if not hasattr(tensor, "numel") and hasattr(getattr(tensor, "base", None), "numel"):
        tensor = tensor.base
    try:
        data_ptr = int(value.data_ptr())
        element_size = int(tensor.element_size())
        numel = int(tensor.numel())
        shape = tuple(int(size) for size in tensor.shape)
        strides = tuple(int(stride) for stride in tensor.stride())
    except Exception:  # noqa: BLE001 - something with a data_ptr that is not a tensor
        return None
    arg = TensorArg(name, numel, element_size, data_ptr, tensor)
    if numel == 0:
        return _Span(arg, data_ptr, data_ptr)
    # The elements of a (possibly strided) view lie between its lowest and highest element; for a
    # contiguous tensor that is exactly [data_ptr, data_ptr + numel * element_size).
    lowest = sum((size - 1) * stride for size, stride in zip(shape, strides) if stride < 0)
    highest = sum((size - 1) * stride for size, stride in zip(shape, strides) if stride > 0)
    return _Span(arg, data_ptr + lowest * element_size, data_ptr + (highest + 1) * element_size)


def _collect_spans(name: str, value: Any, spans: list[_Span]) -> None:
    if hasattr(value, "data_ptr"):
        span = _tensor_span(name, value)
        if span is not None:
            spans.append(span)
    elif isinstance(value, (tuple, list)):
        for index, item in enumerate(value):
            _collect_spans(f"{name}[{index}]", item, spans)
    elif hasattr(value, "base") and hasattr(value, "block_shape"):  # a host TensorDescriptor
        _collect_spans(name, value.base, spans)


def _spans_of(arg_names: list[str], args: Any, kwargs: dict[str, Any]) -> list[_Span]:
    spans: list[_Span] = []
    for index, value in enumerate(args):
        name = arg_names[index] if index < len(arg_names) else f"arg{index}"
        _collect_spans(name, value, spans)
    for name, value in kwargs.items():
        _collect_spans(name, value, spans)
    return spans


# ----- interpreter: the hooks ---------------------------------------------------------------------
# Builder operations whose result is a pointer made from the pointer operand(s) they are given.
_POINTER_OPS = (
    "create_addptr",
    "create_splat",
    "create_unsplat",
    "create_broadcast",
    "create_expand_dims",
    "create_reshape",
    "create_trans",
    "create_bitcast",
    "create_select",
    "create_cat",
    "create_join",
    "create_split",
    "create_gather",
)
# Builder memory operations: each hands its pointer's raw addresses to the `_interpreter` helpers.
_MEMORY_OPS = ("create_masked_load", "create_masked_store", "create_atomic_cas", "create_atomic_rmw")
# Where a tensor descriptor (and, in 3.6, a block pointer) becomes plain pointers.
_MATERIALIZERS = ("TensorDescHandle", "BlockPointerHandle")
_OPTIONAL_CLASSES = ("BlockPointerHandle",)  # gone in 3.9: its absence is not a missing hook

# The attribute that carries a pointer handle's provenance: the spans of the argument(s) it was
# computed from. Set on the interpreter's TensorHandle objects, which live for one launch.
_ORIGIN = "_triton_quest_origin"


def _install_interpreter(patches: _Patches) -> None:
    from triton.runtime import interpreter

    executor = getattr(interpreter, "GridExecutor", None)
    builder_class = getattr(interpreter, "InterpreterBuilder", None)
    builder = getattr(interpreter, "interpreter_builder", None)
    real_memory = getattr(interpreter, "_interpreter", None)
    memory = None
    if real_memory is not None:
        memory = _CheckedMemory(real_memory, lambda: getattr(builder, "grid_idx", None))

    patches.wrap(executor, "GridExecutor", "__call__", lambda original: _launch_hook(original, interpreter, memory))
    patches.wrap(executor, "GridExecutor", "_init_args_hst", _arguments_hook)
    patches.wrap(builder_class, "InterpreterBuilder", "set_grid_dim", _grid_hook)
    patches.wrap(builder_class, "InterpreterBuilder", "create_dot", _dot_hook)
    for name in _POINTER_OPS:
        patches.wrap(builder_class, "InterpreterBuilder", name, lambda original, name=name: _provenance_hook(original, name))
    for name in _MEMORY_OPS:
        patches.wrap(builder_class, "InterpreterBuilder", name, lambda original, name=name: _memory_op_hook(original, name))
    for class_name in _MATERIALIZERS:
        owner = getattr(interpreter, class_name, None)
        if owner is not None or class_name not in _OPTIONAL_CLASSES:
            patches.wrap(owner, class_name, "materialize_pointers", _materialize_hook)
    if builder is None:
        patches.missing.append("interpreter.interpreter_builder")
    if memory is None:
        patches.missing.append("interpreter._interpreter")
    else:
        patches.set(interpreter, "_interpreter", memory)


def _launch_hook(original: Callable[..., Any], interpreter: Any, memory: Any) -> Callable[..., Any]:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        launch = _RunningLaunch(_kernel_name(getattr(self, "fn", self)))
        if memory is None:
            launch.mark_unchecked(_missing_hook_reason("interpreter._interpreter"))
        elif getattr(interpreter, "_interpreter", None) is not memory:
            launch.mark_unchecked("something replaced the guard's checking proxy for the interpreter's `_interpreter`")
        _STATE.running.append(launch)
        try:
            return original(self, *args, **kwargs)
        finally:
            if _STATE.running and _STATE.running[-1] is launch:
                _STATE.running.pop()
            if not launch.arguments_hook_called:
                launch.mark_unchecked("the interpreter never called GridExecutor._init_args_hst, so the guard never saw the arguments")
            if launch.counter is not None:
                _STATE.add_seen(launch.counter)
            _STATE.add_launch(launch.record(), interpreted=True)

    return call


def _arguments_hook(original: Callable[..., Any]) -> Callable[..., Any]:
    def init_args(self: Any, *args: Any, **kwargs: Any) -> Any:
        launch = _STATE.running[-1] if _STATE.running else None
        if launch is not None:
            launch.arguments_hook_called = True
        result = original(self, *args, **kwargs)
        if launch is not None:
            try:
                args_hst, kwargs_hst = result
                spans = _spans_of(list(self.arg_names), args_hst, kwargs_hst)
            except Exception as error:  # noqa: BLE001 - say so, and let the launch run
                launch.mark_unchecked(f"the guard could not read the launch's arguments ({_error_line(error)})")
                return result
            launch.set_spans(spans)
        return result

    return init_args


def _grid_hook(original: Callable[..., Any]) -> Callable[..., Any]:
    def set_grid_dim(self: Any, nx: Any, ny: Any, nz: Any) -> Any:
        result = original(self, nx, ny, nz)
        if _STATE.running:
            _STATE.running[-1].grid = _grid3((nx, ny, nz))
        return result

    return set_grid_dim


def _dot_hook(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_dot(self: Any, a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            m, k = a.data.shape[-2:]
            n = b.data.shape[-1]
        except (AttributeError, ValueError):
            return original(self, a, b, *args, **kwargs)
        counter = _STATE.running[-1].counter if _STATE.running else None
        if counter is not None:
            batch = 1
            for size in a.data.shape[:-2]:
                batch *= int(size)
            counter.dot_flops += 2 * int(m) * int(n) * int(k) * batch
        if min(m, n, k) < GPU_MIN_DOT_SIZE:
            kernel = _STATE.running[-1].kernel if _STATE.running else "a kernel"
            _STATE.add_portability(
                f"`{kernel}` calls tl.dot on a ({m} x {k}) @ ({k} x {n}) tile: this runs in the interpreter, "
                f"but a GPU needs every tl.dot dimension >= {GPU_MIN_DOT_SIZE}"
            )
        return original(self, a, b, *args, **kwargs)

    return create_dot


def _provenance_hook(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    def op(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if _STATE.running:
            launch = _STATE.running[-1]
            try:
                _tag_result(result, _pointer_operands(args, kwargs), launch)
            except Exception as error:  # noqa: BLE001 - the check falls back to the any-tensor rule
                launch.mark_unchecked(_provenance_failure(name, error))
        return result

    return op


def _materialize_hook(original: Callable[..., Any]) -> Callable[..., Any]:
    def materialize_pointers(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        if _STATE.running:
            launch = _STATE.running[-1]
            try:
                # (pointers, mask): the pointers of a descriptor or block pointer come from its base.
                _tag_result(result[0], [self.base], launch)
            except Exception as error:  # noqa: BLE001 - the check falls back to the any-tensor rule
                launch.mark_unchecked(_provenance_failure("materialize_pointers", error))
        return result

    return materialize_pointers


def _memory_op_hook(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    def op(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not _STATE.running:
            return original(self, *args, **kwargs)
        operands = _pointer_operands(args, kwargs)
        access = _Access(operands[0] if operands else None)
        _STATE.accesses.append(access)
        try:
            result = original(self, *args, **kwargs)
        finally:
            if _STATE.accesses and _STATE.accesses[-1] is access:
                _STATE.accesses.pop()
        if not access.seen_by_proxy and _STATE.running:
            _STATE.running[-1].mark_unchecked(
                f"a memory access ({name}) bypassed the guard's checking proxy for the interpreter's `_interpreter`"
            )
        return result

    return op


def _provenance_failure(name: str, error: BaseException) -> str:
    return (
        f"pointer provenance failed in {name} ({_error_line(error)}): a lane that strays into another "
        "tensor argument is not caught"
    )


def _error_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


# ----- interpreter: pointer provenance -------------------------------------------------------------
def _is_pointer(value: Any) -> bool:
    """A TensorHandle of pointers (duck-typed: numpy arrays and Triton types have no data + is_ptr)."""
    is_ptr = getattr(getattr(value, "dtype", None), "is_ptr", None)
    return is_ptr is not None and hasattr(value, "data") and bool(is_ptr())


def _pointer_operands(args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
    operands = [value for value in args if _is_pointer(value)]
    operands.extend(value for value in kwargs.values() if _is_pointer(value))
    return operands


def _origin_of(handle: Any, launch: _RunningLaunch) -> tuple[_Span, ...] | None:
    """The spans of the argument(s) a pointer handle was computed from, or None when unknown."""
    origin = getattr(handle, _ORIGIN, None)
    if origin is not None:
        return origin
    return _argument_origin(handle, launch)


def _argument_origin(handle: Any, launch: _RunningLaunch) -> tuple[_Span, ...] | None:
    """An untagged one-element pointer equal to an argument's data_ptr is that argument's base
    pointer (the interpreter makes one from each tensor argument). Several arguments may share an
    address (the same tensor passed twice): then it belongs to all of them."""
    data = getattr(handle, "data", None)
    if data is None or getattr(data, "size", 0) != 1:
        return None
    address = int(data.reshape(-1)[0])
    matches = tuple(span for span in launch.spans if span.arg.data_ptr == address)
    return matches or None


def _tag_result(result: Any, operands: list[Any], launch: _RunningLaunch) -> None:
    """Give the pointer(s) an operation returned the provenance of its pointer operands; leave them
    untagged (unknown) when no operand is a pointer or one operand's provenance is unknown."""
    if not operands:
        return
    spans: list[_Span] = []
    for operand in operands:
        origin = _origin_of(operand, launch)
        if origin is None:
            return
        spans.extend(span for span in origin if not any(span is seen for seen in spans))
    for item in result if isinstance(result, tuple) else (result,):
        if _is_pointer(item):
            setattr(item, _ORIGIN, tuple(spans))


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

    def _remember_store(self, ptrs: Any, mask: Any) -> None:
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
        _STATE.add_store(_STATE.running[-1].kernel, program_id, addresses.copy(), masked_off.copy())

    def atomic_cas(self, ptrs: Any, cmp: Any, value: Any, sem: Any) -> Any:
        self._check("store", ptrs, None, _numpy().asarray(value).dtype.itemsize, read=True, written=True)
        return self._real.atomic_cas(ptrs, cmp, value, sem)

    def atomic_rmw(self, op: Any, ptrs: Any, value: Any, mask: Any, sem: Any) -> Any:
        self._check("store", ptrs, mask, _numpy().asarray(value).dtype.itemsize, read=True, written=True)
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


def _remember_read(launch: _RunningLaunch, origin: tuple[_Span, ...] | None, mask: Any) -> None:
    """Which arguments the launch read: the evidence that the answer came from the inputs at all."""
    if launch.reads is None:
        return
    try:
        if mask is not None and not bool(_numpy().asarray(mask, dtype=bool).any()):
            return  # no active lane: nothing was read
    except Exception:  # noqa: BLE001 - unknown is said as unknown, never guessed
        launch.reads = None
        return
    if origin is None:
        launch.reads = None
        return
    launch.reads.update(span.arg.data_ptr for span in origin)


def _remember_load(launch: _RunningLaunch, argument: str, ptrs: Any, mask: Any, program_id: Any) -> None:
    """Bookkeeping for diagnosis probes only: never lets a failure of its own reach the kernel."""
    try:
        np = _numpy()
        addresses = np.asarray(ptrs).astype(np.int64, copy=False)
        if mask is not None:
            active = np.asarray(mask, dtype=bool)
            if active.shape != addresses.shape:
                addresses, active = np.broadcast_arrays(addresses, active)
            addresses = addresses[active]
        _STATE.add_load(launch.kernel, _grid3(program_id), argument, np.unique(addresses.reshape(-1)))
    except Exception:  # noqa: BLE001
        return


def _access_origin(frame: _Access | None, ptrs: Any, launch: _RunningLaunch) -> tuple[_Span, ...] | None:
    """Provenance of the addresses the proxy was given: known only when they are exactly the data
    of the pointer handle the builder memory operation received."""
    if frame is None or frame.pointer is None or getattr(frame.pointer, "data", None) is not ptrs:
        return None
    return _origin_of(frame.pointer, launch)


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
    if chosen is None:
        return BoundsViolation(launch.kernel, access, None, (), int(bad.size), None, grid_idx)
    return BoundsViolation(
        launch.kernel, access, chosen.arg.name, _offsets(bad, chosen.arg), int(bad.size), chosen.arg.numel, grid_idx
    )


def _blamed_span(allowed: list[_Span], counts: list[int], known_origin: bool) -> _Span | None:
    """The tensor the bad lanes are reported against. Known provenance: the argument the pointer
    came from (of several aliases, the one most lanes are inside). Unknown: the tensor most of the
    access's lanes are inside, if any; never a tensor the access merely lands near."""
    if not allowed or (not known_origin and max(counts, default=0) == 0):
        return None
    return allowed[counts.index(max(counts))]


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


# ----- compiled kernels: launches only -------------------------------------------------------------
def _install_compiled(patches: _Patches) -> None:
    from triton.runtime.jit import JITFunction

    original_run = JITFunction.run

    def run(self: Any, *args: Any, grid: Any, warmup: Any, **kwargs: Any) -> Any:
        if not warmup:
            _STATE.add_launch(_compiled_record(self, args, kwargs, grid), interpreted=False)
        return original_run(self, *args, grid=grid, warmup=warmup, **kwargs)

    patches.set(JITFunction, "run", run)


def _compiled_record(fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any], grid: Any) -> LaunchRecord:
    name = _kernel_name(fn)
    try:
        arg_names = list(getattr(fn, "arg_names", None) or [])
        params = {key: value for key, value in kwargs.items() if key in arg_names}
        spans = _spans_of(arg_names, args, params)
    except Exception:  # noqa: BLE001 - counting must never break a launch
        return LaunchRecord(name, (0, 0, 0), ())
    resolved = (0, 0, 0)
    try:
        if callable(grid):
            import inspect

            signature = getattr(fn, "signature", None) or inspect.signature(fn.fn)
            bound = signature.bind_partial(*args, **params)
            bound.apply_defaults()
            grid = grid(dict(bound.arguments))
        resolved = _grid3(grid)
    except Exception:  # noqa: BLE001 - the grid is best effort
        pass
    return LaunchRecord(name, resolved, tuple(span.arg for span in spans))
