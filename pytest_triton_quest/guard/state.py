"""The guard's global state: the open watches, the launch in progress and what each watch records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..model import LaunchRecord, LaunchTraffic
from .patches import _Patches
from .records import BoundsViolation, _Span, _numpy
from .traffic import _Seen, _TrafficCounter


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
    # Every interpreted atomic (tl.atomic_add, ...), likewise: a write too, kept apart from `stores`
    # because many programs adding into one element is how atomics work, not a collision.
    atomics: list[tuple[str, tuple[int, int, int], Any]] = field(default_factory=list)
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
        # The arguments that any load addressed, whatever its mask let through; None likewise.
        self.loaded: set[int] | None = set()

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
        loaded = frozenset(self.loaded) if self.loaded is not None and self.arguments_seen else None
        return LaunchRecord(self.kernel, self.grid, tuple(span.arg for span in self.spans), self.unchecked, traffic, reads, loaded)


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

    def add_atomic(self, kernel: str, program_id: tuple[int, int, int], addresses: Any) -> None:
        for watch, mode in self.watches:
            if mode:
                watch.atomics.append((kernel, program_id, addresses))

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
