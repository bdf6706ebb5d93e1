"""The outcome of one case, as it travels from the worker process to the pytest item."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# A case's report must fit one terminal screen of this size.
SCREEN_WIDTH = 100
SCREEN_ROWS = 40

PASSED = "passed"
FAILED = "failed"
NOT_IMPLEMENTED = "not_implemented"
BROKEN_KATA = "broken_kata"  # the kata file cannot be imported or has no usable function
CRASHED = "crashed"  # the worker process died, or CUDA reported an error that poisons the context
TIMED_OUT = "timed_out"


@dataclass
class CaseResult:
    outcome: str
    message: str = ""
    diagnoses: list[str] = field(default_factory=list)
    # Would fail on a GPU although it passed here (interpreter only), e.g. a tl.dot tile under 16.
    portability: list[str] = field(default_factory=list)
    # The remaining cases of the level would fail the same way; they are not run.
    stops_level: bool = False
    # The process must not run anything else (a CUDA error poisons the context).
    process_poisoned: bool = False
    duration_s: float = 0.0

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
    return "\n".join(lines)


def screen_rows(report: str, width: int = SCREEN_WIDTH) -> int:
    """How many rows of a `width`-column terminal the report fills, long lines wrapping."""
    return sum(max(1, -(-len(line) // width)) for line in report.splitlines())
