"""Watch the Triton kernels a learner's function launches, and stop out-of-bounds memory accesses.

`watch_kernels(interpreted)` is a context manager. While it is open:

* every real kernel launch (`kernel[grid](...)`, also through `triton.autotune` / `triton.heuristics`)
  appends a `LaunchRecord` to the watch, also when the launch then fails; `warmup=True` calls are
  not launches;
* under Triton's interpreter (`interpreted=True`, i.e. TRITON_INTERPRET=1), every load, store and
  atomic is checked *before* it happens: each active (unmasked) lane must address memory inside one
  of the tensors passed to the running launch, the whole element included. A tensor's memory is the
  bytes from its lowest to its highest element: [data_ptr, data_ptr + numel * element_size) for a
  contiguous tensor, more for a strided view such as `m[:, :50]`. The first offending access is
  recorded as a `BoundsViolation`, is not performed, and raises `OutOfBoundsAccess` inside the kernel
  (the interpreter re-raises it wrapped in its own `InterpreterError`; read `watch.violation`).
  Without this an unmasked store past the end of a CPU tensor silently corrupts the heap and can kill
  the whole pytest process, and an unmasked load returns garbage or segfaults.
  A lane that strays into *another* tensor argument is not caught by itself (that memory is valid),
  but once some lane of an access is outside every tensor, all lanes outside the tensor the access
  mostly addresses are reported.

Where it hooks in (the same names exist in triton 3.6 and 3.9):

* interpreter: `triton.runtime.interpreter.GridExecutor.__call__` (one call per launch; the kernel
  name comes from the rewritten function), `GridExecutor._init_args_hst` (the host copies of the
  arguments, i.e. the addresses the interpreted kernel really dereferences), and
  `InterpreterBuilder.set_grid_dim` (the resolved grid). Raw memory goes through the module global
  `_interpreter` of `triton/runtime/interpreter.py` (the C++ helpers `load`, `store`, `atomic_cas`,
  `atomic_rmw`); it is swapped for a checking proxy. Plain and masked accesses, tensor descriptors
  (host-side or made in the kernel), block pointers (3.6; 3.9 removed them) and atomics all end up
  there. The program id comes from the interpreter's module-level `interpreter_builder.grid_idx`.
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

from .model import LaunchRecord, TensorArg

__all__ = [
    "BoundsViolation",
    "KernelWatch",
    "LaunchRecord",
    "OutOfBoundsAccess",
    "TensorArg",
    "watch_kernels",
]

_MAX_OFFSETS = 8
_U64_MAX = 2**64 - 1


# ----- public records ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BoundsViolation:
    kernel: str
    access: str  # "load" or "store" (atomics count as stores)
    argument: str | None  # parameter whose tensor the bad addresses belong to / are nearest to
    offsets: tuple[int, ...]  # up to 8 distinct offending element offsets, the smallest and the largest
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

    def set(self, owner: Any, name: str, value: Any) -> None:
        # Look in the owner's own namespace so that an inherited attribute is deleted, not copied, later.
        namespace = owner.__dict__ if hasattr(owner, "__dict__") else {}
        self._undo.append((owner, name, namespace.get(name, self._MISSING)))
        setattr(owner, name, value)

    def restore(self) -> None:
        while self._undo:
            owner, name, previous = self._undo.pop()
            if previous is self._MISSING:
                with contextlib.suppress(AttributeError):
                    delattr(owner, name)
            else:
                setattr(owner, name, previous)


@dataclass
class _Span:
    """The bytes a tensor argument may touch: [low, high)."""

    arg: TensorArg
    low: int
    high: int


class _RunningLaunch:
    """The interpreted launch in progress."""

    def __init__(self, kernel: str) -> None:
        self.kernel = kernel
        self.grid: tuple[int, int, int] = (0, 0, 0)
        self.spans: list[_Span] = []
        self.arguments_seen = False  # until then there is nothing to check accesses against

    def set_spans(self, spans: list[_Span]) -> None:
        self.spans = spans
        self.arguments_seen = True

    def record(self) -> LaunchRecord:
        return LaunchRecord(self.kernel, self.grid, tuple(span.arg for span in self.spans))


class _State:
    def __init__(self) -> None:
        self.watches: list[tuple[KernelWatch, bool]] = []  # (watch, interpreted), in opening order
        self.running: list[_RunningLaunch] = []
        self.patches: dict[bool, _Patches] = {}  # by interpreted

    def add_launch(self, record: LaunchRecord, interpreted: bool) -> None:
        for watch, mode in self.watches:
            if mode == interpreted:
                watch.launches.append(record)

    def add_portability(self, note: str) -> None:
        for watch, mode in self.watches:
            if mode and note not in watch.portability:
                watch.portability.append(note)

    def add_store(self, kernel: str, program_id: tuple[int, int, int], addresses: Any) -> None:
        for watch, mode in self.watches:
            if mode:
                watch.stores.append((kernel, program_id, addresses))

    def add_violation(self, violation: BoundsViolation) -> None:
        for watch, mode in self.watches:
            if mode and watch.violation is None:
                watch.violation = violation


_STATE = _State()


@contextlib.contextmanager
def watch_kernels(interpreted: bool) -> Iterator[KernelWatch]:
    """Record the kernel launches made inside the block; under the interpreter, also stop any
    out-of-bounds load or store (see the module docstring)."""
    interpreted = bool(interpreted)
    watch = KernelWatch()
    if interpreted not in _STATE.patches:
        patches = _Patches()
        try:
            (_install_interpreter if interpreted else _install_compiled)(patches)
        except BaseException:
            patches.restore()
            raise
        _STATE.patches[interpreted] = patches
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
    arg = TensorArg(name, numel, element_size, data_ptr)
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


# ----- interpreter: launches and bounds checks -----------------------------------------------------
def _install_interpreter(patches: _Patches) -> None:
    from triton.runtime import interpreter

    executor = interpreter.GridExecutor
    original_call = executor.__call__
    original_init_args = executor._init_args_hst
    original_set_grid_dim = interpreter.InterpreterBuilder.set_grid_dim

    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        launch = _RunningLaunch(_kernel_name(self.fn))
        _STATE.running.append(launch)
        try:
            return original_call(self, *args, **kwargs)
        finally:
            if _STATE.running and _STATE.running[-1] is launch:
                _STATE.running.pop()
            _STATE.add_launch(launch.record(), interpreted=True)

    def init_args(self: Any, args_dev: Any, kwargs: Any) -> Any:
        result = original_init_args(self, args_dev, kwargs)
        if _STATE.running:
            try:
                args_hst, kwargs_hst = result
                spans = _spans_of(list(self.arg_names), args_hst, kwargs_hst)
            except Exception:  # noqa: BLE001 - unknown arguments: the launch runs unchecked
                return result
            _STATE.running[-1].set_spans(spans)
        return result

    def set_grid_dim(self: Any, nx: Any, ny: Any, nz: Any) -> Any:
        result = original_set_grid_dim(self, nx, ny, nz)
        if _STATE.running:
            _STATE.running[-1].grid = _grid3((nx, ny, nz))
        return result

    original_dot = interpreter.InterpreterBuilder.create_dot

    def create_dot(self: Any, a: Any, b: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            m, k = a.data.shape[-2:]
            n = b.data.shape[-1]
        except (AttributeError, ValueError):
            return original_dot(self, a, b, *args, **kwargs)
        if min(m, n, k) < GPU_MIN_DOT_SIZE:
            kernel = _STATE.running[-1].kernel if _STATE.running else "a kernel"
            _STATE.add_portability(
                f"`{kernel}` calls tl.dot on a ({m} x {k}) @ ({k} x {n}) tile: this runs in the interpreter, "
                f"but a GPU needs every tl.dot dimension >= {GPU_MIN_DOT_SIZE}"
            )
        return original_dot(self, a, b, *args, **kwargs)

    builder = interpreter.interpreter_builder
    memory = _CheckedMemory(interpreter._interpreter, lambda: getattr(builder, "grid_idx", None))
    patches.set(executor, "__call__", call)
    patches.set(executor, "_init_args_hst", init_args)
    patches.set(interpreter.InterpreterBuilder, "set_grid_dim", set_grid_dim)
    patches.set(interpreter.InterpreterBuilder, "create_dot", create_dot)
    patches.set(interpreter, "_interpreter", memory)


class _CheckedMemory:
    """Stands in for the interpreter's C++ memory helpers; checks every access before doing it."""

    def __init__(self, real: Any, program_id: Callable[[], Any]) -> None:
        self._real = real
        self._program_id = program_id

    def __getattr__(self, name: str) -> Any:  # constants, fma helpers, ...
        return getattr(self._real, name)

    def load(self, ptrs: Any, mask: Any, other: Any, dtype: Any) -> Any:
        self._check("load", ptrs, mask, _numpy().dtype(dtype).itemsize)
        return self._real.load(ptrs, mask, other, dtype)

    def store(self, ptrs: Any, value: Any, mask: Any) -> Any:
        self._check("store", ptrs, mask, _numpy().asarray(value).dtype.itemsize)
        self._remember_store(ptrs, mask)
        return self._real.store(ptrs, value, mask)

    def _remember_store(self, ptrs: Any, mask: Any) -> None:
        """Who wrote where, so a wrong element can be traced to the program that stored it."""
        if not _STATE.running:
            return
        try:
            np = _numpy()
            addresses = np.asarray(ptrs).astype(np.int64, copy=False).reshape(-1)
            if mask is not None:
                addresses = addresses[np.asarray(mask, dtype=bool).reshape(-1)]
            program_id = tuple(int(i) for i in self._program_id())
        except Exception:  # noqa: BLE001 - bookkeeping must never break a kernel
            return
        _STATE.add_store(_STATE.running[-1].kernel, program_id, addresses.copy())

    def atomic_cas(self, ptrs: Any, cmp: Any, value: Any, sem: Any) -> Any:
        self._check("store", ptrs, None, _numpy().asarray(value).dtype.itemsize)
        return self._real.atomic_cas(ptrs, cmp, value, sem)

    def atomic_rmw(self, op: Any, ptrs: Any, value: Any, mask: Any, sem: Any) -> Any:
        self._check("store", ptrs, mask, _numpy().asarray(value).dtype.itemsize)
        return self._real.atomic_rmw(op, ptrs, value, mask, sem)

    def _check(self, access: str, ptrs: Any, mask: Any, size: int) -> None:
        if not _STATE.running:
            return
        launch = _STATE.running[-1]
        try:
            violation = _find_violation(launch, access, ptrs, mask, size, self._program_id())
        except Exception:  # noqa: BLE001 - a fault in the guard must not break a kernel
            return
        if violation is not None:
            _STATE.add_violation(violation)
            raise OutOfBoundsAccess(violation)


def _find_violation(
    launch: _RunningLaunch, access: str, ptrs: Any, mask: Any, size: int, program_id: Any
) -> BoundsViolation | None:
    if not launch.arguments_seen:
        return None
    np = _numpy()
    pointers = np.asarray(ptrs).astype(np.uint64, copy=False)
    if pointers.size == 0:
        return None
    # Fast path: every active lane lies inside one tensor. Compare with `high - size`, which cannot
    # overflow, rather than adding `size` to a possibly wild address. (Two masked reductions are
    # cheaper than first asking whether the mask is all true or all false.)
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
    for span in launch.spans:
        if span.low <= first and last <= span.high - size:
            return None
    # Slow path, lane by lane (vectorised). Wild pointers (a negative offset wraps around in
    # uint64) become negative as int64, which keeps them outside every span.
    addresses = (pointers if active is None else pointers[active]).reshape(-1).view(np.int64)
    inside = [(addresses >= span.low) & (addresses <= span.high - size) for span in launch.spans]
    if inside:
        if bool(np.logical_or.reduce(inside).all()):
            return None  # spread over several tensors, but every lane is in one of them
        counts = [int(lanes.sum()) for lanes in inside]
    else:
        counts = []
    if counts and max(counts) > 0:
        # The access mostly addresses this tensor; every lane outside it is reported.
        chosen = counts.index(max(counts))
    elif launch.spans:
        chosen = min(range(len(launch.spans)), key=lambda index: _gap(addresses, launch.spans[index], size))
    else:
        chosen = None
    grid_idx = _grid3(program_id) if program_id is not None else (0, 0, 0)
    if chosen is None:
        return BoundsViolation(launch.kernel, access, None, (), int(addresses.size), None, grid_idx)
    span = launch.spans[chosen]
    bad = addresses[~inside[chosen]] if inside else addresses
    return BoundsViolation(
        launch.kernel, access, span.arg.name, _offsets(bad, span.arg), int(bad.size), span.arg.numel, grid_idx
    )


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


def _gap(addresses: Any, span: _Span, size: int) -> float:
    """How far the nearest of the addresses is from lying inside the span, in bytes (approximate)."""
    np = _numpy()
    values = addresses.astype(np.float64)  # floats: wild addresses must not overflow the subtraction
    below = np.maximum(float(span.low) - values, 0.0)
    above = np.maximum(values - float(span.high - size), 0.0)
    return float(np.min(below + above))


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
