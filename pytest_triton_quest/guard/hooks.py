"""Where the guard hooks into Triton: the interpreter's launch, arguments, grid, `tl.dot` and memory
operations, and `JITFunction.run` for compiled launches.
"""

from __future__ import annotations

from typing import Any, Callable

from ..model import LaunchRecord, TensorArg
from .bounds import _CheckedMemory
from .patches import _Patches
from .provenance import _MATERIALIZERS, _OPTIONAL_CLASSES, _POINTER_OPS, _materialize_hook, _pointer_operands, _provenance_hook
from .records import GPU_MIN_DOT_SIZE, _Span, _error_line, _grid3, _missing_hook_reason
from .state import _Access, _RunningLaunch, _STATE


# Builder memory operations: each hands its pointer's raw addresses to the `_interpreter` helpers.
_MEMORY_OPS = ("create_masked_load", "create_masked_store", "create_atomic_cas", "create_atomic_rmw")


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
