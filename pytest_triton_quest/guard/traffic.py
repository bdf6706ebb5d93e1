"""Memory traffic of one interpreted launch (opt-in): bytes per active lane, distinct elements, and
`tl.dot` FLOPs, by tensor argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..model import ArgumentTraffic, LaunchTraffic
from .records import _Span, _numpy


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
