"""What a level is: one place for its cases, reference, tolerance, hints and diagnosis rules.

A level module defines one `Level` subclass. The checker asks it for the cases of the current mode,
builds each case's inputs, calls the learner's function, and compares against `reference`, which is
computed in float64 on the CPU so that it is never the thing under test.

`Level` is an abstract base class: a subclass that leaves out a required method cannot be
instantiated, and `definition_problems` names any required class attribute that is missing or
malformed, so a broken level pack fails when it registers, with a message that says what to fix.
"""

from __future__ import annotations

import abc
import math
from typing import TYPE_CHECKING, Any, ClassVar

from ..card import DTYPE_NEEDS, FEATURES
from ..model import Baseline, CallTraffic, Case, CaseResult, Failure, Mode, OutOfBounds, Probe, Tolerance, Work

if TYPE_CHECKING:
    import torch as torch_types

__all__ = ["Baseline", "CallTraffic", "Case", "Failure", "Level", "Mode", "OutOfBounds", "Tolerance", "Work", "default_scale"]


class Level(abc.ABC):
    """Base class for a level. Subclasses set the class attributes and implement the abstract methods."""

    number: ClassVar[int]
    name: ClassVar[str]
    kata_file: ClassVar[str]  # file name inside the kata folder
    function: ClassVar[str]  # the public function the kata must define
    concept: ClassVar[str]  # one paragraph: what the level teaches and why Flash Attention needs it
    hints: ClassVar[tuple[str, ...]]  # graded: from the idea to nearly the answer (six in the built-in levels)
    # The dtypes the contract accepts on the CPU (bf16 joins them on a GPU); cases must cover each.
    cpu_dtypes: ClassVar[tuple[str, ...]] = ("fp32", "fp16")
    # What every case of this level needs from a GPU (names in card.FEATURES), beyond what each case's
    # dtype needs (a bf16 case needs "bf16"): on a card without it the level is not run there, and
    # the learner is told before any check. Empty: any CUDA card that Triton runs on.
    needs: ClassVar[tuple[str, ...]] = ()
    # The most Triton kernel launches one call may make (1 for the fused attention levels); None: any.
    max_launches: ClassVar[int | None] = None
    # The input whose tiles `--quest-picture` draws against the query programs that read them (the
    # keys of an attention level, laid out (batch, head, S, D)); None: no such picture.
    picture_keys: ClassVar[str | None] = None
    # What the public function returns: one tensor, or a tuple of tensors with these names, in this
    # order (level 9 returns dq, dk, dv). `reference` returns a tensor or a tuple to match.
    outputs: ClassVar[tuple[str, ...]] = ("out",)
    # What the rows of an attention-shaped output are, for the error map, where not query rows.
    output_rows: ClassVar[dict[str, str]] = {}
    # The names of an output's axes where reports say which values moved, when the generic ones
    # (batch, head, row, column) say less: a score matrix is (batch, head, query, key).
    output_axes: ClassVar[dict[str, tuple[str, ...]]] = {}
    # How the checks call the public function: these inputs by position, then `keywords` by name.
    positional: ClassVar[tuple[str, ...]]
    keywords: ClassVar[tuple[str, ...]] = ()
    # The inputs the answer cannot be computed without: a call whose kernels never read one of them
    # fails (the answer came from PyTorch). None: every positional input. Leave out inputs a kernel
    # may rightly recompute instead of reading (level 9's lse).
    read_inputs: ClassVar[tuple[str, ...] | None] = None
    # Inputs that hold NaN on purpose where the answer never reads (level 11's unused cache slots), so
    # that reading there cannot pass by luck. Where the output's NaN come from is asked with them at 0.
    planted_nan: ClassVar[tuple[str, ...]] = ()
    # The speedup against PyTorch that earns "legend", per head dimension D, where 1.0x proved out of
    # reach in Triton 3.6 (issue 24): what the hidden solution measured (BENCHMARKS.md). The other tiers
    # are the same fractions of it as of 1.0x elsewhere. Empty: legend is 1.0x at every shape.
    legend_by_head_dim: ClassVar[dict[int, float]] = {}

    def legend_speedup(self, case: Case) -> float:
        """The speedup that is legend at this case's shape (1.0 unless the level says otherwise)."""
        return self.legend_by_head_dim.get(int(case.params.get("D", 0)), 1.0)

    def call_arguments(self, inputs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """The public function's arguments from a case's inputs: keywords the case leaves out are not
        passed, so the learner's defaults (causal=True, scale=None) are checked too."""
        return [inputs[name] for name in self.positional], {name: inputs[name] for name in self.keywords if name in inputs}

    @classmethod
    def planted_nan_free(cls, inputs: dict[str, Any]) -> dict[str, Any]:
        """The inputs with the NaN the level planted on purpose (`planted_nan`) set to 0."""
        return {**inputs, **{name: inputs[name].masked_fill(inputs[name].isnan(), 0.0) for name in cls.planted_nan}}

    def needed_inputs(self) -> tuple[str, ...]:
        return self.positional if self.read_inputs is None else self.read_inputs

    def case_needs(self, case: Case) -> tuple[str, ...]:
        """What a GPU must have to run this case: the level's needs and its dtype's."""
        return tuple(dict.fromkeys((*self.needs, *DTYPE_NEEDS.get(case.dtype, ()))))

    # ----- required -------------------------------------------------------------------------
    @abc.abstractmethod
    def cases(self, mode: Mode) -> list[Case]:
        raise NotImplementedError

    @abc.abstractmethod
    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        """The keyword arguments of the call, as CPU tensors and plain values."""
        raise NotImplementedError

    @abc.abstractmethod
    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor | tuple[torch_types.Tensor, ...]":
        """The expected output in float64, computed on the CPU from `inputs` (a tuple, one tensor per
        name in `outputs`, when the function returns several)."""
        raise NotImplementedError

    @abc.abstractmethod
    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        raise NotImplementedError

    def expected_dtype(self, case: Case) -> "torch_types.dtype":
        return case.torch_dtype

    def diagnose(self, failure: Failure) -> list[str]:
        """Likely bug classes for a failed comparison, most likely first ("likely: ...")."""
        return []

    def check_beyond_values(self, case: Case, inputs: dict[str, Any], probe: Probe | None) -> CaseResult | None:
        """After the values passed: a failed result when the kernel got them the wrong way (e.g. level 8
        loads key tiles a causal launch must skip), else None. `probe` is None on a GPU."""
        return None

    def diagnose_out_of_bounds(self, stray: OutOfBounds) -> list[str]:
        """Likely bug for a call the guard stopped at an out-of-bounds access ("likely: ..."). The report
        already says where the access went; by default no more is claimed."""
        return []

    # ----- benchmarks (GPU only) ---------------------------------------------------------------
    def benchmark_cases(self) -> list[Case]:
        """GPU-sized cases to time; their inputs come from `make_inputs` like any other case."""
        return []

    def baselines(self) -> dict[str, Baseline]:
        """PyTorch rows to time beside the learner's kernel; the first is the one speedups compare with."""
        return {}

    def work(self, case: Case) -> Work:
        """The least one call must do: its FLOPs, and the bytes of reading every input and writing every
        output exactly once. The memory traffic report compares what the kernels moved with it."""
        return Work()

    # ----- memory traffic (interpreter only) ------------------------------------------------------
    def traffic_case(self, mode: Mode) -> Case | None:
        """The case whose memory traffic a passing run reports: by default the one that must move the
        most bytes (then the one with the most FLOPs)."""
        cases = self.cases(mode)
        return max(cases, key=lambda case: (self.work(case).bytes, self.work(case).flops), default=None)

    def traffic_remark(self, call: CallTraffic) -> str | None:
        """Why the kernels moved more than the minimum, in a few words, ONLY when the counts in `call`
        prove it (a wrong explanation is worse than none); None leaves the report to state the facts."""
        return None

    def sxs_elements(self, inputs: dict[str, Any]) -> int | None:
        """For attention levels: B*H*S*S, the size a fused kernel must never allocate."""
        return None

    def forbidden_copy(self, inputs: dict[str, Any], tensor: "torch_types.Tensor") -> str | None:
        """A kernel was handed `tensor`, which is neither an input nor the output: if it is a copy the
        level forbids (k and v repeated to every query head, a gathered KV cache), say what it is, in
        words that finish "kernel `name` received `arg`, ...". Judged by its values, never its size
        alone, so a scratch buffer of the same size is never mistaken for a copy."""
        return None

    # ----- derived ------------------------------------------------------------------------------
    @property
    def title(self) -> str:
        return f"Level {self.number}, {self.name}"

    def case_by_id(self, case_id: str, mode: Mode) -> Case:
        for case in self.cases(mode):
            if case.id == case_id:
                return case
        raise KeyError(f"level {self.number} has no case {case_id!r} in this mode")


def definition_problems(level: Level) -> list[str]:
    """What is missing or malformed in a level's class attributes; empty when the level is usable."""
    problems = []

    def text(name: str) -> bool:
        value = getattr(level, name, None)
        return isinstance(value, str) and bool(value.strip())

    number = getattr(level, "number", None)
    if not isinstance(number, int) or isinstance(number, bool) or number < 1:
        problems.append(f"`number` must be a whole number >= 1, not {number!r}")
    for name in ("name", "concept"):
        if not text(name):
            problems.append(f"`{name}` must be a non-empty string")
    kata_file = getattr(level, "kata_file", None)
    if not (isinstance(kata_file, str) and kata_file.endswith(".py") and "/" not in kata_file):
        problems.append(f"`kata_file` must be a file name ending in .py, not {kata_file!r}")
    function = getattr(level, "function", None)
    if not (isinstance(function, str) and function.isidentifier()):
        problems.append(f"`function` must be the name of the kata's public function, not {function!r}")
    hints = getattr(level, "hints", None)
    if not (isinstance(hints, tuple) and hints and all(isinstance(hint, str) and hint.strip() for hint in hints)):
        problems.append("`hints` must be a non-empty tuple of strings, from the idea to nearly the answer")
    max_launches = getattr(level, "max_launches", None)
    if max_launches is not None and not (isinstance(max_launches, int) and max_launches >= 1):
        problems.append(f"`max_launches` must be None or a whole number >= 1, not {max_launches!r}")
    for name in ("positional", "keywords", "outputs"):
        names = getattr(level, name, None)
        if not (isinstance(names, tuple) and all(isinstance(item, str) and item.isidentifier() for item in names)):
            problems.append(f"`{name}` must be a tuple of argument names, not {names!r}")
    if not getattr(level, "outputs", None):
        problems.append("`outputs` must name at least one output")
    needs = getattr(level, "needs", ())
    if not (isinstance(needs, tuple) and all(name in FEATURES for name in needs)):
        problems.append(f"`needs` must be a tuple of card features ({', '.join(FEATURES)}), not {needs!r}")
    return problems


def default_scale(head_dim: int) -> float:
    return 1.0 / math.sqrt(head_dim)
