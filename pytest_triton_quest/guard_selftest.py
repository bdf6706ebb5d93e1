"""Prove, once per process, that the kernel guard's hooks into Triton's interpreter work (issue 14).

The guard (`guard/`) hooks private names of `triton/runtime/interpreter.py`. A Triton release that
renames one would leave the guard installed but blind: kernels would run unchecked and every
out-of-bounds bug would pass silently. `guard_self_test()` runs a tiny interpreted kernel with known
stray lanes and checks that the guard sees what it must:

1. a correct launch is counted once, with its grid and its tensor arguments, and is not flagged;
2. an unmasked load one element past a 3-element `x` is stopped and blamed on `x_ptr`, offset 3,
   in program (1, 0, 0) (so the program id hook works too);
3. an unmasked store one element past `out` is stopped *before* it writes;
4. a load from `x_ptr` that strays into the memory of the other argument, `out`, is still caught
   (pointer provenance works).

Every stray lane lands inside a larger buffer the self-test owns, so even a completely broken guard
cannot corrupt memory: the self-test then only reads or writes its own spare elements.

`guard_self_test()` returns None when all is well, else one line naming what failed. It never
raises, and caches its answer for the process. `guard_warning()` turns that into the header line
for the pytest report and the worker's log (`guard_status_line`).

Importing this module imports neither torch nor triton.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Iterator

from .guard import KernelWatch, OutOfBoundsAccess, open_watches, watch_kernels

__all__ = [
    "REPORT_TO",
    "guard_self_test",
    "guard_status_line",
    "guard_warning",
    "run_guard_self_test",
]

# Where a broken guard should be reported (the integrator may point this at the issue tracker).
REPORT_TO = "the Triton Quest issue tracker (include this line and `pip show triton`)"

_GRID = (2,)  # two programs of BLOCK = 2 over 3 elements: program 1 owns lanes 2 and 3; 3 strays
_BLOCK = 2
_N = 3
_STRAY_PROGRAM = (1, 0, 0)
_STRAY_OFFSET = 3

_cached: list[str | None] = []  # empty until the first run in this process


def guard_self_test() -> str | None:
    """None when the guard's hooks work on the installed Triton, else a one-line reason. Runs the
    probe once per process (call it outside any `watch_kernels` block, e.g. at session start)."""
    if not _cached:
        _cached.append(run_guard_self_test())
    return _cached[0]


def run_guard_self_test() -> str | None:
    """The self-test itself, uncached. Never raises: any exception becomes the reason."""
    try:
        return _run()
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # noqa: BLE001 - the answer must be a reason, never an exception
        return f"the self-test raised {_error_line(error)}"


def guard_status_line(triton_version: str, reason: str) -> str:
    """The loud header line for a failed self-test."""
    return (
        f"triton-quest: WARNING: out-of-bounds checks are OFF for triton {triton_version}: {reason}; "
        f"report it at {REPORT_TO}"
    )


def guard_warning() -> str | None:
    """`guard_status_line` for this process's self-test, or None when the guard works."""
    reason = guard_self_test()
    if reason is None:
        return None
    return guard_status_line(_triton_version(), reason)


# ----- the run ---------------------------------------------------------------------------------------
def _run() -> str | None:
    if open_watches():
        # Its launches and violations would land in the open watches (and it would test nothing new).
        return "the self-test cannot run inside an open watch_kernels() block"
    with _interpreting():
        import torch

        kernel = _probe_kernel()
        steps: list[Callable[[Any, Any], str | None]] = [
            _correct_launch,
            _stray_load,
            _stray_store,
            _stray_into_another_argument,
        ]
        for step in steps:
            reason = step(kernel, torch)
            if reason is not None:
                return reason
    return None


@contextlib.contextmanager
def _interpreting() -> Iterator[None]:
    """TRITON_INTERPRET=1 while the probe is decorated and run, put back as it was afterwards."""
    saved = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TRITON_INTERPRET", None)
        else:
            os.environ["TRITON_INTERPRET"] = saved


def _probe_kernel() -> Any:
    import triton

    from ._guard_probe import triton_quest_guard_probe

    return triton.jit(triton_quest_guard_probe)


def _launch(kernel: Any, x: Any, out: Any, masked_load: bool, masked_store: bool) -> tuple[KernelWatch, BaseException | None]:
    error: BaseException | None = None
    with watch_kernels(True) as watch:
        try:
            kernel[_GRID](x, out, _N, BLOCK=_BLOCK, MASKED_LOAD=masked_load, MASKED_STORE=masked_store)
        except Exception as caught:  # noqa: BLE001 - the interpreter wraps the guard's stop in its own error
            error = caught
    return watch, error


# ----- the steps ---------------------------------------------------------------------------------------
def _correct_launch(kernel: Any, torch: Any) -> str | None:
    x = torch.tensor([1.0, 2.0, 3.0])
    out = torch.zeros(_N)
    watch, error = _launch(kernel, x, out, masked_load=True, masked_store=True)
    if not watch.launches:
        return "the launch hook (GridExecutor.__call__) did not fire"
    if watch.unchecked:
        return _unchecked_reason(watch)
    if error is not None:
        stopped = _stop_in(error)
        if stopped is not None:
            return f"a correct probe kernel was reported out of bounds: {stopped.violation.describe().splitlines()[0]}"
        return f"the probe kernel failed under the guard: {_error_line(error)}"
    if len(watch.launches) != 1:
        return f"the launch hook counted {len(watch.launches)} launches for one kernel call"
    launch = watch.launches[0]
    if launch.grid != (2, 1, 1):
        return f"the grid hook (InterpreterBuilder.set_grid_dim) recorded {launch.grid}, expected (2, 1, 1)"
    names = tuple(tensor.name for tensor in launch.tensors)
    if names != ("x_ptr", "out_ptr"):
        return f"the argument hook (GridExecutor._init_args_hst) saw {names}, expected ('x_ptr', 'out_ptr')"
    if not torch.equal(out, x + 1):
        return "the probe kernel computed a wrong result under the guard"
    return None


def _stray_load(kernel: Any, torch: Any) -> str | None:
    buffer = torch.arange(8, dtype=torch.float32)
    x = buffer[:_N]  # lane 3 reads buffer[3]: memory the self-test owns, but no argument's
    watch, error = _launch(kernel, x, torch.zeros(_N), masked_load=False, masked_store=True)
    return _expected_stop(watch, error, "load", "x_ptr", "the out-of-bounds load")


def _stray_store(kernel: Any, torch: Any) -> str | None:
    buffer = torch.full((8,), 7.0)
    out = buffer[2 : 2 + _N]  # lane 3 would write buffer[5]: a spare element, never a stranger's
    watch, error = _launch(kernel, torch.ones(_N), out, masked_load=True, masked_store=False)
    reason = _expected_stop(watch, error, "store", "out_ptr", "the out-of-bounds store")
    if reason is None and float(buffer[2 + _STRAY_OFFSET]) != 7.0:
        reason = "the out-of-bounds store was reported but not stopped before it wrote"
    return reason


def _stray_into_another_argument(kernel: Any, torch: Any) -> str | None:
    buffer = torch.arange(8, dtype=torch.float32)
    x, out = buffer[:_N], buffer[_N : 2 * _N]  # x's stray lane 3 is out's first element
    watch, error = _launch(kernel, x, out, masked_load=False, masked_store=True)
    if watch.violation is None and not watch.unchecked:
        return (
            "a load from `x_ptr` that strays into another argument's memory was not caught: pointer "
            "provenance (the InterpreterBuilder hooks) is not working"
        )
    return _expected_stop(watch, error, "load", "x_ptr", "the load that strays into another argument")


def _expected_stop(watch: KernelWatch, error: BaseException | None, access: str, argument: str, what: str) -> str | None:
    """The probe's one stray lane must have been stopped and described exactly."""
    if watch.unchecked:
        return _unchecked_reason(watch)
    violation = watch.violation
    if violation is None:
        if error is not None:
            return f"{what} was not caught; the probe failed with {_error_line(error)}"
        return f"{what} was not caught (the guard's memory proxy for `_interpreter` saw nothing wrong)"
    if error is None or _stop_in(error) is None:
        return f"{what} was recorded but not stopped (no OutOfBoundsAccess reached the launch)"
    if violation.program_id != _STRAY_PROGRAM:
        return (
            f"the program id hook (interpreter_builder.grid_idx) gave {violation.program_id}, "
            f"expected {_STRAY_PROGRAM}"
        )
    if (violation.access, violation.argument, violation.offsets, violation.count) != (access, argument, (_STRAY_OFFSET,), 1):
        return (
            f"{what} was reported as a {violation.access} of {violation.count} lane(s) outside "
            f"`{violation.argument}` at offsets {violation.offsets}, expected one lane outside "
            f"`{argument}` at offset {_STRAY_OFFSET}"
        )
    return None


# ----- helpers ---------------------------------------------------------------------------------------
def _unchecked_reason(watch: KernelWatch) -> str:
    line = watch.unchecked[0]
    # Launch-level lines read "kernel `name`: reason"; the probe's name adds nothing here.
    prefix = "kernel `triton_quest_guard_probe`: "
    return line[len(prefix) :] if line.startswith(prefix) else line


def _stop_in(error: BaseException) -> OutOfBoundsAccess | None:
    """The guard's OutOfBoundsAccess in an exception's chain (the interpreter wraps it)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, OutOfBoundsAccess):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _error_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def _triton_version() -> str:
    try:
        from importlib.metadata import version

        return version("triton")
    except Exception:  # noqa: BLE001 - a version is only for the message
        return "(unknown version)"
