"""Pointer provenance: every pointer value the interpreter's builder makes is tagged with the kernel
argument(s) it was computed from, so an access is checked against, and blamed on, its own tensor.
"""

from __future__ import annotations

from typing import Any, Callable

from .records import _Span, _error_line
from .state import _Access, _RunningLaunch, _STATE


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


# Where a tensor descriptor (and, in 3.6, a block pointer) becomes plain pointers.
_MATERIALIZERS = ("TensorDescHandle", "BlockPointerHandle")


_OPTIONAL_CLASSES = ("BlockPointerHandle",)  # gone in 3.9: its absence is not a missing hook


# The attribute that carries a pointer handle's provenance: the spans of the argument(s) it was
# computed from. Set on the interpreter's TensorHandle objects, which live for one launch.
_ORIGIN = "_triton_quest_origin"


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


def _provenance_failure(name: str, error: BaseException) -> str:
    return (
        f"pointer provenance failed in {name} ({_error_line(error)}): a lane that strays into another "
        "tensor argument is not caught"
    )


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


def _access_origin(frame: _Access | None, ptrs: Any, launch: _RunningLaunch) -> tuple[_Span, ...] | None:
    """Provenance of the addresses the proxy was given: known only when they are exactly the data
    of the pointer handle the builder memory operation received."""
    if frame is None or frame.pointer is None or getattr(frame.pointer, "data", None) is not ptrs:
        return None
    return _origin_of(frame.pointer, launch)
