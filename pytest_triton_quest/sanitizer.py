"""Out-of-bounds checks for compiled kernels: the worker runs under NVIDIA's compute-sanitizer (issue 14).

On the CPU the interpreter's guard (guard/) stops every stray load and store. Compiled, nothing
does: a stray lane of an unmasked load reads whatever lies past the tensor, and with PyTorch's
caching allocator that is usually slack of the same pool, so a kernel with no mask at all can pass
every check. `compute-sanitizer --tool memcheck` tracks every allocation, and with the caching
allocator off (PYTORCH_NO_CUDA_MEMORY_CACHING=1) every tensor is an allocation of its own, so it
sees the first byte past each tensor. It stops the kernel, the launch fails ("unspecified launch
failure"), and its log says which kernel, which source line, which thread and block, and which
address. This module decides whether to use it (`plan_sanitizer`), builds the command that wraps
the worker, and turns the log into the same report the CPU guard gives (`explain_log`).

The sanitizer cannot know which pointer argument an address was computed from, so the report says
where the address lies instead: past the end of (or before) the tensor argument nearest to it.
That is a fact about memory, always true; the CPU guard, which sees provenance, says more.

Importing this module imports neither torch nor triton.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from .device import CUDA_TOOL_FOLDERS, find_cuda_tool

CHOICES = ("auto", "on", "off")
# Set in a sanitized worker's environment: the file its launches are logged to (see LaunchLog).
LAUNCH_LOG_VARIABLE = "TRITON_QUEST_LAUNCH_LOG"
TOOL = "compute-sanitizer"
# Where CUDA toolkits put it when it is not on PATH (the lent GPU image has it in the first).
NO_CACHING = {"PYTORCH_NO_CUDA_MEMORY_CACHING": "1"}
# Enough reports to show the pattern of a stray tile; past it the sanitizer only counts.
PRINT_LIMIT = 256


class SanitizerError(Exception):
    """`--quest-sanitize on` cannot be honoured; the message is one line for the learner."""


@dataclass(frozen=True)
class SanitizerPlan:
    """How this run checks compiled kernels' memory accesses."""

    tool: str | None  # the compute-sanitizer executable; None: the worker runs unwrapped
    note: str | None  # a line for the run's header, when there is something to say

    def command(self, log_path: Path) -> list[str]:
        """The words that go before `python -m pytest_triton_quest.worker ...`."""
        if self.tool is None:
            return []
        # No host backtraces: the kata line comes from the kernel's own line info, and the
        # backtraces would make the log ten times longer.
        return [self.tool, "--tool", "memcheck", "--log-file", str(log_path), "--print-limit", str(PRINT_LIMIT), "--show-backtrace", "no"]

    @property
    def env(self) -> dict[str, str]:
        return dict(NO_CACHING) if self.tool else {}


OFF = SanitizerPlan(None, None)


def find_tool() -> str | None:
    return find_cuda_tool(TOOL)


def plan_sanitizer(setting: str, on_gpu: bool, isolated: bool, tool: str | None) -> SanitizerPlan:
    """What `--quest-sanitize SETTING` means for this run. Raises SanitizerError when `on` cannot be
    honoured, so that the learner never believes in a check that is not running."""
    if setting not in CHOICES:
        raise SanitizerError(f"--quest-sanitize {setting!r}: choose one of {', '.join(CHOICES)}")
    if setting == "off":
        return OFF
    if not on_gpu:
        return OFF  # the interpreter's guard checks every access on the CPU
    if not isolated:
        if setting == "on":
            raise SanitizerError("--quest-sanitize on needs the worker process: drop --quest-isolation none")
        return SanitizerPlan(None, "triton-quest: out-of-bounds accesses are NOT checked: --quest-isolation none runs kernels outside compute-sanitizer")
    if tool is None:
        if setting == "on":
            raise SanitizerError(f"--quest-sanitize on: {TOOL} was not found on PATH nor in {', '.join(CUDA_TOOL_FOLDERS)} (it comes with the CUDA toolkit)")
        return SanitizerPlan(
            None,
            f"triton-quest: out-of-bounds accesses are NOT checked on this GPU: {TOOL} was not found (install the CUDA toolkit, or put its bin folder on PATH)",
        )
    return SanitizerPlan(tool, f"triton-quest: out-of-bounds accesses checked by {TOOL} memcheck (PyTorch's caching allocator is off in the worker)")


# ----- the log ---------------------------------------------------------------------------------------
@dataclass
class BadAccess:
    """One report of the memcheck log: one thread's bad access."""

    kind: str  # "read", "write" or "atomic"
    size: int  # bytes of the access
    space: str = "global"
    kernel: str | None = None
    file: str | None = None
    line: int | None = None
    thread: tuple[int, int, int] | None = None
    block: tuple[int, int, int] | None = None
    address: int | None = None
    nearest: tuple[str, int, int] | None = None  # ("after" | "before", allocation start, its size in bytes)


_HEADER = re.compile(r"Invalid __(global|shared|local)__ (read|write|atomic) of size (\d+) bytes?")
_AT = re.compile(r"^\s*at (?:0x[0-9a-fA-F]+ in )?(.+?)(?:\+0x[0-9a-fA-F]+)?(?: in (.+?):(\d+))?\s*$")
_THREAD = re.compile(r"by thread \((\d+),(\d+),(\d+)\) in block \((\d+),(\d+),(\d+)\)")
_ADDRESS = re.compile(r"(?:Access to|Address) (0x[0-9a-fA-F]+) is ")
_NEAREST = re.compile(r"is ([\d,]+) bytes? (after|before) the nearest allocation at (0x[0-9a-fA-F]+) of size ([\d,]+) bytes?")
_SUMMARY = re.compile(r"ERROR SUMMARY: ([\d,]+) errors?\s*$")
_PREFIX = re.compile(r"^=+ ?")


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def parse_log(text: str) -> tuple[list[BadAccess], int | None]:
    """The memory errors of a memcheck log, and the total its summary gives (None without one)."""
    errors: list[BadAccess] = []
    total = None
    current: BadAccess | None = None
    for raw in text.splitlines():
        line = _PREFIX.sub("", raw, count=1)
        header = _HEADER.search(line)
        if header:
            current = BadAccess(kind=header.group(2), size=int(header.group(3)), space=header.group(1))
            errors.append(current)
            continue
        summary = _SUMMARY.search(line)
        if summary:
            total = _number(summary.group(1))
            current = None
            continue
        if current is None:
            continue
        if current.kernel is None and line.lstrip().startswith("at "):
            match = _AT.match(line)
            if match:
                current.kernel = match.group(1)
                current.file = match.group(2)
                current.line = int(match.group(3)) if match.group(3) else None
            continue
        thread = _THREAD.search(line)
        if thread:
            numbers = tuple(int(value) for value in thread.groups())
            current.thread, current.block = numbers[:3], numbers[3:]  # type: ignore[assignment]
            continue
        address = _ADDRESS.search(line)
        if address:
            current.address = int(address.group(1), 16)
        nearest = _NEAREST.search(line)
        if nearest:
            current.nearest = (nearest.group(2), int(nearest.group(3), 16), _number(nearest.group(4)))
    return errors, total


# ----- the report --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LaunchedTensor:
    """A tensor argument of a launch, as the worker saw it (sent with a crashed case's result)."""

    kernel: str
    name: str
    data_ptr: int
    numel: int
    element_size: int

    @property
    def end(self) -> int:
        return self.data_ptr + self.numel * self.element_size

    @classmethod
    def from_list(cls, values: Iterable[Any]) -> "LaunchedTensor":
        kernel, name, data_ptr, numel, element_size = values
        return cls(str(kernel), str(name), int(data_ptr), int(numel), int(element_size))


def _site(error: BadAccess, kata_path: Path | None, shown: Any) -> str | None:
    if error.file is None or error.line is None:
        return None
    if kata_path is not None and Path(error.file).name == kata_path.name:
        return f"{shown(kata_path)}:{error.line}"
    return f"{error.file}:{error.line}"


# How far from a tensor an address may lie and still be called "just past its end" (or "just before
# its start"): a tile's stray lanes stay within one tile; an address further away is a wild pointer,
# and naming a tensor for it would be a guess.
_NEAR_BYTES = 1 << 16


def _near(tensor: LaunchedTensor) -> int:
    return max(tensor.numel * tensor.element_size, _NEAR_BYTES)


def _place_one(address: int, tensors: list[LaunchedTensor]) -> tuple[LaunchedTensor, str] | None:
    if any(t.data_ptr <= address < t.end for t in tensors):
        return None  # inside a tensor: not a plain overrun
    past = [t for t in tensors if t.end <= address < t.end + _near(t)]
    if past:
        return max(past, key=lambda t: t.end), "past"
    before = [t for t in tensors if t.data_ptr - _near(t) <= address < t.data_ptr]
    if before:
        return min(before, key=lambda t: t.data_ptr), "before"
    return None


def _placement(addresses: list[int], size: int, tensors: list[LaunchedTensor]) -> tuple[LaunchedTensor, str, int, int] | None:
    """The tensor argument the addresses lie just past the end of (or just before), the side, and
    the first and last element offset relative to its start; None unless every address agrees."""
    placed = {_place_one(address, tensors) for address in addresses}
    if len(placed) != 1 or None in placed:
        return None
    (chosen, side), = placed  # type: ignore[misc]
    first = (min(addresses) - chosen.data_ptr) // chosen.element_size
    last = (max(addresses) + size - 1 - chosen.data_ptr) // chosen.element_size
    return chosen, side, first, last


def _named_on_the_line(error: BadAccess, kata_path: Path | None, tensors: list[LaunchedTensor]) -> LaunchedTensor | None:
    """The one tensor argument whose parameter name appears on the kata line of the access, if there
    is exactly one: then the address was computed from it (provenance, as the CPU guard knows it).
    A line that names none (a pointer built earlier) or several says nothing."""
    if kata_path is None or error.file is None or error.line is None or Path(error.file).name != kata_path.name:
        return None
    try:
        source = kata_path.read_text(encoding="utf-8", errors="replace").splitlines()[error.line - 1]
    except (OSError, IndexError):
        return None
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source.split("#", 1)[0]))
    named = {t.name: t for t in tensors if t.name in words}
    return next(iter(named.values())) if len(named) == 1 else None


def _programs(errors: list[BadAccess]) -> str:
    blocks = sorted({error.block for error in errors if error.block is not None})
    if not blocks:
        return ""
    first = f"program id {blocks[0]}"
    return first if len(blocks) == 1 else f"{first} and {len(blocks) - 1} other program{'s' if len(blocks) > 2 else ''}"


def _locate(addresses: list[int], first: BadAccess, kata_path: Path | None, tensors: list[LaunchedTensor]) -> tuple[LaunchedTensor, str, int, int] | None:
    """The tensor the stray addresses belong to, how ("outside": named by the kata line, so computed
    from it; "past" or "before": where they lie), and their first and last element offset."""
    source = _named_on_the_line(first, kata_path, tensors)
    if source is None:
        return _placement(addresses, first.size, tensors)
    low = (min(addresses) - source.data_ptr) // source.element_size
    high = (max(addresses) + first.size - 1 - source.data_ptr) // source.element_size
    if 0 <= low < source.numel <= high:
        low = source.numel  # a vector access that starts inside the tensor strays from its end on
    return source, "outside", low, high


_RELATIONS = {"outside": "outside", "past": "just past the end of", "before": "just before the start of"}


def explain_log(text: str, tensors: list[LaunchedTensor], kata_path: Path | None = None) -> str | None:
    """The learner's report of the first bad access in a memcheck log, in the CPU guard's words, or
    None when the log holds no memory error."""
    from .paths import shown

    errors, total = parse_log(text)
    errors = [error for error in errors if error.space == "global"] or errors
    if not errors:
        return None
    first = errors[0]
    kernel = first.kernel or "?"
    # One access of the kata: the same kernel, kind and source line (an unmasked x and an unmasked y
    # are two accesses, and offsets are only meaningful against one tensor).
    access_errors = [
        error for error in errors
        if error.kind == first.kind and (error.kernel or "?") == kernel and (error.file, error.line) == (first.file, first.line)
    ]
    access = "store" if first.kind == "write" else "load" if first.kind == "read" else "atomic"
    site = _site(first, kata_path, shown)
    where = f"out-of-bounds {access} in kernel `{kernel}`" + (f" ({site})" if site else "")
    programs = _programs(access_errors)
    if programs:
        where += f", {programs}"
    addresses = sorted({error.address for error in access_errors if error.address is not None})
    kernel_tensors = [t for t in tensors if t.kernel == kernel] or tensors
    located = _locate(addresses, first, kata_path, kernel_tensors) if addresses else None
    capped = len(errors) >= PRINT_LIMIT or (total is not None and total > len(errors))
    count = len(access_errors)
    threads = f"{'at least ' if capped else ''}{count} thread{'s' if count != 1 else ''}"
    verb = "wrote" if first.kind == "write" else "read"
    if located is not None:
        tensor, relation, low, high = located
        span = f"element offset {low}" if low == high else f"element offsets {low}..{high}"
        if capped:
            # Reports that were not printed may lie on either side of this span (seen on the H200: an
            # unmasked store's log began at offset 128), so say where it comes from, not "or beyond".
            span += f" in the {len(errors)} reports printed"
        elements = f"{tensor.numel} element{'s' if tensor.numel != 1 else ''}"
        what = f"{threads} {verb} {_RELATIONS[relation]} `{tensor.name}` ({span}; the tensor has {elements})"
    elif first.nearest is not None:
        side, _, size = first.nearest
        what = f"{threads} {verb} outside every tensor argument (the first address is {side} an allocation of {size} bytes)"
    else:
        what = f"{threads} {verb} outside every tensor argument"
    if access == "store":
        before = located is not None and located[3] < 0
        hint = "Mask the store so that offsets stay in 0..n-1." if before else "Mask the store with offsets < n."
    else:
        # Compiled, the log does not say whether the load had a mask: both fixes, as the facts allow.
        hint = "Mask the load (and give `other=`); if it has a mask, that mask does not cover these offsets."
    # No full stop: a summary may go on with "; the rest of the level was not run."
    return f"{where}: {what}; found by {TOOL}\n{hint}"


class LaunchLog:
    """Writes each compiled launch's tensor arguments to a file as the launch happens, one JSON row a
    tensor, the file emptied when a call begins. Without the caching allocator, a tensor freed while
    a stopped kernel's error is pending aborts the process, and it may do so inside the learner's own
    function, before any answer: the parent reads the tensors here, whether the worker answered or not.
    A row already written is not written again: an autotuner's timing runs repeat the same buffers."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.path.write_text("", encoding="utf-8")
        self._written: set[tuple[Any, ...]] = set()

    def __call__(self, record: Any) -> None:
        rows = [row for row in launched_tensors([record]) if tuple(row) not in self._written]
        if not rows:
            return
        with self.path.open("a", encoding="utf-8") as log:
            for row in rows:
                log.write(json.dumps(row) + "\n")
                self._written.add(tuple(row))


def read_launch_log(path: Path) -> list[list[Any]]:
    rows: list[list[Any]] = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return rows
    for line in text.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue  # a row cut short by the abort
        if isinstance(row, list) and len(row) == 5:
            rows.append(row)
    return rows[-64:]


def launched_tensors(launches: Iterable[Any]) -> list[list[Any]]:
    """The tensor arguments of launches, as JSON-ready rows, each once."""
    seen: list[list[Any]] = []
    for launch in launches:
        for arg in launch.tensors:
            row = [launch.kernel, arg.name, arg.data_ptr, arg.numel, arg.element_size]
            if row not in seen:
                seen.append(row)
    return seen[-64:]  # an autotuned first call repeats its buffers; the last ones are this call's
