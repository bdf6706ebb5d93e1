"""What a level is: one place for its cases, reference, tolerance, hints and diagnosis rules.

A level module defines one `Level` subclass. The checker asks it for the cases of the current mode,
builds each case's inputs, calls the learner's function, and compares against `reference`, which is
computed in float64 on the CPU so that it is never the thing under test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar

from .._lazy import torch

if TYPE_CHECKING:
    import torch as torch_types

    from ..checking import Failure

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
    def torch_dtype(self) -> "torch_types.dtype":
        return getattr(torch, DTYPES[self.dtype])


@dataclass(frozen=True)
class Work:
    """What one call must do at least: floating-point operations and bytes moved through memory."""

    flops: float = 0.0
    bytes: float = 0.0


Baseline = Callable[[dict[str, Any]], "torch_types.Tensor"]


class Level:
    """Base class for a level. Subclasses set the class attributes and implement the methods."""

    number: ClassVar[int]
    name: ClassVar[str]
    kata_file: ClassVar[str]  # file name inside the kata folder
    function: ClassVar[str]  # the public function the kata must define
    concept: ClassVar[str]  # one paragraph: what the level teaches and why Flash Attention needs it
    hints: ClassVar[tuple[str, str, str, str, str, str]]
    # The dtypes the contract accepts on the CPU (bf16 joins them on a GPU); cases must cover each.
    cpu_dtypes: ClassVar[tuple[str, ...]] = ("fp32", "fp16")
    # Exactly one kernel launch per call (the fused attention levels).
    single_launch: ClassVar[bool] = False
    # How the checks call the public function: these inputs by position, then `keywords` by name.
    positional: ClassVar[tuple[str, ...]]
    keywords: ClassVar[tuple[str, ...]] = ()

    def call_arguments(self, inputs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """The public function's arguments from a case's inputs: keywords the case leaves out are not
        passed, so the learner's defaults (causal=True, scale=None) are checked too."""
        return [inputs[name] for name in self.positional], {name: inputs[name] for name in self.keywords if name in inputs}

    # ----- to implement -------------------------------------------------------------------------
    def cases(self, mode: Mode) -> list[Case]:
        raise NotImplementedError

    def make_inputs(self, case: Case, generator: "torch_types.Generator") -> dict[str, Any]:
        """The keyword arguments of the call, as CPU tensors and plain values."""
        raise NotImplementedError

    def reference(self, inputs: dict[str, Any], case: Case) -> "torch_types.Tensor":
        """The expected output in float64, computed on the CPU from `inputs`."""
        raise NotImplementedError

    def tolerance(self, case: Case, mode: Mode) -> Tolerance:
        raise NotImplementedError

    def expected_dtype(self, case: Case) -> "torch_types.dtype":
        return case.torch_dtype

    def diagnose(self, failure: "Failure") -> list[str]:
        """Likely bug classes for a failed comparison, most likely first ("likely: ...")."""
        return []

    # ----- benchmarks (GPU only) ---------------------------------------------------------------
    def benchmark_cases(self) -> list[Case]:
        """GPU-sized cases to time; their inputs come from `make_inputs` like any other case."""
        return []

    def baselines(self) -> dict[str, Baseline]:
        """PyTorch rows to time beside the learner's kernel; the first is the one speedups compare with."""
        return {}

    def work(self, case: Case) -> Work:
        return Work()

    def sxs_elements(self, inputs: dict[str, Any]) -> int | None:
        """For attention levels: B*H*S*S, the size a fused kernel must never allocate."""
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


def default_scale(head_dim: int) -> float:
    return 1.0 / math.sqrt(head_dim)
