"""Memory traffic: what a call's kernels moved, against the least the level must move, and what that
means on a real card.

The interpreter's guard counts (see guard/traffic.py, `count_traffic`); this module turns one call's counts
into a `TrafficReport`: per launch (kernel, grid, bytes read and written, distinct bytes, tl.dot
FLOPs), the totals against the level's minimum `Work`, a remark where the ratio is worth one, the
arithmetic intensity, and the time bound the traffic implies on the reference card.

What "moved" means here: every active lane of every load and store, a re-read counted again, as a
kernel asks for it. On a GPU some re-reads are served by the L2 cache; the distinct bytes (each
element counted once per tensor) are what must cross from memory at the very least, whatever the
cache. A remark names a cause only when the counts prove it (the level's `traffic_remark`);
otherwise it only says which inputs were read more than once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from .card import REFERENCE, Card
from .guard import KernelWatch
from .levels.base import Level
from .model import Case, CallTraffic, LaunchRecord, StoreMap, TensorTraffic


# The reference card: its numbers live in card.py, once, with their sources.
H200 = REFERENCE


# Below this share of the minimum the kernels moved less than the answer needs (counting is exact;
# the slack is for an input a kernel may rightly recompute instead of reading, level 9's lse).
BELOW_THE_MINIMUM = 0.9
# Below this the total is not worth a remark: the kernels move about the minimum.
REMARKABLE_RATIO = 1.2


# ----- the report ----------------------------------------------------------------------------------
@dataclass
class LaunchRow:
    kernel: str
    grid: tuple[int, int, int]
    read: int
    written: int
    distinct: int
    dot_flops: int
    counted: bool = True  # False: the guard could not count this launch (its numbers are 0)


@dataclass
class TrafficReport:
    level: int
    case: str  # the case id
    dtype: str
    launches: list[LaunchRow]
    read: int
    written: int
    distinct: int  # bytes: each tensor's distinct elements read, plus those written
    dot_flops: int
    minimum_bytes: float
    minimum_flops: float
    remark: str | None = None
    rereads: list[tuple[str, float]] = field(default_factory=list)  # inputs read more than once: (name, times)

    # ----- derived ------------------------------------------------------------------------------
    @property
    def moved(self) -> int:
        return self.read + self.written

    @property
    def ratio(self) -> float | None:
        return self.moved / self.minimum_bytes if self.minimum_bytes else None

    @property
    def flops(self) -> float:
        """What the kernels computed: the tl.dot tiles when there are any, else the level's FLOPs."""
        return float(self.dot_flops) if self.dot_flops else self.minimum_flops

    @property
    def complete(self) -> bool:
        return all(row.counted for row in self.launches)

    # ----- travelling as JSON (worker -> pytest -> progress file) ---------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrafficReport":
        values = dict(data)
        values["launches"] = [LaunchRow(**{**row, "grid": tuple(row["grid"])}) for row in values.get("launches", [])]
        values["rereads"] = [(str(name), float(times)) for name, times in values.get("rereads", [])]
        return cls(**values)

    # ----- what the learner reads ---------------------------------------------------------------
    def lines(self) -> list[str]:
        """The report's few lines: the traffic against the minimum, then what it means on a card."""
        if not self.launches:
            return []
        if not self.complete:
            missing = sorted({row.kernel for row in self.launches if not row.counted})
            return [f"memory traffic: not counted (the guard could not count kernel {', '.join(f'`{name}`' for name in missing)})"]
        first = f"memory traffic: read {megabytes(self.read)}, wrote {megabytes(self.written)}"
        ratio = self.ratio
        if ratio is not None and ratio < BELOW_THE_MINIMUM:
            # Less than reading every input and writing every output once: not a speed-up, a sign that
            # some of the answer did not pass through these kernels.
            first += (
                f", less than the minimum of {megabytes(self.minimum_bytes)} (every input read and every output "
                "written once): part of the data never went through these kernels"
            )
        elif ratio is not None:
            first += f", {ratio:.1f}x the minimum ({megabytes(self.minimum_bytes)})"
            why = self.why()
            if why and ratio >= REMARKABLE_RATIO:
                first += f" ({why})"
        lines = [first]
        detail = [f"distinct {megabytes(self.distinct)}" + (f" ({self.distinct / self.minimum_bytes:.1f}x the minimum)" if self.minimum_bytes else "")]
        if self.dot_flops:
            detail.append(f"tl.dot {flop_count(self.dot_flops)}" + (f" (the level's own: {flop_count(self.minimum_flops)})" if self.minimum_flops else ""))
        lines.append("  " + "; ".join(detail))
        lines.append("  " + self.bound_line())
        return lines

    def why(self) -> str | None:
        if self.remark:
            return self.remark
        if self.rereads:
            return ", ".join(f"`{name}` read {times:.1f} times" for name, times in self.rereads)
        return None

    def bound_line(self, card: Card = H200) -> str:
        peak = self.peak(card)
        memory_s = self.moved / card.copy_bytes_per_s
        compute_s = self.flops / peak
        bound = "memory-bound" if memory_s >= compute_s else "compute-bound"
        intensity = self.flops / self.moved if self.moved else 0.0
        ideal = max(self.minimum_bytes / card.copy_bytes_per_s, self.minimum_flops / peak)
        if max(memory_s, compute_s) < ideal:
            return (
                f"arithmetic intensity {intensity:.1f} FLOP/byte; on an {card.name} the minimum work takes >= "
                f"{duration(ideal)}: what these kernels moved is less than that, so it bounds nothing"
            )
        return (
            f"arithmetic intensity {intensity:.1f} FLOP/byte; on an {card.name} ({card.copy_bytes_per_s / 1e12:.2f} TB/s, "
            f"{peak / 1e12:.0f} TFLOP/s {self.peak_name()}) this takes >= {duration(max(memory_s, compute_s))}, {bound}; "
            f"the minimum work >= {duration(ideal)}"
        )

    def peak(self, card: Card = H200) -> float:
        if not self.dot_flops:
            return card.fp32_flops_per_s
        return card.tensor_flops_per_s(self.dtype)

    def peak_name(self) -> str:
        if not self.dot_flops:
            return "fp32"
        return "tf32" if self.dtype == "fp32" else "fp16"

    def table(self) -> list[str]:
        """One row per launch, then the totals: what `triton-quest profile N` prints on the CPU."""
        header = f"{'kernel':<28} {'grid':>14} {'read':>10} {'wrote':>10} {'distinct':>10} {'dot FLOPs':>11}"
        rows = [header, "-" * len(header)]
        for row in self.launches:
            grid = "x".join(str(size) for size in row.grid)
            if not row.counted:
                rows.append(f"{row.kernel[:28]:<28} {grid:>14} {'not counted':>10}")
                continue
            rows.append(
                f"{row.kernel[:28]:<28} {grid:>14} {megabytes(row.read):>10} {megabytes(row.written):>10} "
                f"{megabytes(row.distinct):>10} {flop_count(row.dot_flops) if row.dot_flops else '-':>11}"
            )
        rows.append(
            f"{'total':<28} {'':>14} {megabytes(self.read):>10} {megabytes(self.written):>10} "
            f"{megabytes(self.distinct):>10} {flop_count(self.dot_flops) if self.dot_flops else '-':>11}"
        )
        rows.append(f"{'minimum (read inputs, write outputs once)':<53} {megabytes(self.minimum_bytes):>21}")
        return rows


# ----- units -----------------------------------------------------------------------------------------
def megabytes(count: float) -> str:
    """Decimal units, as bandwidths are quoted (1 MB = 10^6 bytes)."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} B"


def flop_count(count: float) -> str:
    for unit, size in (("TFLOP", 1e12), ("GFLOP", 1e9), ("MFLOP", 1e6), ("kFLOP", 1e3)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{int(count)} FLOP"


def duration(seconds: float) -> str:
    for unit, size in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= size:
            return f"{seconds / size:.2f} {unit}"
    return f"{seconds / 1e-9:.1f} ns"


# ----- from a watch to a report --------------------------------------------------------------------
def call_traffic(
    watch: KernelWatch,
    inputs: dict[str, Any],
    outputs: dict[str, Any],
    stores: StoreMap | Callable[[], StoreMap | None] | None = None,
) -> CallTraffic:
    """Every tensor the call's kernels touched, named after the input or output it is (by address),
    else after the kernel parameter it was passed as (a scratch buffer)."""
    known = {_key_of(value): (name, "input") for name, value in inputs.items() if _is_tensor(value)}
    known.update({_key_of(value): (name, "output") for name, value in outputs.items() if _is_tensor(value)})
    totals: dict[tuple[int, int, int], list[Any]] = {}
    for launch in watch.launches:
        if launch.traffic is None:
            continue
        for arg in launch.traffic.arguments:
            key = (arg.data_ptr, arg.numel, arg.element_size)
            entry = totals.setdefault(key, [arg.name, 0, 0])
            entry[1] += arg.read
            entry[2] += arg.written
    tensors = []
    for key, (parameter, read, written) in totals.items():
        seen = watch.seen.get(key)
        name, role = known.get(key, (parameter, "scratch"))
        _, numel, size = key
        read_distinct = seen.count(seen.read) * size if seen is not None else 0
        written_distinct = seen.count(seen.written) * size if seen is not None else 0
        tensors.append(TensorTraffic(name, role, numel, size, read, written, read_distinct, written_distinct))
    return CallTraffic(tensors, list(watch.launches), inputs, stores)


def report_of(level: Level, case: Case, call: CallTraffic) -> TrafficReport:
    rows = [_row(launch) for launch in call.launches]
    work = level.work(case)
    try:
        remark = level.traffic_remark(call)
    except Exception:  # noqa: BLE001 - a remark is a bonus; a fault in one must not hide the numbers
        remark = None
    rereads = [
        (tensor.name, tensor.read / tensor.size)
        for tensor in call.tensors
        if tensor.role == "input" and tensor.size and tensor.read >= 1.05 * tensor.size
    ]
    return TrafficReport(
        level=level.number,
        case=case.id,
        dtype=case.dtype,
        launches=rows,
        read=sum(row.read for row in rows),
        written=sum(row.written for row in rows),
        distinct=sum(tensor.read_distinct + tensor.written_distinct for tensor in call.tensors),
        dot_flops=sum(row.dot_flops for row in rows),
        minimum_bytes=float(work.bytes),
        minimum_flops=float(work.flops),
        remark=remark,
        rereads=rereads,
    )


def _row(launch: LaunchRecord) -> LaunchRow:
    traffic = launch.traffic
    if traffic is None:
        return LaunchRow(launch.kernel, launch.grid, 0, 0, 0, 0, counted=False)
    return LaunchRow(launch.kernel, launch.grid, traffic.read, traffic.written, traffic.distinct, traffic.dot_flops)


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "data_ptr") and hasattr(value, "numel")


def _key_of(tensor: Any) -> tuple[int, int, int]:
    return (int(tensor.data_ptr()), int(tensor.numel()), int(tensor.element_size()))
