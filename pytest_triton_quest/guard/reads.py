"""What a launch read: which arguments its loads touched (for "your kernels never read `k`"), and,
for diagnosis probes that ask, every load's addresses.
"""

from __future__ import annotations

from typing import Any

from .records import _Span, _grid3, _numpy
from .state import _RunningLaunch, _STATE


def _remember_read(launch: _RunningLaunch, origin: tuple[_Span, ...] | None, mask: Any) -> None:
    """Which arguments the launch read: the evidence that the answer came from the inputs at all;
    and which ones a load addressed at all, its mask on or off (a pointer the kernel never loads
    through is another fact than a load whose every lane is masked off)."""
    if launch.loaded is not None:
        if origin is None:
            launch.loaded = None
        else:
            launch.loaded.update(span.arg.data_ptr for span in origin)
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
