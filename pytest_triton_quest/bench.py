"""Benchmark items: the learner's kernel and PyTorch on the same inputs, timed by pytest-benchmark.

Each benchmark case becomes one item per row (the PyTorch baselines, then the learner's kernel) in
one pytest-benchmark group, so the table shows them side by side and saved runs compare with
`pytest-benchmark compare`. Timing happens on the GPU only: compile and autotune are warmed up
outside the measurement, each measured round is a burst of calls between two readings of a clock
that first synchronises with the GPU (`cuda_clock`), and the median per call is what counts. The
inputs are larger than the L2 cache, or the work is compute-bound.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

from ._lazy import torch
from .levels.base import Level
from .model import Case

NO_GPU = "benchmarks need a CUDA GPU; correctness checks run on the CPU interpreter"
# pytest-benchmark turns its fixture off under pytest-xdist (processes sharing a GPU time each other)
# and with --benchmark-disable; the fixture then runs the call once and keeps no timing.
BENCHMARK_OFF = ("pytest-benchmark is off in this run (it turns itself off under pytest-xdist's -n and with "
                 "--benchmark-disable): run without them to time your kernel")
YOURS = "yours"
ROW_TIME_S = 1.5  # measured time per row, spread over the rounds
ROUND_TIME_S = 0.005  # calls per round: enough to keep the GPU busy between two clock readings
MIN_ROUNDS, MAX_ROUNDS = 10, 200
MAX_ITERATIONS = 100
TIERS = ((1.0, "legend"), (0.9, "gold"), (0.5, "silver"), (0.25, "bronze"))


def tier(speedup: float | None, legend: float = 1.0) -> str:
    """The tier a speedup earns where `legend` is the speedup that is legend (1.0x PyTorch, or less at
    a level whose 1.0x proved out of reach: Level.legend_by_head_dim); each tier is its fraction of it."""
    if speedup is None:
        return ""
    return next((name for threshold, name in TIERS if speedup >= threshold * legend), "")


def legend_mark(level: Level, case_ids: Iterable[str] | None = None) -> float:
    """The speedup that is legend for a geometric mean over these benchmark shapes (all the level's
    when None): the geometric mean of each shape's own mark, so a run of only the D = 128 shapes is
    held to the D = 128 mark."""
    cases = level.benchmark_cases()
    chosen = set(case_ids) if case_ids is not None else {case.id for case in cases}
    marks = [level.legend_speedup(case) for case in cases if case.id in chosen]
    return geometric_mean(marks) if marks else 1.0


def legend_words(level: Level) -> str | None:
    """`legend here is 0.91x at D = 64 and 0.81x at D = 128`, for a level whose legend is not 1.0x."""
    marks = level.legend_by_head_dim
    if not marks:
        return None
    return "legend here is " + " and ".join(f"{mark:.2f}x at D = {d}" for d, mark in sorted(marks.items()))


@dataclass
class BenchLog:
    """Medians of this run, by (level, case id) and row, so the learner's row can report a speedup."""

    medians: dict[tuple[int, str], dict[str, float]] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)  # for the plot

    def speedups(self, level: Level) -> dict[str, float]:
        baseline = next(iter(level.baselines()), None)
        found = {}
        for (number, case_id), rows in self.medians.items():
            if number == level.number and baseline in rows and YOURS in rows:
                found[case_id] = rows[baseline] / rows[YOURS]
        return found


def saved_run_name(level: int | None, now: float | None = None) -> str:
    """The name of a saved benchmark run: `.benchmarks/<machine>/0003_level8_20261201-193012.json`."""
    what = f"level{level}" if level is not None else "all-levels"
    return f"{what}_{time.strftime('%Y%m%d-%H%M%S', time.localtime(now))}"


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(value) for value in values) / len(values))


def benchmark_call(level: Level, case: Case, row: str, kata: Path) -> Callable[[], Any]:
    """The call that row `row` of `case` times, on CUDA inputs; benchmarks/crosscheck.py reuses it."""
    from .checking import case_seed
    from .loading import load_function

    generator = torch.Generator().manual_seed(case_seed(level, case))
    inputs = {name: value.to("cuda") if isinstance(value, torch.Tensor) else value for name, value in level.make_inputs(case, generator).items()}
    if row != YOURS:
        baseline = level.baselines()[row]
        return lambda: baseline(inputs)
    function = load_function(kata, level.function, level.positional, level.keywords)
    args, kwargs = level.call_arguments(inputs)  # built once, outside the timed call
    return lambda: function(*args, **kwargs)


def cuda_clock() -> float:
    """pytest-benchmark's timer for GPU rows: the host clock, read once the GPU has caught up.

    A round is `iterations` calls launched back to back between two readings, so the time is the
    GPU's and the Python launch cost hides behind the kernels, as it does in a real program (and
    in triton.testing.do_bench). Reading the clock right after each launch would time the launch.
    """
    torch.cuda.synchronize()
    return time.perf_counter()


def measure(benchmark: Any, level: Level, case: Case, row: str, kata: Path, log: BenchLog) -> None:
    """Time one row of one benchmark case with pytest-benchmark's fixture and note it in `log`."""
    call = benchmark_call(level, case, row, kata)

    # Warm-up outside the measurement: JIT compilation, autotuning, allocator growth.
    for _ in range(3):
        call()
    start = cuda_clock()
    call()
    estimate_s = max(cuda_clock() - start, 1e-6)
    iterations = int(min(MAX_ITERATIONS, max(1, math.ceil(ROUND_TIME_S / estimate_s))))
    rounds = int(min(MAX_ROUNDS, max(MIN_ROUNDS, ROW_TIME_S / (estimate_s * iterations))))
    benchmark.group = f"level {level.number} {level.function} {case.id}"
    benchmark.pedantic(call, rounds=rounds, warmup_rounds=2, iterations=iterations)

    median = float(benchmark.stats.stats.median)
    rows = log.medians.setdefault((level.number, case.id), {})
    rows[row] = median
    baseline = next(iter(level.baselines()), None)
    info = benchmark.extra_info
    info.update(row_info(level, case, row, median, torch.cuda.get_device_name(), rows.get(baseline) if row == YOURS else None))
    log.rows.append(plot_row(level, case, info, median))


def row_info(level: Level, case: Case, row: str, median: float, gpu: str, baseline_median: float | None) -> dict[str, Any]:
    """What pytest-benchmark saves beside a row's timing: the device, the throughput, the speedup."""
    work = level.work(case)
    info: dict[str, Any] = {"gpu": gpu, "level": level.number, "case": case.id, "row": row}
    if work.flops:
        info["tflops"] = round(work.flops / median / 1e12, 2)
    if work.bytes:
        info["gb_per_s"] = round(work.bytes / median / 1e9, 1)
    if baseline_median is not None:
        info["speedup_vs_torch"] = round(baseline_median / median, 3)
    return info


def plot_row(level: Level, case: Case, info: dict[str, Any], median: float) -> dict[str, Any]:
    """One row of BenchLog.rows, what plots.py draws: the case's shape and minimum work ride along, so
    the plot can group shapes into panels and place each row on a roofline."""
    work = level.work(case)
    baseline = next(iter(level.baselines()), None)  # what a speedup, and so a tier, is measured against
    return {
        "level": level.number, "case": case.id, "params": dict(case.params), "dtype": case.dtype, "median_s": median,
        "flops": work.flops, "bytes": work.bytes, "baseline": baseline, "legend": level.legend_speedup(case), **info,
    }


def new_storage_folder(config: pytest.Config) -> Path | None:
    """pytest-benchmark's local folder for saved runs (`.benchmarks`), if this run is about to create
    it: pytest-benchmark makes it at the start of every run, also when nothing will be saved."""
    if not config.pluginmanager.hasplugin("benchmark"):
        return None
    uri = str(config.getoption("benchmark_storage", default="") or "")
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    elif "://" in uri or not uri:
        return None  # a remote storage: nothing to tidy here
    folder = Path(uri).absolute()  # pytest-benchmark reads it relative to the working directory too
    return None if folder.exists() else folder


def remove_if_empty(folder: Path) -> None:
    """Remove a folder this run created and left empty; a folder with saved runs in it stays."""
    try:
        folder.rmdir()
    except OSError:
        pass


class MachineInfo:
    """Adds the GPU and the torch/triton versions to pytest-benchmark's machine info."""

    @staticmethod
    def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict[str, Any]) -> None:
        import triton

        machine_info["torch"] = torch.__version__
        machine_info["triton"] = triton.__version__
        if torch.cuda.is_available():
            machine_info["gpu"] = torch.cuda.get_device_name()
            machine_info["cuda"] = torch.version.cuda
