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
from typing import Iterator

from ..model import LaunchRecord, TensorArg
from .hooks import _install_compiled, _install_interpreter
from .patches import _Patches
from .records import BoundsViolation, CRITICAL_HOOKS, OutOfBoundsAccess, _missing_hook_reason
from .state import KernelWatch, _STATE
from .traffic import _TrafficCounter  # noqa: F401 - tests time its methods


__all__ = [
    "BoundsViolation",
    "KernelWatch",
    "LaunchRecord",
    "OutOfBoundsAccess",
    "TensorArg",
    "open_watches",
    "watch_kernels",
]


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
