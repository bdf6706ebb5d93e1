"""`triton-quest profile N`: where a level's bytes and time go.

On the CPU (Triton's interpreter) it counts: the level's representative case runs once with the
guard counting every load, store and tl.dot (traffic.py), and the report shows each launch, the
totals against the level's minimum, the arithmetic intensity and the bound on the reference card.

On a CUDA GPU it measures: the learner's kernel and PyTorch's run on the level's benchmark shapes
under `torch.profiler` (per kernel time from CUDA activity records), each against the roofs of the
card at hand (its measured figures, card_rates.py; else its datasheet's), the compiled kernel's resources
(registers, spills, shared memory, warps, stages, from the `CompiledKernel` that each launch returns
in Triton 3.6 and newer), and plain advice where a rule is sure. `--ncu` adds Nsight Compute's
headline metrics; `--nsys` Nsight Systems' kernel summary. Everything GPU-only is imported inside
the functions that need it; the pure parts (advice, parsing, formatting) are tested on the CPU.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from .device import find_cuda_tool
from .card import Card
from .card_rates import CardAtHand
from .levels.base import Level
from .model import Case, Mode, Work
from .traffic import TrafficReport, duration

REPEATS = 10  # profiled calls per row, after the warm-up
WARMUP = 3  # compile, autotune, allocator growth
# Nsight Compute metrics worth a line each: time, how busy the SMs and the memory were, occupancy.
NCU_METRICS = {
    "gpu__time_duration.sum": "time",
    "sm__throughput.avg.pct_of_peak_sustained_elapsed": "SM throughput, % of peak",
    "dram__throughput.avg.pct_of_peak_sustained_elapsed": "DRAM throughput, % of peak",
    "sm__warps_active.avg.pct_of_peak_sustained_active": "achieved occupancy, %",
    "launch__registers_per_thread": "registers per thread",
}
# The copy rate is a measured roof, timed with the L2 cache flushed between copies; calls timed back
# to back can pass it by a few percent. From this share on (what rounds to 101%), a rate reads as at
# the roof: that much is known, a share above 100% is not.
AT_THE_ROOF = 1.005
# Below this share of the copy rate a memory-bound kernel is worth a look at its access pattern.
LOW_BANDWIDTH_SHARE = 0.5


# ----- the CPU: memory traffic ---------------------------------------------------------------------
def profile_cpu(level: Level, kata: Path, mode: Mode) -> tuple[list[str], bool]:
    """The traffic report of the level's representative case; (lines, whether the case passed)."""
    from .checking import check_case

    case = level.traffic_case(mode)
    if case is None:
        return [f"level {level.number} has no case to profile"], False
    result = check_case(level, case, kata, mode, count_traffic=True)
    head = [f"{level.title}, case {case.id} ({case.purpose}), on the CPU through Triton's interpreter", ""]
    if not result.passed:
        first = result.message.strip().splitlines()[0] if result.message.strip() else result.outcome
        return head + [f"the case did not pass, so there is nothing to measure yet: {first}",
                       f"fix it first: pytest --level {level.number}"], False
    if not result.traffic:
        return head + ["memory traffic: not counted (no kernel launch was seen)"], True
    report = TrafficReport.from_dict(result.traffic)
    lines = head + report.table() + [""] + report.lines()
    lines.append("  (counted by the interpreter: no timing on the CPU; on a CUDA GPU, `triton-quest profile "
                 f"{level.number}` times your kernel and PyTorch's)")
    return lines, True


# ----- the GPU: pure parts, tested on the CPU --------------------------------------------------------
@dataclass(frozen=True)
class KernelResources:
    """What the compiler gave one kernel, from its CompiledKernel."""

    name: str
    registers: int | None
    spills: int | None
    shared_bytes: int | None
    num_warps: int | None
    num_stages: int | None


@dataclass(frozen=True)
class RowTiming:
    """One row of one shape: the learner's kernel or a PyTorch baseline, per call."""

    row: str
    seconds: float  # GPU time per call, summed over its kernels
    kernels: list[tuple[str, float]]  # (kernel name, seconds per call), longest first


def roofline(work: Work, seconds: float, card: Card | None, dtype: str = "fp16") -> str:
    """Achieved TFLOP/s and GB/s against the card: each as a share of its peak, and the share of
    the roofline's bound (the least time the minimum work can take) that the call reached. Without a
    card (one in no table, not measured), the rates alone."""
    parts = []
    if card is None:
        if work.flops:
            parts.append(f"{work.flops / seconds / 1e12:.0f} TFLOP/s")
        if work.bytes:
            parts.append(f"{work.bytes / seconds / 1e9:.0f} GB/s")
        return ", ".join(parts)
    peak = card.tensor_flops_per_s(dtype)
    if work.flops:
        parts.append(f"{work.flops / seconds / 1e12:.0f} TFLOP/s ({work.flops / seconds / peak:.0%} of {peak / 1e12:.0f})")
    if work.bytes:
        rate = work.bytes / seconds
        copy = card.copy_bytes_per_s
        share = f"{rate / copy:.0%} of {copy / 1e9:.0f}" if rate / copy < AT_THE_ROOF else f"at or above the {copy / 1e9:.0f} GB/s {_roof_word(card)}"
        parts.append(f"{rate / 1e9:.0f} GB/s ({share})")
    bound = max(work.bytes / card.copy_bytes_per_s, work.flops / peak)
    if bound:
        parts.append(f"{bound / seconds:.0%} of the roofline" if bound / seconds < AT_THE_ROOF else "at the roofline")
    return ", ".join(parts)


def _roof_word(card: Card) -> str:
    return "copy rate" if card.copy_measured else "datasheet bandwidth"


def memory_bound(work: Work, card: Card, dtype: str = "fp16") -> bool:
    """The minimum work takes longer to move than to compute on the card."""
    return work.bytes / card.copy_bytes_per_s >= work.flops / card.tensor_flops_per_s(dtype)


def advice(resources: list[KernelResources], work: Work, seconds: float, card: Card | None, dtype: str = "fp16") -> list[str]:
    """Plain advice, only where a rule is sure of its facts (the coalescing rule needs the card's roofs)."""
    lines = []
    for kernel in resources:
        if kernel.spills:
            lines.append(
                f"`{kernel.name}` spills {kernel.spills} bytes of registers to local memory (slow): "
                "a smaller tile (BLOCK_M / BLOCK_N) or fewer stages (num_stages) frees registers"
            )
    if card is not None and work.bytes and seconds > 0 and memory_bound(work, card, dtype):
        share = work.bytes / seconds / card.copy_bytes_per_s
        if share < LOW_BANDWIDTH_SHARE:
            lines.append(
                f"this shape is memory-bound and your call moves its minimum bytes at {share:.0%} of the {_roof_word(card)}: "
                "look for masks or strides that break coalescing (neighbouring lanes should touch neighbouring addresses)"
            )
    return lines


def profile_header(level: Level, hand: CardAtHand) -> str:
    """The GPU profile's first line: the card in front of the learner, and where its figures come from."""
    card = hand.card
    if card is not None:
        against = f"shares of the {card.name}'s roofs: {card.source}"
    else:
        against = f"{hand.name} is in no datasheet table of card.py and could not be measured ({hand.problem}), so no shares of a roof"
    return (f"{level.title} on {hand.name}: time per call from torch.profiler ({REPEATS} calls after {WARMUP} warm-up), "
            f"work as the level counts it; {against}")


def resources_table(resources: list[KernelResources]) -> list[str]:
    def shown(value: int | None) -> str:
        return "?" if value is None else str(value)

    rows = [f"{'kernel':<32} {'registers':>9} {'spills':>7} {'shared':>9} {'warps':>6} {'stages':>7}"]
    for kernel in resources:
        shared = "?" if kernel.shared_bytes is None else f"{kernel.shared_bytes / 1024:.1f} KiB"
        rows.append(
            f"{kernel.name[:32]:<32} {shown(kernel.registers):>9} {shown(kernel.spills):>7} {shared:>9} "
            f"{shown(kernel.num_warps):>6} {shown(kernel.num_stages):>7}"
        )
    return rows


def resources_of(compiled: Any) -> KernelResources:
    """Triton 3.6 and newer: a CompiledKernel holds `metadata` (name, num_warps, num_stages, shared)
    and, once its handles are loaded (at its first launch), `n_regs` and `n_spills`."""
    metadata = getattr(compiled, "metadata", None)
    if getattr(compiled, "n_regs", None) is None and hasattr(compiled, "_init_handles"):
        with contextlib.suppress(Exception):
            compiled._init_handles()

    def number(owner: Any, name: str) -> int | None:
        value = getattr(owner, name, None)
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

    name = getattr(metadata, "name", None) or getattr(compiled, "name", "?")
    return KernelResources(
        str(name), number(compiled, "n_regs"), number(compiled, "n_spills"),
        number(metadata, "shared"), number(metadata, "num_warps"), number(metadata, "num_stages"),
    )


def parse_ncu_csv(text: str) -> dict[str, dict[str, str]]:
    """`ncu --csv` output: kernel name -> metric label -> "value unit" (the first launch of each)."""
    start = text.find('"ID"')
    if start < 0:
        return {}
    found: dict[str, dict[str, str]] = {}
    for record in csv.DictReader(io.StringIO(text[start:])):
        kernel, metric = record.get("Kernel Name", ""), record.get("Metric Name", "")
        if metric not in NCU_METRICS:
            continue
        value = f"{record.get('Metric Value', '').strip()} {record.get('Metric Unit', '').strip()}".strip()
        metrics = found.setdefault(kernel, {})
        block = record.get("Block Size", "").strip("() ").split(",")[0].strip()
        if block.isdigit():
            metrics.setdefault("warps", str(int(block) // 32))
        metrics.setdefault(NCU_METRICS[metric], value)
    return found


# The --once child names the kernels it profiled on stderr, one line each, for the parent to compare.
PROFILED_MARK = "triton-quest profiled:"


def profiled_kernels(stderr: str) -> list[KernelResources]:
    """The kernels that a --once child launched in its profiled call (see _run_once)."""
    found = []
    for line in stderr.splitlines():
        if line.startswith(PROFILED_MARK):
            fields = json.loads(line[len(PROFILED_MARK):])
            found.append(KernelResources(**fields))
    return found


def config_notes(measured: list[KernelResources], profiled: list[KernelResources]) -> list[str]:
    """Nsight runs the level in a process of its own, where an autotuner tunes again and may pick
    another config than the run measured above: then say so, or its metrics would seem to
    contradict the table."""
    notes = []
    for kernel in profiled:
        same_name = [known for known in measured if known.name == kernel.name]
        if same_name and kernel not in same_name:
            notes.append(
                f"note: in Nsight's run the autotuner picked another config for `{kernel.name}` "
                f"({kernel.num_warps} warps, {kernel.num_stages} stages, {kernel.registers} registers): "
                "these metrics are for that config, not the one in the table above"
            )
    return notes


def ncu_lines(completed_stdout: str, completed_stderr: str, returncode: int) -> list[str]:
    """What Nsight Compute said, in a few lines; a card whose counters are off-limits is one line."""
    text = completed_stdout + "\n" + completed_stderr
    if "ERR_NVGPUCTRPERM" in text:
        return ["ncu: this card's performance counters are not permitted for this user (ERR_NVGPUCTRPERM); "
                "an administrator can allow them (NVreg_RestrictProfilingToAdminUsers=0)"]
    metrics = parse_ncu_csv(completed_stdout)
    if not metrics:
        last = next((line for line in reversed(text.strip().splitlines()) if line.strip()), "no output")
        return [f"ncu: no metrics came back (exit code {returncode}): {last.strip()[:200]}"]
    lines = ["Nsight Compute (one profiled launch per kernel):"]
    for kernel, values in metrics.items():
        lines.append(f"  {kernel[:60]}: " + "; ".join(f"{label} {value}" for label, value in values.items()))
    return lines


# ----- the GPU: measuring (needs CUDA) ---------------------------------------------------------------
@contextlib.contextmanager
def compiled_kernels() -> Iterator[list[Any]]:
    """Collect the CompiledKernel of every compiled launch made inside the block: JITFunction.run
    returns it in Triton 3.6 and newer (through triton.autotune and triton.heuristics too)."""
    from triton.runtime.jit import JITFunction

    found: list[Any] = []
    original = JITFunction.__dict__["run"]

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        kernel = original(self, *args, **kwargs)
        if not kwargs.get("warmup") and kernel is not None:
            found.append(kernel)
        return kernel

    JITFunction.run = run
    try:
        yield found
    finally:
        JITFunction.run = original


def time_row(row: str, call: Callable[[], Any]) -> RowTiming:
    """GPU time per call from torch.profiler's CUDA activity records, summed over its kernels."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    for _ in range(WARMUP):
        call()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(REPEATS):
            call()
        torch.cuda.synchronize()
    from torch.autograd import DeviceType

    kernels = []
    for event in prof.key_averages():
        # Only what ran on the GPU (kernels, memset, memcpy): a host-side runtime event such as
        # cudaLaunchKernel may carry its kernel's time too, which would count it twice.
        if getattr(event, "device_type", DeviceType.CUDA) != DeviceType.CUDA:
            continue
        # torch >= 2.4 names it device time; older releases called it cuda time.
        micros = getattr(event, "self_device_time_total", None)
        if micros is None:
            micros = getattr(event, "self_cuda_time_total", 0)
        if micros:
            kernels.append((str(event.key), float(micros) * 1e-6 / REPEATS))
    kernels.sort(key=lambda item: -item[1])
    return RowTiming(row, sum(seconds for _, seconds in kernels), kernels)


def profile_gpu(level: Level, kata: Path, shapes: str | None, ncu: bool, nsys: bool, hand: CardAtHand) -> tuple[list[str], list[str]]:
    """(lines to print, kernel names of the learner's call) for every benchmark shape chosen, against
    the roofs of `hand`, the card the run is on."""
    import torch

    from .bench import YOURS, benchmark_call

    cases = [case for case in level.benchmark_cases() if shapes is None or shapes in case.id]
    if not cases:
        return [f"level {level.number} has no benchmark shape" + (f" matching {shapes!r}" if shapes else "")], []
    card = hand.card
    lines = [profile_header(level, hand), ""]
    resources: list[KernelResources] = []  # one entry per distinct compiled kernel (autotune may pick per shape)
    names: list[str] = []
    all_advice: list[str] = []
    for case in cases:
        work = level.work(case)
        lines.append(f"{case.id}:")
        rows = [YOURS, *level.baselines()]
        for row in rows:
            call = benchmark_call(level, case, row, kata)
            if row == YOURS:
                call()  # compile and autotune once, so the launch below returns the chosen kernel
                torch.cuda.synchronize()
                with compiled_kernels() as compiled:
                    call()
                for kernel in compiled:
                    found = resources_of(kernel)
                    if found not in resources:
                        resources.append(found)
                    if found.name not in names:
                        names.append(found.name)
            timing = time_row(row, call)
            lines.append(f"  {row:<12} {duration(timing.seconds):>10}  {roofline(work, timing.seconds, card, case.dtype)}")
            for name, seconds in timing.kernels[:3]:
                lines.append(f"    {duration(seconds):>10}  {name[:80]}")
            if row == YOURS:
                for line in advice(resources, work, timing.seconds, card, case.dtype):
                    if line not in all_advice:
                        all_advice.append(line)
    lines += ["", "Your kernels, as compiled:"] + [f"  {row}" for row in resources_table(resources)]
    if all_advice:
        lines += ["", "Advice:"] + [f"  {line}" for line in all_advice]
    if ncu:
        lines += [""] + run_ncu(level, kata, cases[0], names, resources)
    if nsys:
        lines += [""] + run_nsys(level, kata, cases[0])
    return lines, names


def _once_command(level: Level, kata: Path, case: Case) -> list[str]:
    return [sys.executable, "-m", "pytest_triton_quest.profiling", "--once", str(level.number), str(kata), case.id]


def run_ncu(level: Level, kata: Path, case: Case, names: list[str], measured: list[KernelResources]) -> list[str]:
    exe = find_cuda_tool("ncu")
    if exe is None:
        return ["ncu (Nsight Compute) is not installed here: nothing to add"]
    command = [exe, "--csv", "--profile-from-start", "off", "--metrics", ",".join(NCU_METRICS)]
    if names:
        command += ["--kernel-name", "regex:" + "|".join(names)]
    completed = subprocess.run(command + _once_command(level, kata, case), capture_output=True, text=True, timeout=900)
    notes = config_notes(measured, profiled_kernels(completed.stderr))
    return [f"ncu on {case.id}:"] + ncu_lines(completed.stdout, completed.stderr, completed.returncode) + notes


def run_nsys(level: Level, kata: Path, case: Case) -> list[str]:
    exe = find_cuda_tool("nsys")
    if exe is None:
        return ["nsys (Nsight Systems) is not installed here; the kernel times above come from torch.profiler"]
    with tempfile.TemporaryDirectory() as folder:
        command = [exe, "profile", "--capture-range=cudaProfilerApi", "--stats=true", "--force-overwrite=true",
                   "-o", str(Path(folder) / "quest")]
        completed = subprocess.run(command + _once_command(level, kata, case), capture_output=True, text=True, timeout=900)
    text = completed.stdout.splitlines()
    start = next((index for index, line in enumerate(text) if "cuda_gpu_kern_sum" in line), None)
    if start is None:
        last = next((line for line in reversed((completed.stdout + completed.stderr).splitlines()) if line.strip()), "no output")
        return [f"nsys: no kernel summary came back (exit code {completed.returncode}): {last.strip()[:200]}"]
    return [f"Nsight Systems on {case.id}:"] + [f"  {line}" for line in text[start : start + 14] if line.strip()]


def _run_once(number: int, kata: Path, case_id: str) -> int:
    """For ncu and nsys: warm up, then one call between cudaProfilerStart and Stop."""
    import torch

    from .bench import YOURS, benchmark_call
    from .registry import level_by_number

    level = level_by_number(number)
    if level is None:
        return 2
    case = next(case for case in level.benchmark_cases() if case.id == case_id)
    call = benchmark_call(level, case, YOURS, kata)
    for _ in range(WARMUP):
        call()
    torch.cuda.synchronize()
    torch.cuda.profiler.start()
    with compiled_kernels() as compiled:
        call()
    torch.cuda.synchronize()
    torch.cuda.profiler.stop()
    for kernel in compiled:
        print(PROFILED_MARK + json.dumps(dataclasses.asdict(resources_of(kernel))), file=sys.stderr)
    return 0


if __name__ == "__main__":  # python -m pytest_triton_quest.profiling --once N KATA CASE_ID
    if len(sys.argv) == 5 and sys.argv[1] == "--once":
        sys.exit(_run_once(int(sys.argv[2]), Path(sys.argv[3]), sys.argv[4]))
    print("usage: python -m pytest_triton_quest.profiling --once N KATA_FILE CASE_ID", file=sys.stderr)
    sys.exit(2)
