"""The quest's vocabulary: plain records that every other module, and every level pack, shares.

This module imports nothing from the package and nothing heavy (torch only inside a property), so a
level pack can type its cases and diagnosis rules without pulling in the engine.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    import torch

DTYPES: dict[str, str] = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


@dataclass(frozen=True)
class Mode:
    """Where checks run: compiled on a CUDA GPU, or on the CPU through Triton's interpreter."""

    device: str  # "cuda" or "cpu"
    interpreted: bool
    reason: str = ""

    @property
    def on_gpu(self) -> bool:
        return self.device == "cuda" and not self.interpreted

    def describe(self) -> str:
        if self.on_gpu:
            return "GPU (compiled Triton kernels on CUDA)"
        return "CPU (Triton interpreter, TRITON_INTERPRET=1)"


@dataclass(frozen=True)
class Tolerance:
    """Element-wise closeness: |out - ref| <= atol + rtol * |ref| (infinities must match exactly)."""

    atol: float
    rtol: float


@dataclass(frozen=True)
class Case:
    """One check of a level: the inputs it builds and why it exists.

    `params` holds the shape and flags (for example {"n": 1000} or {"B": 2, "S": 77, "causal": True});
    the level turns them into tensors in `make_inputs`. `purpose` is what the case is for, in words a
    learner understands ("ragged tail", "large logits").
    """

    id: str
    dtype: str  # a key of DTYPES
    purpose: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def torch_dtype(self) -> "torch.dtype":
        import torch

        return getattr(torch, DTYPES[self.dtype])


@dataclass(frozen=True)
class Work:
    """What one call must do at least: floating-point operations and bytes moved through memory."""

    flops: float = 0.0
    bytes: float = 0.0


# A PyTorch row of a benchmark: the case's inputs in, the answer out.
Baseline = Callable[[dict[str, Any]], "torch.Tensor"]


# ----- what a kernel launch looked like ------------------------------------------------------------
@dataclass(frozen=True)
class TensorArg:
    name: str  # the kernel parameter name (`p[1]` for a tuple element)
    numel: int
    element_size: int
    data_ptr: int  # address as seen by the kernel
    # The tensor itself, kept only while its check runs, so that rules about what a kernel may be
    # handed (no gathered copy of a cache, say) can look at its values.
    tensor: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ArgumentTraffic:
    """What one launch moved through one tensor argument (interpreter only). A byte counts once per
    active lane of each load or store, so a re-read counts again; the distinct counts are of the
    argument's elements touched at least once, in bytes. Atomics count as a read and a write."""

    name: str  # the kernel parameter name
    data_ptr: int
    numel: int
    element_size: int
    read: int = 0
    written: int = 0
    read_distinct: int = 0
    written_distinct: int = 0


@dataclass(frozen=True)
class LaunchTraffic:
    """One interpreted launch's memory traffic and tl.dot work (watch_kernels(..., count_traffic=True))."""

    arguments: tuple[ArgumentTraffic, ...]
    dot_flops: int = 0  # 2 * M * N * K of every tl.dot tile product, every program, padding included
    # Accesses whose addresses lie in no single tensor argument (a pointer mixed from two of them).
    unattributed_read: int = 0
    unattributed_written: int = 0

    @property
    def read(self) -> int:
        return sum(arg.read for arg in self.arguments) + self.unattributed_read

    @property
    def written(self) -> int:
        return sum(arg.written for arg in self.arguments) + self.unattributed_written

    @property
    def distinct(self) -> int:
        return sum(arg.read_distinct + arg.written_distinct for arg in self.arguments)


@dataclass(frozen=True)
class LaunchRecord:
    kernel: str  # kernel function name
    grid: tuple[int, int, int]  # resolved grid; (0, 0, 0) if it could not be worked out
    tensors: tuple[TensorArg, ...]  # every tensor argument of the launch
    # Interpreter only: why (some of) this launch's memory accesses were not bounds-checked; None
    # when every access was checked. Compiled launches are never checked and leave it None.
    unchecked: str | None = None
    # Interpreter only, when the watch counts traffic: what the launch read, wrote and multiplied.
    traffic: LaunchTraffic | None = field(default=None, compare=False)
    # Interpreter only: the data_ptr of every tensor argument that an active lane of a load read; None
    # when some load's pointer could not be traced to one argument (then nothing is claimed).
    reads: frozenset[int] | None = field(default=None, compare=False)
    # Interpreter only: the data_ptr of every tensor argument that a load addressed, active lanes or
    # not; None likewise.
    loaded: frozenset[int] | None = field(default=None, compare=False)


# ----- evidence for diagnosis rules ------------------------------------------------------------------
class StrayAccess(Protocol):
    """An out-of-bounds access the interpreter's guard stopped (guard.BoundsViolation has these fields)."""

    kernel: str
    access: str  # "load" or "store"
    argument: str | None  # the pointer argument the addresses came from, when known
    offsets: tuple[int, ...]  # a few of the bad element offsets, relative to `argument`
    count: int  # active lanes out of bounds in that access
    numel: int | None
    program_id: tuple[int, int, int]
    masked: bool  # the access had a mask (which let the stray lanes through)
    lanes: int  # active lanes of the access in all (0: not known)
    stray_offsets: tuple[int, ...]  # every distinct stray offset (up to a few thousand), for pictures
    wholly_past_the_end: bool  # every active lane lies after the tensor's end
    far_past_the_end: bool  # some lane reaches more than twice the tensor's size past its start


@dataclass
class StoreMap:
    """Interpreter only: which elements of the output each program stored, in launch order. Rules use it
    to tell a grid that is too small, programs that overlap, or programs that store nothing."""

    programs: list[tuple[str, tuple[int, int, int]]]  # (kernel, program id) of every program that stored into the output
    elements: list[Any]  # for each of them, the sorted flat indices (numpy int64) of the elements it stored
    numel: int
    # Per program (any that addressed the output), the flat indices of output elements its stores
    # addressed with the mask off: (kernel, program id) -> sorted indices.
    masked_off: dict[tuple[str, tuple[int, int, int]], Any] = field(default_factory=dict)
    # Per program, how many stores it made where each reached only elements of its widest store (else
    # 1; absent when not recorded): a loop whose passes all store at one place.
    repeats: dict[tuple[str, tuple[int, int, int]], int] = field(default_factory=dict)


@dataclass(frozen=True)
class TensorTraffic:
    """One tensor's traffic over a whole call (every launch), as level rules see it."""

    name: str  # the input's name ("q"), the output's ("out"), or else the kernel parameter's
    role: str  # "input", "output" or "scratch" (a buffer the function made for itself)
    numel: int
    element_size: int
    read: int
    written: int
    read_distinct: int
    written_distinct: int

    @property
    def size(self) -> int:
        return self.numel * self.element_size


class CallTraffic:
    """What one call of the learner's function moved through memory (interpreter only): the evidence a
    level's `traffic_remark` may use to name a cause, and nothing it has to guess."""

    def __init__(
        self,
        tensors: list[TensorTraffic],
        launches: list[LaunchRecord],
        inputs: dict[str, Any],
        stores: "StoreMap | Callable[[], StoreMap | None] | None" = None,
    ) -> None:
        self.tensors = tensors
        self.launches = launches
        self.inputs = inputs  # the call's inputs, as the kernels saw them
        self._stores = stores

    @property
    def stores(self) -> "StoreMap | None":
        """Which output elements each program stored; worked out on first use only, since most levels
        never ask and it costs a sort per program."""
        if callable(self._stores):
            self._stores = self._stores()
        return self._stores

    def tensor(self, name: str) -> TensorTraffic | None:
        return next((tensor for tensor in self.tensors if tensor.name == name), None)


@dataclass
class ProbeRun:
    """The learner's function called once more, on inputs a diagnosis rule chose."""

    out: "torch.Tensor | None"  # float64 on the CPU; None when the call failed or returned no tensor
    stray: StrayAccess | None  # the first out-of-bounds access, if the guard stopped one
    failed: bool  # the call raised (an out-of-bounds access included)
    launches: list["LaunchRecord"] = field(default_factory=list)
    stores: StoreMap | None = None  # which output elements each program stored
    # With run(..., record_loads=True): (kernel, program id, argument) -> how many distinct elements of
    # that argument the program loaded.
    loads: dict[tuple[str, tuple[int, int, int], str], int] = field(default_factory=dict)


@dataclass
class CleanRun:
    """The function called again with the NaN a level plants in its inputs (`Level.planted_nan`) set
    to 0, and new memory too; kept only where new memory cannot have changed the output (no kernel
    read memory nobody wrote, every output element was stored), so that it stands for a probe run
    with those inputs. `loaded` says which elements of each planted input any load read."""

    out: "torch.Tensor"  # float64 on the CPU
    launches: list["LaunchRecord"]
    loaded: dict[str, "torch.Tensor"]  # bool, each planted input's shape


class Probe(Protocol):
    """Runs the learner's function on other inputs (interpreter only: the guard stops stray accesses)."""

    def run(self, inputs: dict[str, Any], record_loads: bool = False) -> ProbeRun: ...


@dataclass
class OutOfBounds:
    """A call stopped by the guard at an out-of-bounds access, as diagnosis rules see it."""

    case: Case
    inputs: dict[str, Any]  # CPU copies, as the reference saw them
    stray: StrayAccess
    launches: list["LaunchRecord"]
    probe: Probe | None = None


# ----- a failed comparison, as diagnosis rules see it ----------------------------------------------
@dataclass
class Failure:
    """A finished call whose output disagrees with the reference; what diagnosis rules look at."""

    case: Case
    inputs: dict[str, Any]  # CPU copies, as the reference saw them
    out: "torch.Tensor"  # float64, CPU
    ref: "torch.Tensor"  # float64, CPU
    bad: "torch.Tensor"  # bool, True where out is not close to ref
    tolerance: Tolerance
    launches: list[LaunchRecord]
    # Interpreter only: for each output element, the index of the (kernel, program id) that stored it
    # last in the table, or -1; None when unknown (compiled, or a non-contiguous output).
    writers: tuple[Any, list[tuple[str, tuple[int, int, int]]]] | None = None
    # Which output this is, for a level whose function returns several (level 9: dq, dk, dv), and
    # every output that was wrong in the same call, in the level's order.
    output: str = "out"
    wrong_outputs: tuple[str, ...] = ()
    # Interpreter only: every program's stores into the output, and a way to run the function again.
    stores: StoreMap | None = None
    probe: Probe | None = None
    # Every output of the call and its reference (float64, CPU), by name: where wrong values came
    # from is searched across all of them (origins.py). Empty when unknown.
    outputs: dict[str, "torch.Tensor"] = field(default_factory=dict)
    references: dict[str, "torch.Tensor"] = field(default_factory=dict)
    # False when no launch was handed the output's memory: PyTorch wrote it (a copy or a cast after
    # the kernels), so "never stored by any program" would not be true of it.
    handed_to_kernel: bool = True
    # Where the output's unexpected NaN come from (checking.nan_origin): lines for the report, and a
    # `likely:` line when a kernel read memory nothing wrote.
    nan_lines: list[str] = field(default_factory=list)
    nan_headline: str | None = None
    # A scratch buffer made in half precision, when the same call with it in float32 is right
    # (checking.precision_origin).
    precision_headline: str | None = None
    # Two programs of one kernel stored the same elements of one of the function's own buffers
    # (checking._scratch_collision_note); interpreter only.
    scratch_headline: str | None = None
    # Where the output's NaN became exactly 0 when new memory held zeros: elements no kernel wrote
    # (checking.nan_origin); None when that was not tried.
    unwritten: "torch.Tensor | None" = None
    # The call with the level's planted NaN and new memory at 0, where it can stand for a probe run
    # on those inputs (checking.nan_origin); None otherwise.
    clean_run: CleanRun | None = None
    # Inputs the answer needs that no kernel was given, nor a copy of (reads.py).
    unread: list[str] = field(default_factory=list)
    # Inputs a kernel was given that no load addressed (reads.Unloaded, interpreter only).
    unloaded: list[Any] = field(default_factory=list)
    # The `likely:` lines of near misses tried on this case: those whose replay reproduced the output,
    # and those whose replay disagrees with it (evidence.rules_out). A line that some replay of it
    # reproduced is not ruled out by the case, whatever its other replays (other tile widths) gave.
    reproduced: set[str] = field(default_factory=set)
    ruled_out: set[str] = field(default_factory=set)


# ----- the two kinds of diagnosis line ---------------------------------------------------------------
# A cause is named ("likely: ...") only where the evidence singles it out. Where the evidence
# establishes a fact but not which of several causes made it, the line says what was seen and where to
# look ("seen: ..."); it ranks after every named cause and is not counted as a named bug.
SEEN = "seen: "
LIKELY = "likely: "
_SEVERAL = "likely, one of these (each reproduces your output): "
_OR = "; or "


def one_of(notes: list[str]) -> str:
    """The `likely:` line for replays that each reproduce the output: one names its bug; several are
    all named, since the output cannot tell them apart (and nothing else is)."""
    distinct = list(dict.fromkeys(notes))
    if len(distinct) == 1:
        return distinct[0]
    return _SEVERAL + _OR.join(note.removeprefix(LIKELY) for note in distinct[:3])


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def bug_key(line: str) -> str:
    """A diagnosis line with its numbers blanked: the same bug at offset 1, 1000 and 98765, or with
    tiles of 16 or of 64, is one bug."""
    return _NUMBER.sub("#", line)


def causes(line: str) -> list[str]:
    """The `likely:` lines a diagnosis line names: itself, or each of a line of several."""
    if line.startswith(_SEVERAL):
        return [LIKELY + body for body in line.removeprefix(_SEVERAL).split(_OR)]
    return [line]


def borne_out(line: str, ruled_out: set[str]) -> str | None:
    """A diagnosis line less the near misses that another failing case rules out (`ruled_out` holds
    their bug_key: that case tried the slip at every size it knows and none gave its output): issue
    22 names a near miss only where it reproduces the output on the failing cases, all of them. None
    when every cause the line names is ruled out."""
    named = causes(line)
    left = [note for note in named if bug_key(note) not in ruled_out]
    if len(left) == len(named):
        return line
    return one_of(left) if left else None


# ----- the outcome of one case, as it travels from the worker process to the pytest item ------------
PASSED = "passed"
FAILED = "failed"
NOT_IMPLEMENTED = "not_implemented"
BROKEN_KATA = "broken_kata"  # the kata file cannot be imported or has no usable function
CRASHED = "crashed"  # the worker process died, or CUDA reported an error that poisons the context
TIMED_OUT = "timed_out"

# A case's report must fit one terminal screen of this size.
SCREEN_WIDTH = 100
SCREEN_ROWS = 40


@dataclass
class CaseResult:
    outcome: str
    message: str = ""
    diagnoses: list[str] = field(default_factory=list)
    # Would fail on a GPU although it passed here (interpreter only), e.g. a tl.dot tile under 16.
    portability: list[str] = field(default_factory=list)
    # What the quest did differently from compiled Triton to run this case (one autotune config on
    # the CPU, ...): said once in the summary, not with each case.
    notes: list[str] = field(default_factory=list)
    # The remaining cases of the level would fail the same way; they are not run.
    stops_level: bool = False
    # The process must not run anything else (a CUDA error poisons the context).
    process_poisoned: bool = False
    duration_s: float = 0.0
    # Interpreter only, for the level's representative case: the memory traffic of the call, as a
    # plain dict (traffic.TrafficReport.to_dict) so that it travels from the worker as JSON.
    traffic: dict[str, Any] | None = None
    # Interpreter only, for a failed comparison: what a picture of it shows (picture.TileView as a
    # dict), drawn by pytest's process when --quest-picture asks for it.
    picture: dict[str, Any] | None = None
    # With pictures asked for, on an attention level: which key tiles each query program read
    # (picture.KeyTileView as a dict).
    key_picture: dict[str, Any] | None = None
    # Interpreter only, for an access the guard stopped: where its stray lanes fell against the
    # tensor's extent (picture.StrayView as a dict).
    stray_picture: dict[str, Any] | None = None
    # Lines printed after everything else (where the picture went).
    footer: list[str] = field(default_factory=list)
    # Near misses this case's output rules out, as bug_key (Failure.ruled_out less what some replay of
    # the same bug reproduced), for the level's summary: a line another case gives for one of them is
    # left out there (model.borne_out).
    ruled_out: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcome == PASSED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CaseResult":
        return cls(**data)


class PortabilityWarning(UserWarning):
    """The kernel passed in the interpreter but would not compile or run the same on a GPU."""


def format_report(result: CaseResult) -> str:
    """The failure as the learner reads it: the message, the likely causes, then GPU caveats."""
    lines = [*result.message.splitlines(), *result.diagnoses]
    lines += [f"on a GPU: {note}" for note in result.portability]
    lines += result.footer
    return "\n".join(lines)


def screen_rows(report: str, width: int = SCREEN_WIDTH) -> int:
    """How many rows of a `width`-column terminal the report fills, long lines wrapping."""
    return sum(max(1, -(-len(line) // width)) for line in report.splitlines())


def index_ranges(indices: list[int], limit: int = 6) -> str:
    """Sorted indices as ranges, '0..5, 9, 12..15', the first `limit` of them."""
    spans: list[tuple[int, int]] = []
    for index in indices:
        if spans and index == spans[-1][1] + 1:
            spans[-1] = (spans[-1][0], index)
        else:
            spans.append((index, index))
    text = ", ".join(f"{a}" if a == b else f"{a}..{b}" for a, b in spans[:limit])
    return text + (f", ... ({len(spans) - limit} more ranges)" if len(spans) > limit else "")
