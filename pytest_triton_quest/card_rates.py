"""The card in front of the learner: measured once, kept in the progress file, told in one line.

The first GPU run on a card (`pytest`, `triton-quest profile`, `triton-quest card`) measures, in a few
seconds:

- the copy rate: a device-to-device copy of a buffer as large as free memory allows (at most 1 GiB,
  several times any L2 cache), bytes read plus bytes written per second;
- the dense tensor-core rates: torch.matmul on square fp16 matrices, bf16 where the card has it, and
  float32 with TF32 allowed (then restored), on sizes that fill the card; and float32 with TF32 off,
  the CUDA cores, which is what a float32 tl.dot gets on a card without TF32.

Each figure is the median of several calls timed by CUDA events after a warm-up. It runs in a child
process, so the learner's run keeps no CUDA context or cached gigabyte from it, and a driver that
fails takes down only the child. The figures are kept per device name with the torch version and the
date; a later run on the same card reuses them, and `triton-quest card --measure` measures again.

This module also says which levels a card can run: a level names what it needs (`Level.needs`, and
each case's dtype), card.py says from which compute capability a card has it.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ._lazy import torch
from .card import TF32_SINCE, Card, Feature, Measured, capability_text, card_for, missing
from .levels.base import Level
from .model import Case, Mode
from .progress import ProgressStore, now
from .registry import span

MIB = 1 << 20
COPY_MOST_BYTES = 1 << 30
# A copy that fits in the L2 cache times the cache, not the memory: the buffer must be several
# times the L2 (50 MB on an H100, 72 MB on an RTX 4090).
COPY_FEWEST_BYTES = 256 * MIB
L2_TIMES = 4
SIZES = (4096, 8192)  # square matrix products; 4096 fills a small card, 8192 an H100
# A 4096 product slower than this already fills the card: 8192 would only cost the learner time.
FILLED_AFTER_S = 10e-3
# Before timing: cuBLAS picks its kernel and the allocator grows on the first calls, and an idle card
# needs some milliseconds of work to raise its clocks.
WARMUP_CALLS = 2
WARMUP_S = 0.05
TIMED_S = 0.25  # about this long timed per figure and size
FEWEST_CALLS, MOST_CALLS = 5, 200
CHILD_TIMEOUT_S = 120.0
MEASURE_AGAIN = "triton-quest card --measure"


class MeasureError(Exception):
    """The card could not be measured; the message says why, in one line."""


# ----- measuring (needs CUDA) -------------------------------------------------------------------------
def gpu_at_hand() -> tuple[str, tuple[int, int]]:
    """The current CUDA device's name, as torch reports it, and its compute capability."""
    index = torch.cuda.current_device()
    major, minor = torch.cuda.get_device_capability(index)
    return torch.cuda.get_device_name(index), (int(major), int(minor))


def median_seconds(call: Callable[[], Any]) -> float:
    """GPU time of one call: the median of several, each between its own CUDA events, after a warm-up;
    as many calls as fit in about TIMED_S."""
    started = time.perf_counter()
    calls = 0
    while calls < WARMUP_CALLS or time.perf_counter() - started < WARMUP_S:
        call()
        torch.cuda.synchronize()
        calls += 1
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    call()
    end.record()
    end.synchronize()
    once = max(start.elapsed_time(end) / 1e3, 1e-6)
    calls = min(max(int(TIMED_S / once), FEWEST_CALLS), MOST_CALLS)
    events = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(calls)]
    for begin, finish in events:
        begin.record()
        call()
        finish.record()
    torch.cuda.synchronize()
    return statistics.median(begin.elapsed_time(finish) for begin, finish in events) / 1e3


def copy_gb_per_s() -> float:
    """Bytes read plus bytes written per second by dst.copy_(src), both on the card."""
    free, _ = torch.cuda.mem_get_info()
    properties = torch.cuda.get_device_properties(torch.cuda.current_device())
    fewest = max(COPY_FEWEST_BYTES, L2_TIMES * int(getattr(properties, "L2_cache_size", 0)))
    size = min(COPY_MOST_BYTES, free // 4) // MIB * MIB  # two buffers in at most half the free memory
    if size < fewest:
        raise MeasureError(f"only {free // MIB} MiB of GPU memory is free: too little for a copy the L2 cache cannot hold")
    source = torch.ones(size, dtype=torch.uint8, device="cuda")
    target = torch.empty_like(source)
    seconds = median_seconds(lambda: target.copy_(source))
    del source, target
    return 2 * size / seconds / 1e9


@contextlib.contextmanager
def float32_products(tf32: bool) -> Iterator[None]:
    """float32 matrix products with TF32 allowed or not, restored afterwards."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    try:
        yield
    finally:
        torch.set_float32_matmul_precision(before)


def matmul_tflops(dtype: Any) -> float:
    """Dense TFLOP/s of torch.mm on square matrices of `dtype`: the best of the sizes that fit."""
    best = 0.0
    element = torch.finfo(dtype).bits // 8
    for n in SIZES:
        free, _ = torch.cuda.mem_get_info()
        if 3 * n * n * element > free // 2:
            break
        a, b = (torch.randn(n, n, device="cuda", dtype=dtype) for _ in range(2))  # random: zeros run faster
        out = torch.empty(n, n, device="cuda", dtype=dtype)
        seconds = median_seconds(lambda: torch.mm(a, b, out=out))
        best = max(best, 2 * n**3 / seconds / 1e12)
        del a, b, out
        if seconds > FILLED_AFTER_S:
            break
    if not best:
        raise MeasureError(f"too little GPU memory is free for a {SIZES[0]} x {SIZES[0]} matrix product")
    return best


def measure() -> Measured:
    """Measure the current CUDA device, in this process (card_check.py; the quest itself uses
    `measure_in_child`)."""
    if not torch.cuda.is_available():
        raise MeasureError("torch sees no CUDA GPU")
    name, capability = gpu_at_hand()
    copy = copy_gb_per_s()
    fp16 = matmul_tflops(torch.float16)
    bf16 = None if missing(("bf16",), capability) else matmul_tflops(torch.bfloat16)
    with float32_products(tf32=True):
        tf32 = matmul_tflops(torch.float32) if capability >= TF32_SINCE else None
    with float32_products(tf32=False):
        fp32 = matmul_tflops(torch.float32)
    torch.cuda.empty_cache()  # give the gigabytes back to the card
    rates = {"copy_gb_per_s": copy, "fp16_tflops": fp16, "bf16_tflops": bf16, "tf32_tflops": tf32, "fp32_tflops": fp32}
    kept = {key: None if value is None else round(value, 1) for key, value in rates.items()}
    return Measured(name, capability, **kept, torch=str(torch.__version__), measured_at=now())


def measure_in_child(timeout_s: float = CHILD_TIMEOUT_S) -> Measured:
    """`measure()` in a child process (see the module's docstring); raises MeasureError."""
    command = [sys.executable, "-m", "pytest_triton_quest.card_rates"]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise MeasureError(f"the measurement took more than {timeout_s:g} s") from None
    except OSError as error:
        raise MeasureError(f"could not start the measurement ({error.strerror or error})") from None
    if completed.returncode != 0:
        said = [line.strip() for line in completed.stderr.splitlines() if line.strip()]
        raise MeasureError(said[-1][:200] if said else f"the measurement stopped with exit code {completed.returncode}")
    try:
        data = json.loads(completed.stdout.strip().splitlines()[-1])
        return Measured.from_json(data.pop("name", None), data)
    except (IndexError, AttributeError, json.JSONDecodeError, ValueError) as error:
        raise MeasureError(f"the measurement's answer was unreadable ({error})") from None


def _main() -> int:
    """The child: one JSON line on stdout, or one line on stderr saying why not."""
    try:
        measured = measure()
    except MeasureError as error:
        print(error, file=sys.stderr)
        return 1
    except Exception as error:  # noqa: BLE001 - an out-of-memory or driver error: one line, for the parent
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        print(f"{type(error).__name__}: {first}", file=sys.stderr)
        return 1
    print(json.dumps({"name": measured.name, **measured.to_json()}))
    return 0


# ----- the card at hand ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CardAtHand:
    """The GPU a run is on: its name and compute capability, its measured figures if any."""

    name: str
    capability: tuple[int, int]
    measured: Measured | None = None
    fresh: bool = False  # measured in this run
    problem: str | None = None  # why it could not be measured (again)

    @property
    def card(self) -> Card | None:
        """The roofs to divide by: measured, else the datasheet's, else None."""
        return card_for(self.name, self.measured)

    def line(self) -> str:
        """The card in one line: which it is and where its figures come from."""
        head = f"{self.name} (compute capability {capability_text(self.capability)})"
        card = self.card
        if self.measured is not None and card is not None:
            if self.problem:
                return f"{head} could not be measured again ({self.problem}); the figures kept: {card.source}"
            note = f"; measured now, once for this card ({MEASURE_AGAIN} measures it again)" if self.fresh else ""
            return f"{head}: {card.source}{note}"
        why = f"could not be measured ({self.problem})" if self.problem else "is not measured yet"
        if card is not None:
            return f"{head} {why}, so its datasheet's figures are used: {card.source}"
        return f"{head} is in no datasheet table of card.py and {why.removeprefix('is ')}: rates are shown without a roofline"


def the_card(
    store: ProgressStore,
    gpu: tuple[str, tuple[int, int]] | None = None,
    again: bool = False,
    measure_with: Callable[[], Measured] = measure_in_child,
    say: Callable[[str], None] | None = None,
) -> CardAtHand:
    """The card in front of the learner: its kept figures, else (or with `again`) measured now and
    kept in the progress file. `gpu` is (name, compute capability); by default the current device.
    `say` tells the learner, before the seconds a measurement takes."""
    name, capability = gpu if gpu is not None else gpu_at_hand()
    kept = store.load().cards.get(name)
    if kept is not None and not again:
        return CardAtHand(name, capability, kept)
    if say is not None:
        say(f"Measuring this {name} {'again' if kept else 'once'} (copy rate, tensor-core rates): a few seconds...")
    try:
        measured = measure_with()
    except MeasureError as error:
        return CardAtHand(name, capability, kept, problem=str(error))
    if measured.name != name:  # the child saw another device (CUDA_VISIBLE_DEVICES changed?)
        return CardAtHand(name, capability, kept, problem=f"the measurement ran on another device, {measured.name}")
    with store.update() as progress:
        progress.cards[name] = measured
    return CardAtHand(name, capability, measured, fresh=True)


# ----- which levels a card can run ------------------------------------------------------------------------
def _lacking(features: list[Feature]) -> str:
    return " or ".join(f"{feature.what} (it needs compute capability {capability_text(feature.since)})" for feature in features)


def skip_reason(level: Level, case: Case, name: str, capability: tuple[int, int]) -> str | None:
    """Why this card cannot run this case, or None when it can."""
    lacking = missing(level.case_needs(case), capability)
    if not lacking:
        return None
    return f"this {name} (compute capability {capability_text(capability)}) has no {_lacking(lacking)}"


def support_line(levels: tuple[Level, ...], mode: Mode, name: str, capability: tuple[int, int]) -> str | None:
    """Which levels this card can run, for the run's header; None when it runs every level whole."""
    whole: list[int] = []
    partial: list[int] = []
    blocked: list[int] = []
    lacking: dict[str, Feature] = {}
    skipped = 0
    for level in levels:
        level_lacks = missing(level.needs, capability)
        if level_lacks:
            lacking.update((feature.name, feature) for feature in level_lacks)
            blocked.append(level.number)
            continue
        short = [case for case in level.cases(mode) if missing(level.case_needs(case), capability)]
        for case in short:
            lacking.update((feature.name, feature) for feature in missing(level.case_needs(case), capability))
        if short:
            partial.append(level.number)
            skipped += len(short)
        else:
            whole.append(level.number)
    if not lacking:
        return None
    said = [f"this {name} (compute capability {capability_text(capability)}) has no {_lacking(list(lacking.values()))}"]
    if partial:
        said.append(
            f"{_levels(partial, 'runs', 'run')} here without the {skipped} checks that need it (skipped, each saying why), and can be passed"
        )
    if blocked:
        said.append(f"{_levels(blocked, 'cannot', 'cannot')} run on this card")
    if whole:
        said.append(f"{_levels(whole, 'runs', 'run')} whole")
    return "; ".join(said)


def _levels(numbers: list[int], one: str, several: str) -> str:
    """"level 5 runs", "levels 1, 2 run": the numbers and the verb that agrees with them."""
    return f"level {numbers[0]} {one}" if len(numbers) == 1 else f"levels {span(numbers)} {several}"


if __name__ == "__main__":  # python -m pytest_triton_quest.card_rates: the child of measure_in_child
    sys.exit(_main())
