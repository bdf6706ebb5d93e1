"""Evidence for diagnosis rules beyond one output: who stored what, and the learner's function run again.

Two pieces, both interpreter only (on a GPU the rules get None and must do without):

* `store_map`: from the guard's record of every interpreted store, which output elements each program
  stored. A grid that is too small, programs that overlap, or programs that store nothing show there.
* `KernelProbe`: calls the learner's function on inputs a rule chooses (a smaller shape, a shifted
  input), under the guard, and never raises. A probe answers a question one output cannot, e.g.
  "does a single partial slice of K work?". It is not run on a GPU, where a stray access of a
  probe could poison the CUDA context of the whole worker.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ._lazy import torch
from .guard import KernelWatch, watch_kernels
from .levels.base import Level
from .model import Mode, ProbeRun, StoreMap
from .scratch import filled_allocations

if TYPE_CHECKING:
    import torch as torch_types


def store_map(watch: KernelWatch, out: "torch_types.Tensor") -> StoreMap | None:
    """Which elements of `out` (contiguous) every program stored; None when nothing was recorded."""
    if not out.is_contiguous():
        return None
    import numpy as np

    start, size, numel = out.data_ptr(), out.element_size(), out.numel()
    end = start + numel * size
    programs: list[tuple[str, tuple[int, int, int]]] = []
    elements: list[Any] = []
    index: dict[tuple[str, tuple[int, int, int]], int] = {}
    pieces: list[list[Any]] = []
    for kernel, program_id, addresses in watch.stores:
        inside = addresses[(addresses >= start) & (addresses < end)]
        if not inside.size:
            continue
        key = (kernel, program_id)
        if key not in index:
            index[key] = len(programs)
            programs.append(key)
            pieces.append([])
        pieces[index[key]].append((inside - start) // size)
    repeats: dict[tuple[str, tuple[int, int, int]], int] = {}
    for key, parts in zip(programs, pieces):
        distinct = np.unique(np.concatenate(parts))
        elements.append(distinct)
        # Every store of the program reached a part of the same block (the widest store's): its
        # stores repeat one another, however many there were (a masked last pass reaches fewer).
        stored = [np.unique(part) for part in parts]
        widest = max(stored, key=len)
        repeats[key] = len(stored) if len(widest) == len(distinct) else 1
    masked: dict[tuple[str, tuple[int, int, int]], list[Any]] = {}
    for kernel, program_id, addresses in watch.masked_stores:
        inside = addresses[(addresses >= start) & (addresses < end) & ((addresses - start) % size == 0)]
        if inside.size:
            masked.setdefault((kernel, program_id), []).append((inside - start) // size)
    masked_off = {key: np.unique(np.concatenate(parts)) for key, parts in masked.items()}
    return StoreMap(programs, elements, numel, masked_off, repeats)


class KernelProbe:
    """Runs the learner's function again on other inputs (see the module docstring)."""

    def __init__(self, level: Level, function: Callable[..., Any], mode: Mode) -> None:
        self.level = level
        self.function = function
        self.mode = mode

    def run(self, inputs: dict[str, Any], record_loads: bool = False) -> ProbeRun:
        args, kwargs = self.level.call_arguments(inputs)
        watch: KernelWatch | None = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # New memory holds NaN here as in the check itself, so a probe never passes by luck.
                with watch_kernels(self.mode.interpreted, record_loads) as watch, filled_allocations(Path(".")):
                    out = self.function(*args, **kwargs)
        except Exception:  # noqa: BLE001 - a probe reports, it never raises
            launches = watch.launches if watch is not None else []
            return ProbeRun(None, watch.violation if watch is not None else None, True, launches)
        if not isinstance(out, torch.Tensor):
            return ProbeRun(None, None, False, watch.launches)
        stores = store_map(watch, out) if self.mode.interpreted else None
        return ProbeRun(out.detach().to(device="cpu", dtype=torch.float64), None, False, watch.launches, stores, _load_counts(watch))


def _load_counts(watch: KernelWatch) -> dict[tuple[str, tuple[int, int, int], str], int]:
    """Distinct elements each program loaded from each argument (by byte address, so an element read
    twice counts once)."""
    import numpy as np

    pieces: dict[tuple[str, tuple[int, int, int], str], list[Any]] = {}
    for kernel, program_id, argument, addresses in watch.loads:
        pieces.setdefault((kernel, program_id, argument), []).append(addresses)
    return {key: int(np.unique(np.concatenate(parts)).size) for key, parts in pieces.items()}
